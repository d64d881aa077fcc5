"""Diagrams: every example draws, the legend is honest, formats and options, no torch.

What the view holds (exact node and edge counts, collapsing, depth) is in test_view.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import resgraph
from resgraph.cli import main
from resgraph.kinds import EDGE_KINDS
from resgraph.render import (
    RenderOptions,
    RenderWarning,
    render,
    to_dot,
    to_mermaid,
    to_svg,
    view_of,
)
from resgraph.render.dot import to_dot_source
from resgraph.render.fit import font_sizes
from resgraph.render.view import View, ViewCluster, ViewEdge, ViewNode

ROOT = Path(__file__).resolve().parent.parent
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
# (every example is drawn and measured in test_geometry.py)


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
    arch = load("resnet18")
    view = view_of(arch, RenderOptions(collapse=True))
    text = to_mermaid(arch, collapse=True)
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    nodes = [ln for ln in lines if re.match(r"\s*[ns]\d+[\[\(\{]", ln)]
    assert len(nodes) == len(view.nodes)
    assert f'subgraph c2["{view.clusters["c2"].title}"]' in text
    links = [ln for ln in lines if re.match(r"\s*[ns]\d+ \S+ [ns]\d+$", ln)]
    assert len(links) == len(view.edges)
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


# ---------------------------------------------------------------- page options


def test_legend_font_and_family_options() -> None:
    arch = load("resnet18")
    assert "legend_" not in to_dot(arch, legend="none")
    assert "legend_residual" in to_dot(arch, legend="full")
    dot = to_dot(arch, font=9, font_family="Latin Modern Roman")
    assert min(font_sizes(dot)) == 9 and 'fontname="Latin Modern Roman"' in dot
    assert "×n" not in dot and "resnet18 · 11.7M params" in dot  # a title, not a sentence


def test_shapes_option_of_the_cli(tmp_path: Path) -> None:
    """``--shapes`` labels the edges where the shape changes, ``--shapes all`` every edge."""
    labelled = {}
    for flag in (["--shapes"], ["--shapes", "all"], []):
        out = tmp_path / f"r{len(flag)}.dot"
        assert main(["render", str(ROOT / "examples/resnet18.rg"), "-o", str(out),
                     "--expand", *flag]) == 0
        labelled[" ".join(flag)] = len(re.findall(r"-> \S+ \[.*label=", out.read_text()))
    assert labelled[""] == 0 < labelled["--shapes"] < labelled["--shapes all"]


def test_a_repeated_frame_has_its_bracket_and_an_arc_has_its_ports() -> None:
    """The glyph contract of view.py: a frame with repeat N gets a ×N bracket beside its
    first node; a self-edge is an arc that leaves and returns on the box's side."""
    view = View("v", clusters={"c1": ViewCluster("c1", "12 × block", None, "block", 12)})
    view.nodes = {"n0": ViewNode("n0", "input", "input", ["input x"]),
                  "n1": ViewNode("n1", "op", "linear", ["linear 8"], cluster="c1"),
                  "s2": ViewNode("s2", "box", "block", ["block"], glyph="residual")}
    view.edges = [ViewEdge("n0", "n1", "seq"), ViewEdge("n1", "s2", "seq"),
                  ViewEdge("s2", "s2", "residual")]
    dot = to_dot_source(view)
    assert "{rank=same; n1; x_c1}" in dot and "×12" in dot
    assert re.search(r"s2 -> s2 \[class=residual .*dir=none headport=se .*tailport=ne", dot)
    assert re.search(r"s2 -> s2 \[.*headport=e .*tailport=w", to_dot_source(view, rankdir="LR"))


def test_bad_page_options() -> None:
    arch = load("resnet18")
    for options in [{"fit": "3.3"}, {"fit": "wide"}, {"fit": "0.5in"}, {"font": 0},
                    {"dpi": 0}, {"dpi": 72.5}, {"legend": "big"}, {"font_family": ""},
                    {"layout": "circle"}, {"shapes": "some"}]:
        with pytest.raises(resgraph.ResgraphError) as err:
            to_dot(arch, **options)
        assert err.value.code == "RG603", options


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@needs_dot
def test_dpi_scales_the_png(tmp_path: Path) -> None:
    arch = load("digits_resnet")
    small = png_size(render_bytes(arch, tmp_path / "a.png", dpi=72))
    large = png_size(render_bytes(arch, tmp_path / "b.png", dpi=144))
    assert large[0] == pytest.approx(2 * small[0], abs=2)
    assert large[1] == pytest.approx(2 * small[1], abs=2)


def render_bytes(arch: resgraph.Architecture, path: Path, **options: object) -> bytes:
    render(arch, str(path), **options)
    return path.read_bytes()


TALL = "network tall() {\n input x[8]\n x" + " -> relu" * 250 + "\n}\n"
"""A chain 250 nodes tall: over 32,767 pixels, the largest bitmap dot draws, at 300 dpi."""


@needs_dot
def test_a_scaled_down_png_is_a_warning(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """dot shrinks a bitmap over 32,767 pixels; resgraph says so (issue 15 item 4)."""
    with pytest.warns(RenderWarning, match=r"dot scaled the png down to 0\.\d+ of its size"):
        render(resgraph.loads(TALL), str(tmp_path / "big.png"), dpi=300)
    (tmp_path / "tall.rg").write_text(TALL)
    assert main(["render", str(tmp_path / "tall.rg"), "-o", str(tmp_path / "b.png"),
                 "--dpi", "300", "--legend", "none"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: dot scaled the png down to 0.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render(resgraph.loads(TALL), str(tmp_path / "small.png"))  # 96 dpi: no warning


@needs_dot
def test_tex_is_a_tikz_picture_of_the_layout(tmp_path: Path) -> None:
    arch = load("digits_resnet")
    render(arch, str(tmp_path / "a.tex"), font_family="Times")
    tex = (tmp_path / "a.tex").read_text()
    view = view_of(arch, RenderOptions())
    assert tex.count("\\begin{tikzpicture}") == 1 and tex.rstrip().endswith("\\end{tikzpicture}")
    drawn = set(re.findall(r"^% node (\S+)", tex, re.M))
    assert {n for n in view.nodes} <= drawn  # every node of the view, legend and titles too
    assert len(re.findall(r"^% edge n\d+ -> n\d+", tex, re.M)) == len(view.edges)


@needs_dot
def test_pdf_embeds_its_fonts(tmp_path: Path) -> None:
    data = render_bytes(load("digits_resnet"), tmp_path / "a.pdf", font_family="Times")
    assert data.startswith(b"%PDF-") and b"/FontFile" in data


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
    view = view_of(load("resnet18"), RenderOptions(collapse=True, depth=1))
    assert f"{len(view.nodes)} nodes, {len(view.edges)} edges (collapsed)" \
        in capsys.readouterr().out
    assert out.read_text().startswith("flowchart LR")
    drawn = tmp_path / "r.dot"
    assert load("resnet18").render(str(drawn), collapse=True) == str(drawn)
    text = drawn.read_text()
    assert text.startswith("digraph resnet18 {") and "basic(64)" in text
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
    assert any("preact_bottleneck(16)" in t and "110" in t for t in titles if t)
    assert len(svg_groups(svg, "node")) < 100
