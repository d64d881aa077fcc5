"""``resgraph check FILE``: parse and check a file; print a one-line summary."""

from __future__ import annotations

import argparse
from typing import Any

from resgraph.program import Limits

ORDER = 10
HELP = "parse and check a file; print a one-line summary"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``check`` has only the common options."""


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import limits_from_args, parse_sets

    check(args.file, args.network, parse_sets(args.sets), limits_from_args(args))
    return 0


def check(file: str, network: str | None, params: dict[str, Any], limits: Limits) -> None:
    """Read and parse ``file`` (and what it uses) once, elaborate its network and print a
    one-line summary; for a file that defines only blocks and lets (and no ``network`` or
    ``params`` asked for), summarise those instead.

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
