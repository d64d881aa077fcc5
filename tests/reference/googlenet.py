"""GoogLeNet (Inception v1) with torchvision's module layout, without the aux heads.

Szegedy et al., "Going Deeper with Convolutions", 2014. torchvision's variant:
every conv is a ``BasicConv2d`` = conv (no bias) ``.conv``, batch norm (eps 1e-3)
``.bn``, relu; max pools 3x3/2 in ceil mode; an inception module concatenates
four branches: ``branch1`` 1x1; ``branch2`` 1x1 -> 3x3; ``branch3`` 1x1 -> 3x3
(torchvision's 3x3 where the paper has 5x5, kept for its checkpoint);
``branch4`` 3x3/1 max pool (pad 1, ceil mode) -> 1x1. Then global average
pooling, dropout 0.2, ``fc``.

``transform_input`` is False here: the input is used as given (torchvision sets
it True with its pretrained weights, re-normalising ImageNet-normalised inputs to
mean 0.5 and std 0.5 per channel).

Example:
    >>> sum(p.numel() for p in googlenet().parameters())
    6624904
"""

from __future__ import annotations

import torch
from torch import nn


class BasicConv2d(nn.Module):
    """conv (no bias) -> bn(eps=1e-3) -> relu."""

    def __init__(self, cin: int, cout: int, k: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(bn(conv(x)))``."""
        return torch.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches concatenated: 1x1 | 1x1-3x3 | 1x1-3x3 | maxpool-1x1."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool: int
                 ) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, 1), BasicConv2d(c3r, c3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, 1), BasicConv2d(c5r, c5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pool, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches on channels."""
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    """Stem, inception 3a-3b, 4a-4e, 5a-5b, global average pooling, dropout, ``fc``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, H, W]`` to logits."""
        for name in ("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a",
                     "inception3b", "maxpool3", "inception4a", "inception4b", "inception4c",
                     "inception4d", "inception4e", "maxpool4", "inception5a", "inception5b",
                     "avgpool"):
            x = getattr(self, name)(x)
        return self.fc(self.dropout(torch.flatten(x, 1)))


def googlenet(num_classes: int = 1000) -> GoogLeNet:
    """GoogLeNet without aux heads, ``transform_input=False``."""
    return GoogLeNet(num_classes)
