"""Fitting a diagram to a page: a target width, a smallest font, and layouts to try.

``--fit 3.3in --font 7`` asks for a figure at most 3.3 inches wide whose smallest text is
7 pt *at that width*. Since a figure scaled down shrinks its text, resgraph never lets
``dot`` scale: every font is set so that the smallest is exactly the minimum (the others
keep their proportions, :func:`scale_fonts`), and the layout itself must then be narrow
enough. Layouts are tried in order (:func:`candidates`): the view as asked, then the
same view wrapped into 2, 3, … pieces side by side (the snake of
:mod:`resgraph.render.layout`), then less deep views. The first whose width fits and
whose height is at most ``ASPECT`` times its width wins; if none is that short, the
shortest that fits; if none fits, ``RG613`` says how wide the narrowest one was.

>>> parse_length("3.3in"), parse_length("8.4cm"), parse_length("240pt")
(237.6, 238.11, 240.0)
>>> scale_fonts('a [fontsize=10] b [label=<<FONT POINT-SIZE="8">x</FONT>>]', 7)
'a [fontsize=8.75] b [label=<<FONT POINT-SIZE="7">x</FONT>>]'
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from resgraph.errors import ResgraphError

UNITS = {"in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4, "pt": 1.0}
"""Points per unit of ``--fit`` lengths."""
ASPECT = 3.0
"""The tallest figure fitting prefers: height at most this many times the width."""
MAX_PIECES = 6
"""The most pieces a snake layout cuts a chain into."""
PAD = 2.88
"""Points ``dot`` adds around a fitted drawing (its ``pad``, 0.02 in a side)."""

FONT_SIZE = re.compile(r'(?<=[\s\[,])fontsize="?(\d+(?:\.\d+)?)"?|POINT-SIZE="(\d+(?:\.\d+)?)"')


def parse_length(text: str) -> float:
    """A length such as ``3.3in``, ``8.4cm``, ``84mm`` or ``240pt``, in points (``RG603``
    for anything else or for a length under one inch)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(in|cm|mm|pt)\s*", str(text))
    if not match:
        raise ResgraphError("RG603", f"the page width must be a number and a unit (in, cm, mm "
                            f"or pt), such as 3.3in or 8.4cm; got {text!r}")
    points = round(float(match.group(1)) * UNITS[match.group(2)], 2)
    if points < 72:
        raise ResgraphError("RG603", f"a page width of {text} is under one inch; no diagram "
                            "fits that")
    return points


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def font_sizes(source: str) -> list[float]:
    """Every font size a DOT text sets (attributes and HTML ``POINT-SIZE``)."""
    return [float(a or b) for a, b in FONT_SIZE.findall(source)]


def scale_fonts(source: str, smallest: float) -> str:
    """``source`` with every font size scaled by one factor, so that the smallest is
    ``smallest`` points."""
    sizes = font_sizes(source)
    if not sizes:
        return source
    factor = smallest / min(sizes)

    def scaled(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return f"fontsize={_number(float(match.group(1)) * factor)}"
        return f'POINT-SIZE="{_number(float(match.group(2)) * factor)}"'

    return FONT_SIZE.sub(scaled, source)


BOLD = re.compile(r"<B>([^<]*)</B>")
WRAP = 28
"""Bold titles longer than this many characters are wrapped (:func:`wrap_titles`)."""


def wrap(text: str, limit: int = WRAP) -> list[str]:
    """``text`` in lines of at most ``limit`` characters where it can be, broken after a
    colon, comma or opening parenthesis.

    >>> wrap("inception4e: inception(256, 160, 320, 32, 128, 128)")
    ['inception4e: inception(256,', '160, 320, 32, 128, 128)']
    """
    lines: list[str] = []
    for word in re.split(r"(?<=[:,]) ", text):
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def wrap_titles(source: str, limit: int = WRAP, br: str = "<BR/>") -> str:
    """``source`` with every bold title longer than ``limit`` characters wrapped.

    >>> wrap_titles("<<B>features: densenet_features(6, 12, 24, 16, growth=32)</B>>")
    '<<B>features:<BR/>densenet_features(6, 12, 24,<BR/>16, growth=32)</B>>'
    """

    def wrapped(match: re.Match[str]) -> str:
        text = match.group(1)
        if len(text) <= limit:
            return match.group(0)
        return "<B>" + br.join(wrap(text, limit)) + "</B>"

    return BOLD.sub(wrapped, source)


SPACING = re.compile(r'(?<=[\s\[,])(height|margin)=("?)([\d.]+(?:,[\d.]+)?)\2(?=[\s\],])')
"""Node heights and margins (a cluster's margin, one number in points, is left alone)."""


def tighten(source: str, factor: float = 0.6) -> str:
    """``source`` with every node's minimum height and margins scaled by ``factor``: at a
    small font, the default padding would take most of a narrow figure.

    >>> tighten('a [height=0.3 margin="0.12,0.04"]')
    'a [height=0.18 margin="0.07,0.02"]'
    """

    def scaled(match: re.Match[str]) -> str:
        if match.group(1) == "margin" and "," not in match.group(3):
            return match.group(0)
        values = ",".join(_number(float(v) * factor) for v in match.group(3).split(","))
        quote = '"' if "," in values else match.group(2)
        return f"{match.group(1)}={quote}{values}{quote}"

    return SPACING.sub(scaled, source)


@dataclass
class Layout:
    """What ``dot -Tplain`` says of a layout: its size in points and node centres."""

    width: float
    height: float
    centres: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def parse(cls, plain: str) -> Layout:
        """Read ``dot -Tplain`` output (inches) into points, pad included.

        >>> Layout.parse("graph 1 2 3\\nnode a 0.5 1.5 1 0.5 x solid box black lightgrey\\n")
        Layout(width=146.88, height=218.88, centres={'a': (36.0, 108.0)})
        """
        lines = plain.splitlines()
        _, scale, width, height = lines[0].split()[:4]
        s = float(scale) * 72
        centres = {}
        for line in lines[1:]:
            parts = line.split()
            if parts and parts[0] == "node":
                centres[parts[1].strip('"')] = (float(parts[2]) * s, float(parts[3]) * s)
        return cls(float(width) * s + PAD, float(height) * s + PAD, centres)


def measure(source: str, run: Callable[[str, str], bytes]) -> Layout:
    """Lay ``source`` out with ``run(source, "plain")`` and read its size."""
    return Layout.parse(run(source, "plain").decode("utf-8", "replace"))


@dataclass
class Candidate:
    """One way to draw: a description, the DOT text and its measured layout."""

    what: str
    source: str
    layout: Layout


def choose(tries: Iterator[Candidate], width: float) -> Candidate:
    """The first candidate at most ``width`` points wide and at most ``ASPECT`` times as
    tall as wide; else the shortest one that fits; else ``RG613`` naming the narrowest.

    Candidates come lazily: the search stops at the first that fits well.
    """
    fitting: list[Candidate] = []
    seen: list[Candidate] = []
    for cand in tries:
        seen.append(cand)
        if cand.layout.width <= width:
            if cand.layout.height <= ASPECT * cand.layout.width:
                return cand
            fitting.append(cand)
    if fitting:
        return min(fitting, key=lambda c: c.layout.height)
    if not seen:
        raise ResgraphError("RG613", "there is nothing to fit")
    narrowest = min(seen, key=lambda c: c.layout.width)
    raise ResgraphError("RG613", f"cannot fit the diagram in {width / 72:.2f} in: the narrowest "
                        f"layout tried ({narrowest.what}) is {narrowest.layout.width / 72:.2f} "
                        f"in wide with that smallest font; give a wider --fit, a smaller "
                        f"--font or a smaller --depth")


def pieces_to_try(layout: Layout, width: float, rankdir: str) -> range:
    """How many snake pieces are worth trying after a one-piece ``layout``: a
    top-to-bottom chain is cut into columns when it is over ``ASPECT`` times as tall as
    wide, a left-to-right one into rows when it is too wide or too tall. (The caller
    stops at the first piece count whose columns no longer fit.)

    >>> pieces_to_try(Layout(100.0, 900.0), 237.6, "TB")
    range(2, 7)
    >>> pieces_to_try(Layout(200.0, 300.0), 237.6, "TB")
    range(2, 2)
    """
    tall = layout.height > ASPECT * layout.width
    if rankdir == "TB" and not tall or rankdir == "LR" and not (tall or layout.width > width):
        return range(2, 2)
    return range(2, MAX_PIECES + 1)


def run_dot(source: str, fmt: str, timeout: float,
            preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``dot -T<fmt>`` on ``source`` (the caller checks the result)."""
    return subprocess.run(["dot", f"-T{fmt}"], input=source.encode("utf-8"),
                          capture_output=True, timeout=timeout, preexec_fn=preexec)
