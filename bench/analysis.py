"""Benchmark of ``resgraph analyze``: start-up cost and scaling with network size.

1. ``resgraph analyze examples/resnet50.rg`` as a fresh process against
   ``python -c "import torch"`` (best of several runs each); target ratio <= 0.35.
2. In-process analysis of generated networks of 2,500, 5,000 and 10,000 residual
   blocks, with the ratio time(2N) / time(N) (2.0 is linear). This is the analysis
   without the path-length distributions (``distributions=False``): paths, depth,
   min depth, params, MACs, edges, connections and the per-block table.
3. The full analysis, exact distributions included, on 500, 1,000 and 2,000 blocks.
   Its output alone is superlinear: N units in series have about 2N distinct path
   lengths whose counts have up to N bits, so the distribution holds O(N^2) bits
   and the DP that builds it, one unit at a time, moves O(N^3) bits.

Run with ``python bench/analysis.py`` from the repository root (about 30 s).

>>> "unit(16) * 3" in synthetic(3)
True
"""

from __future__ import annotations

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
    what = "full analysis (exact distributions)" if distributions else \
        "analysis without distributions"
    print(f"in-process {what}, best of {runs}:")
    previous = None
    for n in sizes:
        start = time.perf_counter()
        arch = resgraph.loads(synthetic(n))
        load = time.perf_counter() - start
        took = best_of(runs, functools.partial(analyze, arch, distributions=distributions))
        ratio = f"   time(N)/time(N/2) {took / previous:5.2f}" if previous else ""
        print(f"  {n:>6,} blocks {len(arch.graph):>7,} nodes   load {load:6.2f} s"
              f"   analyze {took:7.3f} s{ratio}")
        previous = took


def main() -> None:
    os.chdir(ROOT)
    start = time.perf_counter()
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores")
    startup()
    scaling((2_500, 5_000, 10_000), distributions=False, runs=5)
    scaling((500, 1_000, 2_000), distributions=True, runs=3)
    print(f"bench done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
