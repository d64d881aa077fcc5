"""Draw an architecture: SVG, PNG, PDF, TikZ (through Graphviz's ``dot``), DOT and Mermaid.

The picture is built in four steps: :func:`resgraph.render.view.build_view` decides
what is drawn (collapsing runs of identical blocks, opening scopes to ``depth``),
:mod:`resgraph.render.layout` how the chain is bent (the U of an encoder–decoder, the
snake of a fitted figure), :mod:`resgraph.render.dot` and :mod:`resgraph.render.mermaid`
write it out, and ``dot`` lays it out for the image formats (``.tex``: TikZ drawn from
``dot``'s JSON layout by :mod:`resgraph.render.tikz`). Options (all keywords):

``collapse``
    ``True`` draws each run of identical consecutive blocks once, ``False`` draws every
    instance, ``None`` (default) lets :func:`~resgraph.render.view.build_view` decide.
``depth``
    open scopes only this many levels deep (``0``: every top-level block is one box);
    ``None`` (default) opens everything.
``shapes``, ``params``
    label edges with tensor shapes (``"changes"`` or ``True``: where they change;
    ``"all"``: every edge); add parameter counts to nodes and clusters.
``rankdir``
    ``"TB"`` (default, top to bottom) or ``"LR"``.
``legend``, ``font_family``
    ``"compact"`` (default), ``"full"`` or ``"none"``; the font of every text.
``fit``, ``font``
    a page width (``"3.3in"``, ``"8.4cm"``, ``"240pt"``) and the smallest text in points
    at that width (default 7 with ``fit``): see :mod:`resgraph.render.fit`. ``font``
    alone sets every font so that the smallest is that size.
``dpi``
    a PNG's resolution (default 96).
``layout``
    ``"auto"`` (default: the U where the skips are mirrored) or ``"plain"``.
``dot_memory``
    the memory ``dot`` may use, in MiB (default 4,096); it also has 120 s.

``.dot`` and ``.mmd`` need no ``dot`` program (``fit`` does: it lays candidates out).
Without it an image format writes the ``.dot`` beside the requested file and raises
``ResgraphError`` ``RG601``. Bounds: ``dot`` runs under a memory limit (``dot_memory``)
and a time limit (``DOT_TIMEOUT``); a diagram with more than ``MAX_DOT_NODES`` nodes,
``MAX_DOT_EDGES`` edges or ``MAX_DOT_CLUSTERS`` boxes around blocks, or whose edges
cross more than ``MAX_DOT_SPAN`` ranks in all, is refused (``RG605``) before ``dot``
runs, since laying it out would take more than that (dot needs gigabytes for 10,000
blocks, crashes on a chain of 40,000 nodes, and takes minutes over an expanded
DenseNet-201). Whenever ``dot`` scales a drawing down, a :class:`RenderWarning` says so
(the CLI prints it). Every file is written whole or not at all
(:func:`resgraph.util.atomic_write`). torch is never imported here.

>>> import resgraph
>>> arch = resgraph.load("examples/resnet18.rg")
>>> to_mermaid(arch, collapse=True).splitlines()[0]
'flowchart TB'
>>> render(arch, "/tmp/resnet18.svg")  # doctest: +SKIP
'/tmp/resnet18.svg'
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.render.dot import FONT, to_digraph
from resgraph.render.fit import (
    Candidate,
    Layout,
    choose,
    parse_length,
    pieces_to_try,
    run_dot,
    scale_fonts,
    tighten,
    wrap_titles,
)
from resgraph.render.layout import Arrangement, order, snake, u_shape, unwrap
from resgraph.render.mermaid import to_mermaid_text
from resgraph.render.style import LEGEND_MODES
from resgraph.render.view import View, build_view, shapes_mode
from resgraph.util import atomic_write, short_count

IMAGE_FORMATS = ("svg", "png", "pdf")
FORMATS = (*IMAGE_FORMATS, "dot", "mmd", "tex")
LARGE_EDGES = 300  # above this many edges, dot gets bounded layout effort
DOT_TIMEOUT = 120  # seconds; a layout that takes longer is an error, never a hang
DOT_MEMORY = 4096  # MiB of address space for dot by default (the dot_memory option)
MAX_DOT_NODES = 10_000  # larger diagrams are refused before dot runs (RG605) ...
MAX_DOT_EDGES = 20_000
MAX_DOT_CLUSTERS = 2_000  # ... clusters cost dot most: 4,000 took 32 s and 1.5 GB
MAX_DOT_SPAN = 40_000
"""... and so do long edges: the ranks all edges span together (every rank an edge
crosses is a point dot must place and route). An expanded DenseNet-121 spans 27,756
and takes dot about 10 s; DenseNet-169 (88,384) and -201 (184,440) took minutes."""
LAYOUTS = ("auto", "plain")
"""``auto`` bends the layout where that helps (the U of an encoder–decoder network);
``plain`` draws one straight chain."""


@dataclass(frozen=True)
class RenderOptions:
    """The drawing options (see the module docstring)."""

    collapse: bool | None = None
    depth: int | None = None
    shapes: bool | str | None = None
    params: bool = False
    rankdir: str = "TB"
    dot_memory: int = DOT_MEMORY
    legend: str = "compact"
    fit: str | None = None
    font: float | None = None
    font_family: str | None = None
    dpi: int | None = None
    layout: str = "auto"

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> RenderOptions:
        """Check keyword options and build them; a bad name or value is ``RG603``.

        >>> RenderOptions.from_kwargs({"depth": 2}).depth
        2
        >>> RenderOptions.from_kwargs({"fit": "3.3in"}).font  # --fit alone: text >= 7 pt
        7.0
        """
        names = [f.name for f in fields(cls)]
        for key in options:
            if key not in names:
                raise ResgraphError("RG603", f"unknown render option '{key}'; the options "
                                    f"are {', '.join(names)}")
        opts = cls(**options)
        if opts.depth is not None and (isinstance(opts.depth, bool)
                                       or not isinstance(opts.depth, int) or opts.depth < 0):
            raise ResgraphError("RG603", f"render depth must be a whole number >= 0, got "
                                f"{opts.depth!r}")
        if opts.rankdir not in ("TB", "LR"):
            raise ResgraphError("RG603", f"rankdir must be TB or LR, got {opts.rankdir!r}")
        if isinstance(opts.dot_memory, bool) or not isinstance(opts.dot_memory, int) \
                or opts.dot_memory < 64:
            raise ResgraphError("RG603", f"dot's memory limit must be a whole number of MiB "
                                f">= 64, got {opts.dot_memory!r}")
        if opts.legend not in LEGEND_MODES:
            raise ResgraphError("RG603", f"the legend must be one of {', '.join(LEGEND_MODES)}"
                                f", got {opts.legend!r}")
        if opts.layout not in LAYOUTS:
            raise ResgraphError("RG603", f"the layout must be one of {', '.join(LAYOUTS)}, got "
                                f"{opts.layout!r}")
        if opts.fit is not None:
            parse_length(opts.fit)
        if opts.font is not None and (isinstance(opts.font, bool)
                                      or not isinstance(opts.font, int | float)
                                      or not 3 <= opts.font <= 72):
            raise ResgraphError("RG603", f"the smallest font must be between 3 and 72 pt, got "
                                f"{opts.font!r}")
        if opts.dpi is not None and (isinstance(opts.dpi, bool) or not isinstance(opts.dpi, int)
                                     or not 10 <= opts.dpi <= 2400):
            raise ResgraphError("RG603", f"the PNG resolution must be a whole number of dots "
                                f"per inch from 10 to 2,400, got {opts.dpi!r}")
        if opts.font_family is not None and (not isinstance(opts.font_family, str)
                                             or not opts.font_family.strip()
                                             or not opts.font_family.isprintable()):
            raise ResgraphError("RG603", f"the font family must be a name such as 'Times' or "
                                f"'Latin Modern Roman', got {opts.font_family!r}")
        shapes_mode(opts.shapes)
        if opts.fit is not None and opts.font is None:
            opts = replace(opts, font=DEFAULT_FIT_FONT)
        return opts


DEFAULT_FIT_FONT = 7.0
"""The smallest text of a ``fit`` figure when no ``font`` is given (points)."""


def view_of(arch: Architecture, opts: RenderOptions) -> View:
    """The :class:`~resgraph.render.view.View` that these options draw."""
    return build_view(arch, collapse=opts.collapse, depth=opts.depth,
                      shapes=shapes_mode(opts.shapes), params=opts.params)


def title(arch: Architecture) -> str:
    """The diagram's title: the network's name and parameter count.

    >>> import resgraph
    >>> title(resgraph.load("examples/resnet18.rg"))
    'resnet18 · 11.7M params'
    """
    return f"{arch.name} · {short_count(arch.num_params)} params"


def arrangement(view: View, opts: RenderOptions) -> Arrangement | None:
    """How the view is bent (:mod:`resgraph.render.layout`): the U of an encoder–decoder
    network unless ``layout="plain"``; otherwise a straight chain (None)."""
    return u_shape(view) if opts.layout == "auto" else None


def _source(arch: Architecture, view: View, opts: RenderOptions,
            arr: Arrangement | None) -> str:
    """The DOT text of a view: title, legend, font family and smallest font as asked."""
    text = to_digraph(view, rankdir=opts.rankdir, title=title(arch), legend=opts.legend,
                      font=opts.font_family or FONT, arrangement=arr,
                      legend_first=opts.fit is not None, tight=opts.fit is not None).source
    if opts.fit is not None:
        text = wrap_titles(tighten(text))
    return scale_fonts(text, opts.font) if opts.font is not None else text


def to_dot(arch: Architecture, **options: Any) -> str:
    """The Graphviz DOT text of the diagram (no ``dot`` program needed; ``fit`` needs it)."""
    return _prepare(arch, RenderOptions.from_kwargs(options)).source


def to_mermaid(arch: Architecture, **options: Any) -> str:
    """The Mermaid flowchart of the diagram, with the same collapsing as the picture."""
    opts = RenderOptions.from_kwargs(options)
    return to_mermaid_text(view_of(arch, opts), rankdir=opts.rankdir)


@dataclass
class Drawing:
    """A diagram ready for ``dot``: the view drawn, its DOT text, how it was laid out
    (``layout``: plain, u, or snake into N pieces, and for ``fit`` its depth) and the
    warnings met on the way."""

    view: View
    source: str
    layout: str = "plain"
    warnings: list[str] = field(default_factory=list)


def _prepare(arch: Architecture, opts: RenderOptions, image: bool = False) -> Drawing:
    """Choose the view and its arrangement; with ``fit``, search the layouts that fit.
    For an ``image``, a view too large for ``dot`` is refused before any DOT is written."""
    if opts.fit is None:
        view = view_of(arch, opts)
        if image:
            check_drawable(view, opts)
        arr = arrangement(view, opts)
        return Drawing(view, _source(arch, view, opts, arr), arr.kind if arr else "plain")
    if dot_missing():
        raise _missing_error(f"a diagram fitted to {opts.fit} (fitting lays it out)")
    width = parse_length(opts.fit)
    found: dict[str, tuple[View, str]] = {}
    refused: list[ResgraphError] = []

    def tries() -> Iterator[Candidate]:
        depths: list[int | None] = [opts.depth]
        deepest = opts.depth if opts.depth is not None else 3
        depths += [d for d in (2, 1, 0) if d < deepest]
        seen: set[tuple[str, ...]] = set()
        for depth in depths:
            view = view_of(arch, replace(opts, depth=depth))
            key = tuple(view.nodes)
            if key in seen:
                continue  # this depth draws what a deeper one drew
            seen.add(key)
            try:
                check_drawable(view, opts)
            except ResgraphError as exc:  # too large at this depth: try less deep ones
                refused.append(exc)
                continue
            arr = arrangement(view, opts)
            kind = arr.kind if arr else "plain"
            where = "" if depth == opts.depth else f", --depth {depth}"
            first = _candidate(arch, view, opts, arr, f"{kind}{where}")
            found[first.what] = (view, kind + where)
            yield first
            if arr is not None:
                continue
            axis = 1 if opts.rankdir == "TB" else 0
            along = {n: -p[axis] / 72 if axis else p[axis] / 72
                     for n, p in first.layout.centres.items()}
            flat = unwrap(view)
            if len(flat.clusters) < len(view.clusters):  # without the wrapping block
                what = f"plain, without its outer block{where}"
                found[what] = (flat, what)
                yield _candidate(arch, flat, opts, None, what)
            for pieces in pieces_to_try(first.layout, width, opts.rankdir):
                # pieces of equal length, or of equal counts of stages: the widest parts
                # may then fall into different pieces
                bents = [snake(flat, pieces, along), snake(flat, pieces)]
                if bents[0] == bents[1]:
                    del bents[1]
                if bents[0].kind != "snake":
                    break
                widths = []
                for j, bent in enumerate(bents):
                    what = (f"snake of {pieces} {'columns' if axis else 'rows'}"
                            f"{' (by stages)' if j else ''}{where}")
                    cand = _candidate(arch, flat, opts, bent, what)
                    found[what] = (flat, what)
                    widths.append(cand.layout.width)
                    yield cand
                if axis and min(widths) > width:
                    break  # more columns are only wider

    try:
        best = choose(tries(), width)
    except ResgraphError as exc:
        if not found and refused:
            raise refused[-1] from None
        raise exc from None
    view, how = found[best.what]
    return Drawing(view, best.source, how)


def _candidate(arch: Architecture, view: View, opts: RenderOptions, arr: Arrangement | None,
               what: str) -> Candidate:
    source = _source(arch, view, opts, arr)
    return Candidate(what, source, Layout.parse(_run(source, "plain", view, opts)[0]
                                                .decode("utf-8", "replace")))


def dot_missing() -> bool:
    """Whether Graphviz's ``dot`` program is missing from ``PATH``."""
    return shutil.which("dot") is None


def _missing_error(what: str, fallback: str | None = None) -> ResgraphError:
    wrote = f" (wrote {fallback} instead)" if fallback else ""
    return ResgraphError("RG601", f"cannot write {what}: the 'dot' program is missing; "
                         f"install it with: apt-get install graphviz{wrote}")


def smaller(view: View, opts: RenderOptions) -> str:
    """How to draw less: collapsed (unless it already is), less deep, or not as an image.

    >>> import resgraph
    >>> arch = resgraph.load("examples/resnet18.rg")
    >>> smaller(view_of(arch, RenderOptions(collapse=True)), RenderOptions(collapse=True))
    'draw it less deep (--depth 1) or write .dot / .mmd instead'
    """
    ways = [] if view.collapsed else ["collapsed (--collapse)"]
    if opts.depth is None or opts.depth > 1:
        ways.append("less deep (--depth 1)")
    elif opts.depth == 1:
        ways.append("less deep (--depth 0)")
    draw = f"draw it {' or '.join(ways)} or " if ways else ""
    return f"{draw}write .dot / .mmd instead"


def check_drawable(view: View, opts: RenderOptions) -> None:
    """Refuse (``RG605``) a view too large for ``dot`` to lay out within its limits.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[8]\\n x -> (linear(8) -> relu) * 2500 }")
    >>> try:
    ...     check_drawable(view_of(arch, RenderOptions(collapse=False)), RenderOptions())
    ... except ResgraphError as exc:
    ...     print(exc.code, exc.message)
    RG605 the diagram has 5,001 nodes, 5,000 edges and 2,500 boxes around blocks, more than \
dot can lay out (at most 10,000 nodes, 20,000 edges and 2,000 boxes); draw it collapsed \
(--collapse) or less deep (--depth 1) or write .dot / .mmd instead
    """
    nodes, edges, clusters = len(view.nodes), len(view.edges), len(view.clusters)
    if nodes > MAX_DOT_NODES or edges > MAX_DOT_EDGES or clusters > MAX_DOT_CLUSTERS:
        raise ResgraphError("RG605", f"the diagram has {nodes:,} nodes, {edges:,} edges and "
                            f"{clusters:,} boxes around blocks, more than dot can lay out (at "
                            f"most {MAX_DOT_NODES:,} nodes, {MAX_DOT_EDGES:,} edges and "
                            f"{MAX_DOT_CLUSTERS:,} boxes); {smaller(view, opts)}")
    spans = span(view)
    if spans > MAX_DOT_SPAN:
        raise ResgraphError("RG605", f"the diagram's {edges:,} edges cross {spans:,} ranks in "
                            f"all (long edges, such as a dense block's, cross every layer "
                            f"between their ends), more than dot lays out in a minute (at most "
                            f"{MAX_DOT_SPAN:,}); {smaller(view, opts)}")


def span(view: View) -> int:
    """How many ranks the view's edges cross in all (by topological place), the measure
    of how long dot takes to place and route them.

    >>> import resgraph
    >>> span(view_of(resgraph.load("examples/resnet18.rg"), RenderOptions(collapse=True)))
    42
    """
    place = order(view)
    return sum(abs(place[e.dst] - place[e.src]) for e in view.edges)


def _memory_limit(mib: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that limits the child's address space to ``mib`` MiB (None where
    the platform has no ``resource`` module)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None

    def limit() -> None:  # runs in the child, between fork and exec
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = mib * 2**20
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        except (ValueError, OSError):  # pragma: no cover - a platform without RLIMIT_AS
            pass

    return limit


def dot_failure(returncode: int, stderr: bytes) -> str:
    """What went wrong with ``dot``: its exit status or the signal that killed it, and its
    own message (whitespace collapsed, at most 300 characters).

    >>> dot_failure(1, b"Error: <stdin>: syntax error in line 3\\n")
    "the 'dot' program failed: Error: <stdin>: syntax error in line 3"
    >>> dot_failure(-11, b"out of memory\\n")
    "the 'dot' program was killed by SIGSEGV: out of memory"
    >>> dot_failure(2, b"")
    "the 'dot' program failed with exit status 2 and no message"
    """
    text = " ".join(stderr.decode("utf-8", "replace").split())
    if len(text) > 300:
        text = text[:299] + "…"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the 'dot' program was killed by {name}" + (f": {text}" if text else "")
    if not text:
        return f"the 'dot' program failed with exit status {returncode} and no message"
    return f"the 'dot' program failed: {text}"


SCALED = re.compile(rb"[Ss]caling by ([0-9.]+)")


def scaling_warnings(stderr: bytes, fmt: str) -> list[str]:
    """The warnings to show for ``dot``'s messages: each time it scaled the drawing down.

    >>> scaling_warnings(b"Warning: Graph is too large for cairo-renderer bitmaps. "
    ...                  b"Scaling by 0.163 to fit\\n", "png")  # doctest: +ELLIPSIS
    ['dot scaled the png down to 0.163 of its size (too large for a bitmap): ...']
    >>> scaling_warnings(b"", "svg")
    []
    """
    found = []
    for match in SCALED.finditer(stderr):
        factor = float(match.group(1))
        if factor < 1:
            found.append(f"dot scaled the {fmt} down to {factor:.3g} of its size (too large for "
                         f"a bitmap): its text is {factor:.0%} of the size asked for; draw it "
                         f"collapsed or less deep, write .svg or .pdf, or lower --dpi")
    return found


def _run(source: str, fmt: str, view: View, opts: RenderOptions) -> tuple[bytes, bytes]:
    """Run ``dot -T<fmt>`` under the time and memory limits; its output and messages."""
    if len(view.edges) > LARGE_EDGES:
        # Bound dot's crossing minimisation and network simplex: without this an expanded
        # DenseNet-121 (~1,000 edges) takes minutes; with it, seconds.
        source = source.replace("\tgraph [", "\tgraph [mclimit=0.1 nslimit=1 nslimit1=1 ", 1)
    if fmt == "png" and opts.dpi is not None:
        source = source.replace("\tgraph [", f"\tgraph [dpi={opts.dpi} ", 1)
    try:
        done = run_dot(source, fmt, DOT_TIMEOUT, _memory_limit(opts.dot_memory))
    except subprocess.TimeoutExpired:
        raise ResgraphError("RG604", f"the 'dot' program did not finish laying out "
                            f"{len(view.nodes):,} nodes within {DOT_TIMEOUT} s; "
                            f"{smaller(view, opts)}") from None
    if done.returncode != 0:
        message = dot_failure(done.returncode, done.stderr)
        if done.returncode < 0 or b"memory" in done.stderr.lower():
            message += (f" (dot may use {opts.dot_memory:,} MiB: raise it with --dot-memory, "
                        f"or {smaller(view, opts)})")
        raise ResgraphError("RG604", message)
    return done.stdout, done.stderr


def _image(drawing: Drawing, opts: RenderOptions, fmt: str) -> bytes:
    """Lay the drawing out as ``fmt`` (``tex``: TikZ from dot's JSON layout); scaling
    warnings go into ``drawing.warnings``."""
    check_drawable(drawing.view, opts)
    if dot_missing():
        raise _missing_error(fmt)
    if fmt == "tex":
        from resgraph.render.tikz import tikz_from_layout

        layout, _ = _run(drawing.source, "json", drawing.view, opts)
        return tikz_from_layout(layout.decode("utf-8"), font=opts.font_family).encode("utf-8")
    data, stderr = _run(drawing.source, fmt, drawing.view, opts)
    drawing.warnings += scaling_warnings(stderr, fmt)
    return data


def to_image(arch: Architecture, fmt: str, **options: Any) -> bytes:
    """The diagram as ``svg``, ``png`` or ``pdf`` bytes, laid out by ``dot``."""
    opts = RenderOptions.from_kwargs(options)
    drawing = _prepare(arch, opts, image=True)
    data = _image(drawing, opts, fmt)
    for text in drawing.warnings:
        warnings.warn(text, RenderWarning, stacklevel=2)
    return data


def to_svg(arch: Architecture, **options: Any) -> str:
    """The diagram as SVG text (what Jupyter shows for an ``Architecture``)."""
    return to_image(arch, "svg", **options).decode("utf-8")


def output_format(path: str) -> str:
    """The format named by a file's extension.

    >>> output_format("net.SVG")
    'svg'
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ResgraphError("RG602", f"cannot tell the format of '{path}' from its extension; "
                            f"use one of {', '.join('.' + f for f in FORMATS)}")
    return fmt


class RenderWarning(UserWarning):
    """A diagram was written, but not quite as asked (``dot`` scaled it down)."""


def render(arch: Architecture, path: str, **options: Any) -> str:
    """Write the diagram to ``path`` (format from the extension); return ``path``.

    Without the ``dot`` program an image format writes the ``.dot`` beside ``path``
    (``net.svg`` → ``net.dot``) and raises ``RG601`` saying how to install Graphviz.
    A drawing that ``dot`` scaled down is written, with a :class:`RenderWarning`.
    """
    drawing = write(arch, path, RenderOptions.from_kwargs(options))
    for text in drawing.warnings:
        warnings.warn(text, RenderWarning, stacklevel=2)
    return path


def write(arch: Architecture, path: str, opts: RenderOptions) -> Drawing:
    """Write the diagram to ``path``; return what was drawn (view, layout, warnings)."""
    fmt = output_format(path)
    target = Path(path)
    if fmt == "mmd":
        view = view_of(arch, opts)
        _save(target, to_mermaid_text(view, rankdir=opts.rankdir).encode("utf-8"))
        return Drawing(view, "")
    drawing = _prepare(arch, opts, image=fmt not in ("dot", "mmd"))
    if fmt == "dot":
        _save(target, drawing.source.encode("utf-8"))
        return drawing
    check_drawable(drawing.view, opts)
    if dot_missing():
        fallback = target.with_suffix(".dot")
        _save(fallback, drawing.source.encode("utf-8"))
        raise _missing_error(path, str(fallback))
    _save(target, _image(drawing, opts, fmt))
    return drawing


def _save(target: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all (a failure keeps the old file): ``RG602``."""
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise ResgraphError("RG602", f"cannot write the diagram to '{target}': "
                            f"{exc.strerror or exc}") from None


def cli_main(arch: Architecture, *, output: str, **options: Any) -> int:
    """``resgraph render``: write the diagram to ``output``, print what was drawn (and any
    warning, on stderr), return 0. ``options`` are :class:`RenderOptions`' fields.

    >>> import os, tempfile, resgraph
    >>> out = os.path.join(tempfile.mkdtemp(), "r18.mmd")
    >>> cli_main(resgraph.load("examples/resnet18.rg"), output=out, collapse=True, depth=0)
    ... # doctest: +ELLIPSIS
    wrote .../r18.mmd: 12 nodes, ... edges (collapsed)
    0
    """
    opts = RenderOptions.from_kwargs(options)
    drawing = write(arch, output, opts)
    view = drawing.view
    how = "collapsed" if view.collapsed else "expanded"
    if drawing.layout != "plain":
        how += f", {drawing.layout}"
    print(f"wrote {output}: {len(view.nodes)} nodes, {len(view.edges)} edges ({how})")
    for text in drawing.warnings:
        print(f"warning: {text}", file=sys.stderr)
    return 0
