"""The import rules of docs/architecture.md, read from the source with `ast` (nothing is run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "drn_cli"

# Layer of each module (a package's modules share its layer): a module may import only from
# modules of a lower layer, or from its own package.
LAYERS = {
    "errors": 0,
    "atomic": 1, "tiling": 1, "metrics": 1, "degradations": 1, "device": 1, "download": 1,
    "models": 2, "io": 2, "distributed": 2,
    "request": 3, "datasets": 3, "export": 3,
    "inference": 4, "plan": 4,
    "levels": 5, "report": 5,
    "picture": 6,
    "evaluate": 7, "api": 7, "video": 7, "animation": 7,
    "batch": 8, "training": 8, "web": 8,
    "__init__": 9, "cli": 10, "__main__": 11,
}


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    """Rooms of drn_cli that `path` imports (relative or absolute), anywhere in the file."""
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: climb to the package root
                parts = (node.module or "").split(".") if node.module else []
                if node.level - 1 < depth:  # a sibling inside the same sub-package
                    found.add(path.relative_to(PACKAGE).parts[0])
                    continue
                names = parts[:1] or [alias.name for alias in node.names]
                found.update(n if n in LAYERS else "__init__" for n in names)  # `from . import __version__`
            elif (node.module or "").startswith("drn_cli."):
                found.add(node.module.split(".")[1])
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "shipped_weights" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    room = _room(path)
    for other in _imports(path) - {room}:
        assert LAYERS[other] < LAYERS[room], f"{room} (layer {LAYERS[room]}) imports {other} (layer {LAYERS[other]})"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_cli_uses_typer_and_rich(path):
    if _room(path) == "cli":
        return
    tree = ast.parse(path.read_text())
    top = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    top |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level}
    assert not top & {"typer", "rich"}, f"{path.name} imports {top & {'typer', 'rich'}}"


def test_every_module_has_a_layer():
    assert {_room(p) for p in _modules()} <= set(LAYERS)
