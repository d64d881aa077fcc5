"""``resgraph compile FILE -o DIR``: write a standalone PyTorch package."""

from __future__ import annotations

import argparse
import os

ORDER = 40
HELP = "write a standalone PyTorch package (GraphModule)"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true",
                   help="write into DIR even if it is a symbolic link, or a non-empty folder "
                   "that is not a package resgraph wrote")
    p.add_argument("--optimize", choices=("inference",), default=None,
                   help="write the inference build: batch norms folded into the convs, "
                   "channels_last for conv nets, in-place adds (use it in eval mode)")


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import load_from_args
    from resgraph.lower import compile_package

    compile_package(load_from_args(args), args.output, source=os.path.basename(args.file),
                    force=args.force, optimize=args.optimize)
    return 0
