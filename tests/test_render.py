"""Diagrams: every example draws, counts are exact, the legend is honest, no torch.

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

import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

import resgraph
from resgraph.cli import main
from resgraph.kinds import EDGE_KINDS
from resgraph.program import load_program
from resgraph.render import render, to_dot, to_mermaid, to_svg
from resgraph.render.view import build_view

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.rg") if "network " in p.read_text())
NETWORKS = [(p, n) for p in EXAMPLES
            for n in load_program(p.read_text(), str(p), resgraph.Limits()).networks]
"""Every network of every example (a family file such as vgg.rg defines several)."""
SVG = "{http://www.w3.org/2000/svg}"
ALL_KINDS = {"seq", "residual", "skip", "highway", "dense", "control"}
MERMAID_ARROW = re.compile(r"(--|==|-\.-)[>ox]|---|===|-\.-")
"""Mermaid's links: arrow, circle and cross heads, or none, in normal, thick and dotted lines."""
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' missing")

WEIRD = '''
block foo(name="a{b}<c>&", n=1) { conv(4) -> relu }
network weird() {
    input x[3, 8, 8]
    x -> foo("q|{x}<y>") -> foo(name="a{b}<c>&'z'")
}
'''


def load(name: str, file: str | None = None, **params: int) -> resgraph.Architecture:
    """Network ``name`` of ``examples/FILE.rg`` (by default, of ``examples/NAME.rg``)."""
    path = ROOT / "examples" / f"{file or name}.rg"
    return resgraph.load(str(path), network=name if file else None, **params)


def svg_groups(svg: str, cls: str) -> list[ET.Element]:
    """The <g> elements of an SVG whose class list starts with ``cls``, legend excluded."""
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g")
            if g.get("class", "").split()[:1] == [cls] and "legend" not in g.get("class", "")]


def legend_kinds(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.get("id")[len("legend_"):] for g in root.iter(f"{SVG}g")
            if (g.get("id") or "").startswith("legend_") and "edge" in g.get("class", "")]


# ---------------------------------------------------------------- every example


@needs_dot
@pytest.mark.parametrize(("path", "network"), [next((p, n) for p, n in NETWORKS if p == path)
                                               for path in EXAMPLES],
                         ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_every_example_svg_parses_as_xml(path: Path, network: str) -> None:
    """The first network of each example file, drawn by dot."""
    svg = to_svg(resgraph.load(str(path), network=network))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert svg_groups(svg, "node")


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


# ---------------------------------------------------------------- legend


@needs_dot
@pytest.mark.parametrize(("name", "kinds"), [
    ("resnet18", {"seq", "residual"}), ("all_kinds", ALL_KINDS),
    ("highway_mlp", {"seq", "highway", "control"}), ("unet", {"seq", "skip"}),
    ("densenet_bc", {"seq", "dense"})])
def test_legend_holds_exactly_the_kinds_present(name: str, kinds: set[str]) -> None:
    svg = to_svg(load(name))
    assert legend_kinds(svg) == [k for k in EDGE_KINDS if k in kinds]  # in registry order
    drawn = {g.get("class").split()[1] for g in svg_groups(svg, "edge")}
    assert drawn == kinds


# ---------------------------------------------------------------- formats


def test_mermaid_header_and_node_count() -> None:
    text = to_mermaid(load("resnet18"), collapse=True)
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    nodes = [ln for ln in lines if re.match(r"\s*[ns]\d+[\[\(\{]", ln)]
    assert len(nodes) == 63
    assert 'subgraph c2["basic(64) ×2"]' in text
    assert len([ln for ln in lines if re.match(r"\s*[ns]\d+ \S+ [ns]\d+$", ln)]) == 69
    assert to_mermaid(load("resnet18"), rankdir="LR").startswith("flowchart LR\n")


@needs_dot
def test_png_and_pdf(tmp_path: Path) -> None:
    arch = load("digits_resnet")
    assert render(arch, str(tmp_path / "a.png")) == str(tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    render(arch, str(tmp_path / "a.pdf"), shapes=True, params=True)
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"


def test_escaping_of_special_characters() -> None:
    arch = resgraph.loads(WEIRD)
    dot = to_dot(arch)
    assert "foo(&quot;q|{x}&lt;y&gt;&quot;)" in dot
    assert "a{b}&lt;c&gt;&amp;&#x27;z&#x27;" in dot
    mmd = to_mermaid(arch)
    assert 'foo(#quot;q|{x}#lt;y#gt;#quot;)' in mmd
    if shutil.which("dot"):
        texts = [t.text for t in ET.fromstring(to_svg(arch)).iter(f"{SVG}text")]
        assert 'foo("q|{x}<y>")' in texts and "foo(name=\"a{b}<c>&'z'\")" in texts


def test_shapes_and_params() -> None:
    view = build_view(load("resnet18"), shapes=True, params=True)
    assert view.edges[0].shape == "3×224×224"
    conv1 = view.nodes["n1"]
    assert conv1.lines == ["conv 7×7, 64, /2", "9.41K params"]
    assert view.nodes["n69"].lines[-1] == "output fc · 1000"


# ---------------------------------------------------------------- without dot, errors, CLI


def test_without_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    arch = load("resnet18")
    render(arch, str(tmp_path / "a.dot"))
    render(arch, str(tmp_path / "a.mmd"))
    with pytest.raises(resgraph.ResgraphError) as err:
        render(arch, str(tmp_path / "b.svg"))
    assert err.value.code == "RG601" and "apt-get install graphviz" in str(err.value)
    assert (tmp_path / "b.dot").read_text().startswith("digraph resnet18 {")
    assert not (tmp_path / "b.svg").exists()
    code = main(["render", str(ROOT / "examples/resnet18.rg"), "-o", str(tmp_path / "c.png")])
    err_text = capsys.readouterr().err
    assert code == 1 and len(err_text.strip().splitlines()) == 1
    assert f"wrote {tmp_path / 'c.dot'} instead" in err_text
    assert (tmp_path / "c.dot").exists()


def test_bad_options(tmp_path: Path) -> None:
    arch = load("resnet18")
    for path, options, code in [("a.jpg", {}, "RG602"), ("no/such/dir/a.dot", {}, "RG602"),
                                ("a.dot", {"depth": -1}, "RG603"),
                                ("a.dot", {"rankdir": "BT"}, "RG603"),
                                ("a.dot", {"colour": 1}, "RG603")]:
        with pytest.raises(resgraph.ResgraphError) as err:
            render(arch, str(tmp_path / path), **options)
        assert err.value.code == code


def test_cli_and_repr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.mmd"
    assert main(["render", str(ROOT / "examples/resnet18.rg"), "-o", str(out), "--collapse",
                 "--depth", "1", "--rankdir", "LR"]) == 0
    assert "15 nodes, 14 edges (collapsed)" in capsys.readouterr().out
    assert out.read_text().startswith("flowchart LR")
    drawn = tmp_path / "r.dot"
    assert load("resnet18").render(str(drawn), collapse=True) == str(drawn)
    text = drawn.read_text()
    assert text.startswith("digraph resnet18 {") and "basic(64) ×2" in text
    if shutil.which("dot"):
        assert load("digits_resnet")._repr_svg_().lstrip().startswith("<?xml")


# ---------------------------------------------------------------- fresh processes


def test_no_torch_import(tmp_path: Path) -> None:
    code = ("import sys, resgraph; a = resgraph.load('examples/resnet18.rg'); "
            f"a.render({str(tmp_path / 'r.dot')!r}); a.render({str(tmp_path / 'r.mmd')!r}); "
            "import resgraph.render, resgraph.cli; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


@needs_dot
def test_preact_resnet_1001_renders_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "resgraph", "render",
                           "examples/preact_resnet.rg", "--set", "n=111", "-o",
                           str(tmp_path / "p.svg")], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 10
    svg = (tmp_path / "p.svg").read_text()
    titles = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "preact_bottleneck(16) ×110" in titles and len(svg_groups(svg, "node")) < 100


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
