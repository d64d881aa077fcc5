"""Lowering benchmark: compiled models against hand-written PyTorch, as ratios in one run.

Run from the repository root::

    python bench/lowering.py [--repeats N] [--quick]

1. compile time of ResNet-152 (``arch.compile``; the front end is timed apart) against
   torchvision's constructor (the layout of tests/reference/resnet.py plus torchvision's
   re-initialisation loop), on the meta device and on the CPU; bare module construction
   without that loop is printed as well, for information;
2. forward (eval, no grad) time of the compiled ResNet-50 against the reference at 1 and 2
   threads, and training-step (forward, backward, SGD) time, batch 8 at 224×224, weights
   shared;
3. forward time of the inference build (``optimize="inference"``: batch norms folded,
   channels_last, in-place adds) of ResNet-50 and of MobileNetV3-Large (depthwise convs,
   squeeze-excite) against the same eager references (their default, contiguous layout),
   batch 8 at 224×224, 2 threads, weights shared.

Runs of the two sides are interleaved (their order alternating) and each figure is the
median, so that drifts of a shared machine hit both sides alike. Ratios are
resgraph / reference: below 1 means resgraph is faster. Targets: compile ≤ 1.0,
forward and training step ≤ 1.02, inference build ≤ 0.8 (ResNet-50) and ≤ 0.9
(MobileNetV3-Large).
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import resgraph  # noqa: E402
from tests import reference as ref  # noqa: E402


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()  # a GraphModule is freed by the cycle collector: collect outside the timing
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median seconds of ``a`` and ``b``, run in alternating order ``repeats`` times each."""
    ta: list[float] = []
    tb: list[float] = []
    for i in range(repeats):
        if i % 2:
            tb.append(timed(b))
            ta.append(timed(a))
        else:
            ta.append(timed(a))
            tb.append(timed(b))
    return statistics.median(ta), statistics.median(tb)


def row(what: str, ours: float, theirs: float, target: float | None) -> str:
    ratio = ours / theirs
    mark = ""
    if target is not None:
        mark = f"  (target ≤ {target:g}: {'met' if ratio <= target else 'NOT met'})"
    return (f"{what:<40} resgraph {ours * 1e3:9.1f} ms   reference {theirs * 1e3:9.1f} ms   "
            f"ratio {ratio:5.3f}{mark}")


def torchvision_init(model: nn.Module) -> nn.Module:
    """The re-initialisation loop at the end of torchvision's ResNet constructor."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return model


def bench_compile(repeats: int) -> None:
    path = str(ROOT / "examples" / "resnet152.rg")
    arch = resgraph.load(path)
    load = statistics.median(timed(lambda: resgraph.load(path)) for _ in range(repeats))
    print(f"front end: resgraph.load(resnet152.rg) {load * 1e3:.1f} ms (not in the ratios)")

    def ref_meta() -> None:
        with torch.device("meta"):
            ref.resnet152()

    def tv_meta() -> None:
        with torch.device("meta"):
            torchvision_init(ref.resnet152())

    # The target (DESIGN §6) is torchvision's constructor: its layout (tests/reference) plus
    # the re-initialisation loop it runs at the end. Bare module construction is shown too.
    ours_m, tv_m = interleaved(lambda: arch.compile(device="meta"), tv_meta, 3 * repeats)
    ours_c, tv_c = interleaved(lambda: arch.compile(device="cpu"),
                               lambda: torchvision_init(ref.resnet152()), repeats)
    print(row("compile ResNet-152 vs torchvision ctor, meta", ours_m, tv_m, 1.0))
    print(row("compile ResNet-152 vs torchvision ctor, CPU", ours_c, tv_c, 1.0))
    ours, theirs = interleaved(lambda: arch.compile(device="meta"), ref_meta, 3 * repeats)
    print(row("  vs bare nn.Module construction, meta", ours, theirs, None))
    ours, theirs = interleaved(lambda: arch.compile(device="cpu"), ref.resnet152, repeats)
    print(row("  vs bare nn.Module construction, CPU", ours, theirs, None))


def bench_resnet50(repeats: int) -> None:
    torch.manual_seed(0)
    theirs = ref.resnet50()
    ours = resgraph.load(str(ROOT / "examples" / "resnet50.rg")).compile()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(8, 3, 224, 224)
    y = torch.randint(0, 1000, (8,))

    def forward(model: nn.Module) -> Callable[[], Any]:
        def run() -> None:
            with torch.no_grad():
                model(x)
        return run

    def step(model: nn.Module) -> Callable[[], Any]:
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def run() -> None:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return run

    for model in (ours, theirs):
        model.eval()
    f_ours, f_theirs = forward(ours), forward(theirs)
    threads = torch.get_num_threads()
    for n in (1, 2):
        torch.set_num_threads(n)
        f_ours(), f_theirs()  # warm-up
        print(row(f"forward ResNet-50, batch 8, eval, {n} thr", *interleaved(f_ours, f_theirs,
                                                                             repeats), 1.02))
    torch.set_num_threads(threads)
    for model in (ours, theirs):
        model.train()
    s_ours, s_theirs = step(ours), step(theirs)
    s_ours(), s_theirs()  # warm-up (optimizer state, allocator)
    print(row("training step ResNet-50, batch 8, 224²", *interleaved(s_ours, s_theirs, repeats),
              1.02))


def bench_inference(repeats: int) -> None:
    """The inference build against eager references in their default layout, 2 threads."""
    from resgraph.lower.optimize import optimize_inference
    from tests.reference import mobilenet as ref_mobilenet

    cases: list[tuple[str, Callable[[], nn.Module], str, str | None, float]] = [
        ("ResNet-50", ref.resnet50, "resnet50.rg", None, 0.8),
        ("MobileNetV3-L", ref_mobilenet.mobilenet_v3_large, "mobilenet.rg",
         "mobilenet_v3_large", 0.9),
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    x = torch.randn(8, 3, 224, 224)
    for what, make, file, network, target in cases:
        torch.manual_seed(0)
        theirs = make().eval()
        arch = resgraph.load(str(ROOT / "examples" / file), network=network)
        plain = arch.compile()
        plain.load_state_dict(theirs.state_dict(), strict=True)
        ours = optimize_inference(copy.deepcopy(plain), arch.inputs)
        del plain

        def run(model: nn.Module) -> Callable[[], Any]:
            def go() -> None:
                with torch.no_grad():
                    model(x)
            return go

        a, b = run(ours), run(theirs)
        a(), b()  # warm-up
        print(row(f"inference build {what}, batch 8, 2 thr", *interleaved(a, b, repeats),
                  target))
    torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="runs per side (default 9)")
    parser.add_argument("--quick", action="store_true", help="3 runs per side")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    print(f"resgraph lowering benchmark: torch {torch.__version__}, CPU, "
          f"{torch.get_num_threads()} threads, medians of {repeats} interleaved runs "
          f"(compile on meta: {3 * repeats})")
    start = time.perf_counter()
    bench_compile(repeats)
    bench_resnet50(repeats)
    bench_inference(repeats)
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
