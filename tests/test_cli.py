"""The command line: ``check`` reads and parses each file once; its summaries and errors.

Parses are counted at lark's ``Lark.parse``, which every parse of source text goes
through, so the count does not depend on which resgraph module calls the parser.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from lark import Lark

from resgraph.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the source texts parsed while the test runs, by their first line."""
    seen: Counter[str] = Counter()
    original = Lark.parse

    def counting(self: Lark, text: str, *args: Any, **kwargs: Any) -> Any:
        seen[text.lstrip().splitlines()[0] if text.strip() else ""] += 1
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(Lark, "parse", counting)
    return seen


def first_line(name: str) -> str:
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as fh:
        return fh.read().lstrip().splitlines()[0]


@pytest.mark.parametrize(("name", "files"), [
    ("resnet18.rg", ["resnet18.rg", "resnet_blocks.rg"]),  # a network and the library it uses
    ("resnet_blocks.rg", ["resnet_blocks.rg"]),           # a block library alone
    ("unet.rg", ["unet.rg"]),
])
def test_check_parses_each_file_once(parses: Counter[str], capsys: pytest.CaptureFixture[str],
                                     name: str, files: list[str]) -> None:
    assert main(["check", os.path.join(EXAMPLES, name)]) == 0
    assert ": ok: " in capsys.readouterr().out
    assert parses == Counter({first_line(f): 1 for f in files})


def test_check_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    net, lib = os.path.join(EXAMPLES, "resnet18.rg"), os.path.join(EXAMPLES, "resnet_blocks.rg")
    assert main(["check", net]) == 0
    assert main(["check", lib]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{net}: ok: network resnet18, 70 nodes, 11,689,512 params; "
        "x [3, 224, 224] -> fc [1000]",
        f"{lib}: ok: no network; blocks: basic, bottleneck; lets: 0",
    ]


@pytest.mark.parametrize(("argv", "code"), [
    (["--set", "c=3"], "RG216"),      # a library has no network to set parameters of
    (["--network", "n"], "RG216"),
    (["--set", "c"], "RG218"),        # a bad --set is reported before the file is read
])
def test_check_library_with_network_options(capsys: pytest.CaptureFixture[str],
                                            argv: list[str], code: str) -> None:
    assert main(["check", os.path.join(EXAMPLES, "resnet_blocks.rg"), *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and f"error[{code}]" in captured.err


def test_analyze_options_reach_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    path = os.path.join(EXAMPLES, "digits_resnet.rg")
    assert main(["analyze", path, "--units", "--blocks"]) == 0
    out = capsys.readouterr().out
    assert "path lengths in units" in out and out.splitlines()[-1].startswith("layer2.1  basic(32)")
    assert main(["analyze", path, "--json", "--blocks"]) == 0
    assert capsys.readouterr().out.lstrip().startswith("{")
