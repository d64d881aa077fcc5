"""The parity check every zoo test makes: a compiled network against its reference.

>>> import torch
>>> from torch import nn
>>> import resgraph
>>> arch = resgraph.loads("network n() { input x[4]\\n x -> fc: linear(3) }")
>>> theirs = nn.Sequential()
>>> theirs.fc = nn.Linear(4, 3)
>>> gm = assert_parity(arch.compile(), theirs, torch.ones(2, 4))
"""

from __future__ import annotations

import torch
from torch import nn


def outputs(y: object) -> tuple[torch.Tensor, ...]:
    """A model's outputs as a tuple (one tensor, or the tuple of a multi-output network)."""
    return tuple(y) if isinstance(y, (tuple, list)) else (y,)  # type: ignore[arg-type]


def randomise_bn(model: nn.Module, seed: int = 1) -> None:
    """Random batch-norm statistics and affine parameters, so that eval mode means something
    and a wrong batch-norm fold or a dropped term cannot hide."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)


def assert_parity(gm: nn.Module, theirs: nn.Module, x: torch.Tensor, atol: float = 1e-5,
                  every_grad_nonzero: bool = True) -> nn.Module:
    """Load ``theirs``'s state_dict into ``gm`` with ``strict=True``; in eval, every output
    equals the reference's within ``atol`` and the reference's is not near zero (so that
    the comparison means something); in train mode, every parameter of ``gm`` gets a
    gradient (a nonzero one unless ``every_grad_nonzero`` is off). Returns ``gm``."""
    gm.load_state_dict(theirs.state_dict(), strict=True)
    gm.eval(), theirs.eval()
    with torch.no_grad():
        ours, ref = outputs(gm(x)), outputs(theirs(x))
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        assert b.abs().max() > 1e-2, "the reference's output is near zero"
        assert (a - b).abs().max() <= atol, f"outputs differ by {(a - b).abs().max():.3g}"
    gm.train()
    sum(y.square().mean() for y in outputs(gm(x))).backward()
    missing = [k for k, p in gm.named_parameters()
               if p.grad is None or (every_grad_nonzero and not p.grad.any())]
    assert not missing, f"no gradient for {missing[:5]}"
    return gm
