"""A :class:`~resgraph.render.view.View` as Graphviz DOT: nodes, clusters and edges.

Edges take their kind's line from :mod:`resgraph.render.style`, which also draws the
legend. Merges are small circles (``+`` add, ``‖`` concat, gated sum). All text goes
through HTML-like labels, escaped by :func:`~resgraph.render.html.html_text`.

>>> import resgraph
>>> from resgraph.render.view import build_view
>>> dot = to_dot_source(build_view(resgraph.load("examples/resnet18.rg")))
>>> dot.startswith("digraph resnet18 {"), 'id=legend_residual' in dot
(True, True)
"""

from __future__ import annotations

import graphviz

from resgraph.kinds import EDGE_KINDS
from resgraph.render.html import html_label
from resgraph.render.nodes import cluster_attrs, node_attrs
from resgraph.render.style import GLYPH_TEXT, add_legend, edge_style
from resgraph.render.view import View, ViewEdge

FONT = "Helvetica,Arial,sans-serif"


def edge_attrs(edge: ViewEdge) -> dict[str, str]:
    """Graphviz attributes of an edge: its kind's style, and its shape if asked for."""
    attrs = {**edge_style(EDGE_KINDS[edge.kind].style), "class": edge.kind}
    if edge.shape:
        attrs.update(label=html_label([edge.shape]), fontsize="8", fontcolor="#868e96")
    return attrs


def to_digraph(view: View, *, rankdir: str = "TB", title: str = "") -> graphviz.Digraph:
    """The :class:`graphviz.Digraph` of a view (nothing is run; see :func:`to_dot_source`)."""
    dot = graphviz.Digraph(view.name, graph_attr={
        "rankdir": rankdir, "newrank": "true", "nodesep": "0.25", "ranksep": "0.3",
        "fontname": FONT, "fontsize": "12", "labelloc": "t",
        "label": html_label([title], bold=True) if title else "",
        "tooltip": view.name},
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"fontname": FONT, "arrowsize": "0.7"})
    by_cluster, children = view.tree()

    def fill(graph: graphviz.Digraph, cid: str | None) -> None:
        for node in by_cluster[cid]:
            graph.node(node.id, **node_attrs(node))
        for cluster in children[cid]:
            # a subgraph of its own, added when full: graphviz's ``with graph.subgraph()``
            # copies the parent's body each time, quadratic in the number of clusters
            sub = graphviz.Digraph(f"cluster_{cluster.id}")
            sub.attr(**cluster_attrs(cluster))
            fill(sub, cluster.id)
            graph.subgraph(sub)

    fill(dot, None)
    for edge in view.edges:
        dot.edge(edge.src, edge.dst, **edge_attrs(edge))
    glyphs = {n.op for n in view.nodes.values() if n.role in ("merge", "gate")}
    add_legend(dot, view.kinds(), [t for op, t in GLYPH_TEXT.items() if op in glyphs], rankdir)
    return dot


def to_dot_source(view: View, *, rankdir: str = "TB", title: str = "") -> str:
    """The DOT text of a view."""
    return to_digraph(view, rankdir=rankdir, title=title).source
