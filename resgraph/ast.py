"""The abstract syntax tree: plain dataclasses, each carrying its source span.

The parser (:mod:`resgraph.parse`) builds these; elaboration reads them.

>>> from resgraph.parse import parse
>>> mod = parse("let w = 64", "x.rg")
>>> mod.items[0].name, mod.items[0].span.line
('w', 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from resgraph.errors import Span

# ---------------------------------------------------------------- expressions


@dataclass
class Literal:
    """A number, string, boolean or ``none``."""

    value: object
    span: Span


@dataclass
class Var:
    """A bare name: a parameter, a let, a node (for shape queries) or an option word."""

    name: str
    span: Span


@dataclass
class ListExpr:
    items: list[Expr]
    span: Span


@dataclass
class Index:
    target: Expr
    index: Expr
    span: Span


@dataclass
class Attr:
    """``x.channels``, ``in.shape``: a shape query on a node."""

    target: Expr
    name: str
    span: Span


@dataclass
class FuncCall:
    """One of the built-in functions ``int min max round``."""

    name: str
    args: list[Expr]
    span: Span


@dataclass
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass
class UnaryOp:
    op: str
    operand: Expr
    span: Span


@dataclass
class Cond:
    """``a if cond else b``."""

    then: Expr
    cond: Expr
    other: Expr
    span: Span


Expr = Literal | Var | ListExpr | Index | Attr | FuncCall | BinOp | UnaryOp | Cond

# ---------------------------------------------------------------- chains


@dataclass
class Arg:
    """A call argument; ``name`` is None for a positional one."""

    name: str | None
    value: Expr
    span: Span


@dataclass
class Call:
    """``name`` or ``name(args)``: an op, a block, or (first in a chain) a node."""

    name: str
    args: list[Arg] | None
    span: Span
    name_span: Span


@dataclass
class InRef:
    """The block input ``in`` at the start of a chain."""

    span: Span


@dataclass
class SubChain:
    chain: Chain
    span: Span


@dataclass
class Group:
    """``residual(...) { body }``, ``highway { }``, ``dense(layers=L) as i { }``."""

    kind: str
    args: list[Arg]
    body: list[Stmt]
    span: Span
    kind_span: Span
    var: str | None = None
    """The layer index name of ``dense(...) as i { }``."""
    var_span: Span | None = None


Atom = Call | InRef | SubChain | Group


@dataclass
class Term:
    """``[...][label:] atom [* n [as i]] [if cond]``.

    ``label`` is the label as written (a name, digits, or a quoted template); a template
    ``"block{i}"`` also has ``template``: its text parts and expressions, in order.
    """

    label: str | None
    atom: Atom
    repeat: Expr | None
    span: Span
    label_span: Span | None = None
    template: list[str | Expr] | None = None
    var: str | None = None
    """The copy index name of ``term * n as i``."""
    var_span: Span | None = None
    cond: Expr | None = None
    """The condition of ``term if cond``."""
    spread: Span | None = None
    """Where the ``...`` of a spread term ``...term`` is (None for any other term)."""


@dataclass
class Chain:
    terms: list[Term]
    span: Span


# ---------------------------------------------------------------- statements


@dataclass
class Input:
    name: str
    dims: list[Expr]
    dtype: str | None
    span: Span
    dtype_span: Span | None = None


@dataclass
class Output:
    names: list[tuple[str, Span]]
    span: Span


@dataclass
class Let:
    name: str
    value: Expr
    span: Span


@dataclass
class Assign:
    """``name = chain``: labels the chain's last node."""

    name: str
    chain: Chain
    span: Span


@dataclass
class Edge:
    """``KIND(opts) src -> dst``."""

    kind: str
    args: list[Arg]
    src: str
    src_span: Span
    dst: str
    dst_span: Span
    span: Span


@dataclass
class ChainStmt:
    chain: Chain
    span: Span


Stmt = Input | Output | Let | Assign | Edge | ChainStmt

# ---------------------------------------------------------------- top level


@dataclass
class Param:
    name: str
    default: Expr | None
    span: Span


@dataclass
class Definition:
    """A ``block`` or a ``network``."""

    kind: str
    name: str
    params: list[Param]
    body: list[Stmt]
    span: Span
    file: str = ""


@dataclass
class Function:
    """``let f(a, b=1) = expr``: a top-level expression function."""

    name: str
    params: list[Param]
    body: Expr
    span: Span
    name_span: Span


@dataclass
class Use:
    path: str
    span: Span


TopItem = Use | Let | Function | Definition


@dataclass
class Module:
    file: str
    items: list[TopItem] = field(default_factory=list)
