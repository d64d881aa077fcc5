"""``resgraph render FILE -o OUT``: draw the network."""

from __future__ import annotations

import argparse

ORDER = 30
HELP = "draw the network (svg png pdf dot mmd)"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file; its extension picks the format")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--collapse", dest="collapse", action="store_true", default=None,
                      help="draw runs of identical blocks once (the default for graphs over "
                           "150 nodes and for those that are mostly repeats)")
    mode.add_argument("--expand", dest="collapse", action="store_false",
                      help="draw every block instance")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="expand block structure only N levels deep")
    p.add_argument("--shapes", action="store_true", help="label edges with tensor shapes")
    p.add_argument("--params", action="store_true", help="show parameter counts on nodes")
    p.add_argument("--rankdir", choices=("TB", "LR"), default="TB", help="layout direction")
    p.add_argument("--dot-memory", type=int, default=4096, metavar="MIB",
                   help="memory the 'dot' program may use, in MiB (default 4,096)")


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import load_from_args
    from resgraph.render import cli_main

    return cli_main(load_from_args(args), output=args.output, collapse=args.collapse,
                    depth=args.depth, shapes=args.shapes, params=args.params,
                    rankdir=args.rankdir, dot_memory=args.dot_memory)
