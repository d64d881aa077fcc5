"""Analysis: exact signal paths, depth, path-length distributions, parameters and MACs.

Small public algorithms over a loaded network, each a dynamic program over the IR
graph in topological order; no path is ever enumerated (DenseNet-121 has 2^58 of
them). ``control`` edges (a highway gate's input) are not signal paths and are left
out. :func:`analyze` runs them all on one :class:`SignalDag` and one count pass and
returns an :class:`Analysis`; :mod:`resgraph.report` prints it. Each public function
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
from dataclasses import asdict, dataclass, field
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
    order) to its exact number of signal paths, in weighted layers and in units.
    """

    network: str
    params: int
    trainable_params: int
    macs: int
    depth: int
    min_depth: int
    paths: int
    path_lengths: dict[str, int]
    nodes: int
    edges: dict[str, int]
    inputs: dict[str, list[int]]
    outputs: dict[str, list[int]]
    unit_path_lengths: dict[str, int] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    blocks: list[BlockFigures] = field(default_factory=list)
    file: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (exact integers stay integers).

        >>> import resgraph
        >>> d = resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").analyze().to_dict()
        >>> d["paths"], d["path_lengths"], d["edges"]["seq"]
        (1, {'1': 1}, 1)
        """
        return asdict(self)

    def lengths(self, units: bool = False) -> dict[int, int]:
        """The path-length distribution with integer keys (in units if ``units``).

        >>> import resgraph
        >>> resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").analyze().lengths()
        {1: 1}
        """
        table = self.unit_path_lengths if units else self.path_lengths
        return {int(k): v for k, v in table.items()}


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

    Nodes no signal path reaches (a highway gate) have count 0 and no lengths.
    ``paths``, ``depth`` and ``min_depth`` sum them up at the network's outputs.

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

    @classmethod
    def of(cls, dag: SignalDag) -> PathCounts:
        """One pass over ``dag`` in topological order."""
        count: dict[int, int] = {}
        longest: dict[int, int] = {}
        shortest: dict[int, int] = {}
        sources = set(dag.sources)
        for v in dag.order:
            w = dag.weight[v]
            if v in sources:
                count[v], longest[v], shortest[v] = 1, w, w
                continue
            ins = [u for u, _ in dag.preds[v] if count[u]]
            count[v] = sum(count[u] for u in ins)
            if ins:
                longest[v] = w + max(longest[u] for u in ins)
                shortest[v] = w + min(shortest[u] for u in ins)
        return cls(count, longest, shortest, [s for s in dag.sinks if count[s]])

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

Packed = tuple[int, int]  # (digits, offset): sum of count_i * 2^(B*i), lengths off + i


@no_gc()
def path_length_distribution(arch: Architecture, *, units: bool = False) -> dict[int, int]:
    """The exact number of signal paths of each length: weighted layers, or units traversed.

    A node's length→count map is packed into one Python integer, a polynomial in 2^B:
    the count of paths of length ``offset + i`` is the ``i``-th B-bit digit, and B is
    wide enough for the largest count at any node. Going through a weighted layer only
    moves the offset; merging maps is a shift and an add of big integers, done in C.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 3 }")
    >>> path_length_distribution(arch), path_length_distribution(arch, units=True)
    ({0: 1, 1: 3, 2: 3, 3: 1}, {0: 1, 1: 3, 2: 3, 3: 1})
    """
    dag = SignalDag.of(arch.graph)
    counts = PathCounts.of(dag)
    return _distribution(dag, counts, _digit_bits(counts), units)


def _distribution(dag: SignalDag, counts: PathCounts, bits: int, units: bool
                  ) -> dict[int, int]:
    """Length→count over all signal paths, in weighted layers or (``units``) in units.

    A node's map is dropped as soon as all its readers have used it."""
    count = counts.count
    maps: dict[int, Packed] = {}
    left = {n: len(dag.succs[n]) for n in dag.order}
    keep = set(dag.sinks)
    sources = set(dag.sources)
    for v in dag.order:
        if v in sources:
            maps[v] = (1, 0 if units else dag.weight[v])
            continue
        parts = [(maps[u][0], maps[u][1] + unit) if units else maps[u]
                 for u, unit in dag.preds[v] if count[u]]
        merged = _merge(parts, bits)
        if merged is not None:
            maps[v] = merged if units else (merged[0], merged[1] + dag.weight[v])
        for u, _ in dag.preds[v]:
            left[u] -= 1
            if not left[u] and u not in keep:
                maps.pop(u, None)
    total = _merge([maps[s] for s in dag.sinks if s in maps], bits)
    return _unpack(total, bits)


def _merge(parts: list[Packed], bits: int) -> Packed | None:
    """Add length→count maps given as (digits, offset) pairs.

    >>> _merge([(1, 2), (1, 0)], 8)  # one path of length 2, one of length 0
    (65537, 0)
    """
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    low = min(off for _, off in parts)
    total = 0
    for digits, off in parts:
        total += digits << (bits * (off - low))
    return total, low


def _unpack(packed: Packed | None, bits: int) -> dict[int, int]:
    """(digits, offset) → {length: count} for the non-zero digits.

    >>> _unpack((65537, 3), 8)
    {3: 1, 5: 1}
    """
    if packed is None or not packed[0]:
        return {}
    digits, off = packed
    width = bits // 8
    slots = (digits.bit_length() + bits - 1) // bits
    data = digits.to_bytes(slots * width, "little")
    out: dict[int, int] = {}
    for i in range(slots):
        c = int.from_bytes(data[i * width:(i + 1) * width], "little")
        if c:
            out[off + i] = c
    return out


def _digit_bits(counts: PathCounts) -> int:
    """Bits per digit: enough for the largest count at any node, a multiple of 8.

    >>> _digit_bits(PathCounts({0: 1, 1: 300}, {}, {}, [1]))
    16
    """
    need = max(counts.count.values(), default=1).bit_length()
    return max(8, (need + 7) // 8 * 8)


# ---------------------------------------------------------------- connections


@no_gc()
def connections(arch: Architecture) -> list[Connection]:
    """Every residual, highway, dense and skip connection, with what it bypasses.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } }")
    >>> [(c.kind, c.source, c.target, c.span, c.shortcut) for c in connections(arch)]
    [('residual', 'x', 'add_0', 1, 'identity')]
    """
    return _connections(arch, SignalDag.of(arch.graph))


def _connections(arch: Architecture, dag: SignalDag) -> list[Connection]:
    g = arch.graph
    out: list[Connection] = []
    ends: list[tuple[int, int, int]] = []  # (origin, u, v) of each connection
    for v in dag.order:
        if g.nodes[v]["op"] not in MERGE_OPS:
            continue
        readers = dag.succs[v]
        into = g.nodes[readers[0]]["path"] if len(readers) == 1 else None
        for u, e in g.pred[v].items():
            kind = e["kind"]
            if kind not in CONNECTIONS:
                continue
            origin, first = u, v
            while _is_shortcut(arch, origin) and dag.preds[origin]:
                origin, first = dag.preds[origin][0][0], origin
            shortcut = None
            if kind in SHORTCUT_KINDS:
                shortcut = "identity" if origin == u else (
                    "pad" if g.nodes[first]["op"] == "pad" else "projection")
            out.append(Connection(
                source=g.nodes[origin]["path"], target=g.nodes[v]["path"], kind=kind,
                span=None, reach=CONNECTIONS[kind].reach, shortcut=shortcut, into=into))
            ends.append((origin, u, v))
    for conn, span in zip(out, _spans(dag, ends)):
        conn.span = span
    return out


def _is_shortcut(arch: Architecture, n: int) -> bool:
    """Whether ``n`` is a pad shortcut or part of a projection shortcut."""
    node = arch.graph.nodes[n]
    scope: tuple[int, ...] = node.get("scope") or ()
    return node["op"] == "pad" or (bool(scope) and arch.scopes[scope[-1]].kind == "shortcut")


def _spans(dag: SignalDag, ends: list[tuple[int, int, int]]) -> list[int | None]:
    """The span of each connection (origin, u, v), u → v being its last edge.

    The span is the longest path from ``origin`` into ``v`` through another input
    ``p`` of ``v``: max over p ≠ u of (weighted layers after ``origin`` up to and with p).
    Shortcut nodes lead only to their merge, so no such path goes through them. One
    longest-path pass per origin serves all its connections (a dense layer's output
    enters every later concat of its group).
    """
    pos = {n: i for i, n in enumerate(dag.order)}
    by_origin: dict[int, list[int]] = {}
    for i, (origin, _, _) in enumerate(ends):
        by_origin.setdefault(origin, []).append(i)
    spans: list[int | None] = [None] * len(ends)
    for origin, indices in by_origin.items():
        dist = _longest_from(dag, pos, origin, max(pos[ends[i][2]] for i in indices))
        for i in indices:
            _, u, v = ends[i]
            alternatives = [dist[p] for p, _ in dag.preds[v] if p != u and p in dist]
            spans[i] = max(alternatives) if alternatives else None
    return spans


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
def analyze(arch: Architecture, *, distributions: bool = True) -> Analysis:
    """Analyse ``arch``: exact paths, depth, path-length distributions, params and MACs.

    One :class:`SignalDag` and one count pass serve every figure.

    Parameters
    ----------
    arch
        A loaded network (:func:`resgraph.load`).
    distributions
        Compute ``path_lengths`` and ``unit_path_lengths`` (the default). Their size
        grows as (depth × bits of the path count), so for networks of many thousands of
        units, ``False`` keeps the analysis linear in the size of the network and leaves
        both maps empty.

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
    counts = PathCounts.of(dag)
    lengths: dict[int, int] = {}
    units: dict[int, int] = {}
    if distributions:
        bits = _digit_bits(counts)
        lengths = _distribution(dag, counts, bits, units=False)
        units = _distribution(dag, counts, bits, units=True)
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
        connections=_connections(arch, dag), blocks=_blocks(arch, dag), file=arch.file)
