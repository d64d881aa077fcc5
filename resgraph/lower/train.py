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

Every option is checked before anything is built (:func:`check_options`, :func:`pick_device`),
with a message naming the option; a loss that stops being finite ends the run (RG715) with
the epoch, the step and a hint, and running out of memory is RG701, located at the network.

>>> import resgraph
>>> arch = resgraph.load("examples/highway_mlp.rg")
>>> result = train(arch, epochs=1, progress=False, log=lambda s: None)
>>> 0.0 <= result["test_accuracy"] <= 1.0
True
"""

from __future__ import annotations

import math
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
from resgraph.lower.data import Data, load_data
from resgraph.lower.device import resolve_device

#: The largest learning rate accepted: Adam's steps are about ``lr`` in size, so a larger one
#: only turns the weights into inf (and past float32's range, the step itself fails).
MAX_LR = 10.0
#: Seeds go to ``torch.manual_seed`` and the samplers' generators: 0 <= seed < 2**63.
MAX_SEED = 2**63
DEFAULT_LR = 1e-3
#: The device types training runs on (DDP: gloo on the CPU, nccl on CUDA).
TRAIN_DEVICES = ("cpu", "cuda")
#: Below this many multiply-accumulates per batch, CPU training runs on one thread.
SMALL_BATCH_MACS = 500_000_000


def load_digits(input_shape: tuple[int, ...]) -> tuple[TensorDataset, TensorDataset]:
    """The digits train and test sets (1,437 / 360 samples) shaped for ``input_shape``.

    >>> train_set, test_set = load_digits((1, 8, 8))
    >>> len(train_set), len(test_set), tuple(train_set[0][0].shape)
    (1437, 360, (1, 8, 8))
    """
    data = load_data("digits", input_shape)
    return data.train, data.test


def check_network(arch: Architecture) -> tuple[int, ...]:
    """The input shape to feed ``arch``; RG711 unless it has one float input.

    >>> import resgraph
    >>> check_network(resgraph.load("examples/digits_resnet.rg"))
    (1, 8, 8)
    """
    if len(arch.inputs) != 1:
        raise ResgraphError("RG711", f"network '{arch.name}' has {len(arch.inputs)} inputs; "
                            "training on a data set needs exactly one")
    (name, shape), = arch.inputs.items()
    nid = arch.graph.graph["inputs"][0]
    if arch.graph.nodes[nid]["dtype"] != "float":
        raise ResgraphError("RG711", f"network '{arch.name}' takes {name}{list(shape)} of "
                            f"{arch.graph.nodes[nid]['dtype']}s; training feeds float images "
                            "or vectors")
    return shape


def check_classes(arch: Architecture, data: Data) -> None:
    """RG712 unless ``arch`` has one output of at least ``data.classes`` class scores.

    >>> import resgraph
    >>> arch = resgraph.loads("network n() { input x[64]\\n x -> linear(5) }")
    >>> try:
    ...     check_classes(arch, load_data("digits", (64,)))
    ... except ResgraphError as err:
    ...     print(err.message)
    network 'n' outputs output[5]; digits has 10 classes, so training needs one output of \
at least 10 class scores, e.g. a last linear(10) (try --set classes=10)
    """
    outs = list(arch.outputs.values())
    if len(outs) != 1 or len(outs[0]) != 1 or outs[0][0] < data.classes:
        shown = ", ".join(f"{k}{list(v)}" for k, v in arch.outputs.items())
        raise ResgraphError("RG712", f"network '{arch.name}' outputs {shown}; {data.name} has "
                            f"{data.classes} classes, so training needs one output of at least "
                            f"{data.classes} class scores, e.g. a last linear({data.classes}) "
                            f"(try --set classes={data.classes})")


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


def check_options(epochs: int, batch_size: int, lr: float | None, seed: int,
                  max_steps: int | None = None) -> None:
    """Refuse (RG713, naming the option) a training option out of its range.

    ``--epochs``, ``--batch-size`` (and ``max_steps``) are positive ints; ``--lr`` is a
    finite number in (0, :data:`MAX_LR`]; ``--seed`` is an int in [0, 2**63).

    >>> check_options(10, 64, 3e-4, 0)
    >>> try:
    ...     check_options(10, 64, float("inf"), 0)
    ... except ResgraphError as err:
    ...     print(err.code, err.message)
    RG713 --lr must be a finite number greater than 0 and at most 10, got inf
    """
    for option, value in (("--epochs", epochs), ("--batch-size", batch_size),
                          ("max_steps", max_steps)):
        if value is None and option == "max_steps":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ResgraphError("RG713", f"{option} must be a positive int, got {value!r}")
    if lr is not None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) \
                or not 0 < lr <= MAX_LR:
            shown = f"{lr:g}" if isinstance(lr, (int, float)) else repr(lr)
            raise ResgraphError("RG713", "--lr must be a finite number greater than 0 and at "
                                f"most {MAX_LR:g}, got {shown}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        raise ResgraphError("RG713", f"--seed must be an int from 0 to 2**63 - 1, got {seed!r}")


def pick_device(device: Any) -> torch.device:
    """The device to train on: ``None`` picks CUDA when there is one, else the CPU.

    Only ``cpu`` and ``cuda`` (``cuda:N``) train; anything else, a CUDA device that is not
    there, or a device string torch does not know is refused with a message naming
    ``--device``.

    >>> pick_device("cpu")
    device(type='cpu')
    >>> try:
    ...     pick_device("mps")
    ... except ResgraphError as err:
    ...     print(err.code, err.message)
    RG713 --device mps: training runs on cpu or cuda
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ResgraphError("RG702", f"--device {device!r} is not a device; use cpu, cuda or "
                            "cuda:N") from None
    if dev.type not in TRAIN_DEVICES:
        raise ResgraphError("RG713", f"--device {device}: training runs on "
                            f"{' or '.join(TRAIN_DEVICES)}")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ResgraphError("RG702", f"--device {device}: CUDA is not available here; "
                                "use --device cpu")
        if dev.index is not None and dev.index >= count:
            raise ResgraphError("RG702", f"--device {device}: this machine has {count} CUDA "
                                f"device{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1})")
    dev = resolve_device(dev)
    if dev.type == "cuda" and dev.index is None and "LOCAL_RANK" in os.environ:
        dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return dev


def _out_of_memory(exc: BaseException) -> bool:
    """True for the ways torch and Python report an allocation that failed."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text
                                              or "out of memory" in text)


def _memory_error(arch: Architecture, during: str, batch_size: int) -> ResgraphError:
    root = arch.scopes.get(0)
    return ResgraphError("RG701", f"out of memory {during} network '{arch.name}' "
                         f"({arch.num_params:,} parameters, batch {batch_size}); lower "
                         "--batch-size, train a smaller network, or free memory",
                         root.span if root is not None else None)


def _check_loss(value: float, world: int, device: torch.device, epoch: int, batch: int,
                step: int, lr: float) -> None:
    """Stop (RG715) at the first batch whose loss is not finite, before it updates the weights.

    Under DDP the ranks agree first (one number each, summed: the sum of cross-entropy
    losses is finite exactly when every rank's is), so that all of them stop together.

    >>> _check_loss(2.3, 1, torch.device("cpu"), 1, 1, 1, 1e-3)
    >>> try:
    ...     _check_loss(float("nan"), 1, torch.device("cpu"), 2, 3, 26, 5.0)
    ... except ResgraphError as err:
    ...     print(err.message)
    the loss is nan in epoch 2, step 26 (batch 3 of the epoch): training diverged; lower \
--lr (it is 5, the default is 0.001)
    """
    if world > 1:
        total = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(total)
        value = float(total)
    if not math.isfinite(value):
        raise ResgraphError("RG715", f"the loss is {value} in epoch {epoch}, step {step} "
                            f"(batch {batch} of the epoch): training diverged; lower --lr "
                            f"(it is {lr:g}, the default is {DEFAULT_LR:g})")


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
    check_options(epochs, batch_size, lr, seed, max_steps)
    shape = check_network(arch)
    dev = pick_device(device)
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
    loaded = load_data(data, shape, hparams=arch.hparams)
    check_classes(arch, loaded)
    train_set, test_set = loaded.train, loaded.test
    torch.manual_seed(seed)
    try:
        model = compile_arch(arch, device=dev)
    except (MemoryError, RuntimeError) as exc:
        if _out_of_memory(exc):
            raise _memory_error(arch, "building", batch_size) from None
        raise
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
    opt = torch.optim.Adam(net.parameters(), lr=lr or DEFAULT_LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    say(f"training {arch.name} ({arch.num_params:,} parameters) on {loaded.describe()}; "
        f"{epochs} epochs, batch {batch_size}, Adam lr {lr or DEFAULT_LR:g}, {dev}"
        + (f", DDP × {world}" if world > 1 else ""))
    result: dict[str, Any] = {"train_losses": [], "train_accuracies": [], "test_accuracies": [],
                              "step_losses": [], "world_size": world, "model": model}
    threads = torch.get_num_threads()
    if dev.type == "cpu" and _batch_macs(arch, batch_size) < SMALL_BATCH_MACS:
        torch.set_num_threads(1)  # tiny ops: one thread is fastest, and robust to busy cores
    start, step, epoch = time.perf_counter(), 0, 1
    try:
        for epoch in range(1, epochs + 1):
            if isinstance(sampler, DistributedSampler):
                sampler.set_epoch(epoch)
            net.train()
            totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
            bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch",
                       disable=None if progress and rank == 0 else True)
            for batch, (x, y) in enumerate(bar, 1):
                x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
                logits = net(x)
                loss = F.cross_entropy(logits, y)
                value = float(loss.detach())
                _check_loss(value, world, dev, epoch, batch, step + 1, lr or DEFAULT_LR)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
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
    except (MemoryError, RuntimeError) as exc:
        if _out_of_memory(exc):
            raise _memory_error(arch, f"in epoch {epoch}, step {step + 1}, training",
                                batch_size) from None
        raise
    finally:
        torch.set_num_threads(threads)
        if owned:
            dist.destroy_process_group()
    result["seconds"] = time.perf_counter() - start
    result["test_accuracy"] = result["test_accuracies"][-1]
    say(f"test accuracy {result['test_accuracy']:.2%} on {len(test_set)} images after "
        f"{len(result['test_accuracies'])} epochs ({result['seconds']:.1f} s)")
    return result

