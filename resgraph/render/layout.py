"""Where things go: the order of a view, the U of encoder–decoder nets and the snake.

``dot`` ranks a diagram along one direction (top to bottom, or left to right with
``rankdir=LR``). Two arrangements bend that line, both told to ``dot`` through the
same three means (:class:`Arrangement`): edges drawn *reversed* (``dir=back``, so
that a stretch of the chain runs against the rank direction), groups of nodes held
on one *rank*, and *turn* edges that join two such nodes side by side.

* **The U** (:func:`mirrored_skips`): where the long skips of a network are nested
  (the first encoder level joins the last decoder level, the second the one before
  it, …), the encoder runs down the left, the decoder comes back up the right and
  each skip is a horizontal line between the two nodes it joins, which share a rank.
  This is found from the edges alone, not from names.
* **The snake** (:func:`snake`): a long chain is cut between top-level stages into
  ``k`` pieces; every other piece runs backwards, so the pieces sit side by side
  (columns for ``TB``, rows for ``LR``) joined by short turns at their ends.

>>> import resgraph
>>> from resgraph.render.view import build_view
>>> view = build_view(resgraph.load("examples/unet.rg"), collapse=False)
>>> [(view.nodes[a].op, view.nodes[b].op) for a, b in mirrored_skips(view)]
[('relu', 'concat'), ('relu', 'concat'), ('relu', 'concat')]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import networkx as nx

from resgraph.kinds import EDGE_KINDS
from resgraph.render.view import View, ViewEdge


@dataclass
class Arrangement:
    """How a view is bent: edges drawn reversed, nodes held on one rank, turn edges.

    ``reversed`` holds indices into ``view.edges`` (edges that ``dot`` must rank from
    head to tail and draw with ``dir=back``), ``same_rank`` groups of node ids,
    ``turns`` indices of edges that join two nodes of one rank (drawn flat, which puts
    their tail first: left in ``TB``, above in ``LR``), ``backward`` the ids of nodes in
    a piece that runs backwards.
    """

    reversed: set[int] = field(default_factory=set)
    same_rank: list[list[str]] = field(default_factory=list)
    turns: set[int] = field(default_factory=set)
    backward: set[str] = field(default_factory=set)
    kind: str = "plain"


def ranked(edge: ViewEdge) -> bool:
    """Whether an edge takes part in ranking (its kind's ``constraint``, self-arcs never).

    >>> ranked(ViewEdge("a", "b", "seq")), ranked(ViewEdge("a", "b", "skip"))
    (True, False)
    """
    return edge.src != edge.dst and EDGE_KINDS[edge.kind].style.constraint


def order(view: View) -> dict[str, int]:
    """Each node's place in a topological order of the view (ties: drawing order).

    >>> import resgraph
    >>> from resgraph.render.view import build_view
    >>> view = build_view(resgraph.load("examples/resnet18.rg"), collapse=True)
    >>> place = order(view)
    >>> place["n0"], len(place) == len(view.nodes)
    (0, True)
    """
    index = {n: i for i, n in enumerate(view.nodes)}
    g: nx.DiGraph = nx.DiGraph()
    g.add_nodes_from(view.nodes)
    g.add_edges_from((e.src, e.dst) for e in view.edges if e.src != e.dst)
    return {n: i for i, n in enumerate(nx.lexicographical_topological_sort(g, key=index.get))}


def top_unit(view: View, node: str) -> str:
    """The top-level thing a node belongs to: its outermost cluster's id, or itself."""
    cid = view.nodes[node].cluster
    if cid is None:
        return node
    parent = view.clusters[cid].parent
    while parent is not None:
        cid, parent = parent, view.clusters[parent].parent
    return cid


def mirrored_skips(view: View) -> list[tuple[str, str]]:
    """The skips of an encoder–decoder network, outermost first, or ``[]``.

    The long edges (kinds that do not rank, such as ``skip``) qualify when there are at
    least two, joining distinct nodes, and every two of them are strictly nested: one
    starts before and ends after the other. That is what "skips join mirrored levels"
    means; residual blocks (side by side) and dense blocks (overlapping) do not qualify.
    """
    place = order(view)
    long = {(e.src, e.dst) for e in view.edges if e.src != e.dst and not ranked(e)}
    spans = sorted(long, key=lambda p: place[p[0]])
    if len(spans) < 2:
        return []
    for (a, b), (c, d) in zip(spans, spans[1:]):
        if not (place[a] < place[c] and place[d] < place[b]):
            return []
    return spans


def u_shape(view: View) -> Arrangement | None:
    """The U arrangement of an encoder–decoder view (None when its skips are not mirrored).

    Encoder nodes (up to the turn) rank downwards; every node after the turn ranks
    upwards (its ranked edges are reversed); each skip's two ends share a rank. The turn
    is the middle of the innermost skip's span (the end of the top-level block there),
    joined to its successor by a flat edge.
    """
    skips = mirrored_skips(view)
    if not skips:
        return None
    place = order(view)
    inner_src, inner_dst = skips[-1]
    middle = min((n for n, i in place.items() if place[inner_src] <= i < place[inner_dst]),
                 key=lambda n: abs(2 * place[n] - place[inner_src] - place[inner_dst]))
    unit = top_unit(view, middle)  # the turn keeps a top-level block on one side
    turn_at = max(i for n, i in place.items() if top_unit(view, n) == unit)
    after = {n for n, i in place.items() if i > turn_at}
    arr = Arrangement(kind="u", backward=after)
    for i, e in enumerate(view.edges):
        if not ranked(e):
            continue
        if e.src in after and e.dst in after:
            arr.reversed.add(i)
        elif e.src not in after and e.dst in after:
            arr.turns.add(i)
            arr.same_rank.append([e.src, e.dst])
    arr.same_rank += [[a, b] for a, b in skips]
    return arr


@dataclass
class Unit:
    """A top-level stretch of the chain: its nodes and its length along the flow (inches)."""

    id: str
    nodes: list[str]
    length: float = 1.0


def units(view: View) -> list[Unit]:
    """The top-level nodes and clusters of a view, in chain order."""
    place = order(view)
    found: dict[str, Unit] = {}
    for node in sorted(view.nodes, key=place.__getitem__):
        unit = top_unit(view, node)
        found.setdefault(unit, Unit(unit, [])).nodes.append(node)
    return list(found.values())


def cuts(view: View, chain: Sequence[Unit]) -> list[int]:
    """The places ``i`` where the chain may be cut between ``chain[i]`` and
    ``chain[i + 1]``: every edge that crosses there joins those two units, and at least
    one of them ranks (it becomes the turn)."""
    where = {n: i for i, unit in enumerate(chain) for n in unit.nodes}
    ok = []
    for i in range(len(chain) - 1):
        crossing = [e for e in view.edges
                    if where[e.src] <= i < where[e.dst] or where[e.dst] <= i < where[e.src]]
        if crossing and all(where[e.src] == i and where[e.dst] == i + 1 for e in crossing) \
                and any(ranked(e) for e in crossing):
            ok.append(i)
    return ok


def split(chain: Sequence[Unit], allowed: Sequence[int], pieces: int) -> list[int]:
    """Up to ``pieces - 1`` cut places from ``allowed`` that make pieces of near-equal
    length (greedy: the allowed cut nearest each ``j/pieces`` of the total).

    >>> split([Unit(str(i), [], 1.0) for i in range(6)], [0, 1, 2, 3, 4], 3)
    [1, 3]
    """
    ends, total = [], 0.0
    for unit in chain:
        total += unit.length
        ends.append(total)
    chosen: list[int] = []
    for j in range(1, pieces):
        target = total * j / pieces
        options = [c for c in allowed if not chosen or c > chosen[-1]]
        if not options:
            break
        best = min(options, key=lambda c: abs(ends[c] - target))
        chosen.append(best)
    return chosen


def unwrap(view: View, share: float = 0.5) -> View:
    """A copy of ``view`` without the top-level clusters that hold more than ``share`` of
    its nodes (a ``features`` block around a whole network), their contents lifted a
    level, so that a snake can cut between the stages inside them. The frame of a run of
    identical blocks (``12 × block``) is never dropped.

    >>> import resgraph
    >>> from resgraph.render.view import build_view
    >>> view = build_view(resgraph.load("examples/densenet.rg", network="densenet121"))
    >>> [c.title[:9] for c in view.clusters.values() if c.parent is None]
    ['features:']
    >>> [c.title[:9] for c in unwrap(view).clusters.values() if c.parent is None]
    ['transitio']
    """
    out = View(view.name, dict(view.nodes), list(view.edges), dict(view.clusters),
               view.collapsed)
    while True:
        count: dict[str, int] = defaultdict(int)
        for nid in out.nodes:
            count[top_unit(out, nid)] += 1
        big = [c for c, k in count.items() if c in out.clusters and k > share * len(out.nodes)
               and out.clusters[c].repeat == 1]  # a ×N frame says something: it stays
        if not big:
            return out
        wrapper = big[0]
        del out.clusters[wrapper]
        for cid, cluster in list(out.clusters.items()):
            if cluster.parent == wrapper:
                out.clusters[cid] = replace(cluster, parent=None)
        for nid, drawn in list(out.nodes.items()):
            if drawn.cluster == wrapper:
                out.nodes[nid] = replace(drawn, cluster=None)


def snake(view: View, pieces: int, lengths: dict[str, float] | None = None) -> Arrangement:
    """The snake arrangement: the chain cut into ``pieces`` near-equal pieces at top-level
    boundaries; odd pieces run backwards. ``lengths`` (node id → position along the flow,
    from a first layout) weighs the units; without it each unit counts as one.
    """
    chain = units(view)
    if lengths:
        for unit in chain:
            spots = [lengths[n] for n in unit.nodes if n in lengths]
            unit.length = max(spots) - min(spots) + 0.4 if spots else 0.4
    cut_at = split(chain, cuts(view, chain), pieces)
    piece_of: dict[str, int] = {}
    piece = 0
    for i, unit in enumerate(chain):
        for n in unit.nodes:
            piece_of[n] = piece
        if i in cut_at:
            piece += 1
    arr = Arrangement(kind="snake" if cut_at else "plain",
                      backward={n for n, p in piece_of.items() if p % 2})
    for i, e in enumerate(view.edges):
        ps, pd = piece_of[e.src], piece_of[e.dst]
        if not ranked(e):
            continue
        if ps == pd and ps % 2:
            arr.reversed.add(i)
        elif ps != pd:
            arr.turns.add(i)
            arr.same_rank.append([e.src, e.dst])
    return arr
