"""What :func:`resgraph.lower.train.train` checks before and while it trains.

Every option is checked before anything is built (:func:`check_options`,
:func:`pick_device`), with a message naming the option; the network must have one float
input (:func:`check_network`) and enough class scores for the data (:func:`check_classes`);
a loss that stops being finite ends the run (RG715) with the epoch, the step and a hint,
and running out of memory is RG701, located at the network.

>>> check_options(10, 64, 3e-4, 0)
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
import torch.distributed as dist

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.lower.data import Data
from resgraph.lower.device import resolve_device
from resgraph.lower.schedule import OPTIMIZERS, SCHEDULES

#: The largest learning rate accepted: Adam's steps are about ``lr`` in size, so a larger one
#: only turns the weights into inf (and past float32's range, the step itself fails).
MAX_LR = 10.0
#: Seeds go to ``torch.manual_seed`` and the samplers' generators: 0 <= seed < 2**63.
MAX_SEED = 2**63
DEFAULT_LR = 1e-3
#: The device types training runs on (DDP: gloo on the CPU, nccl on CUDA).
TRAIN_DEVICES = ("cpu", "cuda")


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
    >>> from resgraph.lower.data import load_data
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


def check_more_options(optimizer: str, schedule: str, warmup: float, weight_decay: float,
                       crop_pad: int) -> None:
    """Refuse (RG713) an unknown ``--optimizer`` or ``--schedule``, or a ``--warmup``,
    ``--weight-decay`` or ``--crop-pad`` that is negative (or not finite).

    >>> try:
    ...     check_more_options("adam", "linear", 0, 0.0, 0)
    ... except ResgraphError as err:
    ...     print(err.message)
    --schedule must be one of cosine, step, constant, got 'linear'
    """
    for option, value, known in (("--optimizer", optimizer, OPTIMIZERS),
                                 ("--schedule", schedule, SCHEDULES)):
        if value not in known:
            raise ResgraphError("RG713", f"{option} must be one of {', '.join(known)}, "
                                f"got {value!r}")
    for option, number in (("--warmup", warmup), ("--weight-decay", weight_decay)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) \
                or not math.isfinite(number) or number < 0:
            raise ResgraphError("RG713", f"{option} must be a finite number >= 0, got "
                                f"{number!r}")
    if isinstance(crop_pad, bool) or not isinstance(crop_pad, int) or crop_pad < 0:
        raise ResgraphError("RG713", f"--crop-pad must be an int >= 0, got {crop_pad!r}")


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
                step: int, lr: float, default_lr: float = DEFAULT_LR) -> None:
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
                            f"(it is {lr:g}, the default is {default_lr:g})")
