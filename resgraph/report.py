"""Showing an :class:`~resgraph.analyze.Analysis`: the text report, the block table, the
text histogram, the matplotlib plot and JSON.

>>> import resgraph
>>> rep = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 2 }").analyze()
>>> print(summary(rep))
network n  (<string>)
  inputs          x [4]
  outputs         output [4]
  parameters      40  (trainable 40)
  MACs            32  (32 multiply-accumulates, batch 1)
  depth           2 weighted layers (longest signal path)
  min depth       0 weighted layers (shortest signal path)
  signal paths    4  (4 = 2^2)
  graph           5 nodes; edges: seq 4, residual 2
  residual        2 connections, short, spanning 1 weighted layer
<BLANKLINE>
path lengths in weighted layers: 3 distinct, mean 1.00
  length  paths   share
       0      1  25.00%  ####################
       1      2  50.00%  ########################################
       2      1  25.00%  ####################
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator

from resgraph.analyze import Analysis, Connection
from resgraph.errors import ResgraphError
from resgraph.util import exact_count, save_figure, sci


def print_report(rep: Analysis, *, as_json: bool = False, blocks: bool = False,
                 units: bool = False, plot_path: str | None = None) -> None:
    """Print what ``resgraph analyze`` prints: the report (or JSON), optionally the block
    table, and draw the plot to ``plot_path``.

    >>> import resgraph
    >>> print_report(resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").analyze(),
    ...              as_json=True)  # doctest: +ELLIPSIS
    {
      "network": "n",
      "params": 10,
    ...
    """
    with any_digits():
        if as_json:
            print(to_json(rep))
        else:
            print(summary(rep, units=units))
            if blocks:
                print()
                print(block_table(rep))
    if plot_path:
        plot(rep, plot_path, units=units)
        if not as_json:
            print(f"\nwrote {plot_path}")


def to_json(rep: Analysis) -> str:
    """The JSON text of ``resgraph analyze --json``: exact integers of any size.

    >>> import resgraph
    >>> text = to_json(resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").analyze())
    >>> json.loads(text)["path_lengths"]
    {'1': 1}
    """
    with any_digits():
        return json.dumps(rep.to_dict(), indent=2)


@contextlib.contextmanager
def any_digits() -> Iterator[None]:
    """Lift Python's limit on int→str conversion (4,300 digits) for exact path counts.

    >>> with any_digits():
    ...     len(str(2 ** 20000))
    6021
    """
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:  # pragma: no cover - Python without the limit
        yield
        return
    old = get()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


# ---------------------------------------------------------------- numbers


def power_of_two(n: int) -> str:
    """``" = 2^k"`` when ``n`` is a power of two, else ``""``.

    >>> power_of_two(256), power_of_two(100)
    (' = 2^8', '')
    """
    return f" = 2^{n.bit_length() - 1}" if n > 1 and not n & (n - 1) else ""


def human_macs(n: int) -> str:
    """MACs with a unit: ``4.09 G``, ``125.49 M``.

    >>> human_macs(4_089_184_256), human_macs(125_485_696), human_macs(512)
    ('4.09 G', '125.49 M', '512')
    """
    for scale, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _layers(n: int) -> str:
    return f"{n} weighted layer{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- text


def summary(rep: Analysis, units: bool = False) -> str:
    """The human report of ``resgraph analyze`` (without ``--json``).

    >>> import resgraph
    >>> rep = resgraph.load("examples/resnet18.rg").analyze()
    >>> print("\\n".join(summary(rep).splitlines()[3:8]))
      parameters      11,689,512  (trainable 11,689,512)
      MACs            1.81 G  (1,814,073,344 multiply-accumulates, batch 1)
      depth           18 weighted layers (longest signal path)
      min depth       5 weighted layers (shortest signal path)
      signal paths    256  (2.560e2 = 2^8)
    """
    def shapes(d: dict[str, list[int]]) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items())

    kinds = ", ".join(f"{k} {n:,}" for k, n in rep.edges.items() if n)
    exact = f"{rep.paths:,}"
    form = f"({sci(rep.paths)}{power_of_two(rep.paths)})"
    paths = [f"  signal paths    {exact}  {form}"] if len(exact) <= 40 else [
        f"  signal paths    {form[1:-1]}", f"                  exactly {exact}"]
    lines = [
        f"network {rep.network}" + (f"  ({rep.file})" if rep.file else ""),
        f"  inputs          {shapes(rep.inputs)}",
        f"  outputs         {shapes(rep.outputs)}",
        f"  parameters      {rep.params:,}  (trainable {rep.trainable_params:,})",
        f"  MACs            {human_macs(rep.macs)}  ({rep.macs:,} multiply-accumulates, "
        "batch 1)",
        f"  depth           {_layers(rep.depth)} (longest signal path)",
        f"  min depth       {_layers(rep.min_depth)} (shortest signal path)",
        *paths,
        f"  graph           {rep.nodes:,} nodes; edges: {kinds}",
        *_connection_lines(rep.connections),
    ]
    table = rep.lengths(units)
    if table or rep.paths == 0:
        what = "units (residual/highway/dense units traversed)" if units else "weighted layers"
        if rep.path_lengths_exact:
            lines += ["", f"path lengths in {what}: {len(table):,} distinct, "
                          f"mean {_mean(table, rep.paths):.2f}", *histogram(table, rep.paths)]
        else:
            lines += ["", f"path lengths in {what}, approximate (floating point; too many "
                          f"paths to count each length exactly): {len(table):,} distinct, "
                          f"mean {_mean(table, 1):.2f}",
                      *histogram(table, 1, counts=lambda share: approx_count(rep.paths, share))]
    return "\n".join(lines)


def _mean(table: dict[int, float], total: float) -> float:
    return sum(k * c for k, c in table.items()) / total if total else 0.0


def approx_count(paths: int, share: float) -> str:
    """About ``share × paths`` paths, short like :func:`resgraph.util.exact_count`.

    >>> approx_count(2 ** 100, 0.25), approx_count(1000, 0.5), approx_count(10, 0.0)
    ('~3.169e29', '~500', '0')
    """
    if share <= 0 or paths <= 0:
        return "0"
    exp10 = math.log10(paths) + math.log10(share)  # log10 takes ints of any size
    if exp10 < 12:
        return f"~{round(10 ** exp10):,}"
    e = math.floor(exp10)
    text = f"{10 ** (exp10 - e):.3f}"
    if text == "10.000":
        text, e = "1.000", e + 1
    return f"~{text}e{e}"


def _connection_lines(conns: list[Connection]) -> list[str]:
    """One line per (kind, reach): how many connections and the range of their spans."""
    groups: dict[tuple[str, str], list[int | None]] = {}
    for c in conns:
        groups.setdefault((c.kind, c.reach), []).append(c.span)
    lines = []
    for (kind, reach), spans in groups.items():
        known = [s for s in spans if s is not None]
        text = f"  {kind:<16}{len(spans):,} connection{'s' if len(spans) > 1 else ''}, {reach}"
        if known and min(known) == max(known):
            text += f", spanning {_layers(known[0])}"
        elif known:
            text += f", spanning {min(known)} to {_layers(max(known))}"
        lines.append(text)
    return lines


def block_table(rep: Analysis) -> str:
    """The per-block table of ``--blocks``: params, MACs and path multiplier.

    >>> import resgraph
    >>> rep = resgraph.loads("network n() { input x[4]\\n x -> residual { linear(4) } * 2 }"
    ...                      ).analyze()
    >>> print(block_table(rep))
    block       call      params  MACs  paths  depth
    residual_0  residual      20    16      2    0-1
    residual_1  residual      20    16      2    0-1
    """
    if not rep.blocks:
        return "no block instances"
    rows = [(("  " * b.level) + b.path, b.call, f"{b.params:,}", human_macs(b.macs),
             exact_count(b.paths), f"{b.min_depth}-{b.depth}") for b in rep.blocks]
    head = ("block", "call", "params", "MACs", "paths", "depth")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def fmt(r: tuple[str, ...]) -> str:
        left = [f"{r[0]:<{widths[0]}}", f"{r[1]:<{widths[1]}}"]
        return "  ".join(left + [f"{x:>{w}}" for x, w in zip(r[2:], widths[2:])]).rstrip()
    return "\n".join([fmt(head), *map(fmt, rows)])


def _bins(table: dict[int, float], rows: int) -> list[tuple[int, int, float]]:
    """Group a length→count map into at most ``rows`` (first, last, count) bins.

    Bins are whole multiples of the step between lengths, so that a distribution on
    even lengths only is not drawn as a saw.

    >>> _bins({2: 1, 4: 3, 6: 3, 8: 1}, 2)
    [(2, 4, 4), (6, 8, 4)]
    """
    keys = sorted(table)
    if len(keys) <= rows:
        return [(k, k, table[k]) for k in keys]
    step = 0
    for k in keys[1:]:
        step = math.gcd(step, k - keys[0])
    slots = (keys[-1] - keys[0]) // step + 1
    size = -(-slots // rows) * step
    grouped: dict[int, float] = {}
    for k in keys:
        start = keys[0] + (k - keys[0]) // size * size
        grouped[start] = grouped.get(start, 0) + table[k]
    return [(lo, min(lo + size - step, keys[-1]), c) for lo, c in sorted(grouped.items())]


def histogram(table: dict[int, float], total: float, rows: int = 20, width: int = 40,
              counts: Callable[[float], str] | None = None) -> list[str]:
    """A text histogram of a length→count map, binned to at most ``rows`` rows;
    ``counts`` writes the paths column (default :func:`resgraph.util.exact_count`; a map
    of shares passes ``total=1`` and a ``counts`` that turns a share into paths).

    >>> print("\\n".join(histogram({2: 1, 4: 2, 6: 1}, 4, width=8)))
      length  paths   share
           2      1  25.00%  ####
           4      2  50.00%  ########
           6      1  25.00%  ####
    """
    if not table or not total:
        return ["  (no signal path)"]
    bins = _bins(table, rows)
    top = max(c for _, _, c in bins)
    show = counts or (lambda c: exact_count(int(c)))
    cells = [(str(lo) if lo == hi else f"{lo}-{hi}", show(c), c) for lo, hi, c in bins]
    wl = max(6, *(len(label) for label, _, _ in cells))
    wc = max(5, *(len(text) for _, text, _ in cells))
    lines = [f"  {'length':>{wl}}  {'paths':>{wc}}   share"]
    for label, text, c in cells:
        bar = "#" * max(1, round(width * c / top))
        lines.append(f"  {label:>{wl}}  {text:>{wc}}  {100 * c / total:5.2f}%  {bar}")
    return lines


# ---------------------------------------------------------------- plot


def plot(rep: Analysis, path: str, units: bool = False) -> None:
    """Draw the path-length distribution to ``path`` as a bar chart of the share of paths
    at each length (needs matplotlib, the ``plot`` extra: RG601 without it, RG602 when
    ``path`` cannot be written). The image is drawn in memory, then written with
    :func:`resgraph.util.atomic_write`, so a failed write keeps the previous file whole.
    ``tests/test_analyze.py`` draws one."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ResgraphError("RG601", "--plot needs matplotlib, which is not installed; "
                            "install it with: pip install 'resgraph[plot]' "
                            "(or pip install matplotlib)") from None
    table = rep.shares(units)  # exact or approximate alike
    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = sorted(table)
    shares = [100 * table[k] for k in xs]
    dense_bars = len(xs) > 60  # thin bars alias: draw them touching, without edges
    ax.bar(xs, shares, width=1.0 if dense_bars else 0.8, linewidth=0, color="#4c72b0")
    ax.set_xlabel("path length (" + ("units" if units else "weighted layers") + ")")
    ax.set_ylabel("share of signal paths (%)")
    ax.set_title(f"{rep.network}: {exact_count(rep.paths)}{power_of_two(rep.paths)} signal "
                 f"paths, depth {rep.depth}, min depth {rep.min_depth}")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, "RG602")
