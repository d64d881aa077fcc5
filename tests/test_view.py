"""What a diagram holds: exact node and edge counts of the view, collapsing, depth, shapes.

Counts for ResNet-18 (examples/resnet18.rg), worked out by hand from the file:

- expanded: the stem has 5 nodes (input, conv, bn, relu, maxpool); each of the 8
  basic blocks has 7 (conv, bn, relu, conv, bn, add, relu) and the 3 with a stride
  have 2 more (the downsample conv and bn); the head has 3 (gap, flatten, linear):
  5 + 8·7 + 3·2 + 3 = 70 nodes. Edges: a chain through all 70 nodes except the 6
  shortcut nodes (63 edges), 2 per shortcut (in and out, 6), 1 per downsample
  (conv → bn, 3) and 5 identity residual edges: 63 + 6 + 3 + 5 = 77.
- collapsed: each block's insides are drawn once. layer1's ``basic(64) * 2`` is a run,
  drawn as its first block in a ``2 × basic(64)`` frame (7 nodes); layer2.0 has a
  projection, a structure not drawn yet (9 nodes); layer2.1, layer3.0, layer3.1,
  layer4.0 and layer4.1 repeat a drawn structure and are one box each (5):
  5 + 7 + 9 + 5 + 3 = 29 nodes. Edges: stem 4; into the run 2 (seq, residual) and 6
  inside it; into layer2.0 2 (conv1, projection) and 8 inside it (6 chain, conv → bn,
  bn → add); relu → first box 1, 4 between the boxes, 1 into gap, 2 in the head; and
  5 residual arcs (an edge from each box to itself): 4+2+6+2+8+1+4+1+2+5 = 35.
  Collapsing is the default here, since it draws fewer than two thirds of the nodes.
- ``depth=0``: stem (5) + 4 layer boxes + head (3) = 12 nodes in a chain (11 edges),
  and each box keeps its residual as an arc: 15 edges.
- ``depth=1``: stem, 8 block boxes, head: 16 nodes, 15 chain edges + 8 arcs = 23;
  collapsed, layer1's run is one box ``2 × basic(64)``: 15 nodes, 14 + 7 = 21 edges.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

import resgraph
from resgraph.program import load_program
from resgraph.render import to_svg
from resgraph.render.mermaid import to_mermaid_text
from resgraph.render.view import View, build_view
from tests.test_render import SVG, load, needs_dot, svg_groups

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = [(p, n) for p in sorted((ROOT / "examples").glob("*.rg")) if "network " in p.read_text()
            for n in load_program(p.read_text(), str(p), resgraph.Limits()).networks]
"""Every network of every example (a family file such as vgg.rg defines several)."""

# ---------------------------------------------------------------- exact counts


@pytest.mark.parametrize(("collapse", "depth", "nodes", "edges"), [
    (False, None, 70, 77), (True, None, 29, 35), (None, None, 29, 35),
    (True, 0, 12, 15), (False, 1, 16, 23), (True, 1, 15, 21), (False, 2, 67, 74)])
def test_resnet18_counts(collapse: bool | None, depth: int | None, nodes: int,
                         edges: int) -> None:
    view = build_view(load("resnet18"), collapse=collapse, depth=depth)
    assert (len(view.nodes), len(view.edges)) == (nodes, edges)


@needs_dot
@pytest.mark.parametrize(("collapse", "nodes", "edges"), [(False, 70, 77), (True, 29, 35)])
def test_resnet18_svg_counts(collapse: bool, nodes: int, edges: int) -> None:
    svg = to_svg(load("resnet18"), collapse=collapse)
    # the view's nodes and edges (with ports, for arcs), not the legend's or the titles'
    drawn = re.compile(r"[ns]\d+(:\w+)?(->[ns]\d+(:\w+)?)?")
    assert len([g for g in svg_groups(svg, "node") if drawn.fullmatch(title(g))]) == nodes
    assert len([g for g in svg_groups(svg, "edge") if drawn.fullmatch(title(g))]) == edges


def title(group: ET.Element) -> str:
    """The ``<title>`` of an SVG group: dot writes the node id or ``a->b`` there."""
    found = group.find(f"{SVG}title")
    return (found.text or "") if found is not None else ""


def test_collapsed_titles() -> None:
    titles = [c.title for c in build_view(load("resnet18"), collapse=True).clusters.values()]
    assert "2 × basic(64)" in titles and "basic(128, stride=2)" in titles
    assert titles[:3] == ["layer1", "2 × basic(64)", "layer2"]  # layer1 framed like layer2
    # the first bottleneck of a stage has a projection: same key, other structure; it
    # keeps the channels (64 -> 256 at 56×56), so it is a projection, not a downsample
    titles = [c.title for c in build_view(load("resnet50"), collapse=True).clusters.values()]
    assert titles == ["layer1", "bottleneck(64)", "projection", "2 × bottleneck(64)",
                      "layer2", "layer3", "layer4"]
    view = build_view(load("highway_mlp"), collapse=True)
    assert [c.title for c in view.clusters.values()] == ["10 × highway"]
    assert len(view.nodes) == 7


def test_collapsed_resnet50_draws_each_structure_once() -> None:
    """Issue 15 item 6: the folded runs keep no insides; 96 nodes before, 39 now."""
    view = build_view(load("resnet50"), collapse=True)
    boxes = [(n.lines, n.repeat, n.glyph) for n in view.nodes.values() if n.role == "box"]
    assert boxes == [
        (["bottleneck(128, stride=2)", "512×28×28"], 1, "residual"),
        (["3 × bottleneck(128)", "512×28×28"], 3, "residual"),
        (["bottleneck(256, stride=2)", "1024×14×14"], 1, "residual"),
        (["5 × bottleneck(256)", "1024×14×14"], 5, "residual"),
        (["bottleneck(512, stride=2)", "2048×7×7"], 1, "residual"),
        (["2 × bottleneck(512)", "2048×7×7"], 2, "residual")]
    # stem 5 + bottleneck with projection 12 + run 10 + 6 boxes + head 3
    assert len(view.nodes) == 5 + 12 + 10 + 6 + 3
    arcs = [e for e in view.edges if e.src == e.dst]
    assert [e.kind for e in arcs] == ["residual"] * 6
    assert {e.src for e in arcs} == {n for n, node in view.nodes.items() if node.role == "box"}


def test_gpt2_stack_is_one_frame_of_twelve() -> None:
    """Issue 15 items 6 and 9: the 12 blocks are drawn once, as "12 × gpt2_block", not "h"."""
    view = build_view(load("gpt2"))
    assert view.collapsed
    titles = [c.title for c in view.clusters.values()]
    assert titles == ["transformer", "12 × gpt2_block(768, 12)", "mlp"]
    stack = next(c for c in view.clusters.values() if c.repeat > 1)
    assert stack.repeat == 12 and stack.parent == "c1"  # in transformer, no frame "h"
    assert stack.tooltip == "transformer.h: transformer.h.0 … transformer.h.11 (12)"
    # one level less deep: the stack is one box, a residual glyph with its arc
    view = build_view(load("gpt2"), depth=1)
    box = next(n for n in view.nodes.values() if n.role == "box" and n.repeat > 1)
    assert (box.lines[0], box.repeat, box.glyph, box.layers) == (
        "12 × gpt2_block(768, 12)", 12, "residual", 4)
    assert [e.kind for e in view.edges if e.src == e.dst == box.id] == ["residual"]


def test_densenet_blocks_are_dense_glyphs() -> None:
    """Issue 15 item 5: a dense block is a box with its layer count and a dense arc."""
    view = build_view(load("densenet121", "densenet"), collapse=True)
    dense = [n for n in view.nodes.values() if n.glyph == "dense"]
    assert [n.layers for n in dense] == [6, 12, 24, 16]
    assert [n.lines[0] for n in dense] == [f"denseblock{i}" for i in (1, 2, 3, 4)]
    assert [n.lines[1:] for n in dense] == [
        ["6 layers, +32 channels each", "256×56×56"],
        ["12 layers, +32 channels each", "512×28×28"],
        ["24 layers, +32 channels each", "1024×14×14"],
        ["16 layers, +32 channels each", "1024×7×7"]]
    arcs = [(e.src, e.kind) for e in view.edges if e.src == e.dst]
    assert arcs == [(n.id, "dense") for n in dense]
    assert view.kinds() == ["seq", "dense"]
    assert (len(view.nodes), len(view.edges)) == (20, 23)  # was 50 and 57


def test_projection_or_downsample() -> None:
    """Issue 15 item 9: a stride-1 projection is not called "downsample"."""
    view = build_view(load("preact_resnet", n=2), collapse=False)
    titles = [c.title for c in view.clusters.values() if c.kind == "shortcut"]
    assert titles == ["projection", "downsample", "downsample"]
    view = build_view(load("preact_resnet", n=111))  # ResNet-1001, collapsed by default
    titles = [c.title for c in view.clusters.values()]
    assert titles == ["layer1", "preact_bottleneck(16)", "projection",
                      "110 × preact_bottleneck(16)", "layer2", "layer3"]


def test_default_collapses_where_it_shortens() -> None:
    """Issue 15 "defaults that serve": collapsed by default when that draws at most two
    thirds of the nodes (ResNet-18: 29 of 70), or the network has over 150 nodes."""
    assert build_view(load("resnet18")).collapsed
    assert not build_view(load("unet")).collapsed  # 33 of 42 nodes: drawn whole
    assert not build_view(load("all_kinds")).collapsed  # 37 of 48
    view = build_view(load("resnet152"))
    assert view.collapsed and len(view.nodes) == 36
    assert len(build_view(load("resnet152"), collapse=False).nodes) == 516


def test_depth_keeps_the_connections_between_boxes() -> None:
    """Issue 15 item 1: ``--depth 1`` keeps the residuals (as arcs around the boxes) and
    each box reads its output shape, not an op count."""
    view = build_view(load("resnet18"), collapse=True, depth=1)
    boxes = [n.lines for n in view.nodes.values() if n.role == "box"]
    assert boxes[:2] == [["2 × basic(64)", "64×56×56"], ["basic(128, stride=2)", "128×28×28"]]
    assert len(boxes) == 7 and view.kinds() == ["seq", "residual"]
    view = build_view(load("resnet50"), depth=1)
    residual = [e for e in view.edges if e.kind == "residual"]
    assert len(residual) == 8 and all(e.src == e.dst for e in residual)
    assert sum(e.kind == "seq" for e in view.edges) == 15


def test_shapes_only_where_they_change() -> None:
    """Issue 15 item 10: one label per shape change (a conv and its projection make one);
    inputs and boxes print their own shape."""
    changes = ["64×112×112", "64×56×56", "128×28×28", "256×14×14", "512×7×7", "512×1×1", "512"]
    view = build_view(load("resnet18"), collapse=False, shapes=True)
    assert [e.shape for e in view.edges if e.shape] == changes
    assert build_view(load("resnet18"), collapse=False, shapes="changes").edges == view.edges
    every = build_view(load("resnet18"), collapse=False, shapes="all").edges
    assert all(e.shape for e in every) and len(every) == 77
    view = build_view(load("resnet18"), collapse=True, depth=0, shapes=True)
    assert [e.shape for e in view.edges if e.shape] == ["64×112×112", "64×56×56", "512×1×1",
                                                        "512"]
    assert [n.shape for n in view.nodes.values() if n.role == "box"] == [
        "64×56×56", "128×28×28", "256×14×14", "512×7×7"]


def test_bad_shapes_value() -> None:
    with pytest.raises(resgraph.ResgraphError) as err:
        build_view(load("resnet18"), shapes="some")
    assert err.value.code == "RG603" and "changes, all" in err.value.message


def test_mermaid_draws_the_arcs() -> None:
    view = build_view(load("resnet18"), collapse=True, depth=1)
    text = to_mermaid_text(view)
    arcs = [e for e in view.edges if e.src == e.dst]
    assert len(arcs) == 7
    assert all(f"    {e.src} ==> {e.src}" in text.splitlines() for e in arcs)
    assert 's2[["2 × basic(64)<br/>64×56×56"]]' in text


@pytest.mark.parametrize(("path", "network"), NETWORKS,
                         ids=[f"{p.stem}:{n}" for p, n in NETWORKS])
def test_views_are_consistent(path: Path, network: str) -> None:
    arch = resgraph.load(str(path), network=network)
    kinds = {d["kind"] for _, _, d in arch.graph.edges(data=True)} - {"control"}
    for collapse in (True, False):
        for depth in (0, 1, 2, None):
            view = build_view(arch, collapse=collapse, depth=depth, shapes=True, params=True)
            assert all(e.src in view.nodes and e.dst in view.nodes for e in view.edges)
            assert all(n.cluster is None or n.cluster in view.clusters
                       for n in view.nodes.values())
            assert all(c.parent is None or c.parent in view.clusters
                       for c in view.clusters.values())
            assert len(view.nodes) <= len(arch.graph)
            assert nx.is_directed_acyclic_graph(nx.DiGraph([(e.src, e.dst)
                                                            for e in view.edges
                                                            if e.src != e.dst]))
            # arcs only around boxes, and no connection kind is lost however compact
            assert all(view.nodes[e.src].role == "box" and e.kind not in ("seq", "control")
                       for e in view.edges if e.src == e.dst)
            assert set(view.kinds()) - {"control"} == kinds, (collapse, depth)


def test_shapes_and_params() -> None:
    view = build_view(load("resnet18"), shapes="all", params=True)
    assert view.edges[0].shape == "3×224×224"
    conv1 = view.nodes["n1"]
    assert conv1.lines == ["conv 7×7, 64, /2", "9.41K params"]
    assert view.nodes["n69"].lines[-1] == "output fc · 1000"


def test_runs_ignore_values_that_change_no_shape() -> None:
    """Swin's blocks alternate shifts and each has its own drop-path rate: same block, same
    shapes and sizes, so a stage is one run (issue 13: Swin-T drawn readably)."""
    view = build_view(load("swin_t", "swin"))
    assert view.collapsed
    runs = [t for t in titles(view) if "swin_block" in t]
    assert runs == ["2 × swin_block", "2 × swin_block", "6 × swin_block", "2 × swin_block"]
    assert len(view.clusters) == 4  # the first stage drawn open, the others boxes
    # different widths are different shapes: VGG's stages stay apart
    found = titles(build_view(load("vgg16", "vgg"), collapse=True))
    assert sum(t.startswith("0-4") or t.startswith("5-9") for t in found) == 2
    # an unnamed repeated group is titled by what it holds, not "seq ×2"
    assert "2 × conv 3×3, 64 → relu" in found and "3 × conv 3×3, 256 → relu" in found
    assert not any("seq" in t for t in found)


def titles(view: View) -> list[str]:
    """The titles of a view's frames, then of its boxes."""
    return ([c.title for c in view.clusters.values()]
            + [n.lines[0] for n in view.nodes.values() if n.role == "box"])
