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
    "atomic": 1, "tiling": 1, "metrics": 1, "degradations": 1, "device": 1,
    "download": 2, "back_projection": 2,
    "models": 3, "io": 3, "distributed": 3,
    "request": 4, "datasets": 4, "export": 4,
    "inference": 5, "plan": 5,
    "levels": 6, "report": 6,
    "picture": 7, "test_time": 7,
    "session": 8, "video": 8, "animation": 8,
    "evaluate": 9, "batch": 9, "web": 9, "api": 9,
    "training": 10,
    "__init__": 11, "cli": 12, "__main__": 13,
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


def _doc_rows() -> list[tuple[set[str], set[str]]]:
    """(rooms, imports said) of each row of docs/architecture.md's layer table."""
    import re

    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            rooms = {name.rstrip("/") for name in re.findall(r"`([^`]+)`", cells[1])}
            if cells[3].startswith("everything below"):  # the CLI: the layer rule above holds it
                continue
            said = set() if cells[3] == "nothing" else {name.strip() for name in cells[3].split(",")}
            rows.append((rooms, said))
    return rows


def test_the_docs_import_table_is_the_code():
    """docs/architecture.md says, per row, what its modules import from the package: the real
    imports, read with `ast`, must be exactly those (a row of several modules: their union)."""
    rows = _doc_rows()
    assert {room for rooms, _ in rows for room in rooms} | {"cli"} == set(LAYERS), "every module has a row"
    for rooms, said in rows:
        real = set().union(*(_imports(p) for p in _modules() if _room(p) in rooms)) - rooms
        assert real == said, f"{sorted(rooms)}: the table says {sorted(said)}, the code imports {sorted(real)}"


@pytest.mark.parametrize("package", ["training", "models", "cli", "degradations"])
def test_no_import_circle_inside_a_sub_package(package):
    """Imports between a sub-package's modules, those inside functions too, form no circle (an
    import hidden in a function is still a dependency)."""
    folder = PACKAGE / package
    edges = {}
    for path in folder.glob("*.py"):
        found, tree = set(), ast.parse(path.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:  # an annotation's import is no dependency at run time
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        edges[path.stem] = found & {p.stem for p in folder.glob("*.py")} - {path.stem}

    def reaches(start: str, seen: tuple[str, ...] = ()) -> None:
        for nxt in edges[start]:
            assert nxt not in seen + (start,), f"{package}: {' -> '.join(seen + (start, nxt))}"
            reaches(nxt, seen + (start,))

    for module in edges:
        reaches(module)
