"""How each drawn node and cluster looks: op boxes, merge circles, gates, collapsed boxes.

:func:`node_attrs` and :func:`cluster_attrs` turn a :class:`~resgraph.render.view.ViewNode`
or :class:`~resgraph.render.view.ViewCluster` into Graphviz attributes (shape, fill, label);
:mod:`resgraph.render.dot` places them.

>>> from resgraph.render.view import ViewNode
>>> node_attrs(ViewNode("n1", "op", "conv", ["conv 3×3, 64"]))["fillcolor"]
'#dbe8f7'
"""

from __future__ import annotations

from resgraph.kinds import EDGE_KINDS
from resgraph.render.html import html_label, html_text, small_label
from resgraph.render.view import ViewCluster, ViewNode, printable

FILL: dict[str, str] = {
    **dict.fromkeys(("conv", "linear", "embedding", "attention"), "#dbe8f7"),
    **dict.fromkeys(("bn", "layernorm", "groupnorm"), "#fff3bf"),
    **dict.fromkeys(("relu", "gelu", "silu", "sigmoid", "tanh", "softmax"), "#f1f3f5"),
    **dict.fromkeys(("maxpool", "avgpool", "gap", "flatten", "upsample", "pad"), "#e3f4e6"),
}
"""Fill colour of op boxes: weighted layers blue, norms yellow, activations grey, pools green."""


BOX_FILL: dict[str, str] = {"dense": "#f3f0ff", "parallel": "#eef8fa"}
"""Fill of a box by glyph (others: light blue); the glyph's connection is drawn around it."""

GLYPH_MARK: dict[str, str] = {"residual": "+", "dense": "‖", "highway": "+", "gate": "×",
                              "parallel": "‖"}
"""The merge symbol a box shows beside its title: how its connection joins (the legend's
circles)."""


def box_label(node: ViewNode) -> str:
    """The HTML label of a box: its merge symbol in a circle-like cell, the title bold,
    the small lines under it (a dense block's layer count, the output shape), and for a
    run of ``N`` blocks a ``×N`` bracket on the right.

    >>> from resgraph.render.view import ViewNode
    >>> node = ViewNode("s3", "box", "block", ["12 × gpt2_block(768, 12)", "1024×768"],
    ...                 glyph="residual", repeat=12)
    >>> "×12" in box_label(node) and "SIDES" in box_label(node)
    True
    """
    body = html_label(node.lines, bold=True)[1:-1]
    cells = []
    mark = GLYPH_MARK.get(node.glyph)
    if mark:
        cells.append(f'<TD VALIGN="MIDDLE"><FONT POINT-SIZE="11">{html_text(mark)}</FONT></TD>')
    cells.append(f"<TD>{body}</TD>")
    if node.repeat > 1:
        cells.append(f'<TD SIDES="LTB" BORDER="1" CELLPADDING="3"><B>×{node.repeat}</B></TD>')
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1"><TR>'
            + "".join(cells) + "</TR></TABLE>>")


def _tooltip(text: str) -> str:
    return printable(text).replace("\\", "\\\\")


def node_attrs(node: ViewNode) -> dict[str, str]:
    """Graphviz attributes of one drawn node, by its role."""
    attrs = {"tooltip": _tooltip(node.tooltip), "class": node.role}
    if node.role == "merge":
        gated = EDGE_KINDS["highway"].style if node.op == "highway" else None
        attrs.update(shape="circle", width="0.3", height="0.3", fixedsize="true",
                     fontsize="13", style="filled", label=html_label(node.lines[:1]),
                     fillcolor=gated.fill if gated else "white",
                     color=gated.color if gated else EDGE_KINDS["seq"].style.color)
        if len(node.lines) > 1:
            attrs["xlabel"] = small_label(node.lines[1:])
        return attrs
    attrs.update(shape="box", style="rounded,filled", label=html_label(node.lines),
                 fillcolor=FILL.get(node.op, "white"), margin="0.12,0.04", height="0.3")
    if node.role == "input":
        attrs.update(fillcolor="#e9ecef", label=html_label(node.lines, bold=True))
    elif node.role == "gate":
        gate = EDGE_KINDS["highway"].style  # the highway's gate T, drawn in its kind's colours
        attrs.update(fillcolor=gate.fill, color=gate.color, label=html_label(node.lines,
                                                                             bold=True))
    elif node.role == "box":
        attrs.update(shape="box", style="rounded,filled", label=box_label(node),
                     fillcolor=BOX_FILL.get(node.glyph, "#eef3fb"), margin="0.1,0.04")
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
