"""How collapsed boxes look (resgraph/render/nodes.py): title, merge mark, ×N bracket, fill."""

from __future__ import annotations

import re

import pytest

from resgraph.render.nodes import BOX_FILL, GLYPH_MARK, box_label, node_attrs
from resgraph.render.view import GLYPHS, ViewNode, build_view
from tests.test_render import load


def cells(label: str) -> list[str]:
    """The texts of the cells of a box's HTML label, tags removed."""
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<TD[^>]*>(.*?)</TD>", label)]


def test_a_run_box_has_its_mark_title_shape_and_bracket() -> None:
    view = build_view(load("resnet50"), collapse=True)
    box = next(n for n in view.nodes.values() if n.repeat == 3)
    attrs = node_attrs(box)
    assert cells(attrs["label"]) == ["+", "3 × bottleneck(128) 512×28×28", "×3"]
    assert 'SIDES="LTB"' in attrs["label"]  # the bracket: open on the right
    assert attrs["shape"] == "box" and attrs["fillcolor"] == "#eef3fb"


def test_a_lone_box_has_no_bracket() -> None:
    view = build_view(load("resnet50"), collapse=True)
    box = next(n for n in view.nodes.values() if n.role == "box")
    assert cells(box_label(box)) == ["+", "bottleneck(128, stride=2) 512×28×28"]


def test_dense_glyph() -> None:
    view = build_view(load("densenet121", "densenet"), collapse=True)
    box = next(n for n in view.nodes.values() if n.glyph == "dense")
    attrs = node_attrs(box)
    assert cells(attrs["label"]) == ["‖", "denseblock1 6 layers, +32 channels each 256×56×56"]
    assert attrs["fillcolor"] == BOX_FILL["dense"]


@pytest.mark.parametrize("glyph", GLYPHS)
def test_every_glyph_has_a_look(glyph: str) -> None:
    node = ViewNode("s1", "box", "block", ["b(8)", "8×4×4"], glyph=glyph, output=True)
    attrs = node_attrs(node)
    mark = cells(attrs["label"])[0]
    assert mark == (GLYPH_MARK[glyph] if glyph else "b(8) 8×4×4")
    assert attrs["penwidth"] == "2"  # an output box is drawn heavier
