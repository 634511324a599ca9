"""The README's layout section names every module and package of ``arcloop/`` and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout") :]
    return section.split("```")[1]


def test_the_readme_layout_matches_the_tree() -> None:
    block = layout_block()
    tree = {path.name + ("/" if path.is_dir() else "") for path in (ROOT / "arcloop").iterdir()}
    tree = {name for name in tree if name not in ("__init__.py", "__pycache__/")}
    named = set(re.findall(r"\b([a-z_]+(?:\.py|/))", block.split("benchmarks/")[0]))
    missing = sorted(tree - named)
    assert not missing, f"README layout does not mention {missing}"
    gone = sorted(name for name in named if name.endswith("/") and name not in tree and name != "arcloop/")
    gone += sorted(
        name for name in named if name.endswith(".py") and not list((ROOT / "arcloop").rglob(name))
    )
    assert not gone, f"README layout names {gone}, which arcloop/ does not have"
