"""A :class:`~resgraph.render.view.View` as Graphviz DOT: the visual grammar and the legend.

Every edge kind is drawn in the colour and line its entry in
:data:`resgraph.kinds.EDGE_KINDS` declares (turned into Graphviz attributes by
:func:`edge_style`) and listed in the legend by its ``legend`` text: ``seq`` plain,
``residual`` bold blue, ``skip`` dashed orange and laid out as a long edge that does
not pull ranks, ``highway`` green into a gated sum whose gate ``T`` arrives on a thin
dotted ``control`` edge, ``dense`` violet fanning into a concat node. Merges are small
circles (``+`` add, ``‖`` concat, green ``+`` gated sum). The legend lists only the
kinds present. All text goes through HTML-like labels, escaped by :func:`html_text`.

>>> import resgraph
>>> from resgraph.render.view import build_view
>>> dot = to_dot_source(build_view(resgraph.load("examples/resnet18.rg")))
>>> dot.startswith("digraph resnet18 {"), 'id=legend_residual' in dot
(True, True)
"""

from __future__ import annotations

import html

import graphviz

from resgraph.kinds import EDGE_KINDS, Style
from resgraph.render.view import View, ViewCluster, ViewEdge, ViewNode, printable

FONT = "Helvetica,Arial,sans-serif"

GLYPH_TEXT: dict[str, str] = {
    "add": "+  add",
    "concat": "‖  concatenate on channels",
    "highway": "green +  gated sum H·T + x·(1−T)",
    "gate": "T  highway gate σ(W·x + b)",
    "mul": "×  multiply: gate x times F(x) (broadcast), or parallel(merge=mul) branches",
}
"""What the legend says about each kind of merge node (by op): every op in
:data:`resgraph.kinds.MERGE_OPS`, and the highway gate."""

FILL: dict[str, str] = {
    **dict.fromkeys(("conv", "linear", "embedding", "attention"), "#dbe8f7"),
    **dict.fromkeys(("bn", "layernorm", "groupnorm"), "#fff3bf"),
    **dict.fromkeys(("relu", "gelu", "silu", "sigmoid", "tanh", "softmax"), "#f1f3f5"),
    **dict.fromkeys(("maxpool", "avgpool", "gap", "flatten", "upsample", "pad"), "#e3f4e6"),
}
"""Fill colour of op boxes: weighted layers blue, norms yellow, activations grey, pools green."""


def html_text(text: str) -> str:
    r"""Escape text for an HTML-like Graphviz label (``<``, ``>``, ``&``, quotes; control
    characters as escapes, :func:`~resgraph.render.view.printable`).

    Braces, ``|`` and quotes need no record escaping here: resgraph never uses record
    shapes, and inside an HTML label they are plain characters.

    >>> html_text('foo("a{b}<c>&\x00")')
    'foo(&quot;a{b}&lt;c&gt;&amp;\\x00&quot;)'
    """
    return html.escape(printable(text), quote=True)


def html_label(lines: list[str], *, bold: bool = False, size: int = 8) -> str:
    """A label whose first line is the title and whose other lines are small and grey.

    >>> html_label(["conv 3×3, 64", "36.9K params"])
    '<conv 3×3, 64<BR/><FONT POINT-SIZE="8" COLOR="#666666">36.9K params</FONT>>'
    """
    head = html_text(lines[0])
    if bold:
        head = f"<B>{head}</B>"
    rest = small_label([t for t in lines[1:] if t], size)[1:-1]
    return "<" + "<BR/>".join([head, rest] if rest else [head]) + ">"


def small_label(lines: list[str], size: int = 8) -> str:
    """A label of small grey lines only (used beside merge nodes).

    >>> small_label(["drop path 0.1"])
    '<<FONT POINT-SIZE="8" COLOR="#666666">drop path 0.1</FONT>>'
    """
    return "<" + "<BR/>".join(f'<FONT POINT-SIZE="{size}" COLOR="#666666">{html_text(t)}</FONT>'
                              for t in lines) + ">"


def _tooltip(text: str) -> str:
    return printable(text).replace("\\", "\\\\")


def edge_style(style: Style) -> dict[str, str]:
    """Graphviz attributes of an edge kind's :class:`~resgraph.kinds.Style`.

    A solid line, an edge that takes part in ranking and an arrowhead of size 1 (the
    diagram's default) are Graphviz's defaults, so they are left out.

    >>> edge_style(EDGE_KINDS["skip"].style)
    {'color': '#e8590c', 'penwidth': '1.6', 'style': 'dashed', 'constraint': 'false'}
    """
    attrs = {"color": style.color, "penwidth": f"{style.width:g}"}
    if style.dash != "solid":
        attrs["style"] = style.dash
    if not style.constraint:
        attrs["constraint"] = "false"
    if style.arrowsize != 1.0:
        attrs["arrowsize"] = f"{style.arrowsize:g}"
    return attrs


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


def add_legend(dot: graphviz.Digraph, kinds: list[str], glyphs: list[str],
               rankdir: str = "TB") -> None:
    """A cluster ``legend``: one sample edge (id ``legend_<kind>``) per kind present, then
    one line per merge symbol present."""
    if not kinds:
        return
    with dot.subgraph(name="cluster_legend") as leg:
        leg.attr(label=html_label(["legend"], bold=True), labeljust="l", style="rounded",
                 color="#ced4da", fontsize="10")
        for kind in kinds:
            a, b = f"legend_{kind}_a", f"legend_{kind}_b"
            leg.node(a, label=html_label([EDGE_KINDS[kind].legend]), shape="plaintext",
                     fontsize="9", height="0.2", **{"class": "legend"})
            leg.node(b, label="", shape="point", width="0.02", color="white",
                     **{"class": "legend"})
            if rankdir == "TB":
                with leg.subgraph() as row:
                    row.attr(rank="same")
                    row.node(a)
                    row.node(b)
            leg.edge(a, b, id=f"legend_{kind}", **{**edge_style(EDGE_KINDS[kind].style),
                                                   "constraint": "true",
                                                   "minlen": "2" if rankdir == "TB" else "1",
                                                   "class": f"legend {kind}"})
        rows = [f"legend_{kind}_a" for kind in kinds]
        if glyphs:
            left = '<BR ALIGN="LEFT"/>'
            text = left.join(html_text(t) for t in glyphs)
            leg.node("legend_glyphs", label=f"<{text}{left}>", shape="plaintext", fontsize="9",
                     **{"class": "legend"})
            rows.append("legend_glyphs")
        if rankdir == "TB":
            for first, second in zip(rows, rows[1:]):
                leg.edge(first, second, style="invis", **{"class": "legend"})
        else:
            with leg.subgraph() as column:
                column.attr(rank="same")
                for row in rows:
                    column.node(row)


def to_dot_source(view: View, *, rankdir: str = "TB", title: str = "") -> str:
    """The DOT text of a view."""
    return to_digraph(view, rankdir=rankdir, title=title).source
