"""``resgraph analyze FILE``: exact paths, depth, parameters and MACs (``--plain``: of the
network without its residual and highway connections, :func:`resgraph.transform.plain`)."""

from __future__ import annotations

import argparse

ORDER = 20
HELP = "exact paths, depth, parameters and MACs"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--blocks", action="store_true", help="add the per-block table")
    p.add_argument("--units", action="store_true",
                   help="show path lengths in units (residual/highway/dense units traversed)")
    p.add_argument("--plot", metavar="FILE.png", help="draw the path-length distribution")
    p.add_argument("--plain", action="store_true",
                   help="analyse the plain counterpart: residual and highway connections "
                   "removed (projection shortcuts and highway gates with them)")


def run(args: argparse.Namespace) -> int:
    from resgraph.analyze import analyze
    from resgraph.cli import load_from_args
    from resgraph.report import print_report

    arch = load_from_args(args)
    if args.plain:
        from resgraph.transform import plain

        arch = plain(arch)
    rep = analyze(arch)
    if args.plain:
        rep.network = f"{rep.network} (plain)"
    print_report(rep, as_json=args.json, blocks=args.blocks, units=args.units,
                 plot_path=args.plot)
    return 0
