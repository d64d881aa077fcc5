"""Every ```rg code block in the README and docs/ is a valid resgraph file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import resgraph
from resgraph.program import Limits, load_program

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```rg\n(.*?)^```", re.S | re.M)


def code_blocks() -> list[tuple[str, str]]:
    blocks = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, match in enumerate(FENCE.finditer(doc.read_text())):
            blocks.append((f"{doc.relative_to(ROOT)}#{i}", match.group(1)))
    return blocks


def test_docs_have_code_blocks() -> None:
    assert len(code_blocks()) >= 5


@pytest.mark.parametrize(("where", "text"), code_blocks(), ids=[w for w, _ in code_blocks()])
def test_code_block_elaborates(where: str, text: str) -> None:
    if "use \"" in text:
        pytest.skip("needs the files it uses")
    prog = load_program(text, where, Limits())
    for name in prog.networks:
        arch = resgraph.loads(text, network=name, file=where)
        assert arch.num_params >= 0
