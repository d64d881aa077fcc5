"""What a diagram holds: exact node and edge counts of the view, collapsing, depth, shapes.

Counts for ResNet-18 (examples/resnet18.rg), worked out by hand from the file:

- expanded: the stem has 5 nodes (input, conv, bn, relu, maxpool); each of the 8
  basic blocks has 7 (conv, bn, relu, conv, bn, add, relu) and the 3 with a stride
  have 2 more (the downsample conv and bn); the head has 3 (gap, flatten, linear):
  5 + 8·7 + 3·2 + 3 = 70 nodes. Edges: a chain through all 70 nodes except the 6
  shortcut nodes (63 edges), 2 per shortcut (in and out, 6), 1 per downsample
  (conv → bn, 3) and 5 identity residual edges: 63 + 6 + 3 + 5 = 77.
- collapsed: only layer1's ``basic(64) * 2`` is a run (every other stage starts
  with a strided block), drawn once: 70 − 7 = 63 nodes; the second block's 6 inner
  edges, its input edge and its residual edge go: 77 − 8 = 69 edges.
- ``depth=0``: stem (5) + 4 layer boxes + head (3) = 12 nodes in a chain, 11 edges.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

import resgraph
from resgraph.render import to_svg
from resgraph.render.view import build_view
from tests.test_render import NETWORKS, load, needs_dot, svg_groups

# ---------------------------------------------------------------- exact counts


@pytest.mark.parametrize(("collapse", "depth", "nodes", "edges"), [
    (False, None, 70, 77), (True, None, 63, 69), (None, None, 70, 77),
    (True, 0, 12, 11), (False, 1, 16, 15), (True, 1, 15, 14), (False, 2, 67, 74)])
def test_resnet18_counts(collapse: bool | None, depth: int | None, nodes: int,
                         edges: int) -> None:
    view = build_view(load("resnet18"), collapse=collapse, depth=depth)
    assert (len(view.nodes), len(view.edges)) == (nodes, edges)


@needs_dot
@pytest.mark.parametrize(("collapse", "nodes", "edges"), [(False, 70, 77), (True, 63, 69)])
def test_resnet18_svg_counts(collapse: bool, nodes: int, edges: int) -> None:
    svg = to_svg(load("resnet18"), collapse=collapse)
    assert len(svg_groups(svg, "node")) == nodes
    assert len(svg_groups(svg, "edge")) == edges


def test_collapsed_titles() -> None:
    titles = [c.title for c in build_view(load("resnet18"), collapse=True).clusters.values()]
    assert "basic(64) ×2" in titles and "basic(128, stride=2)" in titles
    assert "basic(64)" not in titles
    # the first bottleneck of a stage has a projection: same key, other structure
    titles = [c.title for c in build_view(load("resnet50"), collapse=True).clusters.values()]
    assert titles[:4] == ["layer1", "bottleneck(64)", "downsample", "bottleneck(64) ×2"]
    titles = [c.title for c in build_view(load("densenet121", "densenet")).clusters.values()]
    assert "dense_layer(32, 4) ×24" in titles
    view = build_view(load("highway_mlp"), collapse=True)
    assert [c.title for c in view.clusters.values()] == ["highway ×10"]
    assert len(view.nodes) == 7


def test_default_collapses_large_networks() -> None:
    assert not build_view(load("resnet18")).collapsed
    view = build_view(load("resnet152"))
    assert view.collapsed and len(view.nodes) == 96
    assert len(build_view(load("resnet152"), collapse=False).nodes) == 516


def test_depth_boxes() -> None:
    view = build_view(load("resnet18"), collapse=True, depth=1)
    boxes = [n.lines[0] for n in view.nodes.values() if n.role == "box"]
    assert boxes[0] == "basic(64) ×2" and len(boxes) == 7
    assert view.kinds() == ["seq"]


@pytest.mark.parametrize(("path", "network"), NETWORKS,
                         ids=[f"{p.stem}:{n}" for p, n in NETWORKS])
def test_views_are_consistent(path: Path, network: str) -> None:
    arch = resgraph.load(str(path), network=network)
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
                                                            for e in view.edges]))


def test_shapes_and_params() -> None:
    view = build_view(load("resnet18"), shapes=True, params=True)
    assert view.edges[0].shape == "3×224×224"
    conv1 = view.nodes["n1"]
    assert conv1.lines == ["conv 7×7, 64, /2", "9.41K params"]
    assert view.nodes["n69"].lines[-1] == "output fc · 1000"


def test_runs_ignore_values_that_change_no_shape() -> None:
    """Swin's blocks alternate shifts and each has its own drop-path rate: same block, same
    shapes and sizes, so a stage is one run (issue 13: Swin-T drawn readably)."""
    view = build_view(load("swin_t", "swin"))
    assert view.collapsed
    runs = [c.title for c in view.clusters.values() if c.title.startswith("swin_block")]
    assert runs == ["swin_block ×2", "swin_block ×2", "swin_block ×6", "swin_block ×2"]
    # different widths are different shapes: VGG's stages stay apart
    titles = [c.title for c in build_view(load("vgg16", "vgg"), collapse=True).clusters.values()]
    assert sum(t.startswith("0-4") or t.startswith("5-9") for t in titles) == 2
