"""Graph helpers for elaboration: reachability, shortcut strides, size limits.

>>> import networkx as nx
>>> g = nx.DiGraph([(0, 1), (1, 2)])
>>> reaches(g, 0, 2), reaches(g, 2, 0)
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import networkx as nx

from resgraph import ast
from resgraph.errors import ResgraphError, Span
from resgraph.util import shape_text

MAX_ELEMENTS = 2**56
"""No tensor (activation or parameter) may reach this many elements."""


def reaches(g: nx.DiGraph, src: int, dst: int) -> bool:
    """Whether a path leads from ``src`` to ``dst``: breadth-first from both ends in turn.

    Alternating keeps the cost near the smaller of "below src" and "above dst", so that
    many edge statements stay cheap whichever end of the network they touch.
    """
    if src == dst:
        return True
    below, above = {src}, {dst}
    down: list[int] | None = [src]
    up: list[int] | None = [dst]
    while down and up:
        down = _widen(down, g.successors, below, above)
        if down is None:
            return True
        up = _widen(up, g.predecessors, above, below)
        if up is None:
            return True
    return False


def _widen(frontier: list[int], neighbours: Callable[[int], Iterable[int]], seen: set[int],
           other: set[int]) -> list[int] | None:
    """One breadth-first step of :func:`reaches`; None when it meets the other side."""
    nxt = []
    for n in frontier:
        for m in neighbours(n):
            if m in other:
                return None
            if m not in seen:
                seen.add(m)
                nxt.append(m)
    return nxt


def check_size(what: str, shape: Sequence[int], span: Span) -> None:
    """Refuse tensors too large for any device (and for PyTorch's int64 sizes)."""
    n = math.prod(shape)
    if n >= MAX_ELEMENTS:
        raise ResgraphError("RG407", f"{what} would produce a tensor of shape "
                            f"{shape_text(shape)} with {n:,} elements; tensors must have "
                            "fewer than 2**56", span)


def shortcut_stride(xs: tuple[int, ...], target: tuple[int, ...]) -> int | None:
    """The one stride that turns spatial size ``xs`` into ``target`` (a projection's).

    >>> shortcut_stride((64, 56, 56), (128, 28, 28)), shortcut_stride((8, 7), (8, 5))
    (2, None)
    """
    if len(xs) != len(target):
        return None
    if len(xs) == 1:
        return 1
    strides = set()
    for size, out in zip(xs[1:], target[1:]):
        s = max(1, size // out)
        if (size - 1) // s + 1 != out:
            s += 1
            if (size - 1) // s + 1 != out:
                return None
        strides.add(s)
    return strides.pop() if len(strides) == 1 else None


def single_labelled(atom: ast.Atom | list[ast.Stmt]) -> ast.Term | None:
    """The term of a sub-chain (or body) that is exactly one labelled term, else None: in a
    repeat or dense layer, its label names each copy in place of the copy's number."""
    if isinstance(atom, ast.SubChain):
        terms = atom.chain.terms
    elif isinstance(atom, list) and len(atom) == 1 and isinstance(atom[0], ast.ChainStmt):
        terms = atom[0].chain.terms
    else:
        return None
    if len(terms) != 1 or terms[0].label is None:
        return None
    return terms[0]


def uses_name(parts: list[str | ast.Expr], name: str) -> bool:
    """Whether any expression among ``parts`` (a label template's) reads ``name``.

    >>> from resgraph.errors import Span
    >>> uses_name(["b", ast.BinOp("+", ast.Var("i", Span("f", 1, 1)),
    ...                           ast.Literal(1, Span("f", 1, 1)), Span("f", 1, 1))], "i")
    True
    """
    todo: list[object] = [p for p in parts if not isinstance(p, str)]
    while todo:
        e = todo.pop()
        if isinstance(e, ast.Var) and e.name == name:
            return True
        if isinstance(e, list):
            todo.extend(e)
        elif isinstance(e, (ast.ListExpr, ast.Index, ast.Attr, ast.FuncCall, ast.BinOp,
                            ast.UnaryOp, ast.Cond)):
            todo.extend(getattr(e, f) for f in e.__dataclass_fields__ if f != "span")
    return False
