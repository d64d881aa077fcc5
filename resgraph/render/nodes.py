"""How each drawn node and cluster looks: op boxes, merge circles, gates, collapsed boxes.

:func:`node_attrs` and :func:`cluster_attrs` turn a :class:`~resgraph.render.view.ViewNode`
or :class:`~resgraph.render.view.ViewCluster` into Graphviz attributes (shape, fill, label);
:mod:`resgraph.render.dot` places them.

>>> from resgraph.render.view import ViewNode
>>> node_attrs(ViewNode("n1", "op", "conv", ["conv 3×3, 64"]))["fillcolor"]
'#dbe8f7'
"""

from __future__ import annotations

from resgraph.render.html import html_label, small_label
from resgraph.render.view import ViewCluster, ViewNode, printable

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
