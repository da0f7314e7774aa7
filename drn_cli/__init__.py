"""drn: DRN (Dual Regression Networks, Guo et al., CVPR 2020) super-resolution."""

__version__ = "0.1.0"
__all__ = ["DrnError", "__version__", "load_upscaler", "upscale"]


def __getattr__(name: str):
    # Lazy re-exports keep `import drn_cli` (and so `drn --help`) free of torch.
    if name == "upscale":
        from .api import upscale
        return upscale
    if name == "load_upscaler":
        from .inference import load_upscaler
        return load_upscaler
    if name == "DrnError":
        from .errors import DrnError
        return DrnError
    raise AttributeError(f"module 'drn_cli' has no attribute {name!r}")
