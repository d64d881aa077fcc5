"""Draw an architecture: SVG, PNG, PDF (through Graphviz's ``dot``), DOT and Mermaid.

The picture is built in three steps: :func:`resgraph.render.view.build_view` decides
what is drawn (collapsing runs of identical blocks, opening scopes to ``depth``),
:mod:`resgraph.render.dot` and :mod:`resgraph.render.mermaid` write it out, and
``dot`` lays it out for the image formats. Options (all keywords):

``collapse``
    ``True`` draws each run of identical consecutive blocks once (``basic(64) ×2``),
    ``False`` draws every instance, ``None`` (default) collapses networks of more
    than 150 nodes.
``depth``
    open scopes only this many levels deep (``0``: every top-level block is one box);
    ``None`` (default) opens everything.
``shapes``, ``params``
    label edges with tensor shapes; add parameter counts to nodes and clusters.
``rankdir``
    ``"TB"`` (default, top to bottom) or ``"LR"``.
``dot_memory``
    the memory ``dot`` may use, in MiB (default 4,096); it also has 120 s.

``.dot`` and ``.mmd`` need no ``dot`` program. Without it an image format writes the
``.dot`` beside the requested file and raises ``ResgraphError`` ``RG601``. Bounds:
``dot`` runs under a memory limit (``dot_memory``) and a time limit (``DOT_TIMEOUT``);
a diagram with more than ``MAX_DOT_NODES`` nodes, ``MAX_DOT_EDGES`` edges or
``MAX_DOT_CLUSTERS`` boxes around blocks is refused (``RG605``) before ``dot`` runs,
since laying it out would take more than that (dot needs gigabytes for 10,000 blocks,
and crashes on a chain of 40,000 nodes). Every file is written whole or not at all
(:func:`resgraph.util.atomic_write`). torch is never imported here.

>>> import resgraph
>>> arch = resgraph.load("examples/resnet18.rg")
>>> to_mermaid(arch, collapse=True).splitlines()[0]
'flowchart TB'
>>> render(arch, "/tmp/resnet18.svg")  # doctest: +SKIP
'/tmp/resnet18.svg'
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.render.dot import to_digraph
from resgraph.render.mermaid import to_mermaid_text
from resgraph.render.view import View, build_view
from resgraph.util import atomic_write, short_count

IMAGE_FORMATS = ("svg", "png", "pdf")
FORMATS = (*IMAGE_FORMATS, "dot", "mmd")
LARGE_EDGES = 300  # above this many edges, dot gets bounded layout effort
DOT_TIMEOUT = 120  # seconds; a layout that takes longer is an error, never a hang
DOT_MEMORY = 4096  # MiB of address space for dot by default (the dot_memory option)
MAX_DOT_NODES = 10_000  # larger diagrams are refused before dot runs (RG605) ...
MAX_DOT_EDGES = 20_000
MAX_DOT_CLUSTERS = 2_000  # ... clusters cost dot most: 4,000 took 32 s and 1.5 GB


@dataclass(frozen=True)
class RenderOptions:
    """The drawing options (see the module docstring)."""

    collapse: bool | None = None
    depth: int | None = None
    shapes: bool = False
    params: bool = False
    rankdir: str = "TB"
    dot_memory: int = DOT_MEMORY

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> RenderOptions:
        """Check keyword options and build them; a bad name or value is ``RG603``.

        >>> RenderOptions.from_kwargs({"depth": 2}).depth
        2
        """
        names = [f.name for f in fields(cls)]
        for key in options:
            if key not in names:
                raise ResgraphError("RG603", f"unknown render option '{key}'; the options "
                                    f"are {', '.join(names)}")
        opts = cls(**options)
        if opts.depth is not None and (not isinstance(opts.depth, int) or opts.depth < 0):
            raise ResgraphError("RG603", f"render depth must be a whole number >= 0, got "
                                f"{opts.depth!r}")
        if opts.rankdir not in ("TB", "LR"):
            raise ResgraphError("RG603", f"rankdir must be TB or LR, got {opts.rankdir!r}")
        if isinstance(opts.dot_memory, bool) or not isinstance(opts.dot_memory, int) \
                or opts.dot_memory < 64:
            raise ResgraphError("RG603", f"dot's memory limit must be a whole number of MiB "
                                f">= 64, got {opts.dot_memory!r}")
        return opts


def view_of(arch: Architecture, opts: RenderOptions) -> View:
    """The :class:`~resgraph.render.view.View` that these options draw."""
    return build_view(arch, collapse=opts.collapse, depth=opts.depth, shapes=opts.shapes,
                      params=opts.params)


def _title(arch: Architecture, view: View) -> str:
    text = f"{arch.name} · {short_count(arch.num_params)} params"
    if any(c.repeat > 1 for c in view.clusters.values()) or any(
            n.repeat > 1 for n in view.nodes.values()):
        text += " · ×n: n identical blocks in a row, drawn once"
    return text


def to_dot(arch: Architecture, **options: Any) -> str:
    """The Graphviz DOT text of the diagram (no ``dot`` program needed)."""
    opts = RenderOptions.from_kwargs(options)
    return _dot_source(arch, view_of(arch, opts), opts)


def _dot_source(arch: Architecture, view: View, opts: RenderOptions) -> str:
    return to_digraph(view, rankdir=opts.rankdir, title=_title(arch, view)).source


def to_mermaid(arch: Architecture, **options: Any) -> str:
    """The Mermaid flowchart of the diagram, with the same collapsing as the picture."""
    opts = RenderOptions.from_kwargs(options)
    return to_mermaid_text(view_of(arch, opts), rankdir=opts.rankdir)


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


def _image(arch: Architecture, view: View, opts: RenderOptions, fmt: str) -> bytes:
    check_drawable(view, opts)
    if dot_missing():
        raise _missing_error(fmt)
    digraph = to_digraph(view, rankdir=opts.rankdir, title=_title(arch, view))
    if len(view.edges) > LARGE_EDGES:
        # Bound dot's crossing minimisation and network simplex: without this an expanded
        # DenseNet-121 (~1,000 edges) takes minutes; with it, seconds.
        digraph.graph_attr.update(mclimit="0.1", nslimit="1", nslimit1="1")
    try:
        done = subprocess.run(["dot", f"-T{fmt}"], input=digraph.source.encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT,
                              preexec_fn=_memory_limit(opts.dot_memory))
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
    return done.stdout


def to_image(arch: Architecture, fmt: str, **options: Any) -> bytes:
    """The diagram as ``svg``, ``png`` or ``pdf`` bytes, laid out by ``dot``."""
    opts = RenderOptions.from_kwargs(options)
    return _image(arch, view_of(arch, opts), opts, fmt)


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


def render(arch: Architecture, path: str, **options: Any) -> str:
    """Write the diagram to ``path`` (format from the extension); return ``path``.

    Without the ``dot`` program an image format writes the ``.dot`` beside ``path``
    (``net.svg`` → ``net.dot``) and raises ``RG601`` saying how to install Graphviz.
    """
    write(arch, path, RenderOptions.from_kwargs(options))
    return path


def write(arch: Architecture, path: str, opts: RenderOptions) -> View:
    """Write the diagram to ``path``; return the view that was drawn."""
    fmt = output_format(path)
    view = view_of(arch, opts)
    target = Path(path)
    if fmt == "mmd":
        _save(target, to_mermaid_text(view, rankdir=opts.rankdir).encode("utf-8"))
    elif fmt == "dot":
        _save(target, _dot_source(arch, view, opts).encode("utf-8"))
    else:
        check_drawable(view, opts)
        if dot_missing():
            fallback = target.with_suffix(".dot")
            _save(fallback, _dot_source(arch, view, opts).encode("utf-8"))
            raise _missing_error(path, str(fallback))
        _save(target, _image(arch, view, opts, fmt))
    return view


def _save(target: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all (a failure keeps the old file): ``RG602``."""
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise ResgraphError("RG602", f"cannot write the diagram to '{target}': "
                            f"{exc.strerror or exc}") from None


def cli_main(arch: Architecture, *, output: str, collapse: bool | None = None,
             depth: int | None = None, shapes: bool = False, params: bool = False,
             rankdir: str = "TB", dot_memory: int = DOT_MEMORY) -> int:
    """``resgraph render``: write the diagram to ``output``, print what was drawn, return 0.

    >>> import os, tempfile, resgraph
    >>> out = os.path.join(tempfile.mkdtemp(), "r18.mmd")
    >>> cli_main(resgraph.load("examples/resnet18.rg"), output=out, collapse=True, depth=0)
    ... # doctest: +ELLIPSIS
    wrote .../r18.mmd: 12 nodes, 11 edges (collapsed)
    0
    """
    opts = RenderOptions.from_kwargs({"collapse": collapse, "depth": depth, "shapes": shapes,
                                      "params": params, "rankdir": rankdir,
                                      "dot_memory": dot_memory})
    view = write(arch, output, opts)
    how = "collapsed" if view.collapsed else "expanded"
    print(f"wrote {output}: {len(view.nodes)} nodes, {len(view.edges)} edges ({how})")
    return 0
