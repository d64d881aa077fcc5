"""Loading: a file and the files it ``use``s become one :class:`Program` (lets, blocks, networks).

>>> prog = load_program('let w = 8\\nnetwork n() { input x[w] }', "p.rg", Limits())
>>> prog.values["w"], sorted(prog.networks)
(8, ['n'])
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from resgraph import ast
from resgraph.errors import ResgraphError, Span
from resgraph.evaluate import DEFAULT_INT_BITS, Scope, evaluate
from resgraph.ops import OPS
from resgraph.parse import parse

RESERVED_BLOCK_NAMES = frozenset(OPS) | {"int", "min", "max", "round", "len"}


@dataclass(frozen=True)
class Limits:
    """Resource limits; each error that hits one says how to raise it.

    >>> Limits(max_nodes=10).max_nodes
    10
    """

    max_repeat: int = 100_000
    max_nodes: int = 1_000_000
    max_nesting: int = 64
    max_int_bits: int = DEFAULT_INT_BITS
    max_file_bytes: int = 1_000_000
    max_use_depth: int = 16


INT_BITS_CEILING = 8192  # larger ints could not even be printed (Python's 4,300-digit limit)


def check_limits(limits: Limits) -> None:
    """Refuse negative limits, and integer limits too large for the tool to handle."""
    for name in Limits.__dataclass_fields__:
        value = getattr(limits, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ResgraphError("RG219", f"--{name.replace('_', '-')} must be a whole number "
                                f">= 0, got {value!r}")
    if not 1 <= limits.max_int_bits <= INT_BITS_CEILING:
        raise ResgraphError("RG219", f"--max-int-bits must be between 1 and {INT_BITS_CEILING:,}, "
                            f"got {limits.max_int_bits:,}")


@dataclass
class Program:
    """Everything a file defines, its ``use``d files included."""

    file: str
    values: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, ast.Definition] = field(default_factory=dict)
    networks: dict[str, ast.Definition] = field(default_factory=dict)
    let_spans: dict[str, Span] = field(default_factory=dict)


def read_file(path: str, limits: Limits, span: Span | None = None) -> str:
    """Read a source file, turning OS errors and oversize files into ResgraphErrors.

    Only regular files are read (never a device or a pipe that could block or never
    end), and never more than ``limits.max_file_bytes`` of them.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ResgraphError("RG006", f"cannot read '{path}': not a regular file", span)
        with open(path, "rb") as fh:
            data = fh.read(limits.max_file_bytes + 1)
        if len(data) > limits.max_file_bytes:
            size = max(os.path.getsize(path), len(data))
            raise ResgraphError("RG001", f"'{path}' is {size:,} bytes, over the limit of "
                                f"{limits.max_file_bytes:,} (raise it with --max-file-bytes "
                                "or limits=Limits(max_file_bytes=...))",
                                span or Span(path, 1, 1, 1, 1))
        return data.decode("utf-8")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, NUL in a path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ResgraphError("RG006", f"cannot read '{path}': {reason}", span) from None


def load_program(text: str, file: str, limits: Limits, _stack: tuple[str, ...] = (),
                 _loaded: dict[str, Program] | None = None) -> Program:
    """Parse ``text`` and everything it uses into a Program.

    A file used several times (a diamond: two libraries using one base) is read once.
    """
    loaded = {} if _loaded is None else _loaded
    if not _stack:
        check_limits(limits)
    module = parse(text, file, max_bytes=limits.max_file_bytes,
                   max_nesting=limits.max_nesting)
    prog = Program(file)
    here = os.path.abspath(file) if os.path.exists(file) else file
    stack = (*_stack, here)
    for item in module.items:
        if isinstance(item, ast.Use):
            _use(prog, item, file, stack, limits, loaded)
        elif isinstance(item, ast.Let):
            _let(prog, item, limits)
        else:
            _define(prog, item)
    return prog


def _use(prog: Program, item: ast.Use, file: str, stack: tuple[str, ...], limits: Limits,
         loaded: dict[str, Program]) -> None:
    path = os.path.normpath(os.path.join(os.path.dirname(file), item.path))
    full = os.path.abspath(path)
    if full in stack:
        chain = " -> ".join(os.path.basename(p) for p in (*stack, full))
        raise ResgraphError("RG501", f"'use' cycle: {chain}", item.span)
    if len(stack) > limits.max_use_depth:
        raise ResgraphError("RG502", f"'use' nested more than {limits.max_use_depth} files deep "
                            "(raise it with --max-use-depth)", item.span)
    sub = loaded.get(full)
    if sub is None:
        sub = load_program(read_file(path, limits, item.span), path, limits, stack, loaded)
        loaded[full] = sub
    for name, defn in sub.blocks.items():
        _add_block(prog, name, defn)
    for name, value in sub.values.items():
        prog.values.setdefault(name, value)
        prog.let_spans.setdefault(name, sub.let_spans[name])


def _let(prog: Program, item: ast.Let, limits: Limits) -> None:
    if item.name in prog.values:
        raise ResgraphError("RG205", f"'{item.name}' is already defined", item.span,
                            notes=[("first defined here", prog.let_spans[item.name])])
    prog.values[item.name] = evaluate(item.value, Scope(prog.values),
                                      max_int_bits=limits.max_int_bits)
    prog.let_spans[item.name] = item.span


def _define(prog: Program, item: ast.Definition) -> None:
    seen: dict[str, Span] = {}
    for param in item.params:
        if param.name in seen:
            raise ResgraphError("RG205", f"parameter '{param.name}' of {item.kind} "
                                f"'{item.name}' is defined twice", param.span,
                                notes=[("first defined here", seen[param.name])])
        seen[param.name] = param.span
    if item.kind == "block":
        _add_block(prog, item.name, item)
        return
    if item.name in prog.networks:
        raise ResgraphError("RG205", f"network '{item.name}' is defined twice", item.span,
                            notes=[("first defined here", prog.networks[item.name].span)])
    prog.networks[item.name] = item


def _add_block(prog: Program, name: str, defn: ast.Definition) -> None:
    if name in RESERVED_BLOCK_NAMES:
        raise ResgraphError("RG206", f"block '{name}' would hide the built-in op or function "
                            f"'{name}'; choose another name", defn.span)
    old = prog.blocks.get(name)
    if old is not None and old is not defn:
        raise ResgraphError("RG205", f"block '{name}' is defined twice", defn.span,
                            notes=[("first defined here", old.span)])
    prog.blocks[name] = defn
