"""ShuffleNet V2 (0.5x, 1.0x, 1.5x, 2.0x) with torchvision's module layout.

Ma, Zhang, Zheng, Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design", 2018. ``conv1`` = conv3x3/2 (no bias), bn, relu; a 3x3/2
max pool (pad 1); stages ``stage2..4`` of 4, 8, 4 units; ``conv5`` = conv1x1, bn,
relu; global average pooling; ``fc``.

A unit with stride 1 splits the channels in halves, keeps the first and runs the
second through ``branch2`` = conv1x1-bn-relu, depthwise 3x3-bn, conv1x1-bn-relu
(all convs bias-free); it concatenates (kept half, branch2) and shuffles channels
with 2 groups. A unit with stride 2 (the first of each stage) runs the whole
input through ``branch1`` = depthwise 3x3/2-bn, conv1x1-bn-relu, and through
``branch2`` (its depthwise conv strided), then concatenates and shuffles.

Example:
    >>> sum(p.numel() for p in shufflenet_v2("x1_0").parameters())
    2278604
"""

from __future__ import annotations

import torch
from torch import nn

# Output channels of conv1, stage2, stage3, stage4 and conv5 per width multiplier.
WIDTHS = {"x0_5": (24, 48, 96, 192, 1024), "x1_0": (24, 116, 232, 464, 1024),
          "x1_5": (24, 176, 352, 704, 1024), "x2_0": (24, 244, 488, 976, 2048)}
REPEATS = (4, 8, 4)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups: [g, c/g] -> [c/g, g]."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _dw(c: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c, c, 3, stride=stride, padding=1, groups=c, bias=False),
            nn.BatchNorm2d(c)]


def _pw(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Unit(nn.Module):
    """A ShuffleNet V2 unit (``InvertedResidual`` in torchvision)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(*_dw(cin, stride), *_pw(cin, half))
        self.branch2 = nn.Sequential(*_pw(cin if stride > 1 else half, half),
                                     *_dw(half, stride), *_pw(half, half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Split (or copy) the input, run the branches, concatenate, shuffle."""
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat([a, self.branch2(b)], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """conv1, maxpool, stage2..4, conv5, global average pooling, fc."""

    def __init__(self, width: str = "x1_0", num_classes: int = 1000) -> None:
        super().__init__()
        c = WIDTHS[width]
        self.conv1 = nn.Sequential(nn.Conv2d(3, c[0], 3, stride=2, padding=1, bias=False),
                                   nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = c[0]
        for i, (n, cout) in enumerate(zip(REPEATS, c[1:4])):
            units = [Unit(cin, cout, 2)] + [Unit(cout, cout, 1) for _ in range(n - 1)]
            self.add_module(f"stage{i + 2}", nn.Sequential(*units))
            cin = cout
        self.conv5 = nn.Sequential(*_pw(cin, c[4]))
        self.fc = nn.Linear(c[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, H, W]`` to logits."""
        x = self.maxpool(self.conv1(x))
        for name in ("stage2", "stage3", "stage4", "conv5"):
            x = getattr(self, name)(x)
        return self.fc(x.mean([2, 3]))


def shufflenet_v2(width: str = "x1_0", num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 at width ``width`` ("x0_5", "x1_0", "x1_5" or "x2_0")."""
    return ShuffleNetV2(width, num_classes)
