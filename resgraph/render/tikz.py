r"""A laid-out diagram as TikZ, for a figure set in the paper's own typeface.

:func:`tikz_from_layout` reads what ``dot -Tjson`` writes (every node, cluster and edge
with its drawing operations, in points) and writes one ``tikzpicture`` that draws the
same picture: the clusters' frames and titles, each edge's splines (a double or triple
line stays two or three strokes, dashed and dotted lines keep the dash of Graphviz's
SVG) and arrowheads, each node's shape, fill and lines of text. Coordinates are
Graphviz's points (``x=1bp, y=1bp``); text is set by LaTeX at the size Graphviz laid it
out for, in the document's font unless ``font`` names a family (and scaled down where
that font runs wider than the room Graphviz measured). The picture needs only
``\usepackage{tikz}``; :func:`tikz_document` wraps it in a ``standalone`` document that
compiles on its own (``pdflatex``, ``lualatex`` or ``xelatex``).

>>> import json
>>> layout = {"name": "g", "bb": "0,0,20,10", "objects": [], "edges": [], "_ldraw_": [
...     {"op": "F", "size": 9.0, "face": "Helvetica"}, {"op": "c", "color": "#000000"},
...     {"op": "T", "pt": [10, 2], "align": "c", "width": 8, "text": "3×3 & 50%"}]}
>>> print(tikz_from_layout(json.dumps(layout)).splitlines()[-2].split("] ")[1])
at (10,2) {\rgfit{9}{3$\times$3 \& 50\%}};
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DRAW_KEYS = ("_draw_", "_hdraw_", "_tdraw_", "_ldraw_", "_hldraw_", "_tldraw_")
"""The xdot operation lists of an object: its shape, head and tail arrows, and labels."""

DASH = {"dashed": "dash pattern=on 5bp off 2bp", "dotted": "dash pattern=on 1bp off 5bp"}
"""Graphviz's dash patterns (those of its SVG output) in TikZ."""

FAMILIES = {
    "times": "ptm", "times new roman": "ptm", "helvetica": "phv", "arial": "phv",
    "courier": "pcr", "palatino": "ppl", "bookman": "pbk", "charter": "bch",
    "utopia": "put", "avant garde": "pag", "new century schoolbook": "pnc",
    "latin modern": "lmr", "latin modern sans": "lmss", "computer modern": "cmr",
    "computer modern sans": "cmss", "sans": "cmss", "serif": "cmr",
}
"""Font family names and their LaTeX (NFSS) family codes, for ``font``."""

SYMBOLS = {
    "×": r"$\times$", "‖": r"$\Vert$", "·": r"$\cdot$", "−": r"$-$", "⋯": r"$\cdots$",
    "…": r"\ldots{}", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "≤": r"$\leq$",
    "≥": r"$\geq$", "≈": r"$\approx$", "±": r"$\pm$", "÷": r"$\div$", "√": r"$\surd$",
    "∑": r"$\Sigma$", "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}",
    "°": r"$^\circ$", "–": "--", "—": "---", "“": "``", "”": "''", "‘": "`", "’": "'",
    "\\": r"$\backslash$", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}", "<": r"$<$", ">": r"$>$",
    "|": r"$|$",
}
"""Characters that LaTeX text mode does not take as they are, and what stands for them
(math mode where the OT1 encoding, LaTeX's default, has no glyph)."""


def latex_text(text: str) -> str:
    r"""Text for LaTeX's text mode: specials escaped, resgraph's symbols and Greek letters
    in math mode, accented Latin letters as they are (``inputenc`` reads them), and any
    other character as ``?`` rather than an error in ``pdflatex``.

    >>> latex_text("conv 3×3, σ(x) · 50% {a_b}")
    'conv 3$\\times$3, $\\sigma$(x) $\\cdot$ 50\\% \\{a\\_b\\}'
    """
    out = []
    for char in text:
        if char in SYMBOLS:
            out.append(SYMBOLS[char])
        elif char.isascii():
            out.append(char if char.isprintable() else "?")
        elif (name := unicodedata.name(char, "")).startswith("GREEK "):
            letter = name.split()[-1].lower()
            if "CAPITAL" in name:
                letter = letter.capitalize()
            out.append(f"$\\{letter}$" if letter not in ("omicron", "Omicron") else "o")
        elif unicodedata.normalize("NFKD", char)[0].isascii() and char.isalpha():
            out.append(char)  # an accented Latin letter
        else:
            out.append("?")
    return "".join(out)


def font_family(name: str) -> str:
    r"""The LaTeX font selection for a family name: its NFSS code if known (or if ``name``
    is one, such as ``ptm``), else ``\fontspec`` for a Unicode engine (ignored by
    ``pdflatex``, which keeps the document's font).

    >>> font_family("Times"), font_family("lmss")
    ('\\fontfamily{ptm}\\selectfont', '\\fontfamily{lmss}\\selectfont')
    >>> font_family("Source Sans 3")
    '\\ifdefined\\fontspec\\fontspec{Source Sans 3}\\fi'
    """
    key = " ".join(name.lower().split())
    if key in FAMILIES:
        return f"\\fontfamily{{{FAMILIES[key]}}}\\selectfont"
    if re.fullmatch(r"[a-z0-9]{2,8}", key):
        return f"\\fontfamily{{{key}}}\\selectfont"
    return f"\\ifdefined\\fontspec\\fontspec{{{latex_text(name)}}}\\fi"


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v % 1 else f"{v:.0f}"


def _pt(p: Iterable[float]) -> str:
    x, y = p
    return f"({_num(x)},{_num(y)})"


@dataclass
class _Pen:
    """The drawing state that xdot operations set and later ones use."""

    colors: dict[str, str]
    pen: str = "black"
    pen_alpha: float = 1.0
    fill: str = "black"
    fill_alpha: float = 1.0
    dash: str = ""
    width: float = 1.0
    size: float = 14.0
    bold: bool = False
    italic: bool = False
    invisible: bool = False
    lines: list[str] = field(default_factory=list)

    def color(self, value: str) -> tuple[str, float]:
        """A TikZ colour name for an xdot colour, defined once, and its opacity."""
        value = value.strip().lower()
        named = {"black": "#000000", "white": "#ffffff", "transparent": "#ffffff00",
                 "none": "#ffffff00", "invis": "#ffffff00"}
        value = named.get(value, value)
        if not re.fullmatch(r"#[0-9a-f]{6}([0-9a-f]{2})?", value):
            return "black", 1.0  # gradients and unknown names: draw in black
        rgb, alpha = value[1:7], int(value[7:9] or "ff", 16) / 255
        if rgb == "000000":
            return "black", alpha
        if rgb == "ffffff":
            return "white", alpha
        name = f"rg{rgb}"
        if alpha > 0:  # an invisible colour is never drawn, so never defined
            self.colors[name] = rgb.upper()
        return name, alpha

    def stroke(self) -> list[str]:
        opts = [f"draw={self.pen}"]
        if self.pen_alpha < 1:
            opts.append(f"draw opacity={_num(self.pen_alpha)}")
        if self.width != 1:
            opts.append(f"line width={_num(self.width)}bp")
        if self.dash:
            opts.append(self.dash)
        return opts

    def shape(self, path: str, filled: bool) -> None:
        """Draw (and fill) a closed or open path with the current pen."""
        if self.invisible:
            return
        opts = []
        if filled and self.fill_alpha > 0:
            opts.append(f"fill={self.fill}")
            if self.fill_alpha < 1:
                opts.append(f"fill opacity={_num(self.fill_alpha)}")
        if self.pen_alpha > 0:
            opts.extend(self.stroke())
        if opts:
            self.lines.append(f"\\path[{', '.join(opts)}] {path};")

    def text(self, op: dict[str, Any], family: str) -> None:
        x, y = op["pt"]
        width = float(op.get("width", 0))
        # Graphviz measured the text in its own font: keep the centre where it put it
        x += {"l": width / 2, "r": -width / 2}.get(op.get("align", "c"), 0)
        size = _num(self.size)
        font = f"{family}\\fontsize{{{size}}}{{{_num(self.size * 1.2)}}}\\selectfont"
        if self.bold:
            font += "\\bfseries"
        if self.italic:
            font += "\\itshape"
        opts = [f"font={font}", f"text={self.pen}"]
        if self.pen_alpha < 1:
            opts.append(f"text opacity={_num(self.pen_alpha)}")
        opts.append("anchor=base")
        # no wider than the room Graphviz left for it (LaTeX's font may run wider)
        self.lines.append(f"\\node[{', '.join(opts)}] at {_pt((x, y))} "
                          f"{{\\rgfit{{{_num(width + 1)}}}{{{latex_text(op['text'])}}}}};")

    def run(self, ops: list[dict[str, Any]], family: str) -> None:
        """Carry out one list of xdot operations."""
        for op in ops:
            kind = op["op"]
            if kind == "c":
                self.pen, self.pen_alpha = self.color(op.get("color", "black"))
            elif kind == "C":
                self.fill, self.fill_alpha = self.color(op.get("color", "black"))
            elif kind == "S":
                self.set_style(op["style"])
            elif kind == "F":
                self.size = float(op["size"])
            elif kind == "t":
                self.bold, self.italic = bool(op["fontchar"] & 1), bool(op["fontchar"] & 2)
            elif kind == "T":
                if not self.invisible:
                    self.text(op, family)
            elif kind in "Ee":
                cx, cy, rx, ry = op["rect"]
                self.shape(f"{_pt((cx, cy))} ellipse [x radius={_num(rx)}, "
                           f"y radius={_num(ry)}]", kind == "E")
            elif kind in "PpL":
                path = " -- ".join(_pt(p) for p in op["points"])
                self.shape(path + (" -- cycle" if kind != "L" else ""), kind == "P")
            elif kind in "Bb":
                self.shape(_bezier(op["points"]) + (" -- cycle" if kind == "B" else ""),
                           kind == "B")

    def set_style(self, style: str) -> None:
        if style in DASH:
            self.dash = DASH[style]
        elif style == "solid":
            self.dash = ""
        elif style == "invis":
            self.invisible = True
        elif style == "bold":
            self.width = 2.0
        elif m := re.fullmatch(r"setlinewidth\(([\d.]+)\)", style):
            self.width = float(m.group(1))


def _bezier(points: list[list[float]]) -> str:
    """A piecewise cubic Bézier (1 + 3n points) as a TikZ path."""
    parts = [_pt(points[0])]
    for i in range(1, len(points) - 2, 3):
        parts.append(f".. controls {_pt(points[i])} and {_pt(points[i + 1])} .. "
                     f"{_pt(points[i + 2])}")
    return " ".join(parts)


def tikz_from_layout(layout_json: str, *, font: str | None = None) -> str:
    r"""The ``tikzpicture`` of a ``dot -Tjson`` layout (see the module's docstring).

    ``font`` is a font family (``Times``, ``Helvetica``, an NFSS code such as ``lmss``,
    or a system font's name for ``lualatex``/``xelatex``); None sets text in the font
    around the picture. Each cluster, edge and node is preceded by a ``%`` comment that
    names it (``% edge n3 -> n4 (residual)``). Raises ``ValueError`` if the text is not a
    Graphviz JSON layout.
    """
    try:
        layout = json.loads(layout_json)
        bb = [float(v) for v in layout["bb"].split(",")]
    except (ValueError, KeyError, AttributeError, TypeError) as err:
        raise ValueError(f"not a Graphviz JSON layout (dot -Tjson): {err}") from err
    family = font_family(font) if font else ""
    colors: dict[str, str] = {}
    body: list[str] = []

    def draw(obj: dict[str, Any], keys: tuple[str, ...] = DRAW_KEYS) -> None:
        pen = _Pen(colors)
        if "invis" in str(obj.get("style", "")).split(","):
            return
        for key in keys:
            if key in obj:
                pen.dash, pen.width, pen.invisible = "", 1.0, False  # each list starts plain
                pen.run(obj[key], family)
        body.extend(pen.lines)

    objects = layout.get("objects", [])
    names = {o.get("_gvid"): o.get("name", "") for o in objects}
    if layout.get("_ldraw_"):
        body.append("% title")
        draw(layout, ("_ldraw_",))
    for obj in objects:  # clusters first: their frames lie under everything else
        if "nodes" in obj and ("_draw_" in obj or "_ldraw_" in obj):
            body.append(f"% cluster {obj.get('name', '')}")
            draw(obj)
    for edge in layout.get("edges", []):
        body.append(f"% edge {names.get(edge.get('tail'), '?')} -> "
                    f"{names.get(edge.get('head'), '?')} ({edge.get('class', '')})")
        draw(edge)
    for obj in objects:
        if "nodes" not in obj and "pos" in obj:
            body.append(f"% node {obj.get('name', '')}")
            draw(obj)
    head = [f"% drawn by resgraph from a Graphviz layout, {_num(bb[2] - bb[0])} x "
            f"{_num(bb[3] - bb[1])} bp; needs \\usepackage{{tikz}}",
            "\\begin{tikzpicture}[x=1bp, y=1bp, inner sep=0pt, outer sep=0pt, "
            "line cap=round, line join=round]",
            # \rgfit{W}{text}: the text, scaled down to W bp wide if it is wider
            "\\def\\rgfit#1#2{\\sbox0{#2}\\ifdim\\wd0>#1bp\\resizebox{#1bp}{!}{\\usebox0}"
            "\\else\\usebox0\\fi}"]
    head += [f"\\definecolor{{{n}}}{{HTML}}{{{rgb}}}" for n, rgb in sorted(colors.items())]
    head.append(f"\\useasboundingbox {_pt(bb[:2])} rectangle {_pt(bb[2:])};")
    return "\n".join(head + body + ["\\end{tikzpicture}"]) + "\n"


def tikz_document(picture: str) -> str:
    r"""A LaTeX document whose one page is a picture of :func:`tikz_from_layout`, 2 bp
    around it, for ``pdflatex`` (UTF-8 input; Latin Modern in T1 where installed, so
    that every font is embedded as an outline) or a Unicode engine (``fontspec``). It
    uses the ``standalone`` class, or where that is not installed an ``article`` page of
    the picture's size (``geometry``).

    >>> doc = tikz_document("\\begin{tikzpicture}\\useasboundingbox (0,0) rectangle (96,20);"
    ...                     "\\end{tikzpicture}\n")
    >>> print(doc.splitlines()[2])
      \documentclass{article}\usepackage[paperwidth=100bp, paperheight=24bp, margin=2bp]{geometry}%
    """
    box = re.search(r"\\useasboundingbox \(([-\d.]+),([-\d.]+)\) rectangle "
                    r"\(([-\d.]+),([-\d.]+)\)", picture)
    x0, y0, x1, y1 = (float(v) for v in box.groups()) if box else (0, 0, 576, 720)
    page = (f"paperwidth={_num(x1 - x0 + 4)}bp, paperheight={_num(y1 - y0 + 4)}bp, "
            "margin=2bp")
    lines = ["\\IfFileExists{standalone.cls}{%",
             "  \\documentclass[tikz, border=2bp]{standalone}}{%",
             f"  \\documentclass{{article}}\\usepackage[{page}]{{geometry}}%",
             "  \\pagestyle{empty}\\setlength{\\parindent}{0pt}\\usepackage{tikz}}",
             "\\usepackage{iftex}",
             # T1 only with outline fonts for it: without them pdflatex embeds bitmaps
             "\\ifPDFTeX\\usepackage[utf8]{inputenc}\\IfFileExists{lmodern.sty}"
             "{\\usepackage[T1]{fontenc}\\usepackage{lmodern}}{}\\else\\usepackage{fontspec}\\fi",
             "\\begin{document}", picture.rstrip("\n"), "\\end{document}"]
    return "\n".join(lines) + "\n"
