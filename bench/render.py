"""Benchmark of ``resgraph render``: fresh-process time to SVG for ResNet-152.

1. ``resgraph render examples/resnet152.rg -o OUT.svg`` as a fresh process, collapsed
   (the default for a network this size) and ``--expand``ed, best of several runs,
   with the node and edge counts of each diagram; and ``--fit 3.3in`` (which lays out
   each candidate layout until one fits).
2. If torchview is installed next to torch, the same for torchview in a fresh process:
   build the matching PyTorch ResNet-152 (``tests/reference/resnet.py``), trace it
   with ``draw_graph`` showing every layer (``depth=inf``, nested modules as boxes) and
   write the SVG; then the ratio resgraph / torchview (target <= 1/3).
3. Bounded work (issue 11 item 8), in process: the time to refuse a diagram too large
   for dot (``(linear(8) -> relu) * 15000``, expanded: RG605, before dot runs), to write
   the ``.dot`` of an expanded 20,000-unit residual chain (40,001 nodes; linear since
   clusters are no longer added through graphviz's copying ``subgraph()`` context), and
   an SVG near the cluster limit (2,000 clusters) with dot's peak memory.

Run with ``python bench/render.py`` from the repository root (about a minute).

>>> TORCHVIEW.startswith("import torch")
True
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import resgraph  # noqa: E402
from resgraph.errors import ResgraphError  # noqa: E402
from resgraph.render import dot_missing, render  # noqa: E402
from resgraph.render.view import build_view  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "resnet152.rg")
TORCHVIEW = """\
import torch, torchview
from tests.reference.resnet import resnet152
graph = torchview.draw_graph(resnet152(), input_size=(1, 3, 224, 224), depth=float("inf"),
                             expand_nested=True, device="cpu")
open({out!r}, "wb").write(graph.visual_graph.pipe(format="svg"))
"""


def fresh(cmd: list[str], runs: int) -> float:
    """The shortest wall time of ``runs`` runs of a command, in seconds (it must succeed)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def have_torchview() -> bool:
    """Whether torchview can be imported (without importing it here)."""
    probe = [sys.executable, "-c", "import torchview"]
    return subprocess.run(probe, cwd=ROOT, capture_output=True).returncode == 0


def bounded(tmp: str) -> None:
    """Part 3: refusing, writing .dot and laying out near the limits."""
    print("bounded rendering, one run each:")
    arch = resgraph.loads("network n() {\n input x[8]\n x -> (linear(8) -> relu) * 15000\n}")
    start = time.perf_counter()
    try:
        render(arch, os.path.join(tmp, "big.svg"), collapse=False)
        what = "drawn?"
    except ResgraphError as exc:
        what = exc.code
    print(f"  (linear(8) -> relu) * 15000 --expand to .svg  {time.perf_counter() - start:6.2f} s"
          f"  ({what}, dot not started)")
    arch = resgraph.loads("network n() {\n input x[1]\n x -> residual { linear(1) } * 20000\n}")
    start = time.perf_counter()
    render(arch, os.path.join(tmp, "chain.dot"), collapse=False)
    took = time.perf_counter() - start
    print(f"  residual * 20000 --expand to .dot (40,001 nodes)  {took:6.2f} s")
    if dot_missing():
        print("  dot: unavailable; no layout row")
        return
    arch = resgraph.loads("network n() {\n input x[8]\n x -> (linear(8) -> relu) * 2000\n}")
    start = time.perf_counter()
    render(arch, os.path.join(tmp, "clusters.svg"), collapse=False)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  (linear(8) -> relu) * 2000 --expand to .svg     {time.perf_counter() - start:6.2f} s"
          f"  (2,000 clusters; largest child so far {peak:,.0f} MiB, dot's limit 4,096)")


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bounded(tmp)
    arch = resgraph.load(EXAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.svg")
        times = {}
        for mode, flag in (("collapsed", "--collapse"), ("expanded", "--expand")):
            view = build_view(arch, collapse=mode == "collapsed")
            cmd = [sys.executable, "-m", "resgraph", "render", EXAMPLE, "-o", out, flag]
            times[mode] = fresh(cmd, runs)
            print(f"resgraph render resnet152 {mode:9}: {times[mode]:6.2f} s "
                  f"({len(view.nodes)} nodes, {len(view.edges)} edges, "
                  f"{len(view.clusters)} clusters; IR {len(arch.graph)} nodes)")
        cmd = [sys.executable, "-m", "resgraph", "render", EXAMPLE, "-o", out, "--fit", "3.3in"]
        fitted = fresh(cmd, runs)
        print(f"resgraph render resnet152 --fit 3.3in: {fitted:6.2f} s (every layout tried is "
              f"laid out by dot; not in the ratios)")
        if not have_torchview():
            print("torchview: unavailable (pip install torchview); no ratio")
            return
        script = TORCHVIEW.format(out=os.path.join(tmp, "tv.svg"))
        tv = fresh([sys.executable, "-c", script], max(2, runs // 2))
        with open(os.path.join(tmp, "tv.svg"), encoding="utf-8") as f:
            tv_nodes = f.read().count('class="node"')
        print(f"torchview resnet152 (depth=inf)  : {tv:6.2f} s ({tv_nodes} nodes)")
        for mode, t in times.items():
            print(f"ratio resgraph {mode} / torchview: {t / tv:.3f} (target <= 0.333)")


if __name__ == "__main__":
    main()
