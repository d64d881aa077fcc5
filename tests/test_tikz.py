"""The TikZ writer (resgraph.render.tikz): a Graphviz layout as a tikzpicture that draws
every node, cluster, edge and text of the diagram, and compiles where LaTeX is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from resgraph.kinds import EDGE_KINDS
from resgraph.render import to_dot
from resgraph.render.tikz import DASH, latex_text, tikz_document, tikz_from_layout
from tests.test_render import load

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' missing")


def layout(name: str) -> str:
    """The ``dot -Tjson`` layout of an example's default diagram."""
    return subprocess.run(["dot", "-Tjson"], input=to_dot(load(name)), capture_output=True,
                          text=True, check=True).stdout


def texts(obj: dict[str, Any]) -> list[str]:
    return [op["text"] for key in ("_draw_", "_ldraw_", "_hldraw_", "_tldraw_")
            for op in obj.get(key, []) if op["op"] == "T"]


def strokes(edge: dict[str, Any]) -> int:
    """Visible splines of an edge: one per stroke of its colour list."""
    count, visible = 0, True
    for op in edge.get("_draw_", []):
        if op["op"] == "c":
            visible = not op["color"].endswith("00") or len(op["color"]) == 7
        elif op["op"] == "b" and visible:
            count += 1
    return count


def balanced(tex: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}%]", "", tex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@needs_dot
@pytest.mark.parametrize("name", ["all_kinds", "resnet18"])
def test_every_node_label_and_edge_is_drawn(name: str) -> None:
    raw = layout(name)
    data = json.loads(raw)
    tex = tikz_from_layout(raw)
    lines = tex.splitlines()
    assert lines[1].startswith(r"\begin{tikzpicture}") and lines[-1] == r"\end{tikzpicture}"
    assert balanced(tex)
    names = {o["_gvid"]: o["name"] for o in data["objects"]}
    # every node: its comment, and each of its lines of text, set by LaTeX
    nodes = [o for o in data["objects"] if "pos" in o and "nodes" not in o]
    for node in nodes:
        assert f"% node {node['name']}" in lines
        for text in texts(node):
            assert f"{{{latex_text(text)}}}}};" in tex, (node["name"], text)
    labelled = [n for n in nodes if texts(n)]
    assert len(labelled) > 20
    # every edge: its comment, then as many splines as it has strokes, and its arrowhead
    index = {line: i for i, line in enumerate(lines)}
    drawn = 0
    for edge in data["edges"]:
        head = f"% edge {names[edge['tail']]} -> {names[edge['head']]} ({edge.get('class', '')})"
        assert head in index, head
        body = []
        for line in lines[index[head] + 1:]:
            if line.startswith("%"):
                break
            body.append(line)
        splines = [b for b in body if ".. controls" in b]
        assert len(splines) == strokes(edge), (head, body)
        kind = edge.get("class", "").split()[-1] if edge.get("class") else ""
        if kind in EDGE_KINDS and strokes(edge):
            drawn += 1
            style = EDGE_KINDS[kind].style
            colour = "black" if style.color == "#000000" else f"rg{style.color[1:]}"
            assert all(f"draw={colour}" in s for s in splines), (head, splines)
            assert all((DASH.get(style.dash, "dash pattern") in s) == (style.dash != "solid")
                       for s in splines), (head, splines)
        heads = [op for key in ("_hdraw_", "_tdraw_") for op in edge.get(key, [])
                 if op["op"] == "P"]
        assert len([b for b in body if "fill=" in b and "-- cycle" in b]) == len(heads), head
    assert drawn > 20
    # each colour used is defined once, before it is used
    defined = re.findall(r"\\definecolor\{(rg[0-9a-f]{6})\}\{HTML\}", tex)
    used = set(re.findall(r"(?:draw|fill|text)=(rg[0-9a-f]{6})", tex))
    assert used == set(defined) and len(defined) == len(set(defined))


@needs_dot
def test_parallel_strokes_stay_parallel_and_kinds_keep_their_dashes() -> None:
    """A double line is two splines a few points apart; dashes are Graphviz's."""
    tex = tikz_from_layout(layout("all_kinds"))
    first: dict[str, list[str]] = {}
    for chunk in re.split(r"^% ", tex, flags=re.M):
        m = re.match(r"edge n\d+ -> n\d+ \((\w+)\)\n", chunk)
        if m and m.group(1) not in first:
            first[m.group(1)] = [ln for ln in chunk.splitlines() if ".. controls" in ln]
    assert set(first) == {"seq", "residual", "skip", "highway", "dense", "control"}
    for kind, splines in first.items():
        style = EDGE_KINDS[kind].style
        assert len(splines) == style.lines, kind
        starts = [tuple(map(float, re.search(r"\(([-\d.]+),([-\d.]+)\)", s).groups()))
                  for s in splines]
        gaps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(starts, starts[1:])]
        assert all(0.5 < g < 8 for g in gaps), (kind, starts)  # side by side
        for spline in splines:
            assert (DASH.get(style.dash, "dash pattern") in spline) == (style.dash != "solid")


def test_text_is_escaped_for_latex() -> None:
    assert latex_text("a_b & c%d $e# {f} ^g ~h \\i") == (
        r"a\_b \& c\%d \$e\# \{f\} \^{}g \~{}h $\backslash$i")
    assert latex_text("σ(conv 1×1) ‖ Σ · x−1") == (
        r"$\sigma$(conv 1$\times$1) $\Vert$ $\Sigma$ $\cdot$ x$-$1")
    assert latex_text("café\x00☃") == "café??"


def test_font_family_and_bad_input() -> None:
    data = {"name": "g", "bb": "0,0,10,10", "objects": [], "edges": [], "_ldraw_": [
        {"op": "F", "size": 7.0, "face": "Times"}, {"op": "t", "fontchar": 1},
        {"op": "T", "pt": [5, 5], "align": "l", "width": 4, "text": "x"}]}
    tex = tikz_from_layout(json.dumps(data), font="Times")
    assert r"font=\fontfamily{ptm}\selectfont\fontsize{7}{8.4}\selectfont\bfseries" in tex
    assert r"at (7,5) {\rgfit{5}{x}};" in tex  # the centre of a left-aligned text 4 pt wide
    assert r"\fontfamily" not in tikz_from_layout(json.dumps(data))  # the document's font
    with pytest.raises(ValueError, match="not a Graphviz JSON layout"):
        tikz_from_layout("digraph { a -> b }")
    with pytest.raises(ValueError, match="not a Graphviz JSON layout"):
        tikz_from_layout('{"objects": []}')


@needs_dot
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_the_standalone_document_compiles(tmp_path: Path) -> None:
    (tmp_path / "fig.tex").write_text(tikz_document(tikz_from_layout(layout("all_kinds"))),
                                      encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "fig.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "fig.pdf").read_bytes()[:5] == b"%PDF-"
    log = (tmp_path / "fig.log").read_text(errors="replace")
    assert "Missing character" not in log and "Overfull" not in log
    if shutil.which("pdffonts"):  # every font embedded, as outlines (no Type 3 bitmaps)
        fonts = subprocess.run(["pdffonts", "fig.pdf"], cwd=tmp_path, capture_output=True,
                               text=True, check=True).stdout.splitlines()[2:]
        assert fonts and all(" yes " in f and "Type 3" not in f for f in fonts), fonts
