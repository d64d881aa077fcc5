"""The visual grammar of connection kinds: each kind's line as Graphviz attributes, the
merge glyphs' legend texts, and the legend cluster.

Every edge kind is drawn in the colour and line its entry in
:data:`resgraph.kinds.EDGE_KINDS` declares (turned into Graphviz attributes by
:func:`edge_style`) and listed in the legend by its ``legend`` text. The legend lists only
the kinds present, in one of three :data:`LEGEND_MODES`: ``none`` (no legend),
``compact`` (the default: short names in a small grid, each merge symbol drawn as the
circle the diagram uses) or ``full`` (one line per kind and symbol, with what it does).
No legend text names a colour: a kind is known by its line, which keeps its pattern in
greyscale print.

>>> edge_style(EDGE_KINDS["seq"].style)["color"].startswith("#")
True
"""

from __future__ import annotations

import graphviz

from resgraph.kinds import EDGE_KINDS, Style
from resgraph.render.html import html_label, html_text
from resgraph.render.nodes import node_attrs
from resgraph.render.view import MERGE_TEXT, ViewNode

LEGEND_MODES = ("none", "compact", "full")
"""How much legend is drawn: none, a compact grid (the default), or every line spelled out."""

GLYPH_TEXT: dict[str, str] = {
    "add": "add",
    "concat": "concatenate on channels",
    "highway": "gated sum H·T + x·(1−T)",
    "gate": "highway gate T = σ(W·x + b)",
    "mul": "multiply: gate x times F(x) (broadcast), or parallel(merge=mul) branches",
}
"""What the full legend says beside each merge symbol (by op): every op in
:data:`resgraph.kinds.MERGE_OPS`, and the highway gate. The symbol itself is drawn."""

GLYPH_SHORT: dict[str, str] = {
    "add": "add", "concat": "concat", "highway": "gated sum", "gate": "gate",
    "mul": "multiply",
}
"""What the compact legend says beside each merge symbol."""


def stroke_color(style: Style) -> str:
    """The Graphviz ``color`` of a kind's line: its colour, or for ``lines`` parallel
    strokes a colour list with an invisible stroke between each two (Graphviz draws a
    list of colours as parallel lines).

    >>> stroke_color(EDGE_KINDS["residual"].style)
    '#073269:invis:#073269'
    """
    return ":invis:".join([style.color] * style.lines)


def edge_style(style: Style) -> dict[str, str]:
    """Graphviz attributes of an edge kind's :class:`~resgraph.kinds.Style`.

    A solid line, an edge that takes part in ranking and an arrowhead of size 1 (the
    diagram's default) are Graphviz's defaults, so they are left out.

    >>> edge_style(EDGE_KINDS["skip"].style)
    {'color': '#582b00', 'penwidth': '1.6', 'style': 'dashed', 'constraint': 'false'}
    >>> edge_style(EDGE_KINDS["highway"].style)["color"]
    '#087b5c:invis:#087b5c'
    """
    attrs = {"color": stroke_color(style), "penwidth": f"{style.width:g}"}
    if style.dash != "solid":
        attrs["style"] = style.dash
    if not style.constraint:
        attrs["constraint"] = "false"
    if style.arrowsize != 1.0:
        attrs["arrowsize"] = f"{style.arrowsize:g}"
    return attrs


def _glyph_op(glyph: str) -> str:
    """The merge op of a legend glyph, given as an op or as its :data:`GLYPH_TEXT`."""
    if glyph in GLYPH_TEXT:
        return glyph
    for op, text in GLYPH_TEXT.items():
        if text == glyph:
            return op
    raise ValueError(f"unknown legend glyph {glyph!r}; expected one of {sorted(GLYPH_TEXT)}")


def _symbol_attrs(op: str) -> dict[str, str]:
    """The symbol of a merge op (or the highway gate) as the diagram draws it."""
    if op == "gate":
        node = ViewNode("legend", "gate", "gate", ["T"])
    else:
        node = ViewNode("legend", "merge", op, [MERGE_TEXT[op]])
    attrs = node_attrs(node)
    attrs.pop("tooltip", None)
    attrs.pop("xlabel", None)
    if op == "gate":
        attrs.update(margin="0.04,0.02", height="0.22", width="0.3", fontsize="9")
    else:
        attrs.update(width="0.22", height="0.22", fontsize="10")
    return attrs


def add_legend(dot: graphviz.Digraph, kinds: list[str], glyphs: list[str],
               rankdir: str = "TB", *, mode: str = "compact") -> None:
    """A cluster ``legend``: one sample edge (id ``legend_<kind>``) per kind present, then
    each merge symbol present, drawn, with its meaning.

    ``glyphs`` names the merge symbols by op (``add``, ``concat``, ``highway``, ``mul``,
    ``gate``) or by their :data:`GLYPH_TEXT`. ``mode`` is one of :data:`LEGEND_MODES`:
    ``none`` draws nothing; ``compact`` gives short names, two lines or symbols
    to a row, so that the legend stays small beside the figure; ``full`` gives
    each entry a row of its own, with the kind's whole legend text. In an SVG, hovering
    over a compact entry shows the full text (its tooltip).

    >>> dot = graphviz.Digraph()
    >>> add_legend(dot, ["seq", "residual"], ["add"])
    >>> "legend_residual" in dot.source, "label=<residual>" in dot.source
    (True, True)
    >>> add_legend(dot := graphviz.Digraph(), ["seq"], [], mode="none"); dot.source.count("->")
    0
    """
    if mode not in LEGEND_MODES:
        raise ValueError(f"legend mode {mode!r}: expected one of {', '.join(LEGEND_MODES)}")
    ops = [_glyph_op(g) for g in glyphs]
    if mode == "none" or not (kinds or ops):
        return
    full = mode == "full"
    size = "9" if full else "8"
    # a sample line long enough to show its pattern: in TB it joins two nodes of one rank,
    # whose distance minlen sets; in LR it spans a rank, long already
    flat = "2" if rankdir in ("TB", "BT") else "1"
    lines: list[Entry] = []
    symbols: list[Entry] = []
    with dot.subgraph(name="cluster_legend") as leg:
        leg.attr(label=html_label(["legend"], bold=True), labeljust="l", style="rounded",
                 color="#ced4da", fontsize="9" if full else "8", margin="4")
        for kind in kinds:
            edge_kind = EDGE_KINDS[kind]
            a, b = f"legend_{kind}_a", f"legend_{kind}_b"
            text = edge_kind.legend if full else (edge_kind.style.label or kind)
            leg.node(a, label="", shape="point", width="0.01", height="0.01", color="#ffffff00",
                     **{"class": "legend"})
            _text_node(leg, b, text, edge_kind.legend, size)
            leg.edge(a, b, id=f"legend_{kind}", **{**edge_style(edge_kind.style),
                                                   "constraint": "true", "minlen": flat,
                                                   "class": f"legend {kind}"})
            lines.append((a, b))
        for op in ops:
            a, b = f"legend_glyph_{op}", f"legend_glyph_{op}_text"
            leg.node(a, **{**_symbol_attrs(op), "tooltip": GLYPH_TEXT[op],
                           "class": "legend glyph"})
            text = GLYPH_TEXT[op] if full else GLYPH_SHORT[op]
            _text_node(leg, b, text, GLYPH_TEXT[op], size)
            leg.edge(a, b, style="invis", minlen="1", **{"class": "legend"})
            symbols.append((a, b))
        _grid(leg, _rows(lines, 1 if full else 2) + _rows(symbols, 1 if full else 2), rankdir)


def _text_node(leg: graphviz.Digraph, name: str, text: str, tooltip: str, size: str) -> None:
    """A legend entry's words: a plain text node as narrow as its text."""
    leg.node(name, label=f"<{html_text(text)}>", tooltip=tooltip, shape="plaintext",
             fontsize=size, width="0.1", height="0.18", margin="0.06,0", **{"class": "legend"})


Entry = tuple[str, str]
"""The first and the last node of one legend entry (a sample line and its name)."""


def _rows(entries: list[Entry], columns: int) -> list[list[Entry]]:
    return [entries[i:i + columns] for i in range(0, len(entries), columns)]


def _grid(leg: graphviz.Digraph, rows: list[list[Entry]], rankdir: str) -> None:
    """Place the legend's rows of entries, each read left to right, top down."""
    if rankdir in ("TB", "BT"):
        # each row is one rank; within it, the entries follow each other left to right
        for row in rows:
            with leg.subgraph() as same:
                same.attr(rank="same")
                for first, last in row:
                    same.node(first)
                    same.node(last)
            for (_, last), (first, _) in zip(row, row[1:]):
                leg.edge(last, first, style="invis", **{"class": "legend"})
        for above, below in zip(rows, rows[1:]):
            leg.edge(above[0][0], below[0][0], style="invis", **{"class": "legend"})
    else:
        # ranks run left to right: an entry's two nodes are on consecutive ranks, the
        # next entry of its row two ranks on, and the rows share their ranks
        for row in rows:
            for (_, last), (first, _) in zip(row, row[1:]):
                leg.edge(last, first, style="invis", **{"class": "legend"})
        for col in range(max(len(row) for row in rows)):
            column = [row[col][0] for row in rows if col < len(row)]
            if len(column) > 1:
                with leg.subgraph() as same:
                    same.attr(rank="same")
                    for node in column:
                        same.node(node)
                # a flat edge in a left-to-right layout puts its head above its tail
                for upper, lower in zip(column, column[1:]):
                    leg.edge(lower, upper, style="invis", **{"class": "legend"})


def link_width(style: Style) -> int:
    """The Mermaid line width of a kind in whole pixels: as wide as its parallel strokes
    and the gaps between them (1 to 4; Mermaid draws one stroke, and its dash pattern
    tells the kinds apart).

    >>> link_width(EDGE_KINDS["seq"].style), link_width(EDGE_KINDS["residual"].style)
    (1, 3)
    """
    return min(4, max(1, round(style.width * style.lines + style.lines - 1)))


def link_style(style: Style) -> str:
    """The Mermaid ``linkStyle`` of an edge kind's style: colour, width
    (:func:`link_width`) and the kind's exact ``stroke-dasharray``.

    >>> link_style(EDGE_KINDS["skip"].style)
    'stroke:#582b00,stroke-width:2px,stroke-dasharray:6 4'
    """
    parts = [f"stroke:{style.color}", f"stroke-width:{link_width(style)}px"]
    if style.dasharray:
        parts.append(f"stroke-dasharray:{style.dasharray}")
    return ",".join(parts)
