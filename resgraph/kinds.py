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
    """How an edge kind is drawn, so that every kind stays apart in colour, for
    colour-blind readers, and in greyscale print.

    ``color`` is from a palette whose colours stay apart (CIEDE2000 above 20) under
    simulated protanopia, deuteranopia and tritanopia (``tests/test_palette.py``).
    ``width`` is the line width in points, ``dash`` the Graphviz dash and ``lines`` the
    number of parallel strokes (a double line is two); each kind has its own
    (``dash``, ``lines``) pair, its pattern in every Graphviz format. ``dasharray`` is the
    exact SVG ``stroke-dasharray`` for writers that have no parallel strokes (Mermaid),
    where each kind has its own (``dasharray``, width) pair. ``constraint`` says whether
    the edge takes part in ranking the layout (long skips do not). ``fill`` is a light
    tint of ``color`` for a merge symbol of the kind. ``label`` is the kind's name in a
    compact legend (the full legend says :attr:`EdgeKind.legend`).

    >>> EDGE_KINDS["residual"].style.lines, EDGE_KINDS["skip"].style.dash
    (2, 'dashed')
    """

    color: str
    width: float
    dash: Dash = "solid"
    constraint: bool = True
    arrowsize: float = 1.0
    mermaid: str = "-->"
    label: str = ""
    lines: int = 1
    dasharray: str = ""
    fill: str = "#ffffff"


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

# The palette: black for the sequence, then seven colours found by search near the
# Okabe-Ito hues so that all eight stay apart under each kind of colour blindness (min
# CIEDE2000 21.5); tests/test_palette.py measures it. The patterns: solid, dashed and
# dotted lines, one, two or three strokes wide.
SEQ = EdgeKind("seq", True, Style("#000000", 1.0, label="sequence"), "sequence")
CONTROL = EdgeKind("control", False,
                   Style("#aba2a6", 1.0, "dotted", arrowsize=0.6, mermaid="-.->",
                         label="control", dasharray="1 4"),
                   "control: into a gate (T, F), not a signal path")

CONNECTIONS: dict[str, ConnectionKind] = {k.name: k for k in (
    ConnectionKind(
        "residual", _RESIDUAL_ARGS, _RESIDUAL_ARGS, "add", ("add",), "short",
        EdgeKind("residual", True, Style("#073269", 1.0, mermaid="==>", label="residual",
                                         lines=2, fill="#dae0e8"),
                 "residual: added back (+)")),
    ConnectionKind(
        "skip", None, (ArgSpec("merge", "word", "concat", ("concat", "add")),), "concat",
        ("concat", "add"), "long",
        EdgeKind("skip", True, Style("#582b00", 1.6, "dashed", constraint=False,
                                     mermaid="-.->", label="long skip", dasharray="6 4",
                                     fill="#e6dfd9"),
                 "long skip: to a later level (‖, or + with merge=add)")),
    ConnectionKind(
        "highway", _HIGHWAY_ARGS, _HIGHWAY_ARGS, "highway", ("highway",), "short",
        EdgeKind("highway", True, Style("#087b5c", 1.2, "dashed", mermaid="==>",
                                        label="highway", lines=2, dasharray="6 3 2 3",
                                        fill="#daebe7"),
                 "highway carry: x into the gated sum"),
        single=True),
    ConnectionKind(
        "dense", (ArgSpec("layers", "int", minimum=0),), (), "concat", ("concat",), "short",
        EdgeKind("dense", True, Style("#760afe", 1.2, "dotted", label="dense", lines=2,
                                      dasharray="2 2", fill="#eadaff"),
                 "dense: concatenated (‖)")),
    ConnectionKind(
        "gate", (), None, "mul", ("mul",), "short",
        EdgeKind("gate", True, Style("#f88b2e", 1.0, "dashed", mermaid="==>", label="gate",
                                     lines=3, dasharray="6 3 2 3 2 3", fill="#feeee0"),
                 "gate: x scaled by F(x) (×); F is a control path")),
    ConnectionKind(
        "parallel", (ArgSpec("merge", "word", "concat", ("concat", "add", "mul")),), None,
        "concat", ("concat", "add", "mul"), "short",
        EdgeKind("parallel", True, Style("#50a9ff", 0.8, mermaid="-->", label="parallel",
                                         lines=3, dasharray="14 4", fill="#e5f2ff"),
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
