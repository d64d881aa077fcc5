"""One DenseNet dense block, for equivalence tests of resgraph's ``dense`` group.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
Networks", 2017. Layer ``i`` reads ``concat(x, h1..h(i-1))`` on the channel
dimension and computes ``hi``; the block returns ``concat(x, h1..hL)``.
Each layer is the DenseNet-B bottleneck ``bn-relu-conv1x1(bn_size*k)-bn-relu-conv3x3(k)``
(or, with ``bn_size=0``, the plain ``bn-relu-conv3x3(k)``); convs have no bias.
Attribute names follow torchvision (``denselayer1.norm1``, ``.conv1``, ...).

Example:
    >>> import torch
    >>> DenseBlock(16, growth=12, layers=4)(torch.zeros(2, 16, 8, 8)).shape
    torch.Size([2, 64, 8, 8])
"""

from __future__ import annotations

import torch
from torch import nn


class DenseLayer(nn.Sequential):
    """``bn-relu-conv1x1(bn_size*growth)-bn-relu-conv3x3(growth)``; plain 3x3 if bn_size=0."""

    def __init__(self, cin: int, growth: int, bn_size: int = 4) -> None:
        super().__init__()
        if bn_size:
            self.add_module("norm1", nn.BatchNorm2d(cin))
            self.add_module("relu1", nn.ReLU(inplace=True))
            self.add_module("conv1", nn.Conv2d(cin, bn_size * growth, 1, bias=False))
            cin = bn_size * growth
        self.add_module("norm2", nn.BatchNorm2d(cin))
        self.add_module("relu2", nn.ReLU(inplace=True))
        self.add_module("conv2", nn.Conv2d(cin, growth, 3, padding=1, bias=False))


class DenseBlock(nn.ModuleDict):
    """``layers`` dense layers; output channels ``cin + layers * growth``."""

    def __init__(self, cin: int, growth: int, layers: int, bn_size: int = 4) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(cin + i * growth, growth, bn_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``concat(x, h1..hL)`` on dim 1."""
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)
