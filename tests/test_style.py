"""The visual grammar of connection kinds (resgraph.render.style and resgraph.kinds):
each kind's line, the merge glyphs, and the legend, in DOT, SVG and Mermaid."""

from __future__ import annotations

import re
import shutil
import subprocess

from resgraph.kinds import EDGE_KINDS, MERGE_OPS
from resgraph.render import to_dot
from resgraph.render.dot import to_dot_source
from resgraph.render.html import html_text
from resgraph.render.mermaid import mermaid_text, to_mermaid_text
from resgraph.render.style import GLYPH_TEXT, edge_style, link_style
from resgraph.render.view import MERGE_TEXT, MERGE_TIPS, View, ViewEdge, ViewNode
from tests.test_render import ALL_KINDS, MERMAID_ARROW, legend_kinds, load, svg_groups


def test_each_kind_has_its_own_style() -> None:
    dot = to_dot(load("all_kinds"))
    edges = re.findall(r"\t(n\d+) -> (n\d+) \[(.*)\]", dot)
    style = {}
    for _, _, attrs in edges:
        kind = re.search(r"class=(\w+)", attrs).group(1)
        style.setdefault(kind, set()).add(re.sub(r"class=\w+ ?", "", attrs))
    assert set(style) == ALL_KINDS
    assert all(len(s) == 1 for s in style.values())  # one style per kind ...
    assert len({next(iter(s)) for s in style.values()}) == 6  # ... and all different
    assert "constraint=false" in next(iter(style["skip"]))
    assert "dotted" in next(iter(style["control"])) and "dashed" in next(iter(style["skip"]))
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
    dot = to_dot_source(view)
    mmd = to_mermaid_text(view)
    for name, kind in EDGE_KINDS.items():
        attrs = edge_style(kind.style)
        assert attrs["color"] == kind.style.color
        assert float(attrs["penwidth"]) == kind.style.width
        assert attrs.get("style", "solid") == kind.style.dash
        assert attrs.get("constraint", "true") == str(kind.style.constraint).lower()
        assert float(attrs.get("arrowsize", 1)) == kind.style.arrowsize
        assert f"id=legend_{name}" in dot and f"<{html_text(kind.legend)}>" in dot
        assert MERMAID_ARROW.fullmatch(kind.style.mermaid), (name, kind.style.mermaid)
        assert (f'legend_{name}_a["{mermaid_text(kind.legend)}"] {kind.style.mermaid} '
                f'legend_{name}_b[" "]') in mmd
        link = link_style(kind.style)
        assert f" {link}\n" in mmd and link.startswith(f"stroke:{kind.style.color},")
        px = float(re.search(r"stroke-width:(\d+)px", link).group(1))
        assert abs(px - kind.style.width) <= 0.5 or px == 1 > kind.style.width
        assert ("stroke-dasharray" in link) == (kind.style.dash != "solid")
    for op in MERGE_OPS:
        assert html_text(GLYPH_TEXT[op]) in dot
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True,
                             check=True).stdout
        assert legend_kinds(svg) == list(EDGE_KINDS)
        assert {g.get("class").split()[1] for g in svg_groups(svg, "edge")} == set(EDGE_KINDS)
