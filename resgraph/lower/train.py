"""Training a compiled network on a built-in data set: :func:`train`, ``resgraph train``.

The data set is ``digits``: the 1,797 8×8 handwritten digits that ship inside
scikit-learn, pixels scaled to [0, 1], split 80/20 (stratified, always the same split).
A network whose input is ``[1, 8, 8]`` gets images, one whose input is ``[64]`` gets
flattened vectors. Training uses Adam with a cosine learning-rate decay and
cross-entropy; each epoch prints the training loss and accuracy and the test accuracy.
On the CPU, networks that need fewer than ``SMALL_BATCH_MACS`` multiply-accumulates per
batch train on one thread (their ops are too small to gain from more, and several
threads slow them down badly on a busy machine); torch's setting is restored afterwards.

Under ``torchrun --nproc_per_node N`` (``RANK`` / ``WORLD_SIZE`` set) the model is
wrapped in DistributedDataParallel (gloo on CPU, nccl on CUDA), each process reads its
share of the data through a DistributedSampler, and rank 0 alone prints.

>>> import resgraph
>>> arch = resgraph.load("examples/highway_mlp.rg")
>>> result = train(arch, epochs=1, progress=False, log=lambda s: None)
>>> 0.0 <= result["test_accuracy"] <= 1.0
True
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, TensorDataset

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.lower.build import compile_arch
from resgraph.lower.device import resolve_device

DATASETS = ("digits",)
#: Below this many multiply-accumulates per batch, CPU training runs on one thread.
SMALL_BATCH_MACS = 500_000_000
_SHAPES = {(1, 8, 8): "images [1, 8, 8]", (64,): "vectors [64]"}


def load_digits(input_shape: tuple[int, ...]) -> tuple[TensorDataset, TensorDataset]:
    """The digits train and test sets (1,437 / 360 samples) shaped for ``input_shape``.

    >>> train_set, test_set = load_digits((1, 8, 8))
    >>> len(train_set), len(test_set), tuple(train_set[0][0].shape)
    (1437, 360, (1, 8, 8))
    """
    try:
        import sklearn  # noqa: F401  (first: a hidden top-level package must fail here)
        from sklearn.datasets import load_digits as sk_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ResgraphError("RG714", "the digits data needs scikit-learn: "
                            "pip install 'resgraph[train]'") from None
    data = sk_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    idx_train, idx_test = train_test_split(range(len(y)), test_size=0.2, random_state=0,
                                           stratify=data.target)
    x = x.reshape(len(y), *input_shape)
    return (TensorDataset(x[idx_train], y[idx_train]), TensorDataset(x[idx_test], y[idx_test]))


def check_network(arch: Architecture, data: str = "digits") -> tuple[int, ...]:
    """The input shape to feed ``arch``; RG711 / RG712 where it cannot learn ``data``.

    >>> import resgraph
    >>> check_network(resgraph.load("examples/digits_resnet.rg"))
    (1, 8, 8)
    """
    if data not in DATASETS:
        raise ResgraphError("RG713", f"unknown data set '{data}' (known: {', '.join(DATASETS)})")
    if len(arch.inputs) != 1:
        raise ResgraphError("RG711", f"network '{arch.name}' has {len(arch.inputs)} inputs; "
                            "training on digits needs exactly one")
    (name, shape), = arch.inputs.items()
    nid = arch.graph.graph["inputs"][0]
    if shape not in _SHAPES or arch.graph.nodes[nid]["dtype"] != "float":
        raise ResgraphError("RG711", f"network '{arch.name}' takes {name}{list(shape)}, but the "
                            "digits are 8×8 images: declare `input x[1, 8, 8]` for a "
                            "convolutional net or `input x[64]` for an MLP")
    if len(arch.outputs) != 1 or len(next(iter(arch.outputs.values()))) != 1 \
            or next(iter(arch.outputs.values()))[0] < 10:
        shown = ", ".join(f"{k}{list(v)}" for k, v in arch.outputs.items())
        raise ResgraphError("RG712", f"network '{arch.name}' outputs {shown}; digits training "
                            "needs one output of at least 10 class scores, e.g. a last "
                            "linear(10) (try --set classes=10)")
    return shape


def _batch_macs(arch: Architecture, batch_size: int) -> int:
    return batch_size * sum(d["macs"] for _, d in arch.graph.nodes(data=True))


def _distributed(device: torch.device) -> tuple[int, int, bool]:
    """(rank, world size, whether we started the process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), True


def _pick_device(device: Any) -> torch.device:
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = resolve_device(device)
    if dev.type == "meta":
        raise ResgraphError("RG713", "cannot train on the meta device; use cpu or cuda")
    if dev.type == "cuda" and dev.index is None and "LOCAL_RANK" in os.environ:
        dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return dev


@torch.no_grad()
def accuracy(model: nn.Module, data: TensorDataset, device: torch.device,
             batch_size: int = 512) -> float:
    """Fraction of ``data`` that ``model`` classifies correctly (in eval mode).

    >>> import resgraph
    >>> m = resgraph.load("examples/highway_mlp.rg").compile()
    >>> 0.0 <= accuracy(m, load_digits((64,))[1], torch.device("cpu")) <= 1.0
    True
    """
    was_training = model.training
    model.eval()
    correct = 0
    x_all, y_all = data.tensors
    for i in range(0, len(y_all), batch_size):
        x, y = x_all[i:i + batch_size].to(device), y_all[i:i + batch_size].to(device)
        correct += int((model(x).argmax(1) == y).sum())
    model.train(was_training)
    return correct / len(y_all)


def train(arch: Architecture, epochs: int = 10, batch_size: int = 64, lr: float | None = None,
          seed: int = 0, device: Any = None, progress: bool = True, data: str = "digits",
          max_steps: int | None = None, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Train ``arch`` on ``data``; return the figures and the trained model.

    Keys: ``test_accuracy`` (final, 0..1), ``test_accuracies``, ``train_losses`` and
    ``train_accuracies`` (one per epoch), ``step_losses`` (this process's batches),
    ``seconds``, ``world_size`` and ``model`` (the compiled module, unwrapped).
    ``max_steps`` stops early (a quick test). ``seed`` seeds torch's global generator
    (initialisation) and the shuffling. Runs under DDP when a process group is
    initialised or ``WORLD_SIZE`` > 1; ``log`` prints on rank 0 only.

    >>> import resgraph
    >>> r = train(resgraph.load("examples/digits_resnet.rg"), epochs=1, max_steps=3,
    ...           progress=False, log=lambda s: None)
    >>> len(r["step_losses"])
    3
    """
    if epochs < 1 or batch_size < 1 or (lr is not None and not lr > 0):
        raise ResgraphError("RG713", f"bad training options: epochs={epochs}, "
                            f"batch size={batch_size}, lr={lr} (need epochs ≥ 1, batch size "
                            "≥ 1, lr > 0)")
    shape = check_network(arch, data)
    dev = _pick_device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    rank, world, owned = _distributed(dev)
    say = log if rank == 0 else (lambda s: None)
    try:
        import tqdm as _tqdm  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        raise ResgraphError("RG714", "the progress bar needs tqdm: pip install "
                            "'resgraph[train]' (or pass --no-progress)") from None
    train_set, test_set = load_digits(shape)
    torch.manual_seed(seed)
    model = compile_arch(arch, device=dev)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None)
    gen = torch.Generator().manual_seed(seed)
    sampler: DistributedSampler[Any] | RandomSampler = \
        DistributedSampler(train_set, world, rank, shuffle=True, seed=seed) if world > 1 \
        else RandomSampler(train_set, generator=gen)
    per_rank = len(sampler)
    loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler,
                        drop_last=per_rank % batch_size == 1)  # a batch of 1 breaks batch norm
    steps = epochs * len(loader) if max_steps is None else min(max_steps, epochs * len(loader))
    opt = torch.optim.Adam(net.parameters(), lr=lr or 1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    say(f"training {arch.name} ({arch.num_params:,} parameters) on digits: "
        f"{len(train_set)} train / {len(test_set)} test images as {_SHAPES[shape]}, "
        f"{epochs} epochs, batch {batch_size}, Adam lr {lr or 1e-3:g}, {dev}"
        + (f", DDP × {world}" if world > 1 else ""))
    result: dict[str, Any] = {"train_losses": [], "train_accuracies": [], "test_accuracies": [],
                              "step_losses": [], "world_size": world, "model": model}
    threads = torch.get_num_threads()
    if dev.type == "cpu" and _batch_macs(arch, batch_size) < SMALL_BATCH_MACS:
        torch.set_num_threads(1)  # tiny ops: one thread is fastest, and robust to busy cores
    start, step = time.perf_counter(), 0
    try:
        for epoch in range(1, epochs + 1):
            if isinstance(sampler, DistributedSampler):
                sampler.set_epoch(epoch)
            net.train()
            totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
            bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch",
                       disable=None if progress and rank == 0 else True)
            for x, y in bar:
                x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
                logits = net(x)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                value = float(loss.detach())
                result["step_losses"].append(value)
                totals += torch.tensor([value * len(y), float((logits.argmax(1) == y).sum()),
                                        len(y)], dtype=torch.float64)
                bar.set_postfix(loss=f"{value:.4f}")
                step += 1
                if step >= steps:
                    break
            bar.close()
            if world > 1:
                reduced = totals.to(dev)
                dist.all_reduce(reduced)
                totals = reduced.cpu()
            test_acc = accuracy(model, test_set, dev)
            loss_avg, train_acc = float(totals[0] / totals[2]), float(totals[1] / totals[2])
            result["train_losses"].append(loss_avg)
            result["train_accuracies"].append(train_acc)
            result["test_accuracies"].append(test_acc)
            say(f"epoch {epoch:>3}/{epochs}  loss {loss_avg:.4f}  train acc {train_acc:6.2%}  "
                f"test acc {test_acc:6.2%}  ({time.perf_counter() - start:.1f} s)")
            if step >= steps:
                break
    finally:
        torch.set_num_threads(threads)
        if owned:
            dist.destroy_process_group()
    result["seconds"] = time.perf_counter() - start
    result["test_accuracy"] = result["test_accuracies"][-1]
    say(f"test accuracy {result['test_accuracy']:.2%} on {len(test_set)} images after "
        f"{len(result['test_accuracies'])} epochs ({result['seconds']:.1f} s)")
    return result

