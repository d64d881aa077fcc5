"""``resgraph render FILE -o OUT``: draw the network."""

from __future__ import annotations

import argparse

ORDER = 30
HELP = "draw the network (svg png pdf tex dot mmd)"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file; its extension picks the format (.tex: TikZ)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--collapse", dest="collapse", action="store_true", default=None,
                      help="draw runs of identical blocks once (the default for graphs over "
                           "150 nodes and for those that are mostly repeats)")
    mode.add_argument("--expand", dest="collapse", action="store_false",
                      help="draw every block instance")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="expand block structure only N levels deep")
    p.add_argument("--shapes", nargs="?", const="changes", default=None,
                   choices=("changes", "all"),
                   help="label edges with tensor shapes where they change (--shapes all: "
                        "every edge)")
    p.add_argument("--params", action="store_true", help="show parameter counts on nodes")
    p.add_argument("--rankdir", choices=("TB", "LR"), default="TB", help="layout direction")
    p.add_argument("--fit", metavar="WIDTH",
                   help="fit a page column WIDTH wide (3.3in, 8.4cm, 240pt): wraps long "
                        "chains into a snake, or says it cannot")
    p.add_argument("--font", type=float, metavar="PT",
                   help="smallest text in points, at the final size (default 7 with --fit)")
    p.add_argument("--font-family", metavar="NAME",
                   help="font of every text (Times, 'Latin Modern Roman', ...)")
    p.add_argument("--legend", choices=("none", "compact", "full"), default="compact",
                   help="how much legend to draw (default compact)")
    p.add_argument("--layout", choices=("auto", "plain"), default="auto",
                   help="auto: draw encoder-decoder networks as a U (default); plain: one chain")
    p.add_argument("--dpi", type=int, metavar="N", help="PNG resolution (default 96)")
    p.add_argument("--dot-memory", type=int, default=4096, metavar="MIB",
                   help="memory the 'dot' program may use, in MiB (default 4,096)")


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import load_from_args
    from resgraph.render import cli_main

    return cli_main(load_from_args(args), output=args.output, collapse=args.collapse,
                    depth=args.depth, shapes=args.shapes, params=args.params,
                    rankdir=args.rankdir, dot_memory=args.dot_memory, fit=args.fit,
                    font=args.font, font_family=args.font_family, legend=args.legend,
                    layout=args.layout, dpi=args.dpi)
