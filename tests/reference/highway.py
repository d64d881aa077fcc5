"""Highway MLP on vectors.

Srivastava, Greff, Schmidhuber, "Highway Networks" / "Training Very Deep
Networks", 2015. Each highway layer computes
``y = H(x) * T(x) + x * (1 - T(x))`` with ``H = relu(linear(x))`` and the
transform gate ``T = sigmoid(linear(x))``, whose bias is filled with
``gate_bias`` (default -2.0) so that the layers start close to carrying their
input through. The network: linear(in_features, d), ``layers`` highway layers
of width d, linear(d, classes).

Example:
    >>> import torch
    >>> highway_mlp(d=32, layers=4)(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
"""

from __future__ import annotations

import torch
from torch import nn


class HighwayLayer(nn.Module):
    """``H(x) * T(x) + x * (1 - T(x))`` with ``H = relu(linear)``, ``T = sigmoid(linear)``."""

    def __init__(self, d: int, gate_bias: float = -2.0) -> None:
        super().__init__()
        self.h = nn.Linear(d, d)
        self.gate = nn.Linear(d, d)
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the gated sum of transform and carry."""
        t = torch.sigmoid(self.gate(x))
        return torch.relu(self.h(x)) * t + x * (1 - t)


class HighwayMLP(nn.Module):
    """``stem`` linear, ``layers`` highway layers in ``highway``, ``head`` linear."""

    def __init__(
        self,
        d: int,
        layers: int,
        classes: int = 10,
        in_features: int = 64,
        gate_bias: float = -2.0,
    ) -> None:
        super().__init__()
        self.stem = nn.Linear(in_features, d)
        self.highway = nn.Sequential(*(HighwayLayer(d, gate_bias) for _ in range(layers)))
        self.head = nn.Linear(d, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[N, in_features]`` to logits ``[N, classes]``."""
        return self.head(self.highway(self.stem(x)))


def highway_mlp(
    d: int = 64, layers: int = 10, classes: int = 10, gate_bias: float = -2.0
) -> HighwayMLP:
    """The network of ``examples/highway_mlp.rg``: 64 inputs (flattened 8x8 digits)."""
    return HighwayMLP(d, layers, classes, gate_bias=gate_bias)
