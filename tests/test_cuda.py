"""The compiled models on a CUDA GPU (skipped without one): ResNet-50 forward and backward,
bf16 autocast, torch.compile, training steps, and training throughput against the
hand-written reference (printed; run with ``-s`` to see the figures).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from torch import nn

import resgraph
from resgraph.lower.train import train
from tests import reference as ref

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def resnet50() -> resgraph.Architecture:
    return resgraph.load(str(EXAMPLES / "resnet50.rg"))


def test_resnet50_forward_backward(resnet50: resgraph.Architecture) -> None:
    gm = resnet50.compile(device="cuda")
    assert all(p.is_cuda for p in gm.parameters())
    y = gm(torch.randn(8, 3, 224, 224, device="cuda"))
    assert y.shape == (8, 1000)
    y.float().square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gm.parameters())


def test_resnet50_matches_reference_on_cuda(resnet50: resgraph.Architecture) -> None:
    torch.manual_seed(0)
    theirs = ref.resnet50().cuda().eval()
    gm = resnet50.compile(device="cuda").eval()
    gm.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(4, 3, 224, 224, device="cuda")
    with torch.no_grad():
        assert (gm(x) - theirs(x)).abs().max() <= 1e-4


def test_bf16_autocast(resnet50: resgraph.Architecture) -> None:
    gm = resnet50.compile(device="cuda")
    x = torch.randn(8, 3, 224, 224, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = gm(x)
    assert y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()
    y.float().sum().backward()
    assert all(p.grad is not None for p in gm.parameters())


def test_bf16_parameters(resnet50: resgraph.Architecture) -> None:
    gm = resnet50.compile(device="cuda", dtype="bf16")
    y = gm(torch.randn(2, 3, 224, 224, device="cuda", dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16


def test_torch_compile_on_cuda(resnet50: resgraph.Architecture) -> None:
    gm = resnet50.compile(device="cuda").eval()
    x = torch.randn(8, 3, 224, 224, device="cuda")
    compiled = torch.compile(gm)
    with torch.no_grad():
        expected = gm(x)
        got = compiled(x)
    assert (got - expected).abs().max() <= 1e-2 * expected.abs().max()


def test_training_steps_on_digits_cuda() -> None:
    result = train(resgraph.load(str(EXAMPLES / "digits_resnet.rg")), epochs=2, device="cuda",
                   progress=False, log=lambda s: None)
    assert result["test_accuracy"] >= 0.8
    assert next(result["model"].parameters()).is_cuda


def test_gpt3_size_is_refused_on_cuda() -> None:
    arch = resgraph.load(str(EXAMPLES / "gpt2.rg"), ctx=2048, d=12288, heads=96, layers=96)
    with pytest.raises(resgraph.ResgraphError) as err:
        arch.compile(device="cuda")
    assert err.value.code == "RG701"


def _step_time(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, steps: int) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def test_training_throughput_vs_reference(resnet50: resgraph.Architecture) -> None:
    torch.manual_seed(0)
    batch = 64
    ours = resnet50.compile(device="cuda").to(memory_format=torch.channels_last)
    theirs = ref.resnet50().cuda().to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 224, 224, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,), device="cuda")
    opts = {m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in (ours, theirs)}
    for m in (ours, theirs):
        m.train()
        _step_time(m, opts[m], x, y, 5)  # warm-up (cuDNN autotuning, allocator)
    times: dict[nn.Module, list[float]] = {ours: [], theirs: []}
    for _ in range(5):  # interleaved rounds; medians
        for m in (ours, theirs):
            times[m].append(_step_time(m, opts[m], x, y, 10))
    t_ours, t_theirs = (sorted(times[m])[2] for m in (ours, theirs))
    print(f"\nResNet-50 training, batch {batch}, bf16 autocast, channels_last, "
          f"{torch.cuda.get_device_name()}: compiled {batch / t_ours:,.0f} images/s, "
          f"reference {batch / t_theirs:,.0f} images/s, time ratio {t_ours / t_theirs:.3f}")
    assert t_ours <= 1.10 * t_theirs
