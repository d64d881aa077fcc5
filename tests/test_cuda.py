"""The compiled models on a CUDA GPU (skipped without one): ResNet-50 forward and backward,
bf16 autocast, torch.compile, training steps, block modules (hooks, checkpointing), the
inference build, ``resgraph train --amp --compile`` on CIFAR-format data, and images/s
against the hand-written reference (printed; run with ``-s`` to see the figures).
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import resgraph
from resgraph.cli import main
from resgraph.lower.optimize import optimize_inference
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


def test_block_modules_hooks_and_checkpoint_on_cuda() -> None:
    """Blocks are modules on the GPU too: a hook on ``layer1[0]`` fires, and checkpointing
    blocks gives the gradients of the build without it."""
    arch = resgraph.load(str(EXAMPLES / "resnet18.rg"), classes=10)
    torch.manual_seed(0)
    gm = arch.compile(device="cuda")
    torch.manual_seed(0)
    ck = arch.compile(device="cuda", checkpoint=["layer1", "layer3.0"])
    seen: list[tuple[int, ...]] = []
    gm.layer1[0].register_forward_hook(lambda m, a, out: seen.append(tuple(out.shape)))
    x = torch.randn(4, 3, 64, 64, device="cuda")
    for m in (gm, ck):
        m(x).square().mean().backward()
    assert seen == [(4, 64, 16, 16)]
    for (name, p), q in zip(gm.named_parameters(), ck.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)


def _images_per_second(model: nn.Module, x: torch.Tensor, rounds: int = 20) -> float:
    with torch.no_grad():
        for _ in range(5):
            model(x)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(rounds):
            model(x)
        torch.cuda.synchronize()
    return rounds * x.shape[0] / (time.perf_counter() - start)


def test_inference_build_on_cuda(resnet50: resgraph.Architecture) -> None:
    """The inference build (BN folded, channels_last, in-place adds) gives the plain
    build's outputs on the GPU; its images/s against the reference's are printed."""
    torch.manual_seed(0)
    plain = resnet50.compile(device="cuda").eval()
    fast = optimize_inference(copy.deepcopy(plain), resnet50.inputs)
    x = torch.randn(32, 3, 224, 224, device="cuda")
    with torch.no_grad():
        want, got = plain(x), fast(x)
    assert (got - want).abs().max() <= 1e-3 * want.abs().max()  # cuDNN may use TF32
    theirs = ref.resnet50().cuda().eval().to(memory_format=torch.channels_last)
    ours = _images_per_second(fast, x)
    reference = _images_per_second(theirs, x.to(memory_format=torch.channels_last))
    print(f"\nResNet-50 inference build, batch 32, fp32, {torch.cuda.get_device_name()}: "
          f"{ours:,.0f} images/s; reference eager, channels_last: {reference:,.0f} images/s")


def test_cifar_resnet20_trains_an_epoch_with_amp_and_compile(tmp_path: Path) -> None:
    """``resgraph train --amp --compile`` on random CIFAR-format data (one epoch of a
    CIFAR ResNet-20); the images/s of metrics.jsonl are printed."""
    rng = np.random.default_rng(0)
    data = tmp_path / "cifar10"
    data.mkdir()
    for i in range(1, 6):
        with open(data / f"data_batch_{i}", "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (2000, 3072), dtype=np.uint8),
                         b"labels": rng.integers(0, 10, 2000).tolist()}, fh, protocol=2)
    with open(data / "test_batch", "wb") as fh:
        pickle.dump({b"data": rng.integers(0, 256, (1000, 3072), dtype=np.uint8),
                     b"labels": rng.integers(0, 10, 1000).tolist()}, fh, protocol=2)
    run = tmp_path / "run"
    assert main(["train", str(EXAMPLES / "cifar_resnet.rg"), "--data", str(data),
                 "--epochs", "1", "--batch-size", "128", "--device", "cuda", "--amp",
                 "--compile", "--no-progress", "--out", str(run)]) == 0
    (epoch,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    print(f"\nCIFAR ResNet-20, 10,000 random CIFAR-format images, --amp --compile, "
          f"{torch.cuda.get_device_name()}: {epoch['images_per_second']:,.0f} images/s "
          f"(the epoch includes compilation)")
    assert math.isfinite(epoch["train_loss"])
