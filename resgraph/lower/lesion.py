"""Lesion studies (Veit, Wilber and Belongie, 2016): delete trained units, measure accuracy.

:func:`lesion` takes a trained network's weights and deletes each unit of
:func:`resgraph.transform.units` in turn (a residual unit replaced by its shortcut, a
highway unit by its carry, a unit of a plain network by its input where it keeps the
shape), measuring test accuracy each time with the other weights as trained; then it
deletes k units at once for every k from 2 to the number of deletable units (every
subset where there are at most ``samples`` of them, else ``samples`` random ones) and
reports the mean accuracy against k (for k = 1, over every single deletion). Each
deletion is a graph transform (:func:`resgraph.transform.delete_units`) compiled anew, so
nothing is patched at run time; batch norms use their running statistics (evaluation
mode), as in the paper.

:func:`read_weights` reads a run folder of ``resgraph train --out`` (``model.safetensors``
and ``config.json``, whose ``plain`` says whether the run trained the ``--plain`` network)
or a bare ``.safetensors`` file (:func:`read_config` reads the run's ``config.json``).
``resgraph lesion`` prints :func:`table` and draws
:func:`plot`.

>>> import resgraph, torch
>>> from resgraph.lower.train import load_digits
>>> arch = resgraph.load("examples/highway_mlp.rg", layers=3)
>>> weights = arch.compile().state_dict()
>>> r = lesion(arch, weights, load_digits((64,))[1], samples=2)
>>> [row.unit for row in r.single], {k: len(accs) for k, accs in r.random.items()}
(['highway_0', 'highway_1', 'highway_2'], {1: 3, 2: 2, 3: 1})
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.lower.train import accuracy
from resgraph.transform import Unit, delete_units, units
from resgraph.util import save_figure

#: The largest number of subsets of k units measured for each k by default.
DEFAULT_SAMPLES = 5


@dataclass
class Deletion:
    """One unit's deletion: its accuracy, or None and the reason where it cannot go."""

    unit: str
    kind: str
    accuracy: float | None
    params: int
    why_not: str = ""


@dataclass
class LesionResult:
    """What :func:`lesion` measured on one trained network.

    ``random`` maps k to the accuracies of the subsets of k deleted units that were
    measured (for k = 1, every deletable unit); ``mean(k)`` is their mean.
    """

    network: str
    plain: bool
    baseline: float
    single: list[Deletion]
    random: dict[int, list[float]] = field(default_factory=dict)
    samples: int = DEFAULT_SAMPLES
    test_size: int = 0

    @property
    def label(self) -> str:
        return f"{self.network} (plain)" if self.plain else self.network

    def mean(self, k: int) -> float:
        return sum(self.random[k]) / len(self.random[k])


def read_config(source: str | Path) -> dict[str, Any]:
    """The ``config.json`` of the run folder ``source`` ({} for a file, or a folder
    without one); RG751 where it is no JSON object."""
    cfg = Path(source) / "config.json"
    if not cfg.is_file():
        return {}
    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResgraphError("RG751", f"--weights {source}: config.json cannot be read "
                            f"({exc})") from None
    if not isinstance(config, dict):
        raise ResgraphError("RG751", f"--weights {source}: config.json is no JSON object")
    return config


def read_weights(source: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``source``: a run folder's ``model.safetensors``, or a
    ``.safetensors`` file; RG751 where there is none.

    >>> try:
    ...     read_weights("no/such/run")
    ... except ResgraphError as err:
    ...     print(err.code, err.message)
    RG751 --weights no/such/run: no such file or folder; give a run folder of resgraph train \
--out, or a .safetensors file
    """
    path = Path(source)
    if path.is_dir():
        path = path / "model.safetensors"
        if not path.is_file():
            raise ResgraphError("RG751", f"--weights {source}: the folder holds no "
                                "model.safetensors; give the folder of a finished "
                                "resgraph train --out run, or a .safetensors file")
    elif not path.exists():
        raise ResgraphError("RG751", f"--weights {source}: no such file or folder; give a run "
                            "folder of resgraph train --out, or a .safetensors file")
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ResgraphError("RG705", "reading the weights needs safetensors, which is not "
                            "installed; install it with: pip install safetensors") from None
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for a bad file
        raise ResgraphError("RG751", f"--weights {source}: {path.name} is not a safetensors "
                            f"file ({type(exc).__name__})") from None


def load_into(arch: Architecture, weights: Mapping[str, torch.Tensor],
              device: torch.device | str = "cpu") -> torch.nn.Module:
    """``arch`` compiled in evaluation mode with its parameters and buffers taken from
    ``weights`` (which may hold more: those of deleted units); RG751 where one is missing
    or has another shape."""
    torch.manual_seed(0)  # the initial values are all replaced; seeding keeps this cheap
    gm = arch.compile(device=device, blocks=False)  # a deletion can leave a block of no modules
    own = gm.state_dict()
    for key, value in own.items():
        theirs = weights.get(key)
        if theirs is None:
            raise ResgraphError("RG751", f"the weights have no '{key}' for network "
                                f"'{arch.name}'; were they trained from this file with the "
                                "same --set values (and --plain)?")
        if tuple(theirs.shape) != tuple(value.shape):
            raise ResgraphError("RG751", f"the weights' '{key}' is {list(theirs.shape)} but "
                                f"network '{arch.name}' needs {list(value.shape)}; were they "
                                "trained with other --set values?")
    gm.load_state_dict({k: weights[k] for k in own}, strict=True)
    return gm.eval()


@torch.no_grad()
def check_samples(samples: int) -> None:
    """RG752 unless ``samples`` is a positive int."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ResgraphError("RG752", f"--samples must be a positive int, got {samples!r}")


def deletable_units(arch: Architecture) -> list[Unit]:
    """The units of ``arch`` (:func:`resgraph.transform.units`); RG752 where none can be
    deleted."""
    found = units(arch)
    if not any(u.deletable for u in found):
        raise ResgraphError("RG752", f"network '{arch.name}' has no unit to delete: no "
                            "residual or highway unit, and no block that keeps its shape",
                            arch.scopes[0].span if 0 in arch.scopes else None)
    return found


def lesion(arch: Architecture, weights: Mapping[str, torch.Tensor], test: TensorDataset, *,
           samples: int = DEFAULT_SAMPLES, seed: int = 0, device: torch.device | str = "cpu",
           plain: bool = False) -> LesionResult:
    """Delete each unit of ``arch`` in turn, then k at a time, and measure accuracy on
    ``test`` (see the module docstring). ``plain`` only labels the result. RG752 where
    ``samples`` is below 1 or the network has no deletable unit."""
    check_samples(samples)
    found = deletable_units(arch)

    def measure(names: Sequence[str]) -> float:
        return accuracy(load_into(delete_units(arch, names), weights, device), test,
                        torch.device(device))

    result = LesionResult(arch.name, plain, measure([]), [], samples=samples,
                          test_size=len(test))
    for u in found:
        acc = measure([u.name]) if u.deletable else None
        gone = arch.num_params - delete_units(arch, [u.name]).num_params if u.deletable else 0
        result.single.append(Deletion(u.name, u.kind, acc, gone, u.why_not))
    names = [u.name for u in found if u.deletable]
    rng = random.Random(seed)
    singles = {d.unit: d.accuracy for d in result.single}
    result.random[1] = [float(singles[n] or 0.0) for n in names]  # every one, measured above
    for k in range(2, len(names) + 1):
        if math.comb(len(names), k) <= samples:
            subsets = [list(c) for c in itertools.combinations(names, k)]
        else:
            chosen: set[tuple[str, ...]] = set()
            while len(chosen) < samples:
                chosen.add(tuple(sorted(rng.sample(names, k), key=names.index)))
            subsets = [list(c) for c in sorted(chosen)]
        result.random[k] = [measure(s) for s in subsets]
    return result


def table(result: LesionResult) -> str:
    """The lesion figures as text: one row per unit, then mean accuracy against k.

    >>> r = LesionResult("n", False, 0.9, [Deletion("a", "residual", 0.85, 10),
    ...                  Deletion("b", "plain", None, 0, "it turns [4] into [2]")],
    ...                  {1: [0.85]}, 1, 100)
    >>> print(table(r))
    n: test accuracy 90.00% on 100 samples with every unit
      unit  kind      params  accuracy  change
      a     residual      10    85.00%  -5.00
      b     plain          -         -  not deletable: it turns [4] into [2]
    <BLANKLINE>
    units deleted  subsets  mean accuracy  min     max
                1        1         85.00%  85.00%  85.00%
    """
    width = max([4, *(len(d.unit) for d in result.single)])
    lines = [f"{result.label}: test accuracy {result.baseline:.2%} on {result.test_size:,} "
             "samples with every unit",
             f"  {'unit':<{width}}  kind      params  accuracy  change"]
    for d in result.single:
        if d.accuracy is None:
            lines.append(f"  {d.unit:<{width}}  {d.kind:<8}  {'-':>6}  {'-':>8}  "
                         f"not deletable: {d.why_not}")
        else:
            lines.append(f"  {d.unit:<{width}}  {d.kind:<8}  {d.params:>6,}  "
                         f"{d.accuracy:>8.2%}  {100 * (d.accuracy - result.baseline):+.2f}")
    lines += ["", "units deleted  subsets  mean accuracy  min     max"]
    for k, accs in sorted(result.random.items()):
        lines.append(f"{k:>13}  {len(accs):>7}  {result.mean(k):>13.2%}  {min(accs):.2%}  "
                     f"{max(accs):.2%}")
    return "\n".join(lines)


PLOT_FORMATS = (".png", ".svg", ".pdf")


def check_plot_path(path: str | Path) -> None:
    """RG753 unless ``path`` names a PNG, SVG or PDF file."""
    if Path(path).suffix.lower() not in PLOT_FORMATS:
        raise ResgraphError("RG753", f"cannot draw the lesion plot to '{path}': give a file "
                            "name ending in .png, .svg or .pdf")


def plot(results: Sequence[LesionResult], path: str | Path) -> None:
    """Draw single-unit deletions (bars, one group per network) and mean accuracy against
    the number of deleted units (one curve per network) into ``path`` (PNG, SVG or PDF;
    RG753 for another name or a file that cannot be written, RG714 without matplotlib)."""
    check_plot_path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        raise ResgraphError("RG714", "the lesion plot needs matplotlib: pip install "
                            "matplotlib") from None
    colors = ["#1c6bb0", "#c2255c", "#2b8a3e", "#e8590c"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2),
                                   gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        color = colors[i % len(colors)]
        xs = [j + (i - (len(results) - 1) / 2) * width for j in range(len(r.single))]
        heights = [100 * d.accuracy if d.accuracy is not None else 0.0 for d in r.single]
        ax1.bar(xs, heights, width, color=color, label=f"{r.label}: every unit "
                f"{r.baseline:.1%}")
        for x, d in zip(xs, r.single):
            if d.accuracy is None:
                ax1.text(x, 2, "×", ha="center", va="bottom", color=color, fontsize=9)
        ax1.axhline(100 * r.baseline, color=color, lw=1, ls="--")
        ks = sorted(r.random)
        ax2.plot([0, *ks], [100 * r.baseline, *(100 * r.mean(k) for k in ks)], "o-",
                 color=color, ms=4, label=r.label)
    names = [d.unit for d in results[0].single]
    ax1.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax1.set_ylabel("test accuracy (%)")
    ax1.set_ylim(0, 115)
    ax1.set_yticks(range(0, 101, 20))
    ax1.set_title("one unit deleted (× : changes the shape, not deletable)", fontsize=10)
    ax1.legend(fontsize=8, loc="upper center", ncol=len(results), frameon=False)
    ax2.set_xlabel("units deleted (k)")
    ax2.set_ylabel("mean test accuracy (%)")
    ax2.set_ylim(0, 100)
    ax2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2.set_title(f"k units deleted (k = 1: each unit; else ≤ {results[0].samples} "
                  "random subsets)", fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, "RG753", "the lesion plot", dpi=120)
