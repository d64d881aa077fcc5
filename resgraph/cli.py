"""The ``resgraph`` command line: it parses options, loads the file, and hands over to a stage.

All argument parsing is here: each command calls its stage with explicit arguments, and
no stage sees the ``argparse.Namespace``; torch is imported only by ``compile``, ``export`` and
``train``. User errors print ``FILE:LINE:COL: error[CODE]: ...`` with the source line and
a caret, and exit 1; ``--debug`` shows the traceback too.

>>> main(["check", "examples/resnet18.rg"])  # doctest: +ELLIPSIS
examples/resnet18.rg: ok: network resnet18, 70 nodes, 11,689,512 params; x [3, 224, 224] -> ...
0
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.program import Limits


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a .rg architecture file")
    p.add_argument("--network", "-n", metavar="N", help="which network, if the file has several")
    p.add_argument("--set", "-s", dest="sets", metavar="K=V", action="append", default=[],
                   help="override a network parameter (repeatable), e.g. --set classes=10")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")
    g = p.add_argument_group("limits")
    defaults = Limits()
    for name in ("max_nodes", "max_repeat", "max_nesting", "max_file_bytes", "max_use_depth",
                 "max_int_bits"):
        g.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name),
                       metavar="N", help=f"(default {getattr(defaults, name):,})")
    g.add_argument("--use-path", dest="use_path", metavar="DIR", action="append", default=[],
                   help="a further folder that 'use' may read .rg files from (repeatable); "
                   "the folder of FILE is always allowed")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="resgraph", description="Check, analyse, draw, compile and train network "
        "architectures written in the resgraph language.")
    parser.add_argument("--version", action="version", version="resgraph 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("check", help="parse and check a file; print a one-line summary")
    _common(p)

    p = sub.add_parser("analyze", help="exact paths, depth, parameters and MACs")
    _common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--blocks", action="store_true", help="add the per-block table")
    p.add_argument("--units", action="store_true",
                   help="show path lengths in units (residual/highway/dense units traversed)")
    p.add_argument("--plot", metavar="FILE.png", help="draw the path-length distribution")

    p = sub.add_parser("render", help="draw the network (svg png pdf dot mmd)")
    _common(p)
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

    p = sub.add_parser("compile", help="write a standalone PyTorch package (GraphModule)")
    _common(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true",
                   help="write into DIR even if it is a symbolic link, or a non-empty folder "
                   "that is not a package resgraph wrote")
    p.add_argument("--optimize", choices=("inference",), default=None,
                   help="write the inference build: batch norms folded into the convs, "
                   "channels_last for conv nets, in-place adds (use it in eval mode)")

    p = sub.add_parser("export", help="write an ONNX model and/or a torch.export .pt2 file")
    _common(p)
    p.add_argument("--onnx", metavar="OUT.onnx",
                   help="write an ONNX model (needs onnx and onnxscript)")
    p.add_argument("--pt2", metavar="OUT.pt2", help="write a torch.export program")

    p = sub.add_parser("train", help="train on a built-in data set (digits)")
    _common(p)
    p.add_argument("--data", default="digits", choices=("digits",), help="data set")
    p.add_argument("--epochs", type=int, default=10, metavar="N")
    p.add_argument("--batch-size", type=int, default=64, metavar="B")
    p.add_argument("--lr", type=float, default=None, metavar="LR",
                   help="learning rate (default: 1e-3 for Adam)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--device", default=None, metavar="D", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["classes=10", "mode=fast"]`` → ``{"classes": 10, "mode": "fast"}``.

    Each value is exactly one expression: text after it (``classes=10; use "x.rg"``) is
    refused, never ignored.

    >>> parse_sets(["classes=10", "widths=[16, 32]"])
    {'classes': 10, 'widths': [16, 32]}
    >>> try:
    ...     parse_sets(['classes=10; use "/etc/passwd"'])
    ... except ResgraphError as err:
    ...     print(err.code, err.message)
    RG218 bad --set value for 'classes': a value is one expression, but '; use "/etc/passwd"' \
follows '10'
    """
    from resgraph import ast
    from resgraph.evaluate import Scope, evaluate
    from resgraph.parse import parse

    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key.isidentifier():
            raise ResgraphError("RG218", f"bad --set '{item}': expected NAME=VALUE, "
                                "e.g. --set classes=10")
        text = f"let _ = {value}"
        try:
            stmts = parse(text, f"--set {key}").items
        except ResgraphError:
            stmts = []
        if not stmts or not isinstance(stmts[0], ast.Let):
            raise ResgraphError("RG218", f"bad --set value for '{key}': {value!r} is not a "
                                "number, a word, true/false or a list")
        end = stmts[0].value.span
        at = sum(len(line) + 1 for line in text.split("\n")[:end.end_line - 1]) \
            + end.end_column - 1
        if len(stmts) > 1 or text[at:].strip():
            rest, head = text[at:].strip(), text[len("let _ = "):at].strip()
            rest = rest if len(rest) <= 40 else rest[:37] + "..."
            raise ResgraphError("RG218", f"bad --set value for '{key}': a value is one "
                                f"expression, but {rest!r} follows {head!r}")
        try:
            out[key] = evaluate(stmts[0].value, Scope({}), word_ok=True)
        except ResgraphError:
            raise ResgraphError("RG218", f"bad --set value for '{key}': {value!r} is not a "
                                "number, a word, true/false or a list") from None
    return out


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The resource limits given by the ``--max-*`` options."""
    return Limits(**{k: getattr(args, k) for k in Limits.__dataclass_fields__})


def load_from_args(args: argparse.Namespace) -> Architecture:
    """Load the file named on the command line with its --network, --set and limits."""
    from resgraph.api import load

    return load(args.file, args.network, limits=limits_from_args(args), **parse_sets(args.sets))


def check(file: str, network: str | None, params: dict[str, Any], limits: Limits) -> None:
    """``resgraph check``: read and parse ``file`` (and what it uses) once, elaborate its
    network and print a one-line summary; for a file that defines only blocks and lets
    (and no ``network`` or ``params`` asked for), summarise those instead.

    >>> check("examples/resnet_blocks.rg", None, {}, Limits())
    examples/resnet_blocks.rg: ok: no network; blocks: basic, bottleneck; lets: 0
    """
    from resgraph.api import build
    from resgraph.program import load_program, read_file
    from resgraph.util import no_gc

    with no_gc():
        prog = load_program(read_file(file, limits), file, limits)
        if not prog.networks and network is None and not params:
            blocks = ", ".join(prog.blocks) or "none"
            print(f"{file}: ok: no network; blocks: {blocks}; lets: {len(prog.values)}")
            return
        arch = build(prog, network, params, limits)
    ins = ", ".join(f"{k} {list(v)}" for k, v in arch.inputs.items())
    outs = ", ".join(f"{k} {list(v)}" for k, v in arch.outputs.items())
    print(f"{file}: ok: network {arch.name}, {len(arch.graph)} nodes, "
          f"{arch.num_params:,} params; {ins} -> {outs}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "export" and args.onnx is None and args.pt2 is None:
        parser.error("export: give --onnx OUT.onnx, --pt2 OUT.pt2 or both")
    try:
        if args.command == "check":
            check(args.file, args.network, parse_sets(args.sets), limits_from_args(args))
            return 0
        arch = load_from_args(args)
        if args.command == "analyze":
            from resgraph.analyze import analyze
            from resgraph.report import print_report

            print_report(analyze(arch), as_json=args.json, blocks=args.blocks,
                         units=args.units, plot_path=args.plot)
            return 0
        if args.command == "render":
            from resgraph.render import cli_main as render_main

            return render_main(arch, output=args.output, collapse=args.collapse,
                               depth=args.depth, shapes=args.shapes, params=args.params,
                               rankdir=args.rankdir, dot_memory=args.dot_memory)
        if args.command == "compile":
            from resgraph.lower import compile_package

            compile_package(arch, args.output, source=os.path.basename(args.file),
                            force=args.force, optimize=args.optimize)
            return 0
        if args.command == "export":
            from resgraph.lower.export import export_files

            export_files(arch, onnx=args.onnx, pt2=args.pt2)
            return 0
        if args.command == "train":
            from resgraph.lower.train import train

            train(arch, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  seed=args.seed, device=args.device, progress=not args.no_progress,
                  data=args.data)
            return 0
        raise AssertionError(f"no handler for the command {args.command!r}")  # argparse's choices
    except ResgraphError as exc:
        if args.debug:
            traceback.print_exc()
        # One write per error, so messages from processes sharing a pipe (DDP ranks under
        # torchrun, which may run Python unbuffered) never interleave within a line.
        sys.stderr.write(f"{exc}\n")
        sys.stderr.flush()
        return 1
    except KeyboardInterrupt:
        print("resgraph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `resgraph analyze ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
