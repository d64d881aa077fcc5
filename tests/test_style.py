"""The visual grammar of connection kinds (resgraph.render.style and resgraph.kinds):
each kind's line, the merge glyphs, and the legend, in DOT, SVG and Mermaid."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import graphviz
import pytest

from resgraph.kinds import EDGE_KINDS, MERGE_OPS
from resgraph.render import to_dot
from resgraph.render.dot import to_dot_source
from resgraph.render.html import html_text
from resgraph.render.mermaid import mermaid_text, to_mermaid_text
from resgraph.render.style import (
    GLYPH_SHORT,
    GLYPH_TEXT,
    LEGEND_MODES,
    add_legend,
    edge_style,
    link_style,
    link_width,
)
from resgraph.render.view import MERGE_TEXT, MERGE_TIPS, View, ViewEdge, ViewNode
from tests.test_render import ALL_KINDS, MERMAID_ARROW, SVG, legend_kinds, load, svg_groups

LOOK = ("color", "penwidth", "style", "arrowsize")
"""The edge attributes that make a kind's line (the others, such as constraint, dir and
ports, are the layout's)."""


def test_each_kind_has_its_own_style() -> None:
    dot = to_dot(load("all_kinds"))
    edges = re.findall(r"\t(n\d+) -> (n\d+) \[(.*)\]", dot)
    style: dict[str, set[tuple[str, ...]]] = {}
    for _, _, attrs in edges:
        kind = re.search(r"class=(\w+)", attrs).group(1)
        found = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', attrs))
        style.setdefault(kind, set()).add(tuple(found.get(a, "").strip('"') for a in LOOK))
    assert set(style) == ALL_KINDS
    assert all(len(s) == 1 for s in style.values())  # one look per kind ...
    assert len({next(iter(s)) for s in style.values()}) == 6  # ... and all different
    for kind, looks in style.items():
        wanted = edge_style(EDGE_KINDS[kind].style)
        assert next(iter(looks)) == tuple(wanted.get(a, "") for a in LOOK)
    assert "constraint=false" in re.search(r".*class=skip.*", dot).group(0)
    merges = re.findall(r"label=<(.)> class=merge", dot)
    assert sorted(set(merges)) == ["+", "‖"]
    assert "label=<<B>T</B>" in dot


def registry_view() -> View:
    """A view with one edge of every registered edge kind, each into a merge node, and a
    merge node of every registered merge op."""
    ops = sorted(MERGE_OPS)
    view = View("registry")
    view.nodes["n0"] = ViewNode("n0", "input", "input", ["input x"])
    for i, op in enumerate(ops, start=1):
        view.nodes[f"n{i}"] = ViewNode(f"n{i}", "merge", op, [MERGE_TEXT[op]])
    view.edges = [ViewEdge("n0", f"n{1 + i % len(ops)}", kind)
                  for i, kind in enumerate(EDGE_KINDS)]
    return view


def test_every_registered_kind_and_merge_op_is_drawn() -> None:
    assert MERGE_OPS <= MERGE_TEXT.keys() & MERGE_TIPS.keys() & GLYPH_TEXT.keys()
    view = registry_view()
    dot = to_dot_source(view)  # the compact legend: short names
    full_legend = graphviz.Digraph()
    add_legend(full_legend, list(EDGE_KINDS), list(GLYPH_TEXT), mode="full")
    full = full_legend.source
    mmd = to_mermaid_text(view)
    for name, kind in EDGE_KINDS.items():
        attrs = edge_style(kind.style)
        # parallel strokes are a colour list (on purpose: double and triple lines keep the
        # kinds apart in greyscale print)
        assert attrs["color"] == ":invis:".join([kind.style.color] * kind.style.lines)
        assert float(attrs["penwidth"]) == kind.style.width
        assert attrs.get("style", "solid") == kind.style.dash
        assert attrs.get("constraint", "true") == str(kind.style.constraint).lower()
        assert float(attrs.get("arrowsize", 1)) == kind.style.arrowsize
        assert f"id=legend_{name}" in dot and f"<{html_text(kind.style.label)}>" in dot
        assert f"<{html_text(kind.legend)}>" in full
        assert MERMAID_ARROW.fullmatch(kind.style.mermaid), (name, kind.style.mermaid)
        assert (f'legend_{name}_a["{mermaid_text(kind.legend)}"] {kind.style.mermaid} '
                f'legend_{name}_b[" "]') in mmd
        link = link_style(kind.style)
        assert f" {link}\n" in mmd and link.startswith(f"stroke:{kind.style.color},")
        px = float(re.search(r"stroke-width:(\d+)px", link).group(1))
        # Mermaid has one stroke: as wide as the kind's strokes and the gaps between them
        assert px == link_width(kind.style)
        assert 1 <= px <= 4 and px >= kind.style.width * kind.style.lines - 0.5
        assert ("stroke-dasharray" in link) == bool(kind.style.dasharray)
    for op in MERGE_OPS:
        assert f"<{html_text(GLYPH_SHORT[op])}>" in dot and f"<{html_text(GLYPH_TEXT[op])}>" in full
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True,
                             check=True).stdout
        assert legend_kinds(svg) == list(EDGE_KINDS)
        assert {g.get("class").split()[1] for g in svg_groups(svg, "edge")} == set(EDGE_KINDS)


COLOUR_NAMES = re.compile(r"\b(red|green|blue|orange|violet|purple|yellow|cyan|teal|olive|"
                          r"pink|magenta|grey|gray|black|white|brown)\b", re.I)


def legend_svg(mode: str, rankdir: str = "TB") -> str:
    """The SVG of a legend alone: every edge kind and every merge symbol."""
    dot = graphviz.Digraph(graph_attr={"rankdir": rankdir, "newrank": "true", "ranksep": "0.3",
                                       "nodesep": "0.25"})  # as resgraph.render.dot
    add_legend(dot, list(EDGE_KINDS), list(GLYPH_TEXT), rankdir, mode=mode)
    return subprocess.run(["dot", "-Tsvg"], input=dot.source, capture_output=True, text=True,
                          check=True).stdout


def legend_box(svg: str) -> tuple[float, float]:
    """Width and height in points of the legend cluster's frame."""
    root = ET.fromstring(svg)
    for g in root.iter(f"{SVG}g"):
        if g.get("id", "").startswith("clust") and "legend" in "".join(g.itertext()):
            path = g.find(f"{SVG}path")
            points = path.get("d") if path is not None else g.find(f"{SVG}polygon").get("points")
            nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", points)]
            xs, ys = nums[0::2], nums[1::2]
            return max(xs) - min(xs), max(ys) - min(ys)
    raise AssertionError("no legend cluster")


def legend_names(svg: str) -> dict[str, tuple[float, float]]:
    """Where each legend name starts: node id -> (x, y) of its text."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if "node" in g.get("class", "") and title is not None and \
                re.fullmatch(r"legend_\w+_(b|text)", title.text or ""):
            text = next(g.iter(f"{SVG}text"))
            out[title.text] = (float(text.get("x")), float(text.get("y")))
    return out


def test_legend_texts_name_no_colour() -> None:
    texts = [k.legend for k in EDGE_KINDS.values()] + [k.style.label for k in EDGE_KINDS.values()]
    texts += [*GLYPH_TEXT.values(), *GLYPH_SHORT.values()]
    assert [t for t in texts if COLOUR_NAMES.search(t)] == []


def test_legend_none_draws_nothing() -> None:
    dot = graphviz.Digraph()
    dot.node("x")
    add_legend(dot, list(EDGE_KINDS), list(GLYPH_TEXT), mode="none")
    assert "legend" not in dot.source
    assert to_dot_source(registry_view()).count("cluster_legend") == 1
    with pytest.raises(ValueError, match="legend mode 'tiny'"):
        add_legend(graphviz.Digraph(), ["seq"], [], mode="tiny")
    assert LEGEND_MODES == ("none", "compact", "full")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' missing")
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_compact_legend_is_small_and_draws_the_merge_symbols(rankdir: str) -> None:
    compact, full = legend_svg("compact", rankdir), legend_svg("full", rankdir)
    assert legend_kinds(compact) == legend_kinds(full) == list(EDGE_KINDS)
    for svg in (compact, full):  # each merge symbol is a drawn circle (the gate a box)
        root = ET.fromstring(svg)
        glyphs = [g for g in root.iter(f"{SVG}g") if "glyph" in g.get("class", "")]
        texts = sorted("".join(t.text or "" for t in g.iter(f"{SVG}text")) for g in glyphs)
        assert texts == sorted(["+", "‖", "+", "×", "T"])  # add, concat, highway, mul, gate
        circles = [g for g in glyphs if next(g.iter(f"{SVG}ellipse"), None) is not None]
        assert len(circles) == len(MERGE_OPS) == 4
    (cw, ch), (fw, fh) = legend_box(compact), legend_box(full)
    # eight kinds and five symbols, two to a row: under a third of the full legend's area,
    # and across the flow (the width of a TB figure, the height of an LR one) within a
    # 3.3 in column; it measures 176 x 257 pt (TB) and 204 x 225 pt (LR)
    assert cw * ch < fw * fh / 3, (cw, ch, fw, fh)
    assert (cw if rankdir == "TB" else ch) < 3.3 * 72, (cw, ch)
    # a grid: the names of a row on one level, and in LR (where a column's names share a
    # rank) each column's names starting at one x
    names = legend_names(compact)
    order = [f"legend_{k}_b" for k in EDGE_KINDS] + [f"legend_glyph_{op}_text"
                                                     for op in GLYPH_TEXT]
    assert sorted(names) == sorted(order)
    rows = [order[i:i + 2] for i in range(0, 8, 2)] + [order[i:i + 2] for i in (8, 10, 12)]
    for row in rows:
        assert max(names[n][1] for n in row) - min(names[n][1] for n in row) <= 4, row
    if rankdir == "LR":
        for column in (order[0::2][:4] + order[8::2], order[1::2][:4] + order[9:12:2]):
            assert len({names[n][0] for n in column}) == 1, column
