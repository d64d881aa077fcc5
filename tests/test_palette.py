"""The palette of edge kinds (resgraph.kinds): apart for colour-blind readers, and every kind
its own line pattern for greyscale print (issue 15, acceptance 3).

Colour vision deficiency is simulated with the matrices of Machado, Oliveira and
Fernandes, "A Physiologically-based Model for Simulation of Color Vision Deficiency"
(IEEE TVCG 2009), at severity 1.0, applied in linear RGB; colours are compared with
CIEDE2000 (Sharma, Wu and Dalal, "The CIEDE2000 Color-Difference Formula: Implementation
Notes, Supplementary Test Data, and Mathematical Observations", 2005), checked here
against the paper's 34 test pairs. Both are written out here, apart from the package.
"""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from resgraph.kinds import CONNECTIONS, EDGE_KINDS
from resgraph.render.dot import to_dot_source
from resgraph.render.style import edge_style, link_style, link_width
from resgraph.render.view import View, ViewEdge, ViewNode

Lab = tuple[float, float, float]
Matrix = tuple[tuple[float, float, float], ...]

MACHADO: dict[str, Matrix] = {
    "protanopia": ((0.152286, 1.052583, -0.204868),
                   (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968),
                     (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779),
                   (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}
"""Machado et al. 2009, severity 1.0 (linear RGB in, linear RGB out)."""

VISIONS = ("normal", *MACHADO)


def linear(hex_colour: str) -> tuple[float, float, float]:
    """sRGB ``#rrggbb`` to linear RGB in [0, 1]."""
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    h = hex_colour.lstrip("#")
    r, g, b = (channel(int(h[i:i + 2], 16)) for i in (0, 2, 4))
    return r, g, b


def simulate(rgb: tuple[float, float, float], vision: str) -> tuple[float, float, float]:
    """What a dichromat of that kind sees, clipped to the gamut."""
    if vision == "normal":
        return rgb
    m = MACHADO[vision]
    r, g, b = (min(1.0, max(0.0, sum(m[i][j] * rgb[j] for j in range(3)))) for i in range(3))
    return r, g, b


def to_lab(rgb: tuple[float, float, float]) -> Lab:
    """Linear sRGB to CIELAB (D65 white)."""
    r, g, b = rgb
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def ciede2000(lab1: Lab, lab2: Lab) -> float:
    """The CIEDE2000 colour difference (kL = kC = kH = 1), after Sharma et al. 2005."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)

    def hue(a: float, b: float) -> float:
        return 0.0 if a == b == 0 else math.degrees(math.atan2(b, a)) % 360
    h1p, h2p = hue(a1p, b1), hue(a2p, b2)
    d_l, d_c = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        d_h_angle = 0.0
    else:
        d_h_angle = h2p - h1p
        if d_h_angle > 180:
            d_h_angle -= 360
        elif d_h_angle < -180:
            d_h_angle += 360
    d_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(d_h_angle / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    elif h1p + h2p < 360:
        h_mean = (h1p + h2p + 360) / 2
    else:
        h_mean = (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30))
         + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6))
         - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_mean ** 7 / (cp_mean ** 7 + 25 ** 7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2
                     + r_t * (d_c / s_c) * (d_h / s_h))


SHARMA: list[tuple[Lab, Lab, float]] = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]
"""Sharma et al. 2005, Table 1: the 34 test pairs and their ΔE00 to four decimals."""


def test_ciede2000_matches_the_published_test_data() -> None:
    for lab1, lab2, expected in SHARMA:
        assert round(ciede2000(lab1, lab2), 4) == expected, (lab1, lab2)
        assert round(ciede2000(lab2, lab1), 4) == expected  # symmetric


def test_simulation_keeps_greys_and_finds_the_pairs_the_issue_reported() -> None:
    """The matrices' rows sum to 1 (a grey stays grey), and the old palette's two lost
    pairs (issue 15, item 7) merge: under protanopia the long skip's orange and the
    highway's green, under deuteranopia the residual's blue and the dense violet."""
    grey = linear("#777777")
    for vision in MACHADO:
        assert simulate(grey, vision) == pytest.approx(grey, abs=1e-5)

    def seen(a: str, b: str, vision: str) -> float:
        return ciede2000(to_lab(simulate(linear(a), vision)), to_lab(simulate(linear(b), vision)))
    orange, green, blue, violet = "#e8590c", "#2b8a3e", "#1c6bb0", "#7048e8"
    assert seen(orange, green, "normal") > 55 and seen(orange, green, "protanopia") < 7
    assert seen(blue, violet, "normal") > 20 and seen(blue, violet, "deuteranopia") < 7


def min_differences() -> dict[str, tuple[float, str, str]]:
    """For each vision, the closest pair of edge-kind colours: (ΔE00, kind, kind)."""
    out = {}
    for vision in VISIONS:
        labs = {k: to_lab(simulate(linear(e.style.color), vision))
                for k, e in EDGE_KINDS.items()}
        out[vision] = min((ciede2000(labs[a], labs[b]), a, b)
                          for a, b in itertools.combinations(labs, 2))
    return out


def test_every_pair_of_kind_colours_stays_apart_for_colour_blind_readers() -> None:
    """Acceptance 3: all eight edge kinds (the six connection kinds, sequence, control),
    every pair, in normal vision and under the three dichromacies."""
    found = min_differences()
    assert {v: d > 20 for v, (d, _, _) in found.items()} == dict.fromkeys(VISIONS, True), found
    # what the palette measures today (a changed colour must keep the margin)
    assert all(d > 21 for d, _, _ in found.values()), found


def test_every_kind_colour_shows_on_white_paper() -> None:
    white = {v: to_lab(simulate(linear("#ffffff"), v)) for v in VISIONS}
    for name, kind in EDGE_KINDS.items():
        for vision in VISIONS:
            lab = to_lab(simulate(linear(kind.style.color), vision))
            assert ciede2000(lab, white[vision]) > 20, (name, vision)


def test_merge_fills_are_light_tints_of_their_kind() -> None:
    """A merge symbol's fill (Style.fill) is 15 % of its kind's colour on white, so that
    its + / ‖ / × stays readable."""
    for name in CONNECTIONS:
        style = EDGE_KINDS[name].style
        tint = "#" + "".join(f"{round(255 - (255 - int(style.color[i:i + 2], 16)) * 0.15):02x}"
                             for i in (1, 3, 5))
        assert style.fill == tint, name
        assert to_lab(linear(style.fill))[0] > 85


def test_every_kind_has_its_own_line_pattern_in_every_format() -> None:
    """Graphviz (PNG, PDF, SVG): dash and number of parallel strokes; Mermaid: dash array
    and width. Colour is left out: these tell the kinds apart in greyscale."""
    kinds = EDGE_KINDS.values()
    graphviz_patterns = {(k.style.dash, k.style.lines) for k in kinds}
    assert len(graphviz_patterns) == len(EDGE_KINDS)
    looks = {tuple(v for a, v in edge_style(k.style).items() if a in ("style", "color"))
             for k in kinds}
    grey = {(k.style.dash, edge_style(k.style)["color"].count(":invis:")) for k in kinds}
    assert len(looks) == len(grey) == len(EDGE_KINDS)
    mermaid = {(k.style.dasharray, link_width(k.style)) for k in kinds}
    assert len(mermaid) == len(EDGE_KINDS)
    for k in kinds:
        assert ("stroke-dasharray:" in link_style(k.style)) == (k.style.dash != "solid"
                                                                or k.style.lines == 3)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' missing")
def test_svg_lines_differ_without_colour() -> None:
    """In the SVG that dot draws, each kind's edge has its own (strokes, dash array):
    what is left of it when printed in grey."""
    view = View("kinds")
    view.nodes = {f"n{i}": ViewNode(f"n{i}", "op", "relu", [f"n{i}"])
                  for i in range(2 * len(EDGE_KINDS))}
    view.edges = [ViewEdge(f"n{2 * i}", f"n{2 * i + 1}", kind)
                  for i, kind in enumerate(EDGE_KINDS)]
    svg = subprocess.run(["dot", "-Tsvg"], input=to_dot_source(view), capture_output=True,
                         text=True, check=True).stdout
    ns = "{http://www.w3.org/2000/svg}"
    seen = {}
    for g in ET.fromstring(svg).iter(f"{ns}g"):
        classes = g.get("class", "").split()
        if classes[:1] == ["edge"] and "legend" not in classes:
            paths = [p for p in g.iter(f"{ns}path")
                     if p.get("stroke") not in (None, "none", "transparent")]
            seen[classes[1]] = (len(paths), paths[0].get("stroke-dasharray"))
    assert set(seen) == set(EDGE_KINDS)
    assert len(set(seen.values())) == len(EDGE_KINDS), seen
    assert seen["residual"][0] == 2 and seen["parallel"][0] == 3
