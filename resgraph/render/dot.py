"""A :class:`~resgraph.render.view.View` as Graphviz DOT: nodes, clusters and edges.

Edges take their kind's line from :mod:`resgraph.render.style`, which also draws the
legend. Merges are small circles (``+`` add, ``‖`` concat, gated sum). All text goes
through HTML-like labels, escaped by :func:`~resgraph.render.html.html_text`.

Three rules keep the geometry clean:

* **Cluster titles are nodes.** ``dot`` routes edges through cluster labels as if
  they were not there, so each cluster's title is a plain-text node (id ``t_<cluster>``,
  class ``title``) held on the rank of the cluster's first node, beside it (left in
  ``TB``, above in ``LR``); edges are routed around nodes, so none crosses a title.
* **Skip arcs have their own lane.** A skip around a collapsed box (a self-edge of the
  view) leaves the box's entry side and comes back at its exit side, as an arc beside
  it, never through it.
* **Bent layouts.** A :class:`~resgraph.render.layout.Arrangement` (the U of an
  encoder–decoder network, the snake of a long chain) reverses edges, holds nodes on
  one rank and draws turns flat.

>>> import resgraph
>>> from resgraph.render.view import build_view
>>> dot = to_dot_source(build_view(resgraph.load("examples/resnet18.rg")))
>>> dot.startswith("digraph resnet18 {"), 'id=legend_residual' in dot, "t_c2" in dot
(True, True, True)
"""

from __future__ import annotations

import re
from collections import defaultdict

import graphviz

from resgraph.kinds import EDGE_KINDS
from resgraph.render.fit import wrap_titles
from resgraph.render.html import html_label
from resgraph.render.layout import Arrangement, order
from resgraph.render.nodes import cluster_attrs, node_attrs
from resgraph.render.style import GLYPH_TEXT, add_legend, edge_style
from resgraph.render.view import View, ViewEdge

FONT = "Helvetica,Arial,sans-serif"
LEGEND_NODE = re.compile(r"^\t+(legend_\w+) \[", re.MULTILINE)
"""The legend's nodes in the DOT text that :func:`~resgraph.render.style.add_legend` adds."""
ARC_PORTS = {("TB", False): ("ne", "se"), ("TB", True): ("se", "ne"),
             ("LR", False): ("w", "e"), ("LR", True): ("e", "w")}
"""The ports of a skip arc around a box, by rank direction and whether its piece of the
chain runs backwards: it leaves the corner on the input side and returns at the corner
on the output side, so that ``dot`` draws it as an arc beside the box (its own lane),
clear of the sequence edges that enter and leave the box in the middle."""


def edge_attrs(edge: ViewEdge) -> dict[str, str]:
    """Graphviz attributes of an edge: its kind's style, and its shape if asked for."""
    attrs = {**edge_style(EDGE_KINDS[edge.kind].style), "class": edge.kind}
    if edge.shape:
        attrs.update(label=html_label([edge.shape]), fontsize="8", fontcolor="#868e96")
    return attrs


def to_digraph(view: View, *, rankdir: str = "TB", title: str = "", legend: str = "compact",
               font: str = FONT, arrangement: Arrangement | None = None,
               legend_first: bool = False, tight: bool = False) -> graphviz.Digraph:
    """The :class:`graphviz.Digraph` of a view (nothing is run; see :func:`to_dot_source`).

    ``legend`` is ``none``, ``compact`` or ``full`` (:func:`~resgraph.render.style.add_legend`),
    ``font`` the font family of every text. ``legend_first`` puts the legend above the
    inputs (in ``TB`` on the ranks before theirs, in ``LR`` from the first input's rank
    on), so that it adds no width to a narrow figure;
    ``tight`` packs ranks and nodes closer (for figures fitted to a page).
    """
    arr = arrangement or Arrangement()
    dot = graphviz.Digraph(view.name, graph_attr={
        "rankdir": rankdir, "newrank": "true", "nodesep": "0.08" if tight else "0.25",
        "ranksep": _ranksep(view, tight), **({"pad": "0.02"} if tight else {}),
        "fontname": font, "fontsize": "12", "labelloc": "t",
        "label": html_label([title], bold=True) if title else "",
        "tooltip": view.name},
        node_attr={"fontname": font, "fontsize": "10"},
        edge_attr={"fontname": font, "fontsize": "8", "arrowsize": "0.5" if tight else "0.7"})
    by_cluster, children = view.tree()
    tops = _cluster_tops(view, arr)

    def fill(graph: graphviz.Digraph, cid: str | None) -> None:
        for node in by_cluster[cid]:
            graph.node(node.id, **node_attrs(node))
        for cluster in children[cid]:
            # a subgraph of its own, added when full: graphviz's ``with graph.subgraph()``
            # copies the parent's body each time, quadratic in the number of clusters
            sub = graphviz.Digraph(f"cluster_{cluster.id}")
            attrs = cluster_attrs(cluster)
            label = attrs.pop("label", "")
            sub.attr(**attrs, label="")
            if label and cluster.id in tops:
                _title_node(sub, cluster.id, label, attrs.get("fontsize", "10"))
            if cluster.repeat > 1 and cluster.id in tops:
                _bracket_node(sub, cluster.id, cluster.repeat, attrs.get("fontsize", "10"))
            fill(sub, cluster.id)
            graph.subgraph(sub)

    fill(dot, None)
    titled = [[f"t_{cid}", top] for cid, top in tops.items()]
    # written directly (every id is a plain name: n12, s3, t_c4): ``with dot.subgraph()``
    # would copy the whole body each time (quadratic: minutes for 15,000 titled blocks),
    # and graphviz's quoting doubled the time to write a 40,000-node chain
    for group in arr.same_rank + titled:
        dot.body.append(f"\t{{rank=same; {'; '.join(group)}}}\n")
    for chain in _title_chains(view, tops):
        for a, b in zip(chain, chain[1:]):
            dot.body.append(f"\t{a} -> {b} [class=title style=invis]\n")
    for cluster in view.clusters.values():  # the ×N bracket right of the top node
        if cluster.repeat > 1 and cluster.id in tops:
            top = tops[cluster.id]
            dot.body.append(f"\t{{rank=same; {top}; x_{cluster.id}}}\n")
            dot.body.append(f"\t{top} -> x_{cluster.id} [class=title style=invis]\n")
    for i, edge in enumerate(view.edges):
        attrs = edge_attrs(edge)
        if edge.src == edge.dst:
            tail, head = ARC_PORTS[rankdir, edge.src in arr.backward]
            dot.edge(edge.src, edge.dst, tailport=tail, headport=head, dir="none", **attrs)
        elif i in arr.reversed:
            dot.edge(edge.dst, edge.src, dir="back", **attrs)
        else:  # a turn joins two nodes of one rank: a flat edge puts its tail first
            dot.edge(edge.src, edge.dst, **attrs)
    glyphs = {n.op for n in view.nodes.values() if n.role in ("merge", "gate")}
    before = len(dot.body)
    add_legend(dot, view.kinds(), [op for op in GLYPH_TEXT if op in glyphs], rankdir,
               mode=legend)
    if legend_first:
        keys = LEGEND_NODE.findall("".join(dot.body[before:]))
        inputs = [n.id for n in view.nodes.values() if n.role == "input"]
        if keys and inputs and rankdir == "LR":
            # left to right, width is dear: the legend starts on the input's rank, above it
            dot.body.append(f"\t{{rank=same; {keys[0]}; {inputs[0]}}}\n")
            dot.edge(keys[0], inputs[0], style="invis", weight="0", **{"class": "legend"})
        elif keys:
            # one edge from the legend's last node (in its bottom row) to each input: more
            # edges would let dot's crossing minimisation reorder the legend's rows;
            # weight 0: above the inputs, but free to sit where it adds least width
            for node in inputs:
                dot.edge(keys[-1], node, style="invis", weight="0", **{"class": "legend"})
    return dot


def _ranksep(view: View, tight: bool) -> str:
    """Space between ranks (inches): 0.3, or in a tight figure 0.12, or 0.16 where skip
    arcs run beside boxes (closer, the arcs of neighbouring boxes would touch)."""
    if not tight:
        return "0.3"
    return "0.16" if any(e.src == e.dst for e in view.edges) else "0.12"


def _title_node(graph: graphviz.Digraph, cid: str, label: str, size: str) -> None:
    """A cluster's title as a node inside it: a box with an invisible outline, which the
    SVG keeps (so that the title's extent can be measured)."""
    graph.node(f"t_{cid}", label=wrap_titles(label, br='<BR ALIGN="LEFT"/>'), shape="box",
               color="transparent", fontsize=size, margin="0.02,0.01", height="0.1",
               width="0.1", **{"class": "title"})


def _bracket_node(graph: graphviz.Digraph, cid: str, repeat: int, size: str) -> None:
    """The ``×N`` bracket of a cluster that stands for ``N`` identical blocks in a row
    (id ``x_<cluster>``), drawn as the collapsed boxes draw theirs."""
    cell = (f'<TD SIDES="LTB" BORDER="1" CELLPADDING="3"><B>×{repeat}</B></TD>')
    graph.node(f"x_{cid}", label=f'<<TABLE BORDER="0" CELLSPACING="0"><TR>{cell}</TR></TABLE>>',
               shape="plaintext", fontsize=size, margin="0", height="0.1", width="0.1",
               tooltip=f"{repeat} identical blocks in a row, drawn once",
               **{"class": "bracket"})


def _cluster_tops(view: View, arr: Arrangement) -> dict[str, str]:
    """For each cluster, the node its title sits beside: its first node along the flow
    (in a piece that runs backwards, its last)."""
    place = order(view)
    members: dict[str, list[str]] = defaultdict(list)
    for node in view.nodes.values():
        cid = node.cluster
        while cid is not None:
            members[cid].append(node.id)
            cid = view.clusters[cid].parent
    tops = {}
    for cid, nodes in members.items():
        forward = [n for n in nodes if n not in arr.backward]
        if forward:
            tops[cid] = min(forward, key=place.__getitem__)
        else:
            tops[cid] = max(nodes, key=place.__getitem__)
    return tops


def _title_chains(view: View, tops: dict[str, str]) -> list[list[str]]:
    """Invisible flat edges that put titles before (left of, in ``LR`` above) the node they
    sit beside, outer titles before inner ones."""
    by_top: dict[str, list[str]] = defaultdict(list)
    for cid, top in tops.items():
        by_top[top].append(cid)

    def depth(cid: str) -> int:
        parent, d = view.clusters[cid].parent, 0
        while parent is not None:
            parent, d = view.clusters[parent].parent, d + 1
        return d

    return [[f"t_{c}" for c in sorted(cids, key=depth)] + [top] for top, cids in by_top.items()]


def to_dot_source(view: View, *, rankdir: str = "TB", title: str = "",
                  legend: str = "compact", arrangement: Arrangement | None = None) -> str:
    """The DOT text of a view."""
    return to_digraph(view, rankdir=rankdir, title=title, legend=legend,
                      arrangement=arrangement).source
