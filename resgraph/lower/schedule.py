"""Optimizers and learning-rate schedules for :func:`resgraph.lower.train.train`.

The learning rate changes after every step (batch), as a pure function of the step, so a
resumed run continues on the same curve:

- ``cosine`` (the default): from ``lr`` down to 0 over the steps after the warmup;
- ``step``: ``lr``, then ×0.1 at 50% and again at 75% of the steps (the CIFAR schedule of
  He et al., 2015: 32k and 48k of 64k iterations);
- ``constant``: ``lr`` throughout.

``warmup`` is in **epochs** (a fraction is fine): the rate rises linearly from
``lr / steps`` to ``lr`` over that many epochs' steps, then follows the schedule.

>>> f = lr_factor("step", total=100, warmup_steps=0)
>>> [f(0), f(49), f(50), f(75), f(99)]
[1.0, 1.0, 0.1, 0.01, 0.01]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from resgraph.errors import ResgraphError

SCHEDULES = ("cosine", "step", "constant")
OPTIMIZERS = ("adam", "sgd")
#: The default learning rate of each optimizer.
DEFAULT_LRS = {"adam": 1e-3, "sgd": 0.1}
#: SGD's momentum (Nesterov off), as in the ResNet papers.
SGD_MOMENTUM = 0.9


def lr_factor(schedule: str, total: int, warmup_steps: int) -> Callable[[int], float]:
    """The multiplier of the base learning rate at step ``s`` (0-based) of ``total`` steps.

    >>> f = lr_factor("cosine", total=10, warmup_steps=2)
    >>> [round(f(s), 3) for s in (0, 1, 2, 6, 9)]
    [0.5, 1.0, 1.0, 0.5, 0.038]
    """
    if schedule not in SCHEDULES:
        raise ResgraphError("RG713", f"--schedule must be one of {', '.join(SCHEDULES)}, "
                            f"got {schedule!r}")
    total = max(total, 1)
    warmup_steps = min(max(warmup_steps, 0), total)
    rest = max(total - warmup_steps, 1)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / rest
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * t))
        if schedule == "step":
            return 1.0 if t < 0.5 else 0.1 if t < 0.75 else 0.01
        return 1.0

    return factor


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float,
                   weight_decay: float) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum :data:`SGD_MOMENTUM`; ``weight_decay`` is L2 (coupled).

    >>> opt = make_optimizer("sgd", [torch.nn.Parameter(torch.ones(1))], 0.1, 1e-4)
    >>> type(opt).__name__, opt.defaults["momentum"]
    ('SGD', 0.9)
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, weight_decay=weight_decay)
    raise ResgraphError("RG713", f"--optimizer must be one of {', '.join(OPTIMIZERS)}, "
                        f"got {name!r}")


def describe_schedule(schedule: str, warmup: float) -> str:
    """The schedule as the run header prints it.

    >>> describe_schedule("cosine", 1)
    'cosine schedule, 1 warmup epoch'
    """
    text = f"{schedule} schedule"
    if warmup:
        text += f", {warmup:g} warmup epoch{'' if warmup == 1 else 's'}"
    return text
