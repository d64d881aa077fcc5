"""Geometry of the drawn diagrams, measured from the SVG that ``dot`` writes (issue 15).

* no edge crosses a cluster title and none runs through a node it does not join (skip
  edges keep to their own lanes), on every example (and ResNet-18 left to right);
* ``--fit 3.3in --font 7``: ResNet-50, GPT-2 and the U-Net are at most 3.3 in wide, no
  text is below 7 pt at that size, and none is more than three times as tall as wide;
* the U-Net is a U: the two ends of each skip share a y coordinate;
* an expanded DenseNet-201 is refused within 5 s, saying to draw it collapsed.

Each SVG is drawn once per module (``svg()`` caches it) and measured by the helpers
below: coordinates are taken through the graph's transform into final points.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

import resgraph
from resgraph.program import load_program
from resgraph.render import to_svg
from resgraph.render.layout import mirrored_skips
from resgraph.render.view import build_view

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.rg") if "network " in p.read_text())
SVG = "{http://www.w3.org/2000/svg}"
CHAR_WIDTH = 0.5
"""A character's width in em (Helvetica's lower case and digits average about 0.5)."""
pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' missing")

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in final points


@functools.cache
def svg(stem: str, network: str | None = None, **options: object) -> str:
    """The SVG of ``examples/STEM.rg`` (its first network unless named), drawn once."""
    path = ROOT / "examples" / f"{stem}.rg"
    if network is None:
        network = next(iter(load_program(path.read_text(), str(path),
                                         resgraph.Limits()).networks))
    return to_svg(resgraph.load(str(path), network=network), **options)


@dataclass
class Figure:
    """An SVG's measures in final points: its size, its texts, nodes, titles and edges."""

    width: float
    height: float
    texts: list[tuple[str, float, Box]]  # text, final font size, extent
    titles: list[tuple[str, Box]]  # cluster titles (title nodes and cluster labels)
    nodes: dict[str, Box]  # by node id (the SVG <title>)
    edges: list[tuple[str, str, str, list[tuple[float, float]]]]  # tail, head, class, points

    @classmethod
    def parse(cls, text: str) -> Figure:
        root = ET.fromstring(text)
        width, height = (float(root.get(a, "0").rstrip("pt")) for a in ("width", "height"))
        view_w = float(root.get("viewBox", "0 0 1 1").split()[2])
        graph = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
        transform = graph.get("transform", "")
        scale = re.search(r"scale\(([\d.]+)", transform)
        shift = re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", transform)
        # the size is the viewBox's rounded to whole points: a difference under one point is
        # that rounding, not a scaling
        s = (float(scale.group(1)) if scale else 1.0) * (width / view_w
                                                          if abs(width - view_w) >= 1 else 1.0)
        tx, ty = (float(shift.group(1)), float(shift.group(2))) if shift else (0.0, 0.0)

        def point(x: float, y: float) -> tuple[float, float]:
            return ((x + tx) * s, (y + ty) * s)

        def text_box(t: ET.Element) -> tuple[str, float, Box]:
            size = float(t.get("font-size", "14"))
            chars = t.text or ""
            w = CHAR_WIDTH * size * len(chars)
            x, y = float(t.get("x", "0")), float(t.get("y", "0"))
            anchor = t.get("text-anchor", "start")
            x0 = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
            (a, b), (c, d) = point(x0, y - 0.75 * size), point(x0 + w, y + 0.2 * size)
            return chars, size * s, (a, b, c, d)

        texts = [text_box(t) for t in root.iter(f"{SVG}text")]
        titles: list[tuple[str, Box]] = []
        nodes: dict[str, Box] = {}
        edges = []
        for g in root.iter(f"{SVG}g"):
            cls_ = (g.get("class") or "").split()
            name = g.findtext(f"{SVG}title") or ""
            outline = next(g.iter(f"{SVG}polygon"), None)
            if cls_[:2] == ["node", "title"] and outline is not None:
                # a title node's box (as dot routes around it), named by its first text
                pts = [point(x, y) for x, y in _numbers(outline.get("points", ""))]
                first = next(g.iter(f"{SVG}text"), None)
                titles.append(("" if first is None else first.text or "",
                               (min(p[0] for p in pts), min(p[1] for p in pts),
                                max(p[0] for p in pts), max(p[1] for p in pts))))
            elif cls_[:1] == ["cluster"] or cls_[:2] == ["node", "title"]:
                for t in g.iter(f"{SVG}text"):
                    titles.append(text_box(t)[0::2])  # type: ignore[arg-type]
            elif cls_[:1] == ["node"]:
                xs, ys = [], []
                for shape in g.iter():
                    if shape.tag in (f"{SVG}polygon", f"{SVG}path"):
                        for x, y in _numbers(shape.get("points") or shape.get("d") or ""):
                            xs.append(x)
                            ys.append(y)
                    elif shape.tag == f"{SVG}ellipse":
                        cx, cy = float(shape.get("cx", "0")), float(shape.get("cy", "0"))
                        rx, ry = float(shape.get("rx", "0")), float(shape.get("ry", "0"))
                        xs += [cx - rx, cx + rx]
                        ys += [cy - ry, cy + ry]
                if xs:
                    (a, b), (c, d) = point(min(xs), min(ys)), point(max(xs), max(ys))
                    nodes[name] = (a, b, c, d)
            elif cls_[:1] == ["edge"]:
                tail, _, head = name.replace("&#45;&gt;", "->").partition("->")
                path = next(g.iter(f"{SVG}path"), None)
                if path is not None:
                    points = [point(x, y) for x, y in _bezier(path.get("d", ""))]
                    edges.append((tail.split(":")[0], head.split(":")[0], " ".join(cls_),
                                  points))
        return cls(width, height, texts, titles, nodes, edges)


def _numbers(text: str) -> list[tuple[float, float]]:
    values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", text)]
    return list(zip(values[0::2], values[1::2]))


def _bezier(d: str, steps: int = 16) -> list[tuple[float, float]]:
    """Points along dot's path ``M p0 C p1 p2 p3 p4 p5 p6 ...`` (cubic pieces)."""
    pts = _numbers(d)
    out = [pts[0]] if pts else []
    for i in range(1, len(pts) - 2, 3):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for k in range(1, steps + 1):
            t = k / steps
            u = 1 - t
            out.append(tuple(u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * e
                             for a, b, c, e in zip(p0, p1, p2, p3)))  # type: ignore[arg-type]
    return out


def inside(p: tuple[float, float], box: Box, margin: float = 0.0) -> bool:
    """Whether point ``p`` lies inside ``box`` shrunk by ``margin`` on every side."""
    x0, y0, x1, y1 = box
    return x0 + margin < p[0] < x1 - margin and y0 + margin < p[1] < y1 - margin


def title_crossings(fig: Figure) -> list[str]:
    """Each (edge, title) pair where the edge's path enters the title's text box."""
    return [f"{tail}->{head} crosses {text!r}" for tail, head, _, points in fig.edges
            for text, box in fig.titles if any(inside(p, box) for p in points)]


def node_crossings(fig: Figure) -> list[str]:
    """Each (edge, node) pair where the edge runs through a node it does not join (1 pt in
    from the node's outline, so that an edge touching a corner does not count)."""
    return [f"{tail}->{head} runs through {name}" for tail, head, _, points in fig.edges
            for name, box in fig.nodes.items() if name not in (tail, head)
            and any(inside(p, box, 1.0) for p in points[1:-1])]


# ---------------------------------------------------------------- every example


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_no_edge_crosses_a_title_or_a_node(path: Path) -> None:
    """Every example's first network in its default view: no edge crosses a cluster title,
    and none runs through a node it does not join (skip edges keep to their own lanes)."""
    fig = Figure.parse(svg(path.stem))
    assert fig.nodes and fig.edges and fig.titles
    assert title_crossings(fig) == []
    assert node_crossings(fig) == []


def test_left_to_right_resnet18_keeps_its_titles_clear() -> None:
    """The issue's case: in LR mode the residual line ran through ``basic(128)``."""
    fig = Figure.parse(svg("resnet18", rankdir="LR", collapse=False))
    assert any("basic(128" in text for text, _ in fig.titles)
    assert title_crossings(fig) == []



# ---------------------------------------------------------------- fitting a page


@pytest.mark.parametrize("stem", ["resnet50", "gpt2", "unet"])
def test_fit_a_column(stem: str) -> None:
    fig = Figure.parse(svg(stem, fit="3.3in", font=7))
    assert fig.width <= 3.3 * 72
    sizes = [size for text, size, _ in fig.texts if text.strip()]
    assert min(sizes) >= 7
    assert fig.height <= 3 * fig.width
    assert title_crossings(fig) == []


def test_a_long_chain_snakes_into_columns() -> None:
    """AlexNet's 23-node chain is too tall for one 3.3 in column at 7 pt: it is cut into two
    columns side by side, the second running upwards, so the output is not at the bottom."""
    fig = Figure.parse(svg("alexnet", fit="3.3in", font=7))
    assert fig.width <= 3.3 * 72 and fig.height <= 3 * fig.width
    view = build_view(resgraph.load(str(ROOT / "examples/alexnet.rg")))
    chain = [fig.nodes[n] for n in view.nodes]
    lefts = [box for box in chain if (box[0] + box[2]) / 2 < fig.width / 2]
    assert 5 <= len(lefts) <= len(chain) - 5  # two columns of at least five nodes
    output = next(fig.nodes[n.id] for n in view.nodes.values() if n.output)
    source = fig.nodes[next(n.id for n in view.nodes.values() if n.role == "input")]
    assert output[0] > source[2]  # the output column is right of the input's
    assert max(box[3] for box in chain) > output[3] + 72  # and its end is not at the bottom


def test_fit_refuses_what_cannot_fit() -> None:
    with pytest.raises(resgraph.ResgraphError) as err:
        to_svg(resgraph.load(str(ROOT / "examples/resnet50.rg")), fit="1in", font=12)
    assert err.value.code == "RG613"
    assert re.search(r"cannot fit the diagram in 1\.00 in: the narrowest layout tried .* is "
                     r"\d+\.\d\d in wide", err.value.message)


# ---------------------------------------------------------------- the U


@pytest.mark.parametrize("options", [{}, {"fit": "3.3in", "font": 7}], ids=["default", "fit"])
def test_unet_is_a_u(options: dict[str, object]) -> None:
    fig = Figure.parse(svg("unet", **options))
    skips = [(t, h) for t, h, cls_, _ in fig.edges
             if "skip" in cls_.split() and "legend" not in cls_.split()]
    assert len(skips) == 3
    ys = []
    for tail, head in skips:
        (_, a0, _, a1), (_, b0, _, b1) = fig.nodes[tail], fig.nodes[head]
        assert (a0 + a1) / 2 == pytest.approx((b0 + b1) / 2, abs=0.5)
        assert fig.nodes[tail][2] < fig.nodes[head][0]  # encoder left, decoder right
        ys.append((a0 + a1) / 2)
    assert ys == sorted(ys)  # the outermost level on top


MIRRORED = """
block stage(c) { conv(c, 3) -> relu }
network hourglass() {
    input image[3, 32, 32]
    a = image -> stage(8)
    b = a -> maxpool(2) -> stage(16)
    b -> maxpool(2) -> stage(32) -> upsample(2) -> conv(16, 1)
      -> up_b: conv(16, 3) -> upsample(2) -> conv(8, 1) -> up_a: conv(8, 3) -> conv(1, 1)
    skip b -> up_b
    skip a -> up_a
}
"""
"""An encoder-decoder that is not called a U-Net and shares no name with it."""


def test_mirrored_skips_are_found_from_the_edges() -> None:
    view = build_view(resgraph.loads(MIRRORED))
    pairs = mirrored_skips(view)
    assert [(view.nodes[a].op, view.nodes[b].op) for a, b in pairs] == [("relu", "concat")] * 2
    for stem in ["resnet18", "densenet_bc", "highway_mlp", "googlenet", "inception"]:
        assert mirrored_skips(build_view(resgraph.load(str(ROOT / f"examples/{stem}.rg")))) \
            == [], stem


def test_any_mirrored_network_is_a_u() -> None:
    fig = Figure.parse(to_svg(resgraph.loads(MIRRORED)))
    skips = [(t, h) for t, h, cls_, _ in fig.edges
             if "skip" in cls_.split() and "legend" not in cls_.split()]
    assert len(skips) == 2
    for tail, head in skips:
        assert _middle(fig.nodes[tail]) == pytest.approx(_middle(fig.nodes[head]), abs=0.5)


def _middle(box: Box) -> float:
    return (box[1] + box[3]) / 2


# ---------------------------------------------------------------- too large, quickly


def test_densenet201_expanded_is_refused_quickly(tmp_path: Path) -> None:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "resgraph", "render", "examples/densenet.rg",
                           "--network", "densenet201", "--expand", "-o",
                           str(tmp_path / "d.svg")], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 1 and "error[RG605]" in proc.stderr
    assert "draw it collapsed (--collapse)" in proc.stderr
    assert elapsed < 5
    assert not (tmp_path / "d.svg").exists()
