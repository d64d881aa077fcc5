"""``resgraph plot``: the curves of run folders, drawn from their metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from PIL import Image  # noqa: E402

from resgraph.cli import main as cli  # noqa: E402
from resgraph.plot import plot_runs, run_names  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def fake_run(folder: Path, epochs: int, scale: float) -> Path:
    folder.mkdir(parents=True)
    with open(folder / "metrics.jsonl", "w") as fh:
        for e in range(1, epochs + 1):
            fh.write(json.dumps({"epoch": e, "train_loss": scale / e, "test_loss": 1.2 * scale / e,
                                 "train_accuracy": 1 - 0.5 / e, "test_accuracy": 0.9 - 0.5 / e,
                                 "lr": 0.001, "seconds": 0.1, "images_per_second": 100.0})
                     + "\n")
    return folder


def test_a_trained_run_is_plotted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end: train --out, then plot the run beside a second one, as PNG, SVG and PDF."""
    assert cli(["train", str(ROOT / "examples" / "highway_mlp.rg"), "--epochs", "2",
                "--no-progress", "--out", str(tmp_path / "highway")]) == 0
    fake_run(tmp_path / "other", 3, 2.0)
    for ext in ("png", "svg", "pdf"):
        out = tmp_path / f"curves.{ext}"
        assert cli(["plot", str(tmp_path / "highway"), str(tmp_path / "other"), "-o", str(out),
                    "--title", "two runs"]) == 0
        assert out.stat().st_size > 1000
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {tmp_path}/curves.pdf: 2 runs"
    svg = (tmp_path / "curves.svg").read_text()
    assert "highway" in svg and "other" in svg and "two runs" in svg  # legend and title text
    with Image.open(tmp_path / "curves.png") as img:
        assert img.size == (1320, 540)  # 11 × 4.5 inches at 120 dpi: two panels side by side
        rgb = img.convert("RGB")
        colours = {rgb.getpixel((x, y)) for x in range(0, 1320, 3) for y in range(0, 540, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours  # one colour per run


def test_the_curves_are_the_metrics(tmp_path: Path) -> None:
    """The lines drawn are the file's numbers: loss on the left, accuracy or error (%) on
    the right, training solid and held-out dashed."""
    import matplotlib.pyplot as plt

    run = fake_run(tmp_path / "r", 4, 1.0)
    drawn: list[plt.Figure] = []
    real_close = plt.close
    plt.close = lambda fig=None: drawn.append(fig)  # type: ignore[assignment, misc]
    try:
        plot_runs([run], tmp_path / "e.png", error=True)
    finally:
        plt.close = real_close
    left, right = drawn[0].axes
    lines = {(line.get_linestyle(), ax is left): line for ax in (left, right)
             for line in ax.get_lines() if len(line.get_xdata()) == 4}
    assert list(lines[("-", True)].get_ydata()) == [1.0, 0.5, 1 / 3, 0.25]
    assert list(lines[("--", True)].get_xdata()) == [1, 2, 3, 4]
    assert [round(v, 6) for v in lines[("--", False)].get_ydata()] == [60.0, 35.0, 26.666667,
                                                                      22.5]
    assert right.get_ylabel() == "error (%)" and left.get_yscale() == "log"
    real_close(drawn[0])


def test_legend_names_disambiguate_equal_folder_names() -> None:
    assert run_names(["x/run", "y/run", "z/base"]) == ["x/run", "y/run", "base"]


@pytest.mark.parametrize(("metrics", "args", "message"), [
    (None, ["nowhere", "-o", "c.png"],
     "error[RG746]: nowhere/metrics.jsonl: cannot read it (No such file or directory)"),
    ("", ["run", "-o", "c.png"], "error[RG746]: run/metrics.jsonl: no epochs yet"),
    ('{"epoch": 1}\n[]\n', ["run", "-o", "c.png"],
     "error[RG746]: run/metrics.jsonl:2: not an epoch's metrics (a JSON object with an "
     "\"epoch\")"),
    ('{"epoch": 1}\n', ["run", "-o", "c.jpg"],
     "error[RG747]: cannot tell the format of 'c.jpg' from its extension; use one of .png, "
     ".svg, .pdf"),
    ('{"epoch": 1}\n', ["run", "-o", "missing/c.png"],
     "error[RG747]: cannot write the plot to 'missing/c.png': No such file or directory"),
], ids=["missing", "empty", "malformed", "extension", "unwritable"])
def test_plot_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch, metrics: str | None, args: list[str],
                     message: str) -> None:
    if metrics is not None:
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "metrics.jsonl").write_text(metrics)
    monkeypatch.chdir(tmp_path)
    assert cli(["plot", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"resgraph: {message}") and "Traceback" not in err, err
