"""Front-end speed: parse + elaborate time for real networks and synthetic residual chains.

Run: ``python bench/frontend.py``. Prints best-of-N times and the scaling ratio
time(2N) / time(N) for chains of N residual blocks (target <= 2.2: linear).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import resgraph

ROOT = Path(__file__).resolve().parent.parent


def synthetic(blocks: int) -> str:
    """A chain of ``blocks`` two-conv residual blocks on a small feature map."""
    return f"""
block unit(c) {{ residual {{ conv(c, 3) -> bn -> relu -> conv(c, 3) -> bn }} -> relu }}
network chain(n={blocks}) {{
    input x[16, 8, 8]
    x -> unit(16) * n -> gap -> flatten -> linear(10)
}}
"""


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    resgraph.loads(synthetic(2))  # warm the grammar cache
    rows = []
    for label, fn in [
        ("ResNet-152", lambda: resgraph.load(str(ROOT / "examples/resnet152.rg"))),
        ("pre-act ResNet-1001", lambda: resgraph.load(str(ROOT / "examples/preact_resnet.rg"),
                                                      n=111)),
    ]:
        rows.append((label, len(fn().graph), best_of(fn, args.repeats)))
    chain = {}
    for n in (2500, 5000, 10000):
        text = synthetic(n)
        t = best_of(lambda text=text: resgraph.loads(text), max(1, args.repeats - 1))
        chain[n] = t
        rows.append((f"chain of {n:,} residual blocks", len(resgraph.loads(text).graph), t))
    print(f"{'network':34} {'nodes':>8} {'load (s)':>9}")
    for label, nodes, t in rows:
        print(f"{label:34} {nodes:8,} {t:9.3f}")
    print(f"scaling time(5000)/time(2500)  = {chain[5000] / chain[2500]:.2f}  (target <= 2.2)")
    print(f"scaling time(10000)/time(5000) = {chain[10000] / chain[5000]:.2f}  (target <= 2.2)")


if __name__ == "__main__":
    main()
