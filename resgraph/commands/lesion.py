"""``resgraph lesion FILE --weights RUN``: delete trained units one at a time and k at a time,
and measure test accuracy (:mod:`resgraph.lower.lesion`)."""

from __future__ import annotations

import argparse

ORDER = 80
HELP = "delete trained residual units (or plain layers) and measure test accuracy"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", "-w", metavar="RUN", action="append", required=True,
                   help="a run folder of `resgraph train --out` (its model.safetensors; "
                   "config.json says whether it trained the --plain network) or a "
                   ".safetensors file; repeat it to compare runs (a residual run and its "
                   "--plain run) in one table and plot")
    p.add_argument("--data", default=None, metavar="SPEC",
                   help="test data: digits, an image folder, a .npz file or a CIFAR folder "
                   "(default: the run's data, else digits)")
    p.add_argument("--plain", action="store_true",
                   help="the weights are of the --plain network (for a bare .safetensors "
                   "file; a run folder's config.json says so itself)")
    p.add_argument("--samples", type=int, default=5, metavar="K",
                   help="subsets of k units measured for each k (all of them where there "
                   "are at most K; default 5)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the random subsets (default 0); the held-out images are "
                   "the run's own (its split, normalisation and resizing)")
    p.add_argument("--device", default="cpu", metavar="D", help="cpu, cuda ... (default cpu)")
    p.add_argument("-o", "--output", metavar="OUT.png",
                   help="draw the deletions and the accuracy against k (.png .svg .pdf)")


def run(args: argparse.Namespace) -> int:
    from resgraph.api import load
    from resgraph.cli import limits_from_args, parse_sets
    from resgraph.lower import lesion as les
    from resgraph.lower.runs import run_data
    from resgraph.transform import plain

    if args.output:
        les.check_plot_path(args.output)
    les.check_samples(args.samples)
    sets = parse_sets(args.sets)
    results: list[les.LesionResult] = []
    for source in args.weights:
        config = les.read_config(source)
        params = sets or dict(config.get("params") or {})
        arch = load(args.file, args.network or config.get("network"),
                    limits=limits_from_args(args), **params)
        is_plain = bool(config.get("plain", args.plain))
        if is_plain:
            arch = plain(arch)
        les.deletable_units(arch)
        weights = les.read_weights(source)
        (shape,) = arch.inputs.values()
        data = run_data(config, shape, spec=args.data, hparams=arch.hparams)
        result = les.lesion(arch, weights, data.test, samples=args.samples, seed=args.seed,
                        device=args.device, plain=is_plain)
        if results:
            print()
        print(f"{source} on {data.name}")
        print(les.table(result))
        results.append(result)
    if args.output:
        les.plot(results, args.output)
        print(f"wrote {args.output}")
    return 0
