"""Zoo benchmark: forward time of compiled zoo models against the hand-written references.

Run from the repository root::

    python bench/zoo.py [--repeats N] [--batch B] [--only NAME ...]

For one network per family (issue 12), the compiled module (``arch.compile()``) and the
independent PyTorch reference in ``tests/reference`` share one set of weights (the
reference's, loaded with ``strict=True``). Both run forward in eval mode without
gradients, batch B (default 4) at the network's published input size, on the CPU. Runs of
the two sides are interleaved, their order alternating, and each figure is the median, so
that drifts of a shared machine hit both sides alike. The ratio is resgraph / reference:
below 1 means resgraph is faster. Target: at most 1.05 for every family.

>>> [name for name, _ in FAMILIES][:3]
['alexnet', 'vgg16', 'googlenet']
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import resgraph  # noqa: E402
from bench.lowering import interleaved  # noqa: E402
from resgraph.program import load_program  # noqa: E402
from tests.reference import (  # noqa: E402
    alexnet,
    convnext,
    densenet,
    efficientnet,
    googlenet,
    inception,
    mnasnet,
    mobilenet,
    regnet,
    resnet,
    shufflenet,
    squeezenet,
    vgg,
)

FAMILIES: list[tuple[str, Callable[[], nn.Module]]] = [
    ("alexnet", alexnet.alexnet),
    ("vgg16", vgg.vgg16),
    ("googlenet", googlenet.googlenet),
    ("inception_v3", inception.inception_v3),
    ("squeezenet1_1", lambda: squeezenet.squeezenet("1_1")),
    ("densenet121", densenet.densenet121),
    ("resnet50", resnet.resnet50),
    ("resnext50_32x4d", resnet.resnext50_32x4d),
    ("shufflenet_v2_x1_0", lambda: shufflenet.shufflenet_v2("x1_0")),
    ("mobilenet_v2", mobilenet.mobilenet_v2),
    ("mobilenet_v3_large", mobilenet.mobilenet_v3_large),
    ("mnasnet1_0", mnasnet.mnasnet1_0),
    ("efficientnet_b0", efficientnet.efficientnet_b0),
    ("efficientnet_v2_s", efficientnet.efficientnet_v2_s),
    ("regnet_y_400mf", regnet.regnet_y_400mf),
    ("convnext_tiny", convnext.convnext_tiny),
]
"""One network per family, with its reference builder (1,000 classes)."""


def find(name: str) -> Path:
    """The example file that defines network ``name``."""
    for path in sorted((ROOT / "examples").glob("*.rg")):
        text = path.read_text()
        if f"network {name}(" in text and name in load_program(text, str(path),
                                                               resgraph.Limits()).networks:
            return path
    raise SystemExit(f"no example defines network {name}")


def bench(name: str, build: Callable[[], nn.Module], batch: int, repeats: int) -> str:
    """One row: both forward times and their ratio."""
    arch = resgraph.load(str(find(name)), network=name)
    torch.manual_seed(0)
    theirs = build().eval()
    ours = arch.compile().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    shape = next(iter(arch.inputs.values()))
    x = torch.randn(batch, *shape)

    def forward(model: nn.Module) -> Callable[[], Any]:
        def run() -> None:
            with torch.no_grad():
                model(x)
        return run

    forward(ours)(), forward(theirs)()  # warm up both
    t_ours, t_ref = interleaved(forward(ours), forward(theirs), repeats)
    ratio = t_ours / t_ref
    mark = "ok" if ratio <= 1.05 else "OVER"
    return (f"  {name:<20} {shape[-1]:>4}px  resgraph {t_ours * 1e3:8.1f} ms   reference "
            f"{t_ref * 1e3:8.1f} ms   ratio {ratio:5.3f}  {mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--only", nargs="*", help="networks to run (default: all families)")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"median of {args.repeats} interleaved runs; target ratio <= 1.05")
    for name, build in FAMILIES:
        if args.only and name not in args.only:
            continue
        print(bench(name, build, args.batch, args.repeats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
