"""Benchmark of ``resgraph analyze``: start-up cost and scaling with network size.

1. ``resgraph analyze examples/resnet50.rg`` as a fresh process against
   ``python -c "import torch"`` (best of several runs each); target ratio <= 0.35.
2. In-process analysis of generated networks of 2,500, 5,000 and 10,000 residual
   blocks, with the ratio time(2N) / time(N) (2.0 is linear). This is the analysis
   without the path-length distributions (``distributions=False``): paths, depth,
   min depth, params, MACs, edges, connections and the per-block table.
3. The full analysis, distributions included, on 500, 1,000 and 2,000 blocks.
   Exact distributions are superlinear: N units in series have about 2N distinct path
   lengths whose counts have up to N bits, so the distribution holds O(N^2) bits and
   the DP that builds it, one unit at a time, moves O(N^3) bits. Past a budget
   (``resgraph.analyze.EXACT_BUDGET``) they are computed in floating point instead
   (marked approximate); each row says which.
4. Bounded work (issue 11 item 5): load and analysis time of the largest inputs the
   default limit of 100,000 nodes admits: ``residual { linear(1) } * 8000``, ``* 49995``
   (99,991 nodes, the worst case: most paths and edges per node) and
   ``dense(layers=446) { linear(1) }`` (99,681 dense edges); the target is under 10 s
   for load plus analysis. With ``--huge`` also the issue's original inputs under
   ``--max-nodes 1000000``: 499,995 units and ``dense(layers=1413)`` (minutes).

Run with ``python bench/analysis.py`` from the repository root (about a minute).

>>> "unit(16) * 3" in synthetic(3)
True
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import resgraph  # noqa: E402
from resgraph.analyze import analyze  # noqa: E402

TEMPLATE = """\
# {n:,} basic residual blocks on 16 x 8 x 8 feature maps.
block unit(c) {{
    residual {{ conv(c, 3) -> bn -> relu -> conv(c, 3) -> bn }} -> relu
}}

network synthetic_{n}(classes=10) {{
    input x[16, 8, 8]
    x -> conv(16, 3) -> bn -> relu
      -> unit(16) * {n}
      -> gap -> flatten -> linear(classes)
}}
"""


def synthetic(n: int) -> str:
    """The .rg text of a network of ``n`` residual blocks."""
    return TEMPLATE.format(n=n)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The shortest wall time of ``runs`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def process_time(argv: list[str], runs: int) -> float:
    """Best wall time of a fresh process running ``argv`` (output discarded)."""
    def once() -> None:
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return best_of(runs, once)


def startup(runs: int = 5) -> None:
    """Part 1: a fresh ``resgraph analyze`` process against ``import torch``."""
    py = sys.executable
    bare = process_time([py, "-c", "pass"], runs)
    ours = process_time([py, "-m", "resgraph", "analyze", "examples/resnet50.rg"], runs)
    torch = process_time([py, "-c", "import torch"], runs)
    print(f"fresh process, best of {runs}:")
    print(f"  python -c pass                             {bare:7.3f} s")
    print(f"  resgraph analyze examples/resnet50.rg      {ours:7.3f} s")
    print(f"  python -c 'import torch'                   {torch:7.3f} s")
    verdict = "ok" if ours / torch <= 0.35 else "over target"
    print(f"  ratio analyze / import torch               {ours / torch:7.3f}"
          f"   (target <= 0.35: {verdict})")


def scaling(sizes: tuple[int, ...], distributions: bool, runs: int) -> None:
    """Parts 2 and 3: in-process analysis time for growing synthetic networks."""
    what = "full analysis (distributions exact within the budget)" if distributions else \
        "analysis without distributions"
    print(f"in-process {what}, best of {runs}:")
    previous = None
    for n in sizes:
        start = time.perf_counter()
        arch = resgraph.loads(synthetic(n))
        load = time.perf_counter() - start
        took = best_of(runs, functools.partial(analyze, arch, distributions=distributions))
        ratio = f"   time(N)/time(N/2) {took / previous:5.2f}" if previous else ""
        kind = ""
        if distributions:
            kind = "   exact" if analyze(arch).path_lengths_exact else "   approximate"
        print(f"  {n:>6,} blocks {len(arch.graph):>7,} nodes   load {load:6.2f} s"
              f"   analyze {took:7.3f} s{ratio}{kind}")
        previous = took


BOUNDED = [
    ("residual { linear(1) } * 8000", "x -> residual { linear(1) } * 8000"),
    ("residual { linear(1) } * 49995", "x -> residual { linear(1) } * 49995"),
    ("dense(layers=446) { linear(1) }", "x -> dense(layers=446) { linear(1) }"),
]
"""The issue's inputs under the default limit of 100,000 nodes: 49,995 one-op residual
units (99,991 nodes) are the worst case it admits, dense(layers=446) the largest dense
group (99,681 dense edges count against the limit)."""
HUGE = [
    ("residual { linear(1) } * 499995", "x -> (residual { linear(1) } * 99999) * 5"),
    ("dense(layers=1413) { linear(1) }", "x -> dense(layers=1413) { linear(1) }"),
]
"""With ``--max-nodes 1000000``: the issue's original inputs, ten times the default."""


def bounded(cases: list[tuple[str, str]], limits: resgraph.Limits) -> None:
    """Part 4: the issue's inputs, checked and analysed once each (distributions included)."""
    print(f"bounded work under max_nodes {limits.max_nodes:,}, one run each "
          "(the target under the default: check plus analyze under 10 s):")
    for name, chain in cases:
        start = time.perf_counter()
        arch = resgraph.loads(f"network n() {{\n input x[1]\n {chain}\n}}", limits=limits)
        load = time.perf_counter() - start
        start = time.perf_counter()
        rep = analyze(arch)
        took = time.perf_counter() - start
        kind = "exact" if rep.path_lengths_exact else "approximate"
        print(f"  {name:<34}{len(arch.graph):>10,} nodes {arch.graph.number_of_edges():>10,} "
              f"edges   load {load:6.2f} s   analyze {took:6.2f} s   total {load + took:6.2f} s"
              f"   2^{rep.paths.bit_length() - 1} paths, {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huge", action="store_true",
                        help="also the issue's inputs under --max-nodes 1000000 (minutes)")
    args = parser.parse_args()
    os.chdir(ROOT)
    start = time.perf_counter()
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores")
    startup()
    scaling((2_500, 5_000, 10_000), distributions=False, runs=5)
    scaling((500, 1_000, 2_000), distributions=True, runs=3)
    bounded(BOUNDED, resgraph.Limits())
    if args.huge:
        bounded(HUGE, resgraph.Limits(max_nodes=1_000_000))
    print(f"bench done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
