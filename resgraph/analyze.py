"""Analysis: exact signal paths, depth, path-length distributions, parameters and MACs.

Every figure comes from dynamic programs over the IR graph in topological order;
no path is ever enumerated (DenseNet-121 has 2^58 of them). ``control`` edges (a
highway gate's input) are not signal paths and are ignored. Definitions and the MACs
convention are in ``docs/analysis.md``.

A length→count map is packed into one Python integer, a polynomial in 2^B: the count
of paths of length ``off + i`` is the ``i``-th B-bit digit, and B is wide enough for
the largest count at any node. Going through a weighted layer only changes ``off``,
and merging maps is a shift and an add of big integers, done in C.

>>> import resgraph
>>> arch = resgraph.loads('''
... network tiny() {
...     input x[8]
...     x -> linear(8) -> residual { linear(8) -> relu -> linear(8) } * 3 -> linear(2)
... }''')
>>> rep = analyze(arch)
>>> rep.paths, rep.depth, rep.min_depth
(8, 8, 2)
>>> rep.path_lengths
{'2': 1, '4': 3, '6': 3, '8': 1}
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import networkx as nx

from resgraph.errors import ResgraphError
from resgraph.ir import EDGE_KINDS, Architecture

CONNECTION_KINDS = ("residual", "highway", "dense", "skip")
MERGE_OPS = frozenset({"add", "concat", "highway"})
GROUP_KINDS = frozenset({"residual", "highway", "dense"})

# ---------------------------------------------------------------- results


@dataclass
class Connection:
    """One residual, highway, dense or skip connection, as it enters its merge node.

    ``source`` is the module path of the node the connection starts from (in front of a
    projection or pad shortcut); ``target`` is the merge node (add, concat or highway)
    and ``into`` the node that reads it (for an edge statement, the node it names: ``d3``
    in ``skip e3 -> d3``). ``span`` counts the weighted layers on the longest signal path
    the connection bypasses (None if nothing else leads from source to target);
    ``reach`` is "short" for residual, highway and dense connections and "long" for
    ``skip`` edges (U-Net, FPN); ``shortcut`` is identity, pad or projection for a
    residual connection.

    >>> import resgraph
    >>> rep = resgraph.load("examples/resnet18.rg").analyze()
    >>> c = rep.connections[2]
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


# ---------------------------------------------------------------- the DAG


@dataclass
class _Dag:
    """The signal graph in topological order: ``control`` edges left out."""

    order: list[int]
    preds: dict[int, list[tuple[int, int]]]  # node -> [(pred, unit)]
    succs: dict[int, list[int]]
    weight: dict[int, int]
    sources: list[int]
    sinks: list[int]

    @classmethod
    def of(cls, g: nx.DiGraph) -> _Dag:
        """Build from an IR graph."""
        preds: dict[int, list[tuple[int, int]]] = {}
        succs: dict[int, list[int]] = {n: [] for n in g}
        for v, nbrs in g.pred.items():
            ins = [(u, e.get("unit", 0)) for u, e in nbrs.items() if e["kind"] != "control"]
            preds[v] = ins
            for u, _ in ins:
                succs[u].append(v)
        weight = dict(g.nodes(data="weighted", default=0))
        sinks = list(dict.fromkeys(g.graph["outputs"].values()))
        return cls(_topological(preds, succs), preds, succs, weight, list(g.graph["inputs"]),
                   sinks)


def _topological(preds: dict[int, list[tuple[int, int]]], succs: dict[int, list[int]]
                 ) -> list[int]:
    """Kahn's algorithm, smallest node id first (node ids follow the source order).

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


def _counts(dag: _Dag) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Path counts, longest and shortest path lengths (weighted layers) into every node.

    Nodes no signal path reaches (a highway gate) get count 0 and no lengths.
    """
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
    return count, longest, shortest


# ---------------------------------------------------------------- packed distributions

Packed = tuple[int, int]  # (digits, offset): sum of count_i * 2^(B*i), lengths off + i


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


def _distribution(dag: _Dag, count: dict[int, int], bits: int, units: bool) -> dict[int, int]:
    """Length→count over all signal paths, in weighted layers or (``units``) in units."""
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


def _digit_bits(count: dict[int, int]) -> int:
    """Bits per digit: enough for the largest count at any node, a multiple of 8."""
    need = max(count.values(), default=1).bit_length()
    return max(8, (need + 7) // 8 * 8)


# ---------------------------------------------------------------- connections


def _is_shortcut(g: nx.DiGraph, scopes: dict[int, Any], n: int) -> bool:
    node = g.nodes[n]
    scope = node.get("scope") or ()
    return node["op"] == "pad" or (bool(scope) and scopes[scope[-1]].kind == "shortcut")


def _connections(arch: Architecture, dag: _Dag, pos: dict[int, int]) -> list[Connection]:
    """Every residual/highway/dense/skip edge into a merge node, with its span."""
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
            if kind not in CONNECTION_KINDS:
                continue
            origin, first = u, v
            while _is_shortcut(g, arch.scopes, origin) and dag.preds[origin]:
                origin, first = dag.preds[origin][0][0], origin
            shortcut = None
            if kind == "residual":
                shortcut = "identity" if origin == u else (
                    "pad" if g.nodes[first]["op"] == "pad" else "projection")
            out.append(Connection(
                source=g.nodes[origin]["path"], target=g.nodes[v]["path"], kind=kind,
                span=None, reach="long" if kind == "skip" else "short", shortcut=shortcut,
                into=into))
            ends.append((origin, u, v))
    for conn, span in zip(out, _spans(dag, pos, ends)):
        conn.span = span
    return out


def _spans(dag: _Dag, pos: dict[int, int], ends: list[tuple[int, int, int]]
           ) -> list[int | None]:
    """The span of each connection (origin, u, v), u → v being its last edge.

    The span is the longest path from ``origin`` into ``v`` through another input
    ``p`` of ``v``: max over p ≠ u of (weighted layers after ``origin`` up to and with p).
    Shortcut nodes lead only to their merge, so no such path goes through them. One
    longest-path pass per origin serves all its connections (a dense layer's output
    enters every later concat of its group).
    """
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


def _longest_from(dag: _Dag, pos: dict[int, int], origin: int, limit: int) -> dict[int, int]:
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


def _table_scopes(arch: Architecture) -> dict[int, int]:
    """Scope id → nesting level, for block instances and residual/highway/dense groups."""
    def wanted(sid: int) -> bool:
        info = arch.scopes[sid]
        # a copy of a dense group is not listed: the group always has its own scope
        return info.kind == "block" or info.kind in GROUP_KINDS or (
            info.kind == "copy" and info.name in ("residual", "highway"))

    levels: dict[int, int] = {}
    for sid in arch.scopes:  # parents are created before their children
        if not wanted(sid):
            continue
        parent = arch.scopes[sid].parent
        while parent is not None and parent not in levels:
            parent = arch.scopes[parent].parent
        levels[sid] = 0 if parent is None else levels[parent] + 1
    return levels


def _blocks(arch: Architecture, dag: _Dag) -> list[BlockFigures]:
    """Params, MACs and path multiplier of every block instance, in network order."""
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
        paths, depth, min_depth = _through(dag, nodes, sinks)
        info = arch.scopes[sid]
        rows.append(BlockFigures(
            path=info.path or info.name, call=info.call, kind=info.kind, level=level,
            params=sum(g.nodes[n]["params"] for n in nodes),
            macs=sum(g.nodes[n]["macs"] for n in nodes),
            paths=paths, depth=depth, min_depth=min_depth))
    return rows


def _through(dag: _Dag, nodes: list[int], sinks: set[int]) -> tuple[int, int, int]:
    """Paths from outside into ``nodes`` (topologically ordered) to where they leave it:
    (count, longest, shortest), lengths in weighted layers."""
    inside = set(nodes)
    count: dict[int, int] = {}
    longest: dict[int, int] = {}
    shortest: dict[int, int] = {}
    for v in nodes:
        c, hi, lo = 0, None, None
        for u, _ in dag.preds[v]:
            cu, hu, lu = (count[u], longest.get(u), shortest.get(u)) if u in inside \
                else (1, 0, 0)
            if cu:
                c += cu
                hi = hu if hi is None else max(hi, hu)
                lo = lu if lo is None else min(lo, lu)
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


# ---------------------------------------------------------------- entry point


def analyze(arch: Architecture, *, distributions: bool = True) -> Analysis:
    """Analyse ``arch``: exact paths, depth, path-length distributions, params and MACs.

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
    >>> rep = resgraph.load("examples/resnet18.rg").analyze()
    >>> rep.params, rep.depth, rep.min_depth, rep.paths
    (11689512, 18, 5, 256)
    """
    with _paused_gc():
        return _analyze(arch, distributions)


def _analyze(arch: Architecture, distributions: bool) -> Analysis:
    g = arch.graph
    dag = _Dag.of(g)
    count, longest, shortest = _counts(dag)
    reached = [s for s in dag.sinks if count[s]]
    paths = sum(count[s] for s in reached)
    lengths: dict[int, int] = {}
    units: dict[int, int] = {}
    if distributions:
        bits = _digit_bits(count)
        lengths = _distribution(dag, count, bits, units=False)
        units = _distribution(dag, count, bits, units=True)
    params = sum(d["params"] for _, d in g.nodes(data=True))
    edges = dict.fromkeys(EDGE_KINDS, 0)
    for _, _, kind in g.edges(data="kind"):
        edges[kind] = edges.get(kind, 0) + 1
    pos = {n: i for i, n in enumerate(dag.order)}
    return Analysis(
        network=arch.name, params=params, trainable_params=params,
        macs=sum(d["macs"] for _, d in g.nodes(data=True)),
        depth=max((longest[s] for s in reached), default=0),
        min_depth=min((shortest[s] for s in reached), default=0),
        paths=paths, path_lengths={str(k): v for k, v in sorted(lengths.items())},
        nodes=g.number_of_nodes(), edges=edges,
        inputs={k: list(v) for k, v in arch.inputs.items()},
        outputs={k: list(v) for k, v in arch.outputs.items()},
        unit_path_lengths={str(k): v for k, v in sorted(units.items())},
        connections=_connections(arch, dag, pos), blocks=_blocks(arch, dag), file=arch.file)


@contextlib.contextmanager
def _paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: the analysis makes no cycles, and collections
    that walk a large IR graph again and again would dominate its run time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---------------------------------------------------------------- formatting


@contextlib.contextmanager
def _any_digits() -> Iterator[None]:
    """Lift Python's limit on int→str conversion (4,300 digits) for exact path counts."""
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:  # pragma: no cover - Python without the limit
        yield
        return
    old = get()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


def sci(n: int, digits: int = 3) -> str:
    """An exact integer in scientific form, correctly rounded.

    >>> sci(65536), sci(2 ** 333), sci(7)
    ('6.554e4', '1.750e100', '7')
    """
    if abs(n) < 10:
        return str(n)
    mantissa, _, exp = f"{Decimal(n):.{digits}e}".partition("e")
    return f"{mantissa}e{int(exp)}"


def power_of_two(n: int) -> str:
    """``" = 2^k"`` when ``n`` is a power of two, else ``""``.

    >>> power_of_two(256), power_of_two(100)
    (' = 2^8', '')
    """
    return f" = 2^{n.bit_length() - 1}" if n > 1 and not n & (n - 1) else ""


def human_macs(n: int) -> str:
    """MACs with a unit: ``4.09 G``, ``125.49 M``.

    >>> human_macs(4_089_184_256), human_macs(125_485_696), human_macs(512)
    ('4.09 G', '125.49 M', '512')
    """
    for scale, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def count_text(n: int, limit: int = 15) -> str:
    """An exact count with separators, or in scientific form when that is too long.

    >>> count_text(65536), count_text(2 ** 58)
    ('65,536', '2.882e17')
    """
    text = f"{n:,}"
    return text if len(text) <= limit else sci(n)


def _bins(table: dict[int, int], rows: int) -> list[tuple[int, int, int]]:
    """Group a length→count map into at most ``rows`` (first, last, count) bins.

    Bins are whole multiples of the step between lengths, so that a distribution on
    even lengths only is not drawn as a saw.

    >>> _bins({2: 1, 4: 3, 6: 3, 8: 1}, 2)
    [(2, 4, 4), (6, 8, 4)]
    """
    keys = sorted(table)
    if len(keys) <= rows:
        return [(k, k, table[k]) for k in keys]
    step = 0
    for k in keys[1:]:
        step = math.gcd(step, k - keys[0])
    slots = (keys[-1] - keys[0]) // step + 1
    size = -(-slots // rows) * step
    grouped: dict[int, int] = {}
    for k in keys:
        start = keys[0] + (k - keys[0]) // size * size
        grouped[start] = grouped.get(start, 0) + table[k]
    return [(lo, min(lo + size - step, keys[-1]), c) for lo, c in sorted(grouped.items())]


def histogram(table: dict[int, int], total: int, rows: int = 20, width: int = 40) -> list[str]:
    """A text histogram of a length→count map, binned to at most ``rows`` rows.

    >>> print("\\n".join(histogram({2: 1, 4: 2, 6: 1}, 4, width=8)))
      length  paths   share
           2      1  25.00%  ####
           4      2  50.00%  ########
           6      1  25.00%  ####
    """
    if not table or not total:
        return ["  (no signal path)"]
    bins = _bins(table, rows)
    top = max(c for _, _, c in bins)
    cells = [(str(lo) if lo == hi else f"{lo}-{hi}", count_text(c), c) for lo, hi, c in bins]
    wl = max(6, *(len(label) for label, _, _ in cells))
    wc = max(5, *(len(text) for _, text, _ in cells))
    lines = [f"  {'length':>{wl}}  {'paths':>{wc}}   share"]
    for label, text, c in cells:
        bar = "#" * max(1, round(width * c / top))
        lines.append(f"  {label:>{wl}}  {text:>{wc}}  {100 * c / total:5.2f}%  {bar}")
    return lines


def _mean(table: dict[int, int], total: int) -> float:
    return sum(k * c for k, c in table.items()) / total if total else 0.0


def _layers(n: int) -> str:
    return f"{n} weighted layer{'' if n == 1 else 's'}"


def summary(rep: Analysis, units: bool = False) -> str:
    """The human report of ``resgraph analyze`` (without ``--json``).

    >>> import resgraph
    >>> rep = resgraph.load("examples/resnet18.rg").analyze()
    >>> print("\\n".join(summary(rep).splitlines()[3:8]))
      parameters      11,689,512  (trainable 11,689,512)
      MACs            1.81 G  (1,814,073,344 multiply-accumulates, batch 1)
      depth           18 weighted layers (longest signal path)
      min depth       5 weighted layers (shortest signal path)
      signal paths    256  (2.560e2 = 2^8)
    """
    def shapes(d: dict[str, list[int]]) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items())

    kinds = ", ".join(f"{k} {n:,}" for k, n in rep.edges.items() if n)
    exact = f"{rep.paths:,}"
    form = f"({sci(rep.paths)}{power_of_two(rep.paths)})"
    paths = [f"  signal paths    {exact}  {form}"] if len(exact) <= 40 else [
        f"  signal paths    {form[1:-1]}", f"                  exactly {exact}"]
    lines = [
        f"network {rep.network}" + (f"  ({rep.file})" if rep.file else ""),
        f"  inputs          {shapes(rep.inputs)}",
        f"  outputs         {shapes(rep.outputs)}",
        f"  parameters      {rep.params:,}  (trainable {rep.trainable_params:,})",
        f"  MACs            {human_macs(rep.macs)}  ({rep.macs:,} multiply-accumulates, "
        "batch 1)",
        f"  depth           {_layers(rep.depth)} (longest signal path)",
        f"  min depth       {_layers(rep.min_depth)} (shortest signal path)",
        *paths,
        f"  graph           {rep.nodes:,} nodes; edges: {kinds}",
        *_connection_lines(rep.connections),
    ]
    table = rep.lengths(units)
    if table or rep.paths == 0:
        what = "units (residual/highway/dense units traversed)" if units else "weighted layers"
        lines += ["", f"path lengths in {what}: {len(table):,} distinct, "
                      f"mean {_mean(table, rep.paths):.2f}", *histogram(table, rep.paths)]
    return "\n".join(lines)


def _connection_lines(conns: list[Connection]) -> list[str]:
    groups: dict[tuple[str, str], list[int | None]] = {}
    for c in conns:
        groups.setdefault((c.kind, c.reach), []).append(c.span)
    lines = []
    for (kind, reach), spans in groups.items():
        known = [s for s in spans if s is not None]
        text = f"  {kind:<16}{len(spans):,} connection{'s' if len(spans) > 1 else ''}, {reach}"
        if known and min(known) == max(known):
            text += f", spanning {_layers(known[0])}"
        elif known:
            text += f", spanning {min(known)} to {_layers(max(known))}"
        lines.append(text)
    return lines


def block_table(rep: Analysis) -> str:
    """The per-block table of ``--blocks``: params, MACs and path multiplier."""
    if not rep.blocks:
        return "no block instances"
    rows = [(("  " * b.level) + b.path, b.call, f"{b.params:,}", human_macs(b.macs),
             count_text(b.paths), f"{b.min_depth}-{b.depth}") for b in rep.blocks]
    head = ("block", "call", "params", "MACs", "paths", "depth")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    def fmt(r: tuple[str, ...]) -> str:
        left = [f"{r[0]:<{widths[0]}}", f"{r[1]:<{widths[1]}}"]
        return "  ".join(left + [f"{x:>{w}}" for x, w in zip(r[2:], widths[2:])]).rstrip()
    return "\n".join([fmt(head), *map(fmt, rows)])


# ---------------------------------------------------------------- plot


def plot(rep: Analysis, path: str, units: bool = False) -> None:
    """Draw the path-length distribution to ``path`` (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ResgraphError("RG601", "--plot needs matplotlib, which is not installed; "
                            "install it with: pip install 'resgraph[plot]' "
                            "(or pip install matplotlib)") from None
    table = rep.lengths(units)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = sorted(table)
    shares = [100 * table[k] / rep.paths for k in xs]
    dense_bars = len(xs) > 60  # thin bars alias: draw them touching, without edges
    ax.bar(xs, shares, width=1.0 if dense_bars else 0.8, linewidth=0, color="#4c72b0")
    ax.set_xlabel("path length (" + ("units" if units else "weighted layers") + ")")
    ax.set_ylabel("share of signal paths (%)")
    ax.set_title(f"{rep.network}: {count_text(rep.paths)}{power_of_two(rep.paths)} signal "
                 f"paths, depth {rep.depth}, min depth {rep.min_depth}")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise ResgraphError("RG602", f"cannot write the plot to '{path}': {exc}") from None
    finally:
        plt.close(fig)


# ---------------------------------------------------------------- CLI


def cli_main(arch: Architecture, args: Any) -> int:
    """``resgraph analyze``: print the report (or JSON), optionally the blocks and a plot."""
    rep = analyze(arch)
    with _any_digits():
        if args.json:
            print(json.dumps(rep.to_dict(), indent=2))
        else:
            print(summary(rep, units=bool(args.units)))
            if args.blocks:
                print()
                print(block_table(rep))
    if args.plot:
        plot(rep, args.plot, units=bool(args.units))
        if not args.json:
            print(f"\nwrote {args.plot}")
    return 0
