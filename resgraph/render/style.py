"""The visual grammar of connection kinds: each kind's line as Graphviz attributes, the
merge glyphs' legend texts, and the legend cluster.

Every edge kind is drawn in the colour and line its entry in
:data:`resgraph.kinds.EDGE_KINDS` declares (turned into Graphviz attributes by
:func:`edge_style`) and listed in the legend by its ``legend`` text. The legend lists only
the kinds present, in one of three :data:`LEGEND_MODES`: ``none`` (no legend),
``compact`` (the default: short names in a small grid, each merge symbol drawn as the
circle the diagram uses) or ``full`` (one line per kind and symbol, with what it does).
No legend text names a colour: a kind is known by its line, which keeps its pattern in
greyscale print. The palette and the lines (:func:`describe_line`; the colours stay apart
for colour-blind readers, see :class:`resgraph.kinds.Style`):

>>> for name, kind in EDGE_KINDS.items():
...     print(f"{name:9} {kind.style.color}  {describe_line(kind.style)}")
seq       #000000  solid line, 1 pt
residual  #073269  double solid line, 1 pt
skip      #582b00  dashed line, 1.6 pt
highway   #087b5c  double dashed line, 1.2 pt
dense     #760afe  double dotted line, 1.2 pt
gate      #f88b2e  triple dashed line, 1 pt
parallel  #50a9ff  triple solid line, 0.8 pt
control   #aba2a6  dotted line, 1 pt
"""

from __future__ import annotations

from typing import TypeVar

import graphviz

from resgraph.kinds import EDGE_KINDS, Style
from resgraph.render.html import html_label, html_text
from resgraph.render.nodes import node_attrs
from resgraph.render.view import MERGE_TEXT, ViewNode

T = TypeVar("T")

Entry = tuple[str, str, str, str]
"""One legend entry: its first node (a sample line's start, or a symbol), the node of its
name, the name, and the name's tooltip (the full legend text)."""

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


def describe_line(style: Style) -> str:
    """A kind's line in words: strokes, dash and width (for documentation and captions).

    >>> describe_line(EDGE_KINDS["highway"].style)
    'double dashed line, 1.2 pt'
    """
    strokes = {1: "", 2: "double ", 3: "triple "}.get(style.lines, f"{style.lines}-fold ")
    return f"{strokes}{style.dash} line, {style.width:g} pt"


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
    lines: list[Entry] = [(f"legend_{k}_a", f"legend_{k}_b",
              EDGE_KINDS[k].legend if full else (EDGE_KINDS[k].style.label or k),
              EDGE_KINDS[k].legend) for k in kinds]
    symbols: list[Entry] = [(f"legend_glyph_{op}", f"legend_glyph_{op}_text",
                GLYPH_TEXT[op] if full else GLYPH_SHORT[op], GLYPH_TEXT[op]) for op in ops]
    columns = 1 if full else 2
    rows = _rows(lines, columns) + _rows(symbols, columns)
    # in TB a sample line joins two nodes of one rank, whose distance minlen sets (long
    # enough to show the pattern); in LR it spans a rank, long already. In LR the names
    # of a column share a rank, so they get one width and start at its left
    tb = rankdir in ("TB", "BT")
    flat = "2" if tb else "1"
    widths = {} if tb else _name_widths(rows, float(size))
    with dot.subgraph(name="cluster_legend") as leg:
        leg.attr(label=html_label(["legend"], bold=True), labeljust="l", style="rounded",
                 color="#ced4da", fontsize="9" if full else "8", margin="4")
        for kind, (a, b, text, tooltip) in zip(kinds, lines):
            leg.node(a, label="", shape="point", width="0.01", height="0.01", color="#ffffff00",
                     **{"class": "legend"})
            _text_node(leg, b, text, tooltip, size, widths.get(b, 0))
            leg.edge(a, b, id=f"legend_{kind}", **{**edge_style(EDGE_KINDS[kind].style),
                                                   "constraint": "true", "minlen": flat,
                                                   "weight": "10",
                                                   "class": f"legend {kind}"})
        for op, (a, b, text, tooltip) in zip(ops, symbols):
            leg.node(a, **{**_symbol_attrs(op), "tooltip": tooltip, "class": "legend glyph"})
            _text_node(leg, b, text, tooltip, size, widths.get(b, 0))
            leg.edge(a, b, style="invis", minlen="1", weight="10", **{"class": "legend"})
        _grid(leg, [[(a, b) for a, b, _, _ in row] for row in rows], rankdir)


def _text_node(leg: graphviz.Digraph, name: str, text: str, tooltip: str, size: str,
               width: int = 0) -> None:
    """A legend entry's words: a plain text node as narrow as its text, or with a
    ``width`` (points), a cell that wide with the text at its left."""
    label = html_text(text)
    if width:
        label = (f'<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR>'
                 f'<TD WIDTH="{width}" ALIGN="LEFT">{label}</TD></TR></TABLE>')
    leg.node(name, label=f"<{label}>", tooltip=tooltip, shape="plaintext",
             fontsize=size, width="0.1", height="0.18", margin="0.06,0", **{"class": "legend"})


def _name_widths(rows: list[list[Entry]], size: float) -> dict[str, int]:
    """One width (points) for the names of each column of entries: the longest name's,
    estimated at 0.6 em a character (a longer text widens its own cell, so the estimate
    only sets where the shorter names start)."""
    widths: dict[str, int] = {}
    for col in range(max(len(row) for row in rows)):
        names = [row[col] for row in rows if col < len(row)]
        width = max(round(len(text) * size * 0.6) for _, _, text, _ in names)
        widths.update((name, width) for _, name, _, _ in names)
    return widths


def _rows(entries: list[T], columns: int) -> list[list[T]]:
    return [entries[i:i + columns] for i in range(0, len(entries), columns)]


def _grid(leg: graphviz.Digraph, rows: list[list[tuple[str, str]]], rankdir: str) -> None:
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
        # ranks run left to right: an entry's two nodes are on consecutive ranks and the
        # next entry of its row two ranks on; the rows share their ranks, so that each
        # column of entries is two ranks: the lines or symbols, then their names
        for row in rows:  # heavy edges, which dot keeps straight: each row stays level
            for (_, last), (first, _) in zip(row, row[1:]):
                leg.edge(last, first, style="invis", weight="10", **{"class": "legend"})
        for col in range(max(len(row) for row in rows)):
            for side in (0, 1):
                column = [row[col][side] for row in rows if col < len(row)]
                if len(column) < 2:
                    continue
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
