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
from resgraph.render.html import html_label, small_label
from resgraph.render.style import GLYPH_TEXT, add_legend, edge_style
from resgraph.render.view import View, ViewCluster, ViewEdge, ViewNode, printable

FONT = "Helvetica,Arial,sans-serif"

FILL: dict[str, str] = {
    **dict.fromkeys(("conv", "linear", "embedding", "attention"), "#dbe8f7"),
    **dict.fromkeys(("bn", "layernorm", "groupnorm"), "#fff3bf"),
    **dict.fromkeys(("relu", "gelu", "silu", "sigmoid", "tanh", "softmax"), "#f1f3f5"),
    **dict.fromkeys(("maxpool", "avgpool", "gap", "flatten", "upsample", "pad"), "#e3f4e6"),
}
"""Fill colour of op boxes: weighted layers blue, norms yellow, activations grey, pools green."""


def _tooltip(text: str) -> str:
    return printable(text).replace("\\", "\\\\")


def node_attrs(node: ViewNode) -> dict[str, str]:
    """Graphviz attributes of one drawn node, by its role."""
    attrs = {"tooltip": _tooltip(node.tooltip), "class": node.role}
    if node.role == "merge":
        green = node.op == "highway"
        attrs.update(shape="circle", width="0.3", height="0.3", fixedsize="true",
                     fontsize="13", style="filled", label=html_label(node.lines[:1]),
                     fillcolor="#d3f9d8" if green else "white",
                     color="#2b8a3e" if green else "#495057")
        if len(node.lines) > 1:
            attrs["xlabel"] = small_label(node.lines[1:])
        return attrs
    attrs.update(shape="box", style="rounded,filled", label=html_label(node.lines),
                 fillcolor=FILL.get(node.op, "white"), margin="0.12,0.04", height="0.3")
    if node.role == "input":
        attrs.update(fillcolor="#e9ecef", label=html_label(node.lines, bold=True))
    elif node.role == "gate":
        attrs.update(fillcolor="#d3f9d8", color="#2b8a3e", label=html_label(node.lines,
                                                                           bold=True))
    elif node.role == "box":
        attrs.update(shape="box3d" if node.repeat > 1 else "box", style="filled",
                     fillcolor="#eef3fb", label=html_label(node.lines, bold=True))
    if node.output:
        attrs["penwidth"] = "2"
    return attrs


def cluster_attrs(cluster: ViewCluster) -> dict[str, str]:
    """Graphviz attributes of a cluster: a rounded frame titled like the call."""
    label = html_label([cluster.title, *cluster.details], bold=True, size=8)
    label = label.replace("<BR/>", '<BR ALIGN="LEFT"/>')[:-1] + '<BR ALIGN="LEFT"/>>'
    attrs = {"label": label, "labeljust": "l",
             "style": "rounded", "color": "#adb5bd", "fontsize": "10",
             "tooltip": _tooltip(cluster.tooltip)}
    if cluster.repeat > 1:
        attrs.update(style="rounded,filled", fillcolor="#f3f7fd", color="#74a9d8",
                     penwidth="1.5")
    return attrs


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
