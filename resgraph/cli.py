"""The ``resgraph`` command line: it parses options, loads the file, and hands over to a stage.

Each command's options and hand-over live in its module under :mod:`resgraph.commands`,
which calls its stage with explicit arguments: no stage sees the ``argparse.Namespace``;
torch is imported only by the commands that build a model. User errors print
``FILE:LINE:COL: error[CODE]: ...`` with the source line and a caret, and exit 1;
``--debug`` shows the traceback too.

>>> main(["check", "examples/resnet18.rg"])  # doctest: +ELLIPSIS
examples/resnet18.rg: ok: network resnet18, 70 nodes, 11,689,512 params; x [3, 224, 224] -> ...
0
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.program import Limits


def common_options(p: argparse.ArgumentParser) -> None:
    """FILE, --network, --set, --debug and the resource limits, shared by commands on a file."""
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
    """The argument parser for every subcommand of :mod:`resgraph.commands`."""
    from resgraph.commands import command_modules

    parser = argparse.ArgumentParser(
        prog="resgraph", description="Check, analyse, draw, compile and train network "
        "architectures written in the resgraph language.")
    parser.add_argument("--version", action="version", version="resgraph 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in command_modules():
        name = mod.__name__.rsplit(".", 1)[1]
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        if mod.FILE:
            common_options(p)
        else:
            p.add_argument("--debug", action="store_true", help="show Python tracebacks")
        mod.add_arguments(p)
        p.set_defaults(handler=mod)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = getattr(args.handler, "usage_error", lambda _: None)(args)
    if problem:
        parser.error(problem)
    try:
        return int(args.handler.run(args))
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
