"""Analysis: exact signal paths, depth, path-length distributions, parameters and MACs.

Small public algorithms over a loaded network, each a dynamic program over the IR
graph in topological order; no path is ever enumerated (DenseNet-121 has 2^58 of
them). ``control`` edges (a highway gate's input) are not signal paths and are left
out. :func:`analyze` runs them all on one :class:`SignalDag` and one count pass and
returns an :class:`Analysis`; :mod:`resgraph.report` prints it. ``paths``, ``depth`` and
``min_depth`` are always exact; the path-length distributions are exact when that is
cheap and otherwise floating point, marked approximate (see :func:`analyze`). Each public function
runs with the garbage collector paused (:func:`resgraph.util.no_gc`): the passes make
no cycles, and collections walking their tables would dominate the run time.
Definitions and the MACs convention are in ``docs/analysis.md``.

>>> import resgraph
>>> arch = resgraph.loads('''
... network tiny() {
...     input x[8]
...     x -> linear(8) -> residual { linear(8) -> relu -> linear(8) } * 3 -> linear(2)
... }''')
>>> count_paths(arch), depth(arch), min_depth(arch)
(8, 8, 2)
>>> path_length_distribution(arch)
{2: 1, 4: 3, 6: 3, 8: 1}
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, fields
from typing import Any

import networkx as nx

from resgraph.ir import Architecture
from resgraph.kinds import CONNECTIONS, EDGE_KINDS, MERGE_OPS, is_signal
from resgraph.util import no_gc

SIGNAL_KINDS = frozenset(name for name in EDGE_KINDS if is_signal(name))
"""Edge kinds that signal paths follow (every kind but ``control``)."""

GROUP_KINDS = frozenset(name for name, kind in CONNECTIONS.items() if kind.group_args is not None)
"""Connection kinds with a group form ``KIND { body }``: rows of the block table."""

SHORTCUT_KINDS = frozenset(
    name for name, kind in CONNECTIONS.items()
    if any(arg.name == "shortcut" for arg in (*(kind.group_args or ()), *(kind.edge_args or ()))))
"""Connection kinds with a ``shortcut`` option: their connections say which one they use."""

# ---------------------------------------------------------------- results


@dataclass
class Connection:
    """One residual, highway, dense or skip connection, as it enters its merge node.

    ``source`` is the module path of the node the connection starts from (in front of a
    projection or pad shortcut); ``target`` is the merge node (add, concat or highway)
    and ``into`` the node that reads it (for an edge statement, the node it names: ``d3``
    in ``skip e3 -> d3``). ``span`` counts the weighted layers on the longest signal path
    the connection bypasses (None if nothing else leads from source to target);
    ``reach`` is the kind's reach in :data:`resgraph.kinds.CONNECTIONS`: "short" for
    residual, highway and dense connections, "long" for ``skip`` edges (U-Net, FPN);
    ``shortcut`` is identity, pad or projection for a residual connection.

    >>> import resgraph
    >>> c = connections(resgraph.load("examples/resnet18.rg"))[2]
    >>> c.source, c.target, c.span, c.shortcut
    ('layer1.1.relu_1', 'layer2.0.add_0', 2, 'projection')
    """

    source: str
    target: str
    kind: str
    span: int | None
    reach: str
    shortcut: str | None = None
    into: str | None = None


@dataclass
class BlockFigures:
    """Figures of one block instance (or residual/highway/dense group).

    ``paths`` is the path multiplier: the number of signal paths from the block's
    inputs to its outputs; ``depth``/``min_depth`` are the longest/shortest of them in
    weighted layers; ``level`` is the nesting level among the rows of the table.

    >>> import resgraph
    >>> row = block_figures(resgraph.load("examples/resnet18.rg"))[0]
    >>> row.path, row.call, row.paths, (row.min_depth, row.depth)
    ('layer1.0', 'basic(64)', 2, (0, 2))
    """

    path: str
    call: str
    kind: str
    level: int
    params: int
    macs: int
    paths: int
    depth: int
    min_depth: int


@dataclass
class Analysis:
    """The result of :func:`analyze`; attributes are the keys of ``analyze --json``.

    ``path_lengths`` and ``unit_path_lengths`` map a length (as a string, in ascending
    order) to its exact number of signal paths (an int), in weighted layers and in
    units. When computing them exactly would be too costly (:func:`analyze`),
    ``path_lengths_exact`` is False and they map each length to the *share* of all
    signal paths that have it instead: floats that sum to 1, in floating point.
    ``--json`` writes that flag as ``path_lengths_approximate``.
    """

    network: str
    params: int
    trainable_params: int
    macs: int
    depth: int
    min_depth: int
    paths: int
    path_lengths: dict[str, float]
    nodes: int
    edges: dict[str, int]
    inputs: dict[str, list[int]]
    outputs: dict[str, list[int]]
    unit_path_lengths: dict[str, float] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    blocks: list[BlockFigures] = field(default_factory=list)
    file: str = ""
    path_lengths_exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (exact integers stay integers). ``path_lengths_exact`` is
        written as ``path_lengths_approximate`` (its negation), after ``path_lengths``.

        >>> import resgraph
        >>> d = resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").analyze().to_dict()
        >>> d["paths"], d["path_lengths"], d["path_lengths_approximate"], d["edges"]["seq"]
        (1, {'1': 1}, False, 1)
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "path_lengths_exact":
                continue
            if f.name in ("connections", "blocks"):
                value = [dict(vars(item)) for item in value]  # asdict is slow on 10^6 rows
            elif isinstance(value, dict):
                value = {k: list(v) if isinstance(v, list) else v for k, v in value.items()}
            out[f.name] = value
            if f.name == "path_lengths":
                out["path_lengths_approximate"] = not self.path_lengths_exact
        return out

    def lengths(self, units: bool = False) -> dict[int, float]:
        """The path-length distribution with integer keys (in units if ``units``): exact
        counts, or shares of all paths when ``path_lengths_exact`` is False.

        >>> import resgraph
        >>> resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").analyze().lengths()
        {1: 1}
        """
        table = self.unit_path_lengths if units else self.path_lengths
        return {int(k): v for k, v in table.items()}

    def shares(self, units: bool = False) -> dict[int, float]:
        """The share of all signal paths at each length, exact or approximate alike.

        >>> import resgraph
        >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } }")
        >>> arch.analyze().shares()
        {0: 0.5, 1: 0.5}
        """
        table = self.lengths(units)
        if not self.path_lengths_exact:
            return table
        total = self.paths
        return {k: v / total for k, v in table.items()} if total else {}


# ---------------------------------------------------------------- the DAG and its count pass


@dataclass
class SignalDag:
    """The signal graph in topological order: what every algorithm here walks.

    ``preds`` maps a node to its signal inputs as ``(input, unit)`` pairs (``unit`` is 1
    on the edge that closes a unit's branch); ``control`` edges are left out. ``order``
    is topological, smallest node id first (node ids follow the source order).

    >>> import resgraph
    >>> dag = SignalDag.of(resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").graph)
    >>> dag.order, dag.preds[1], dag.weight, dag.sources, dag.sinks
    ([0, 1], [(0, 0)], {0: 0, 1: 1}, [0], [1])
    """

    order: list[int]
    preds: dict[int, list[tuple[int, int]]]
    succs: dict[int, list[int]]
    weight: dict[int, int]
    sources: list[int]
    sinks: list[int]

    @classmethod
    def of(cls, g: nx.DiGraph) -> SignalDag:
        """Build from an IR graph (``arch.graph``)."""
        preds: dict[int, list[tuple[int, int]]] = {}
        succs: dict[int, list[int]] = {n: [] for n in g}
        for v, nbrs in g.pred.items():
            ins = [(u, e.get("unit", 0)) for u, e in nbrs.items() if e["kind"] in SIGNAL_KINDS]
            preds[v] = ins
            for u, _ in ins:
                succs[u].append(v)
        weight = dict(g.nodes(data="weighted", default=0))
        sinks = list(dict.fromkeys(g.graph["outputs"].values()))
        return cls(_topological(preds, succs), preds, succs, weight, list(g.graph["inputs"]),
                   sinks)


def _topological(preds: dict[int, list[tuple[int, int]]], succs: dict[int, list[int]]
                 ) -> list[int]:
    """Kahn's algorithm, smallest node id first.

    >>> _topological({0: [], 1: [(2, 0)], 2: [(0, 0)]}, {0: [2], 1: [], 2: [1]})
    [0, 2, 1]
    """
    left = {n: len(ins) for n, ins in preds.items()}
    ready = [n for n, k in left.items() if not k]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for s in succs[n]:
            left[s] -= 1
            if not left[s]:
                heapq.heappush(ready, s)
    return order


@dataclass
class PathCounts:
    """The count pass: for every node, the number of signal paths into it and the
    longest and shortest of them in weighted layers (its own weight included).

    Nodes no signal path reaches (a highway gate) have count 0 and no lengths: the
    keys of ``longest`` are the nodes that signal paths reach. ``bits`` holds the bit
    length of every reached node's count. ``paths``, ``depth`` and ``min_depth`` sum
    them up at the network's outputs.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } }")
    >>> counts = PathCounts.of(SignalDag.of(arch.graph))
    >>> counts.count, counts.longest, (counts.paths, counts.depth, counts.min_depth)
    ({0: 1, 1: 1, 2: 2}, {0: 0, 1: 1, 2: 1}, (2, 1, 0))
    """

    count: dict[int, int]
    longest: dict[int, int]
    shortest: dict[int, int]
    outputs: list[int]
    bits: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, dag: SignalDag, *, lean: bool = False) -> PathCounts:
        """One pass over ``dag`` in topological order.

        With ``lean``, a node's count is dropped as soon as all its readers have used it
        and only the outputs' counts stay in ``count``: the counts of a network of n
        units in series have up to n bits each, so keeping them all would hold O(n²)
        bits (2 GB for 100,000 units).
        """
        count: dict[int, int] = {}
        longest: dict[int, int] = {}
        shortest: dict[int, int] = {}
        bits: dict[int, int] = {}
        sources = set(dag.sources)
        keep = set(dag.sinks)
        left = {n: len(dag.succs[n]) for n in dag.order} if lean else {}
        for v in dag.order:
            w = dag.weight[v]
            if v in sources:
                count[v], longest[v], shortest[v], bits[v] = 1, w, w, 1
                continue
            preds = dag.preds[v]
            ins = [u for u, _ in preds if u in longest]
            if len(ins) == 1:
                u = ins[0]
                count[v], longest[v], shortest[v], bits[v] = count[u], w + longest[u], \
                    w + shortest[u], bits[u]
            elif ins:
                c = count[v] = sum([count[u] for u in ins])
                longest[v] = w + max([longest[u] for u in ins])
                shortest[v] = w + min([shortest[u] for u in ins])
                bits[v] = c.bit_length()
            else:
                count[v] = 0
            if lean:
                for u, _ in preds:
                    left[u] -= 1
                    if not left[u] and u not in keep:
                        del count[u]
        return cls(count, longest, shortest, [s for s in dag.sinks if count[s]], bits)

    @property
    def paths(self) -> int:
        """Signal paths from the inputs to the outputs (to each output, if one feeds another)."""
        return sum(self.count[s] for s in self.outputs)

    @property
    def depth(self) -> int:
        """The longest signal path, in weighted layers (0 if there is none)."""
        return max((self.longest[s] for s in self.outputs), default=0)

    @property
    def min_depth(self) -> int:
        """The shortest signal path, in weighted layers (0 if there is none)."""
        return min((self.shortest[s] for s in self.outputs), default=0)


def count_paths(arch: Architecture) -> int:
    """The exact number of signal paths from the network's inputs to its outputs.

    >>> import resgraph
    >>> count_paths(resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 3 }"))
    8
    """
    return _path_counts(arch).paths


def depth(arch: Architecture) -> int:
    """The longest signal path, in weighted layers.

    >>> import resgraph
    >>> depth(resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 3 }"))
    3
    """
    return _path_counts(arch).depth


def min_depth(arch: Architecture) -> int:
    """The shortest signal path, in weighted layers (every unit's shortcut taken).

    >>> import resgraph
    >>> min_depth(resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 3 }"))
    0
    """
    return _path_counts(arch).min_depth


@no_gc()
def _path_counts(arch: Architecture) -> PathCounts:
    return PathCounts.of(SignalDag.of(arch.graph))


# ---------------------------------------------------------------- distributions

Packed = tuple[int, int, int]
"""A length→count map as (digits, offset, scale): a polynomial in 2^(8·W) whose i-th
W-byte digit times 256^scale is the number of paths of length ``offset + i``."""

APPROX_WIDTH = 8
"""Bytes per digit of an approximate distribution: 64-bit digits, about 56 significant
bits at the largest count of a node, however many paths there are."""

EXACT_BUDGET = 4_000_000_000
"""Estimated bytes of big-integer arithmetic (:func:`exact_cost`) up to which
:func:`analyze` computes the path-length distributions exactly: about a second on the
development machine. ResNet-1001 costs 2e7, DenseNet-201 4e6; 2,000 residual blocks
of two weighted layers in series 3e9 (0.7 s), 2,500 about 6e9."""


@no_gc()
def path_length_distribution(arch: Architecture, *, units: bool = False) -> dict[int, int]:
    """The exact number of signal paths of each length: weighted layers, or units traversed.

    A node's length→count map is packed into one Python integer, a polynomial in 2^B:
    the count of paths of length ``offset + i`` is the ``i``-th B-bit digit, and B is
    wide enough for the largest count at any node. Going through a weighted layer only
    moves the offset; merging maps is a shift and an add of big integers, done in C.
    This is always exact, so for n units in series it costs O(n³) bits;
    :func:`analyze` falls back to floating point where that is too costly.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 3 }")
    >>> path_length_distribution(arch), path_length_distribution(arch, units=True)
    ({0: 1, 1: 3, 2: 3, 3: 1}, {0: 1, 1: 3, 2: 3, 3: 1})
    """
    dag = SignalDag.of(arch.graph)
    counts = PathCounts.of(dag, lean=True)
    width = _exact_width(counts)
    return _unpack(_distribution(dag, counts, width, units), width)


def _exact_width(counts: PathCounts) -> int:
    """Bytes per digit for exact maps: enough for the largest count at any node and for
    the total over the outputs.

    >>> _exact_width(PathCounts({1: 300}, {}, {}, [1], {0: 1, 1: 9}))
    2
    """
    need = max(max(counts.bits.values(), default=1), counts.paths.bit_length())
    return max(1, (need + 7) // 8)


def exact_cost(dag: SignalDag, counts: PathCounts) -> int:
    """Estimated bytes of big-integer arithmetic that the two exact distributions take.

    Every input of a merge (a node with several reached inputs) is shifted and added
    once, as a number of (its node's range of lengths) digits of :func:`_exact_width`
    bytes; lengths in weighted layers come from ``counts``, lengths in units from one
    more pass here.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 3 }")
    >>> dag = SignalDag.of(arch.graph)
    >>> exact_cost(dag, PathCounts.of(dag))  # adds of 2 inputs, ranges 1+1, 2+2, 3+3 (+2)
    36
    """
    width = _exact_width(counts)
    reached = counts.longest
    hi: dict[int, int] = {}
    lo: dict[int, int] = {}
    cost = 0
    for v in dag.order:
        if v not in reached:
            continue
        ins = [(u, unit) for u, unit in dag.preds[v] if u in reached]
        if not ins:
            hi[v] = lo[v] = 0
            continue
        hi[v] = max(hi[u] + unit for u, unit in ins)
        lo[v] = min(lo[u] + unit for u, unit in ins)
        if len(ins) > 1:
            cost += len(ins) * (reached[v] - counts.shortest[v] + hi[v] - lo[v] + 2)
    return cost * width


def _distribution(dag: SignalDag, counts: PathCounts, width: int, units: bool
                  ) -> Packed | None:
    """Length→count over all signal paths, in weighted layers or (``units``) in units,
    with ``width``-byte digits: exact when they hold every count (:func:`_exact_width`),
    else block floating point (:func:`_merge`). A node's map is dropped as soon as all
    its readers have used it."""
    reached = counts.longest
    bits = counts.bits
    maps: dict[int, Packed] = {}
    left = {n: len(dag.succs[n]) for n in dag.order}
    keep = set(dag.sinks)
    sources = set(dag.sources)
    for v in dag.order:
        if v in sources:
            maps[v] = (1, 0 if units else dag.weight[v], 0)
            continue
        parts = [(maps[u][0], maps[u][1] + unit, maps[u][2]) if units else maps[u]
                 for u, unit in dag.preds[v] if u in reached]
        if parts:
            digits, off, scale = parts[0] if len(parts) == 1 else \
                _merge(parts, width, bits[v])
            maps[v] = (digits, off if units else off + dag.weight[v], scale)
        for u, _ in dag.preds[v]:
            left[u] -= 1
            if not left[u] and u not in keep:
                maps.pop(u, None)
    ends = [maps[s] for s in dag.sinks if s in maps]
    if not ends:
        return None
    return ends[0] if len(ends) == 1 else _merge(ends, width, counts.paths.bit_length())


def _merge(parts: list[Packed], width: int, bits: int) -> Packed:
    """Add length→count maps whose total count has ``bits`` bits.

    The sum gets the smallest scale at which that total fits one ``width``-byte digit,
    so no digit overflows; a map of a smaller scale is divided down to it first
    (:func:`_rescale`), and one ``width`` or more bytes smaller is left out, all its
    digits being below 1. With :func:`_exact_width` digits the scale stays 0: exact.

    >>> _merge([(1, 2, 0), (1, 0, 0)], 1, 2)  # one path of length 2, one of length 0
    (65537, 0, 0)
    >>> _merge([(0x8000, 5, 0), (0x8000, 5, 0)], 2, 17)  # 2^16 paths of length 5
    (256, 5, 1)
    """
    scale = max(0, (bits - 8 * width + 7) // 8)
    kept: list[tuple[int, int]] = []
    for digits, off, have in parts:
        if have < scale:
            if scale - have >= width:
                continue
            digits, off = _rescale(digits, off, scale - have, width)
        if digits:
            kept.append((digits, off))
    if not kept:  # every count rounded away (only with digits far too narrow)
        return 0, min(off for _, off, _ in parts), scale
    low = min(off for _, off in kept)
    step = 8 * width
    total = -1
    for digits, off in kept:
        if off != low:
            digits <<= step * (off - low)
        total = digits if total < 0 else total + digits
    return total, low, scale


def _rescale(digits: int, off: int, by: int, width: int) -> tuple[int, int]:
    """Divide every ``width``-byte digit by 256^``by`` (rounding down), dropping the
    digits that become 0 at the low end.

    >>> _rescale(0x0300_0102, 7, 1, 2)  # digits 0x0102, 0x0300 -> 0x01, 0x03
    (196609, 7)
    >>> _rescale(0x0300_0002, 7, 1, 2)  # the first digit rounds away
    (3, 8)
    """
    slots = -(-digits.bit_length() // (8 * width))
    data = digits.to_bytes(slots * width, "little")
    out = bytearray(len(data))
    for j in range(width - by):
        out[j::width] = data[j + by::width]
    return _trim(int.from_bytes(out, "little"), off, width)


def _trim(digits: int, off: int, width: int) -> tuple[int, int]:
    """Drop zero digits at the low end (moving the offset).

    >>> _trim(0x0500_0000, 0, 2)
    (1280, 1)
    """
    if not digits:
        return 0, off
    zeros = ((digits & -digits).bit_length() - 1) // (8 * width)
    return digits >> (8 * width * zeros), off + zeros


def _unpack(packed: Packed | None, width: int) -> dict[int, int]:
    """(digits, offset, scale) → {length: digit} for the non-zero digits (exact counts
    when the scale is 0).

    >>> _unpack((65537, 3, 0), 1)
    {3: 1, 5: 1}
    """
    if packed is None or not packed[0]:
        return {}
    digits, off, _ = packed
    slots = -(-digits.bit_length() // (8 * width))
    data = digits.to_bytes(slots * width, "little")
    out: dict[int, int] = {}
    for i in range(slots):
        c = int.from_bytes(data[i * width:(i + 1) * width], "little")
        if c:
            out[off + i] = c
    return out


def _shares(packed: Packed | None) -> dict[int, float]:
    """An approximate map as the share of paths at each length (floats summing to 1).

    >>> _shares((3 << 64 | 1, 4, 7))  # 8-byte digits 1 and 3 (times 256^7)
    {4: 0.25, 5: 0.75}
    """
    table = _unpack(packed, APPROX_WIDTH)
    total = sum(table.values())
    return {k: c / total for k, c in table.items()} if total else {}


def _distributions(dag: SignalDag, counts: PathCounts, budget: int = EXACT_BUDGET
                   ) -> tuple[dict[int, float], dict[int, float], bool]:
    """Both path-length distributions, in weighted layers and in units, and whether
    they are exact: exact counts when :func:`exact_cost` is within ``budget``, else
    the share of paths at each length, computed with 64-bit digits.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 2 }")
    >>> dag = SignalDag.of(arch.graph)
    >>> _distributions(dag, PathCounts.of(dag))
    ({0: 1, 1: 2, 2: 1}, {0: 1, 1: 2, 2: 1}, True)
    """
    width = _exact_width(counts)
    if width <= APPROX_WIDTH or exact_cost(dag, counts) <= budget:
        lengths: dict[int, float] = dict(_unpack(_distribution(dag, counts, width, False),
                                                 width))
        units: dict[int, float] = dict(_unpack(_distribution(dag, counts, width, True), width))
        return lengths, units, True
    return (_shares(_distribution(dag, counts, APPROX_WIDTH, False)),
            _shares(_distribution(dag, counts, APPROX_WIDTH, True)), False)


# ---------------------------------------------------------------- connections


@no_gc()
def connections(arch: Architecture) -> list[Connection]:
    """Every residual, highway, dense and skip connection, with what it bypasses.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } }")
    >>> [(c.kind, c.source, c.target, c.span, c.shortcut) for c in connections(arch)]
    [('residual', 'x', 'add_0', 1, 'identity')]
    """
    dag = SignalDag.of(arch.graph)
    return _connections(arch, dag, PathCounts.of(dag, lean=True))


def _connections(arch: Architecture, dag: SignalDag, counts: PathCounts) -> list[Connection]:
    g = arch.graph
    node = dict(g.nodes(data=True))
    out: list[Connection] = []
    ends: list[tuple[int, int, int]] = []  # (origin, u, v) of each connection
    starts: dict[int, tuple[int, int]] = {}  # u -> (origin, first shortcut node or -1)
    for v in dag.order:
        if node[v]["op"] not in MERGE_OPS:
            continue
        readers = dag.succs[v]
        into = node[readers[0]]["path"] if len(readers) == 1 else None
        target = node[v]["path"]
        for u, e in g.pred[v].items():
            kind = e["kind"]
            if kind not in CONNECTIONS:
                continue
            found = starts.get(u)
            if found is None:
                origin, first = u, -1  # -1: u is no shortcut, so the first node is v
                while _is_shortcut(arch, origin) and dag.preds[origin]:
                    origin, first = dag.preds[origin][0][0], origin
                found = starts[u] = (origin, first)
            origin, first = found
            if first < 0:
                first = v
            shortcut = None
            if kind in SHORTCUT_KINDS:
                shortcut = "identity" if origin == u else (
                    "pad" if node[first]["op"] == "pad" else "projection")
            out.append(Connection(
                source=node[origin]["path"], target=target, kind=kind,
                span=None, reach=CONNECTIONS[kind].reach, shortcut=shortcut, into=into))
            ends.append((origin, u, v))
    for conn, span in zip(out, _spans(dag, counts, ends)):
        conn.span = span
    return out


def _is_shortcut(arch: Architecture, n: int) -> bool:
    """Whether ``n`` is a pad shortcut or part of a projection shortcut."""
    node = arch.graph.nodes[n]
    scope: tuple[int, ...] = node.get("scope") or ()
    return node["op"] == "pad" or (bool(scope) and arch.scopes[scope[-1]].kind == "shortcut")


def _spans(dag: SignalDag, counts: PathCounts, ends: list[tuple[int, int, int]]
           ) -> list[int | None]:
    """The span of each connection (origin, u, v), u → v being its last edge.

    The span is the longest path from ``origin`` into ``v`` through another input
    ``p`` of ``v``: max over p ≠ u of (weighted layers after ``origin`` up to and with p).
    Shortcut nodes lead only to their merge, so no such path goes through them.

    Most spans follow from the count pass: no path from ``origin`` to ``p`` is longer
    than ``longest[p] - longest[origin]``, and a path that long exists when ``p`` is
    reached from ``origin`` along *tight* edges (q → r with longest[r] = longest[q] +
    weight[r]: edges on a longest path from the inputs). So the inputs of ``v`` are tried
    from the largest ``longest`` down: one that ``origin`` cannot reach (placed before
    it, or with a smaller ``longest``) is skipped, and the first other one settles the
    span if it is tightly reached. Otherwise one longest-path pass per origin serves all
    its connections. A dense group of L layers has about L²/2 connections; the bound
    makes their spans O(L²) work instead of O(L³).
    """
    spans: list[int | None] = [None] * len(ends)
    by_origin: dict[int, list[int]] = {}
    for i, (origin, _, _) in enumerate(ends):
        by_origin.setdefault(origin, []).append(i)
    pos = {n: i for i, n in enumerate(dag.order)}
    longest = counts.longest
    inputs: dict[int, tuple[list[int], list[int]]] = {}
    tight: dict[int, list[int]] = {}
    for origin, indices in by_origin.items():
        limit = max(pos[ends[i][2]] for i in indices)
        top = longest.get(origin)
        reach = _tight_reach(dag, longest, pos, tight, origin, limit) if top is not None \
            else set()
        at = pos[origin]
        dist: dict[int, int] | None = None
        for i in indices:
            _, u, v = ends[i]
            settled = top is not None
            span = None
            if settled:
                assert top is not None
                if v not in inputs:
                    inputs[v] = _sorted_inputs(dag, longest, pos, v)
                order, next_class = inputs[v]
                k = 0
                while k < len(order):
                    p = order[k]
                    if longest[p] < top:
                        break
                    if p == u:
                        k += 1
                    elif pos[p] < at:  # the rest of this class lies before origin too
                        k = next_class[k]
                    else:
                        settled = p in reach
                        span = longest[p] - top if settled else None
                        break
            if not settled:
                if dist is None:
                    dist = _longest_from(dag, pos, origin, limit)
                alternatives = [dist[p] for p, _ in dag.preds[v] if p != u and p in dist]
                span = max(alternatives) if alternatives else None
            spans[i] = span
    return spans


def _sorted_inputs(dag: SignalDag, longest: dict[int, int], pos: dict[int, int], v: int
                   ) -> tuple[list[int], list[int]]:
    """The reached inputs of ``v`` by ``longest`` then position, both descending, and
    for each index the index where the next smaller ``longest`` begins."""
    order = sorted((p for p, _ in dag.preds[v] if p in longest),
                   key=lambda p: (longest[p], pos[p]), reverse=True)
    next_class = [len(order)] * len(order)
    for i in range(len(order) - 2, -1, -1):
        same = longest[order[i]] == longest[order[i + 1]]
        next_class[i] = next_class[i + 1] if same else i + 1
    return order, next_class


def _tight_reach(dag: SignalDag, longest: dict[int, int], pos: dict[int, int],
                 tight: dict[int, list[int]], origin: int, limit: int) -> set[int]:
    """The nodes reached from ``origin`` along tight edges, up to topological position
    ``limit``; ``tight`` caches each node's tight successors."""
    weight = dag.weight
    seen = {origin}
    todo = [origin]
    while todo:
        q = todo.pop()
        after = tight.get(q)
        if after is None:
            have = longest[q]
            after = tight[q] = [r for r in dag.succs[q] if longest.get(r) == have + weight[r]]
        for r in after:
            if r not in seen and pos[r] <= limit:
                seen.add(r)
                todo.append(r)
    return seen


def _longest_from(dag: SignalDag, pos: dict[int, int], origin: int, limit: int
                  ) -> dict[int, int]:
    """Weighted layers after ``origin`` on the longest path to each node it reaches,
    up to topological position ``limit`` (``origin`` itself: 0)."""
    dist = {origin: 0}
    for n in dag.order[pos[origin] + 1:limit + 1]:
        best = -1
        for p, _ in dag.preds[n]:
            d = dist.get(p, -1)
            if d > best:
                best = d
        if best >= 0:
            dist[n] = best + dag.weight[n]
    return dist


# ---------------------------------------------------------------- blocks


@no_gc()
def block_figures(arch: Architecture) -> list[BlockFigures]:
    """Params, MACs and path multiplier of every block instance and group, in network order.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 2 }")
    >>> [(b.call, b.params, b.paths) for b in block_figures(arch)]
    [('residual', 20, 2), ('residual', 20, 2)]
    """
    return _blocks(arch, SignalDag.of(arch.graph))


def _table_scopes(arch: Architecture) -> dict[int, int]:
    """Scope id → nesting level of the block table's rows: block instances, groups and
    copies of a repeated group, except a copy that holds the group's own scope (a dense
    group always has one), where the group is the row."""
    scopes = arch.scopes
    wrappers = {info.parent for info in scopes.values()
                if info.kind in GROUP_KINDS and info.parent is not None
                and scopes[info.parent].kind == "copy" and scopes[info.parent].span == info.span}

    def wanted(sid: int) -> bool:
        info = scopes[sid]
        return info.kind == "block" or info.kind in GROUP_KINDS or (
            info.kind == "copy" and info.name in GROUP_KINDS and sid not in wrappers)

    levels: dict[int, int] = {}
    for sid in scopes:  # parents are created before their children
        if not wanted(sid):
            continue
        parent = scopes[sid].parent
        while parent is not None and parent not in levels:
            parent = scopes[parent].parent
        levels[sid] = 0 if parent is None else levels[parent] + 1
    return levels


def _blocks(arch: Architecture, dag: SignalDag) -> list[BlockFigures]:
    g = arch.graph
    levels = _table_scopes(arch)
    members: dict[int, list[int]] = {sid: [] for sid in levels}
    for v in dag.order:
        for sid in g.nodes[v]["scope"]:
            if sid in members:
                members[sid].append(v)
    sinks = set(dag.sinks)
    rows = []
    for sid, level in levels.items():
        nodes = members[sid]
        paths, longest, shortest = _through(dag, nodes, sinks)
        info = arch.scopes[sid]
        rows.append(BlockFigures(
            path=info.path or info.name, call=info.call, kind=info.kind, level=level,
            params=sum(g.nodes[n]["params"] for n in nodes),
            macs=sum(g.nodes[n]["macs"] for n in nodes),
            paths=paths, depth=longest, min_depth=shortest))
    return rows


def _through(dag: SignalDag, nodes: list[int], sinks: set[int]) -> tuple[int, int, int]:
    """The count pass restricted to ``nodes`` (topologically ordered): paths from where
    the signal enters them to where it leaves them, as (count, longest, shortest)."""
    inside = set(nodes)
    count: dict[int, int] = {}
    longest: dict[int, int] = {}
    shortest: dict[int, int] = {}
    for v in nodes:
        c, hi, lo = 0, 0, 0
        for u, _ in dag.preds[v]:
            cu, hu, lu = (count[u], longest.get(u, 0), shortest.get(u, 0)) if u in inside \
                else (1, 0, 0)
            if cu:
                hi, lo = (max(hi, hu), min(lo, lu)) if c else (hu, lu)
                c += cu
        count[v] = c
        if c:
            longest[v] = hi + dag.weight[v]
            shortest[v] = lo + dag.weight[v]
    exits = [v for v in nodes if count[v] and (
        v in sinks or any(s not in inside for s in dag.succs[v]))]
    if not exits:
        return 1, 0, 0
    return (sum(count[v] for v in exits), max(longest[v] for v in exits),
            min(shortest[v] for v in exits))


# ---------------------------------------------------------------- everything at once


@no_gc()
def analyze(arch: Architecture, *, distributions: bool = True,
            budget: int = EXACT_BUDGET) -> Analysis:
    """Analyse ``arch``: exact paths, depth, path-length distributions, params and MACs.

    One :class:`SignalDag` and one count pass serve every figure.

    Parameters
    ----------
    arch
        A loaded network (:func:`resgraph.load`).
    distributions
        Compute ``path_lengths`` and ``unit_path_lengths`` (the default); ``False``
        leaves both maps empty.
    budget
        Exact distributions cost up to O(n³) bits for n units in series (n lengths
        whose counts have up to n bits, merged n times). When their estimated cost
        (:func:`exact_cost`) is over ``budget``, they are computed in floating point
        instead, as the share of paths at each length (64-bit digits: 12 or more
        significant digits at each node's most common lengths; shares below about
        1e-17 of a node's paths are rounded away), and ``path_lengths_exact`` is False.
        This happens only for networks of more than 2^64 paths: 8,000 residual units
        take a fraction of a second instead of minutes.

    Returns
    -------
    Analysis
        Attributes as the keys of ``resgraph analyze --json``.

    Examples
    --------
    >>> import resgraph
    >>> rep = analyze(resgraph.load("examples/resnet18.rg"))
    >>> rep.params, rep.depth, rep.min_depth, rep.paths
    (11689512, 18, 5, 256)
    """
    g = arch.graph
    dag = SignalDag.of(g)
    counts = PathCounts.of(dag, lean=True)
    lengths: dict[int, float] = {}
    units: dict[int, float] = {}
    exact = True
    if distributions:
        lengths, units, exact = _distributions(dag, counts, budget)
    params = sum(d["params"] for _, d in g.nodes(data=True))
    edges = dict.fromkeys(EDGE_KINDS, 0)
    kind: str
    for _, _, kind in g.edges(data="kind"):
        edges[kind] += 1
    return Analysis(
        network=arch.name, params=params, trainable_params=params,
        macs=sum(d["macs"] for _, d in g.nodes(data=True)),
        depth=counts.depth, min_depth=counts.min_depth, paths=counts.paths,
        path_lengths={str(k): v for k, v in sorted(lengths.items())},
        nodes=g.number_of_nodes(), edges=edges,
        inputs={k: list(v) for k, v in arch.inputs.items()},
        outputs={k: list(v) for k, v in arch.outputs.items()},
        unit_path_lengths={str(k): v for k, v in sorted(units.items())},
        connections=_connections(arch, dag, counts), blocks=_blocks(arch, dag), file=arch.file,
        path_lengths_exact=exact)
