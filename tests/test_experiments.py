"""scripts/experiments.py runs end to end (its --quick smoke version), and the committed
results of the full run are the ones docs/experiments.md quotes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.loading import load_module

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "experiments"


def load_script() -> ModuleType:
    return load_module("experiments", ROOT / "scripts" / "experiments.py")


@pytest.mark.slow
def test_quick_run_writes_every_figure_and_the_numbers(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert load_script().main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("degradation.png", "lesion.png", "highway.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 20_000, name
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["config"] == "quick"
    assert set(res["degradation"]["runs"]) == {"residual-6", "plain-6", "residual-10",
                                               "plain-10"}
    assert all(len(r["train_error"]) == 1 for r in res["degradation"]["runs"].values())
    lesion = res["lesion"]
    assert list(lesion["residual"]["single"]) == ["layer1.0", "layer1.1", "layer2.0",
                                                  "layer2.1"]
    assert lesion["plain"]["single"]["layer2.0"] is None  # changes the shape
    assert lesion["residual"]["random_subsets"] == {"1": 4, "2": 1, "3": 1, "4": 1}
    assert set(res["highway"]["runs"]) == {"highway-2", "plain-2", "highway-3", "plain-3"}
    out = capsys.readouterr().out
    assert "(b) plain: accuracy" in out and "layer2.0 -" in out


def test_committed_results_are_what_the_doc_quotes() -> None:
    res = json.loads((DOCS / "results.json").read_text())
    assert res["config"] == "full"
    doc = (ROOT / "docs" / "experiments.md").read_text()
    for name, run in res["degradation"]["runs"].items():
        assert f"| {name} | {100 * run['train_error'][-1]:.2f}% |" in doc, name
    for name, run in res["highway"]["runs"].items():
        assert f"| {name} | {100 * run['train_error'][-1]:.2f}% |" in doc, name
    for kind in ("residual", "plain"):
        base = res["lesion"][kind]["baseline"]
        assert f"{kind}: {100 * base:.2f}%" in doc
        for unit, acc in res["lesion"][kind]["single"].items():
            shown = "not deletable" if acc is None else f"{100 * acc:.2f}%"
            assert re.search(rf"\| {re.escape(unit)} \|.*{re.escape(shown)}", doc), unit
    for image in ("degradation.png", "lesion.png", "highway.png"):
        assert f"](experiments/{image})" in doc and (DOCS / image).stat().st_size > 20_000
