"""Benchmark of ``resgraph render``: fresh-process time to SVG for ResNet-152.

1. ``resgraph render examples/resnet152.rg -o OUT.svg`` as a fresh process, collapsed
   (the default for a network this size) and ``--expand``ed, best of several runs,
   with the node and edge counts of each diagram.
2. If torchview is installed next to torch, the same for torchview in a fresh process:
   build the matching PyTorch ResNet-152 (``tests/reference/resnet.py``), trace it
   with ``draw_graph`` showing every layer (``depth=inf``, nested modules as boxes) and
   write the SVG; then the ratio resgraph / torchview (target <= 1/3).

Run with ``python bench/render.py`` from the repository root (about a minute).

>>> TORCHVIEW.startswith("import torch")
True
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import resgraph  # noqa: E402
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


def main(runs: int = 5) -> None:
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
