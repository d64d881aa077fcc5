"""The visual grammar of connection kinds: each kind's line as Graphviz attributes, the
merge glyphs' legend texts, and the legend cluster.

Every edge kind is drawn in the colour and line its entry in
:data:`resgraph.kinds.EDGE_KINDS` declares (turned into Graphviz attributes by
:func:`edge_style`) and listed in the legend by its ``legend`` text. The legend lists only
the kinds present.

>>> edge_style(EDGE_KINDS["seq"].style)["color"].startswith("#")
True
"""

from __future__ import annotations

import graphviz

from resgraph.kinds import EDGE_KINDS, Dash, Style
from resgraph.render.html import html_label, html_text

DASHES: dict[Dash, str] = {"dashed": "6 4", "dotted": "2 3"}
"""The ``stroke-dasharray`` of each dash pattern but solid."""

GLYPH_TEXT: dict[str, str] = {
    "add": "+  add",
    "concat": "‖  concatenate on channels",
    "highway": "green +  gated sum H·T + x·(1−T)",
    "gate": "T  highway gate σ(W·x + b)",
    "mul": "×  multiply: gate x times F(x) (broadcast), or parallel(merge=mul) branches",
}
"""What the legend says about each kind of merge node (by op): every op in
:data:`resgraph.kinds.MERGE_OPS`, and the highway gate."""


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


def link_style(style: Style) -> str:
    """The ``linkStyle`` of an edge kind's style; widths round to whole pixels (at least 1).

    >>> link_style(EDGE_KINDS["skip"].style)
    'stroke:#e8590c,stroke-width:2px,stroke-dasharray:6 4'
    """
    parts = [f"stroke:{style.color}", f"stroke-width:{max(1, round(style.width))}px"]
    if style.dash in DASHES:
        parts.append(f"stroke-dasharray:{DASHES[style.dash]}")
    return ",".join(parts)
