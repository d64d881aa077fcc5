"""Reproduce the seeds' experiments (issue 16 item 6) and draw the figures of docs/experiments.md.

(a) degradation: plain vs residual networks at two depths (examples/degradation.rg and its
    ``--plain`` counterpart), training and test error per epoch;
(b) lesion: a residual network of 12 units and its plain counterpart, each trained, then
    every unit deleted in turn and k units at random (:mod:`resgraph.lower.lesion`);
(c) highway vs plain MLPs of 20 and 50 layers (examples/highway_mlp.rg, ``--plain``).
It also tabulates ``--plain`` on every example network. Every run is seeded (seed 0);
the numbers, curves and wall times go to ``OUT/results.json``, the figures to
``OUT/degradation.png``, ``OUT/lesion.png`` and ``OUT/highway.png``.

    python scripts/experiments.py                         # the full run, into docs/experiments
    python scripts/experiments.py --quick --out /tmp/exp  # a smoke version (seconds)
    python scripts/experiments.py --data cifar-10-batches-py --parts a   # (a) on CIFAR data
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import resgraph  # noqa: E402
from resgraph.program import load_program  # noqa: E402
from resgraph.transform import plain  # noqa: E402

EXAMPLES = ROOT / "examples"
SEED = 0

#: The sizes of each experiment: the full run (minutes on 2 CPU cores) and the smoke test.
CONFIGS: dict[str, dict[str, Any]] = {
    "full": {"degradation_n": (2, 8), "degradation_epochs": 20,
             "lesion_n": 6, "lesion_epochs": 20, "lesion_samples": 5,
             "highway_layers": (5, 20, 50), "highway_epochs": 20, "plain_table": True},
    "quick": {"degradation_n": (1, 2), "degradation_epochs": 1,
              "lesion_n": 2, "lesion_epochs": 1, "lesion_samples": 1,
              "highway_layers": (2, 3), "highway_epochs": 1, "plain_table": False},
}


def fit(arch: resgraph.Architecture, epochs: int, data: str = "digits") -> dict[str, Any]:
    """Train ``arch`` (seed 0, Adam, cosine schedule: resgraph train's defaults); its curves."""
    from resgraph.lower.train import train

    start = time.perf_counter()
    r = train(arch, epochs=epochs, seed=SEED, progress=False, data=data, log=lambda s: None)
    return {"params": arch.num_params,
            "train_error": [1 - a for a in r["train_accuracies"]],
            "train_loss": list(r["train_losses"]),
            "test_error": [1 - a for a in r["test_accuracies"]],
            "seconds": time.perf_counter() - start, "model": r["model"]}


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "model"}


def say(text: str) -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- (a) degradation


def degradation(cfg: dict[str, Any], data: str) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    if data != "digits":
        sets = {"channels": 3, "size": 32}  # CIFAR-format data
    runs = {}
    for n in cfg["degradation_n"]:
        arch = resgraph.load(str(EXAMPLES / "degradation.rg"), n=n, **sets)
        layers = 4 * n + 2
        for kind, net in (("residual", arch), ("plain", plain(arch))):
            run = fit(net, cfg["degradation_epochs"], data)
            run.update(layers=layers, kind=kind, n=n)
            runs[f"{kind}-{layers}"] = _public(run)
            say(f"(a) {kind:8} {layers:>2} layers: train error {run['train_error'][-1]:.2%}, "
                f"test error {run['test_error'][-1]:.2%} ({run['seconds']:.0f} s)")
    return {"data": data, "epochs": cfg["degradation_epochs"], "runs": runs}


TITLES = {"degradation": "plain (dashed) vs residual (solid) on {data}: "
                          "examples/degradation.rg, seed {seed}",
          "highway": "plain (dashed) vs highway (solid) MLPs on digits: "
                     "examples/highway_mlp.rg, seed {seed}"}


def draw_curves(runs: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    depths = sorted({r["layers"] for r in runs.values()})
    palette = ["#1c6bb0", "#c2255c", "#2b8a3e", "#e8590c"]
    for r in runs.values():
        color = palette[depths.index(r["layers"]) % len(palette)]
        style = "o--" if r["kind"] == "plain" else "o-"
        epochs = range(1, len(r["train_error"]) + 1)
        label = f"{r['kind']}-{r['layers']}"
        axes[0].plot(epochs, [100 * e for e in r["train_error"]], style, color=color,
                     label=label, ms=2.5, lw=1.3)
        axes[1].plot(epochs, [100 * e for e in r["test_error"]], style, color=color,
                     label=label, ms=2.5, lw=1.3)
    for ax, what in zip(axes, ("training error (%)", "test error (%)")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.set_yscale("symlog", linthresh=1)  # linear below 1%, logarithmic above
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 0.5, 1, 2, 5, 10, 20, 50, 100], ["0", "0.5", "1", "2", "5", "10",
                                                           "20", "50", "100"])
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- (b) lesion


def lesions(cfg: dict[str, Any], out: Path) -> dict[str, Any]:
    from resgraph.lower.lesion import lesion, plot
    from resgraph.lower.train import load_digits

    n = cfg["lesion_n"]
    arch = resgraph.load(str(EXAMPLES / "degradation.rg"), n=n)
    test = load_digits((1, 8, 8))[1]
    found: dict[str, Any] = {"n": n, "units": 2 * n, "layers": 4 * n + 2,
                             "epochs": cfg["lesion_epochs"]}
    results = []
    for kind, net in (("residual", arch), ("plain", plain(arch))):
        run = fit(net, cfg["lesion_epochs"])
        start = time.perf_counter()
        weights = {k: v.detach().cpu() for k, v in run["model"].state_dict().items()}
        r = lesion(net, weights, test, samples=cfg["lesion_samples"], seed=SEED,
                   plain=kind == "plain")
        results.append(r)
        found[kind] = {"train": _public(run), "baseline": r.baseline,
                       "single": {d.unit: d.accuracy for d in r.single},
                       "random_mean": {k: r.mean(k) for k in sorted(r.random)},
                       "random_subsets": {k: len(v) for k, v in r.random.items()},
                       "lesion_seconds": time.perf_counter() - start}
        say(f"(b) {kind}: accuracy {r.baseline:.2%}; one unit deleted: "
            + ", ".join(f"{d.unit} {d.accuracy:.1%}" if d.accuracy is not None
                        else f"{d.unit} -" for d in r.single))
    plot(results, out / "lesion.png")
    return found


# ---------------------------------------------------------------- (c) highway


def highway(cfg: dict[str, Any]) -> dict[str, Any]:
    runs = {}
    for layers in cfg["highway_layers"]:
        arch = resgraph.load(str(EXAMPLES / "highway_mlp.rg"), layers=layers)
        for kind, net in (("highway", arch), ("plain", plain(arch))):
            run = fit(net, cfg["highway_epochs"])
            run.update(layers=layers, kind=kind)
            runs[f"{kind}-{layers}"] = _public(run)
            say(f"(c) {kind:7} {layers:>2} layers: train error {run['train_error'][-1]:.2%}, "
                f"test error {run['test_error'][-1]:.2%} ({run['seconds']:.0f} s)")
    return {"epochs": cfg["highway_epochs"], "runs": runs}


# ---------------------------------------------------------------- --plain on every example


def plain_table() -> list[dict[str, Any]]:
    rows = []
    for path in sorted(EXAMPLES.glob("*.rg")):
        for name in load_program(path.read_text(), str(path), resgraph.Limits()).networks:
            arch = resgraph.load(str(path), name)
            row: dict[str, Any] = {"file": path.name, "network": name,
                                   "paths": arch.analyze(distributions=False).paths,
                                   "params": arch.num_params}
            try:
                p = plain(arch)
            except resgraph.ResgraphError as err:
                row["refused"] = f"{err.code} at {Path(err.file or '').name}:{err.line}: " \
                    + err.message.split(":")[0]
            else:
                row.update(plain_paths=p.analyze(distributions=False).paths,
                           plain_params=p.num_params, removed=arch.num_params - p.num_params)
            rows.append(row)
    return rows


def plain_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| network | signal paths | parameters | removed |", "|---|---|---|---|"]
    for r in rows:
        if "refused" in r:
            lines.append(f"| {r['network']} | {r['paths']:,} | {r['params']:,} | refused: "
                         f"{r['refused']} |")
        else:
            lines.append(f"| {r['network']} | {r['paths']:,} → {r['plain_paths']} | "
                         f"{r['params']:,} → {r['plain_params']:,} | {r['removed']:,} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- tables for the doc


def curve_table(runs: dict[str, dict[str, Any]]) -> str:
    """Final training / test error, the best test error and the time of each run."""
    lines = ["| network | training error | test error | best test error | parameters | "
             "time |", "|---|---|---|---|---|---|"]
    for name, r in runs.items():
        lines.append(f"| {name} | {100 * r['train_error'][-1]:.2f}% | "
                     f"{100 * r['test_error'][-1]:.2f}% | {100 * min(r['test_error']):.2f}% | "
                     f"{r['params']:,} | {r['seconds']:.0f} s |")
    return "\n".join(lines)


def lesion_table(found: dict[str, Any]) -> str:
    """One row per unit: accuracy with it deleted, residual and plain."""
    res, pl = found["residual"], found["plain"]
    lines = [f"Test accuracy with every unit: residual: {100 * res['baseline']:.2f}%, "
             f"plain: {100 * pl['baseline']:.2f}%.", "",
             "| unit deleted | residual | plain |", "|---|---|---|"]
    for unit, acc in res["single"].items():
        p = pl["single"].get(unit)
        shown = "not deletable" if p is None else f"{100 * p:.2f}%"
        lines.append(f"| {unit} | {100 * acc:.2f}% | {shown} |")
    lines += ["", "| units deleted (k) | residual: mean accuracy | plain: mean accuracy |",
              "|---|---|---|"]
    for k, acc in res["random_mean"].items():
        p = pl["random_mean"].get(k)
        lines.append(f"| {k} | {100 * acc:.2f}% | "
                     + ("-" if p is None else f"{100 * p:.2f}%") + " |")
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    parts = []
    if "degradation" in results:
        parts += ["(a) degradation", curve_table(results["degradation"]["runs"])]
    if "lesion" in results:
        parts += ["(b) lesion", lesion_table(results["lesion"])]
    if "highway" in results:
        parts += ["(c) highway", curve_table(results["highway"]["runs"])]
    if "wall_seconds" in results:
        parts += ["wall times: " + ", ".join(f"{k} {v:.0f} s"
                                            for k, v in results["wall_seconds"].items())]
    return "\n\n".join(parts)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="a smoke version (seconds)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "experiments"), metavar="DIR")
    ap.add_argument("--data", default="digits", metavar="SPEC",
                    help="data for (a): digits, or a CIFAR-10 python folder")
    ap.add_argument("--parts", nargs="*", default=["a", "b", "c", "plain"],
                    choices=["a", "b", "c", "plain"],
                    help="which experiments (none: redraw the curves of OUT/results.json "
                    "and print its tables)")
    args = ap.parse_args(argv)
    cfg = CONFIGS["quick" if args.quick else "full"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) \
        if results_path.exists() else {}
    results["config"] = "quick" if args.quick else "full"
    import torch

    results["torch"] = torch.__version__
    if not args.parts:  # redraw the curves of OUT/results.json, print the tables
        for key, name in (("degradation", "degradation"), ("highway", "highway")):
            if key in results:
                draw_curves(results[key]["runs"], out / f"{name}.png", TITLES[key].format(
                    data=results[key].get("data", "digits"), seed=SEED))
    for part in args.parts:
        start = time.perf_counter()
        if part == "a":
            results["degradation"] = degradation(cfg, args.data)
            draw_curves(results["degradation"]["runs"], out / "degradation.png",
                        TITLES["degradation"].format(data=args.data, seed=SEED))
        elif part == "b":
            results["lesion"] = lesions(cfg, out)
        elif part == "c":
            results["highway"] = highway(cfg)
            draw_curves(results["highway"]["runs"], out / "highway.png",
                        TITLES["highway"].format(seed=SEED))
        elif part == "plain" and cfg["plain_table"]:
            rows = plain_table()
            results["plain_table"] = rows
            (out / "plain_table.md").write_text(plain_markdown(rows) + "\n")
        results.setdefault("wall_seconds", {})[part] = time.perf_counter() - start
        say(f"part {part}: {results['wall_seconds'][part]:.0f} s")
        results_path.write_text(json.dumps(results, indent=1) + "\n")
    say(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
