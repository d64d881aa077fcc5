"""The docs and the code agree.

Every ```rg code block in the README and docs/ is a valid resgraph file whose networks
compile to modules with exactly the parameters resgraph counts, and the op table of
docs/language.md is the one ``scripts/make_op_table.py`` generates from the registry.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import ModuleType

import pytest

import resgraph
from resgraph.ops import OPS, USER_OPS
from resgraph.program import Limits, load_program
from tests.loading import load_module

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```rg\n(.*?)^```", re.S | re.M)
LANGUAGE = ROOT / "docs" / "language.md"


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
    """Each network's parameter count is what the compiled torch module really holds."""
    if "use \"" in text:
        pytest.skip("needs the files it uses")
    prog = load_program(text, where, Limits())
    assert prog.networks or prog.blocks, f"{where} defines nothing"
    for name in prog.networks:
        arch = resgraph.loads(text, network=name, file=where)
        module = arch.compile(device="meta")  # shapes only: nothing is allocated
        assert arch.num_params == sum(p.numel() for p in module.parameters()), name


# ---------------------------------------------------------------- the generated op table


def _make_op_table() -> ModuleType:
    return load_module("make_op_table", ROOT / "scripts" / "make_op_table.py")


def test_op_table_is_generated_from_the_registry() -> None:
    doc = LANGUAGE.read_text(encoding="utf-8")
    assert _make_op_table().render(doc) == doc, \
        "docs/language.md's op table is stale: run .venv/bin/python scripts/make_op_table.py"


def test_op_table_lists_every_user_op_once() -> None:
    """Read back from the page, not from the generator: first column, one name per op."""
    script = _make_op_table()
    doc = LANGUAGE.read_text(encoding="utf-8")
    table = doc.split(script.BEGIN)[1].split(script.END)[0]
    names = [n for row in table.strip().splitlines()[2:] for n in row.split("|")[1].split()]
    assert sorted(names) == sorted(USER_OPS)
    assert "`conv(out, k=3, stride=1, pad=auto, groups=1, dilation=1, bias=auto)`" in table


def test_op_table_refuses_an_op_without_a_meaning() -> None:
    ops = {**OPS, "swish2": dataclasses.replace(OPS["relu"], name="swish2", meaning="")}
    with pytest.raises(ValueError, match="'swish2' has no meaning"):
        _make_op_table().op_table(ops)
