"""The registry of edge and connection kinds: every kind declared once, as data.

An **edge kind** is what an IR edge carries (``seq``, ``control`` and one per
connection kind). A **connection kind** is a way of joining a branch back into the
flow (residual, highway, dense, skip, gate, parallel): it declares its group form and options, its
edge form and options, the merge op it builds, whether it is a short (in-block) or
long connection, and how it is drawn. Elaboration builds its merges through
:data:`resgraph.elaborate.connections.MERGES`; analysis, rendering and lowering read
the fields below, and ``tests/test_kinds.py`` checks that every table covers every
kind. Adding a kind is one :class:`ConnectionKind` entry here plus its merge function.

>>> CONNECTIONS["residual"].merge_op, CONNECTIONS["skip"].reach
('add', 'long')
>>> [k.name for k in EDGE_KINDS.values() if not k.signal]
['control']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from resgraph.ops import ArgSpec

EdgeKindName = Literal["seq", "residual", "skip", "highway", "dense", "gate", "parallel",
                       "control"]
Dash = Literal["solid", "dashed", "dotted"]


@dataclass(frozen=True)
class Style:
    """How an edge kind is drawn: colour, line width in points, dash pattern, and
    whether the edge takes part in ranking the layout (long skips do not). ``label`` is
    the kind's name in a compact legend (the full legend says :attr:`EdgeKind.legend`)."""

    color: str
    width: float
    dash: Dash = "solid"
    constraint: bool = True
    arrowsize: float = 1.0
    mermaid: str = "-->"
    label: str = ""


@dataclass(frozen=True)
class EdgeKind:
    """One kind of IR edge. ``signal`` is False for control edges (a gate's input),
    which are in the graph but are never part of a signal path."""

    name: str
    signal: bool
    style: Style
    legend: str


@dataclass(frozen=True)
class ConnectionKind:
    """One kind of connection, with its group and edge forms.

    ``group_args``/``edge_args`` are the options of ``KIND(opts) { body }`` and of
    ``KIND(opts) a -> b``; None means the form does not exist. ``merge_op`` is the
    registry op of the node where the branch joins (``merge_ops`` lists every op the
    kind may build, e.g. skip builds add or concat). ``reach`` is short for in-block
    connections and long for skips across the network. ``single`` says a node takes
    at most one edge of this kind.
    """

    name: str
    group_args: tuple[ArgSpec, ...] | None
    edge_args: tuple[ArgSpec, ...] | None
    merge_op: str
    merge_ops: tuple[str, ...]
    reach: Literal["short", "long"]
    edge: EdgeKind
    single: bool = False


_RESIDUAL_ARGS = (
    ArgSpec("shortcut", "word", "identity", ("identity", "pad", "project", "conv", "none")),
    ArgSpec("drop_path", "float", 0.0, minimum=0, maximum=1, open_max=True),
    ArgSpec("shortcut_bn", "bool", True),
)
_HIGHWAY_ARGS = (ArgSpec("gate_bias", "float", -2.0),)

SEQ = EdgeKind("seq", True, Style("#495057", 1.0, label="sequence"), "sequence")
CONTROL = EdgeKind("control", False,
                   Style("#2b8a3e", 0.8, "dotted", arrowsize=0.6, mermaid="-.->", label="control"),
                   "control: into a gate (T, F), not a signal path")

CONNECTIONS: dict[str, ConnectionKind] = {k.name: k for k in (
    ConnectionKind(
        "residual", _RESIDUAL_ARGS, _RESIDUAL_ARGS, "add", ("add",), "short",
        EdgeKind("residual", True, Style("#1c6bb0", 2.6, mermaid="==>", label="residual"),
                 "residual: added back (+)")),
    ConnectionKind(
        "skip", None, (ArgSpec("merge", "word", "concat", ("concat", "add")),), "concat",
        ("concat", "add"), "long",
        EdgeKind("skip", True, Style("#e8590c", 1.6, "dashed", constraint=False,
                                     mermaid="-.->", label="long skip"), "long skip")),
    ConnectionKind(
        "highway", _HIGHWAY_ARGS, _HIGHWAY_ARGS, "highway", ("highway",), "short",
        EdgeKind("highway", True, Style("#2b8a3e", 2.0, mermaid="==>", label="highway"),
                 "highway carry: x into the gated sum"),
        single=True),
    ConnectionKind(
        "dense", (ArgSpec("layers", "int", minimum=0),), (), "concat", ("concat",), "short",
        EdgeKind("dense", True, Style("#7048e8", 1.2, label="dense"), "dense: concatenated (‖)")),
    ConnectionKind(
        "gate", (), None, "mul", ("mul",), "short",
        EdgeKind("gate", True, Style("#c2255c", 2.0, mermaid="==>", label="gate"),
                 "gate: x scaled by F(x) (×); F is a control path")),
    ConnectionKind(
        "parallel", (ArgSpec("merge", "word", "concat", ("concat", "add", "mul")),), None,
        "concat", ("concat", "add", "mul"), "short",
        EdgeKind("parallel", True, Style("#0c8599", 1.4, mermaid="-->", label="parallel"),
                 "parallel branches: fan-in (‖, + with merge=add, × with merge=mul)")),
)}
"""Every connection kind, by name (the order in which legends list them)."""

EDGE_KINDS: dict[str, EdgeKind] = {
    "seq": SEQ,
    **{name: kind.edge for name, kind in CONNECTIONS.items()},
    "control": CONTROL,
}
"""Every edge kind, by name: seq, the connection kinds, control."""

MERGE_OPS: frozenset[str] = frozenset(op for k in CONNECTIONS.values() for op in k.merge_ops)
"""Ops that join a connection into the flow."""


def is_signal(kind: str) -> bool:
    """Whether an edge of this kind can be part of a signal path.

    >>> is_signal("residual"), is_signal("control")
    (True, False)
    """
    return EDGE_KINDS[kind].signal
