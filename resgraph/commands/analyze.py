"""``resgraph analyze FILE``: exact paths, depth, parameters and MACs."""

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


def run(args: argparse.Namespace) -> int:
    from resgraph.analyze import analyze
    from resgraph.cli import load_from_args
    from resgraph.report import print_report

    print_report(analyze(load_from_args(args)), as_json=args.json, blocks=args.blocks,
                 units=args.units, plot_path=args.plot)
    return 0
