"""Training curves of run folders: ``resgraph plot RUN... -o OUT.png`` (no torch needed).

One figure, two panels: the loss per epoch on the left (training solid, held-out dashed)
and the accuracy on the right (or, with ``error=True``, the error in percent, as the
ResNet papers plot it), one colour per run, named by its folder in the legend. Each run
folder is one that ``resgraph train --out`` wrote; only its ``metrics.jsonl`` is read.
The format comes from the extension (``.png``, ``.svg``, ``.pdf``); matplotlib draws
with its Agg backend (no display), in memory, and the file is written atomically.

>>> import json, os, tempfile
>>> run = tempfile.mkdtemp()
>>> with open(os.path.join(run, "metrics.jsonl"), "w") as fh:
...     for e in (1, 2):
...         print(json.dumps({"epoch": e, "train_loss": 1 / e, "test_loss": 1.2 / e,
...                           "train_accuracy": 0.5 + e / 5, "test_accuracy": 0.4 + e / 5}),
...               file=fh)
>>> plot_runs([run], os.path.join(run, "curves.png"))  # doctest: +ELLIPSIS
'...curves.png'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from resgraph.errors import ResgraphError
from resgraph.util import os_reason, save_figure

#: The file a run folder keeps its per-epoch metrics in.
METRICS = "metrics.jsonl"
FORMATS = (".png", ".svg", ".pdf")


def read_metrics(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The epochs of a run's ``metrics.jsonl``; RG746 where it is missing, empty or
    malformed.

    >>> import tempfile
    >>> try:
    ...     read_metrics(tempfile.mkdtemp() + "/nowhere")
    ... except ResgraphError as err:
    ...     print(err.code, err.message)  # doctest: +ELLIPSIS
    RG746 .../nowhere/metrics.jsonl: cannot read it (No such file or directory); give a \
folder written by resgraph train --out
    """
    path = Path(run) / METRICS
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ResgraphError("RG746", f"{path}: cannot read it ({os_reason(exc)}); give a folder "
                            "written by resgraph train --out") from None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("epoch"), int):
            raise ResgraphError("RG746", f"{path}:{number}: not an epoch's metrics (a JSON "
                                "object with an \"epoch\")")
        rows.append(row)
    if not rows:
        raise ResgraphError("RG746", f"{path}: no epochs yet (the run has not finished one)")
    return rows


def run_names(runs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Legend names: each folder's name, with its parent where two names are equal.

    >>> run_names(["a/plain", "b/plain", "resnet/"])
    ['a/plain', 'b/plain', 'resnet']
    """
    paths = [Path(os.path.abspath(r)) for r in runs]
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    pairs = [(r["epoch"], float(r[key])) for r in rows
             if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_runs(runs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
              title: str | None = None, error: bool = False) -> str:
    """Draw the curves of ``runs`` to ``out``; return ``out``. RG746 for a run without
    metrics, RG747 for an unknown extension or a file that cannot be written, RG601
    without matplotlib."""
    out = os.fspath(out)
    ext = os.path.splitext(out)[1].lower()
    if ext not in FORMATS:
        raise ResgraphError("RG747", f"cannot tell the format of '{out}' from its extension; "
                            f"use one of {', '.join(FORMATS)}")
    if not runs:
        raise ResgraphError("RG746", "give at least one run folder")
    metrics = [read_metrics(r) for r in runs]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        raise ResgraphError("RG601", "resgraph plot needs matplotlib, which is not installed; "
                            "install it with: pip install 'resgraph[plot]' "
                            "(or pip install matplotlib)") from None
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, rows) in enumerate(zip(run_names(runs), metrics)):
        colour = colours[i % len(colours)]
        for key, style in (("train", "-"), ("test", "--")):
            ax_loss.plot(*_series(rows, f"{key}_loss"), style, color=colour,
                         label=name if key == "train" else None)
            epochs, acc = _series(rows, f"{key}_accuracy")
            shown = [100 * (1 - a) for a in acc] if error else [100 * a for a in acc]
            ax_acc.plot(epochs, shown, style, color=colour,
                        label=name if key == "train" else None)
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.set_ylabel("error (%)" if error else "accuracy (%)")
    keys = [Line2D([], [], color="black", linestyle="-", label="train"),
            Line2D([], [], color="black", linestyle="--", label="test (held out)")]
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    losses = [v for rows in metrics for k in ("train_loss", "test_loss")
              for v in _series(rows, k)[1]]
    if losses and min(losses) > 0:
        from matplotlib.ticker import FuncFormatter

        ax_loss.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")  # 0.3, not 3×10⁻¹
        ax_loss.yaxis.set_major_formatter(plain)
        ax_loss.yaxis.set_minor_formatter(FuncFormatter(  # 0.2, 0.3, 0.5: not every tick
            lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "235" else ""))
    handles, labels = ax_loss.get_legend_handles_labels()
    ax_loss.legend(handles + keys, labels + [k.get_label() for k in keys], fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, out, "RG747", dpi=120)
    return out
