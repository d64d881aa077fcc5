"""``resgraph plot RUN... -o OUT.png``: the training curves of run folders on one figure."""

from __future__ import annotations

import argparse

ORDER = 70
HELP = "draw the loss and accuracy curves of training runs (folders of resgraph train --out)"
FILE = False


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", metavar="RUN", nargs="+", help="run folders (resgraph train --out)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the figure: .png, .svg or .pdf")
    p.add_argument("--title", default=None, help="a title above both panels (default: none)")
    p.add_argument("--error", action="store_true",
                   help="plot the error (%%) instead of the accuracy (default: accuracy)")


def run(args: argparse.Namespace) -> int:
    from resgraph.plot import plot_runs

    out = plot_runs(args.runs, args.output, title=args.title, error=args.error)
    print(f"wrote {out}: {len(args.runs)} run{'s' if len(args.runs) != 1 else ''}")
    return 0
