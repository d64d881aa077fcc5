"""MnasNet-B1 (0.5, 0.75, 1.0, 1.3) with torchvision's module layout.

Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", 2019.

Written from the paper and torchvision's published layer names (not its code):
``layers`` is one flat ``nn.Sequential``: stem conv 3x3/2, bn, relu (0-2), a
depthwise-separable conv (3-7: dw conv, bn, relu, 1x1 conv, bn), six stacks of
inverted residuals (8-13, each an ``nn.Sequential`` whose units hold ``layers``:
1x1 expand, bn, relu, depthwise k x k, bn, relu, 1x1 project, bn), then a 1x1 conv
to 1280, bn, relu (14-16). Global mean, ``classifier = (Dropout, Linear)``. Every
conv is bias-free; bn momentum is 1 - 0.9997. Widths are the depths
(32, 16, 24, 40, 80, 96, 192, 320) times alpha, rounded to a multiple of 8 that
is at least 90% of the scaled value.
"""

from __future__ import annotations

import torch
from torch import nn

MOMENTUM = 1 - 0.9997


def round_width(v: float, d: int = 8) -> int:
    """Nearest multiple of ``d`` (at least ``d``), bumped up if below 90% of ``v``."""
    n = max(d, int(v + d / 2) // d * d)
    return n if n >= 0.9 * v else n + d


class Unit(nn.Module):
    """Inverted residual: expand, depthwise, linear projection; identity skip where shapes match."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, t: int) -> None:
        super().__init__()
        mid = cin * t
        self.layers = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False),
            nn.BatchNorm2d(mid, momentum=MOMENTUM),
            nn.ReLU(),
            nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid, momentum=MOMENTUM),
            nn.ReLU(),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout, momentum=MOMENTUM),
        )
        self.residual = cin == cout and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers(x)
        return x + y if self.residual else y


# kernel, stride, expansion, repeats of the six stacks
STACKS = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]


class MNASNet(nn.Module):
    """``layers`` (flat Sequential), global mean, ``classifier``."""

    def __init__(self, alpha: float, classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        w = [round_width(c * alpha) for c in (32, 16, 24, 40, 80, 96, 192, 320)]
        mods: list[nn.Module] = [
            nn.Conv2d(3, w[0], 3, 2, 1, bias=False),
            nn.BatchNorm2d(w[0], momentum=MOMENTUM),
            nn.ReLU(),
            nn.Conv2d(w[0], w[0], 3, 1, 1, groups=w[0], bias=False),
            nn.BatchNorm2d(w[0], momentum=MOMENTUM),
            nn.ReLU(),
            nn.Conv2d(w[0], w[1], 1, bias=False),
            nn.BatchNorm2d(w[1], momentum=MOMENTUM),
        ]
        for j, (k, s, t, n) in enumerate(STACKS):
            cin, cout = w[j + 1], w[j + 2]
            mods.append(
                nn.Sequential(*[Unit(cin if i == 0 else cout, cout, k, s if i == 0 else 1, t)
                                for i in range(n)])
            )
        mods += [nn.Conv2d(w[7], 1280, 1, bias=False), nn.BatchNorm2d(1280, momentum=MOMENTUM),
                 nn.ReLU()]
        self.layers = nn.Sequential(*mods)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(x).mean((2, 3)))


def mnasnet0_5(classes: int = 1000) -> MNASNet:
    """MnasNet 0.5 (2,218,512 parameters)."""
    return MNASNet(0.5, classes)


def mnasnet0_75(classes: int = 1000) -> MNASNet:
    """MnasNet 0.75 (3,170,208 parameters)."""
    return MNASNet(0.75, classes)


def mnasnet1_0(classes: int = 1000) -> MNASNet:
    """MnasNet 1.0 (4,383,312 parameters)."""
    return MNASNet(1.0, classes)


def mnasnet1_3(classes: int = 1000) -> MNASNet:
    """MnasNet 1.3 (6,282,256 parameters)."""
    return MNASNet(1.3, classes)
