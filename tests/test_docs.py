"""What the documentation cites exists (scripts, recipes, docs and images, read as text), and what it lists is whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "weights").glob("*.md")),
        *sorted((ROOT / "recipes").glob("*"))]
# A path into one of the repository's folders of scripts and documents, as docs write it.
CITED = re.compile(r"(?<![\w/.-])((?:benchmarks|experiments|scripts|recipes|docs|weights|tests)/[\w./-]+\.(?:py|sh|md|png|safetensors))")
MODULE = re.compile(r"python3? -m (benchmarks\.\w+)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_script_and_document_exists(doc):
    text = doc.read_text()
    paths = set(CITED.findall(text)) | {m.replace(".", "/") + ".py" for m in MODULE.findall(text)}
    here = doc.parent
    missing = [p for p in sorted(paths) if not (ROOT / p).exists() and not (here / p).exists()]
    assert not missing, f"{doc.relative_to(ROOT)} cites {missing}"


def test_the_json_record_table_names_every_field_of_a_result():
    from dataclasses import fields

    from drn_cli.plan import Result

    text = (ROOT / "docs" / "cli.md").read_text()
    table = text.split("## `drn upscale --json` records", 1)[1].split("\n## ", 1)[0]
    documented = {name for row in table.splitlines() if row.startswith("| `")
                  for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented == {f.name for f in fields(Result)}


def test_no_help_text_has_a_bracketed_word_that_rich_would_eat_as_markup():
    import typer

    from drn_cli.cli import app

    group = typer.main.get_command(app)
    texts = [(f"drn {name}", param.name, getattr(param, "help", None) or "")
             for name, command in group.commands.items() for param in command.params]
    texts += [(f"drn {name}", "docstring", command.help or "") for name, command in group.commands.items()]
    eaten = [t for t in texts if re.search(r"(?<!\\)\[[a-z][\w-]*\]", t[2])]  # "[video]" prints as ""
    assert not eaten
