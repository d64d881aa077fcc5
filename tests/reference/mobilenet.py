"""MobileNetV2 and MobileNetV3 (Large, Small) with torchvision's module layout.

Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", 2018;
Howard et al., "Searching for MobileNetV3", 2019.

Written from the papers and torchvision's published layer names (not its code):
- every conv-bn(-activation) unit is an ``nn.Sequential`` numbered ``0`` (conv,
  no bias), ``1`` (bn), ``2`` (activation, if any), torchvision's
  ``Conv2dNormActivation``;
- V2: ``features.0`` stem, ``features.1..17`` inverted residuals (a ``conv``
  Sequential: optional 1x1 expansion unit, depthwise unit, bare 1x1 conv, bn),
  ``features.18`` the 1x1 unit to 1280; ``classifier = (Dropout, Linear)``;
- V3: inverted residuals hold ``block`` (optional expansion unit, depthwise unit,
  optional squeeze-and-excitation ``fc1``/``fc2``, projection unit without
  activation); bn eps 1e-3, momentum 0.01; ``classifier = (Linear, Hardswish,
  Dropout, Linear)``.
The residual exists only where the stride is 1 and the channels match.
"""

from __future__ import annotations

import torch
from torch import nn


def make_divisible(v: float, d: int = 8) -> int:
    """Round ``v`` to the nearest multiple of ``d`` (at least ``d``), never more than 10% down."""
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def cna(
    cin: int,
    cout: int,
    k: int,
    stride: int = 1,
    groups: int = 1,
    act: type[nn.Module] | None = nn.ReLU6,
    eps: float = 1e-5,
    momentum: float = 0.1,
) -> nn.Sequential:
    """Conv (no bias, 'same' padding) -> BatchNorm -> optional activation, numbered 0, 1, 2."""
    mods: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=eps, momentum=momentum),
    ]
    if act is not None:
        mods.append(act())
    return nn.Sequential(*mods)


class SqueezeExcite(nn.Module):
    """x * scale(fc2(act(fc1(mean(x))))): fc1/fc2 are 1x1 convs with bias."""

    def __init__(
        self, c: int, squeeze: int, act: type[nn.Module], scale: type[nn.Module]
    ) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.act = act()
        self.scale = scale()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * self.scale(self.fc2(self.act(self.fc1(s))))


class InvertedResidualV2(nn.Module):
    """MobileNetV2 unit: expand (t != 1) -> depthwise 3x3 -> linear 1x1 projection."""

    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = int(round(cin * t))
        mods: list[nn.Module] = []
        if t != 1:
            mods.append(cna(cin, hidden, 1))
        mods += [
            cna(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*mods)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """``features`` then global average pooling and ``classifier``."""

    # expansion t, channels c, repeats n, first stride s (Table 2 of the paper)
    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, classes: int = 1000, width: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        c = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        feats: list[nn.Module] = [cna(3, c, 3, 2)]
        for t, ch, n, s in self.SETTING:
            cout = make_divisible(ch * width)
            for i in range(n):
                feats.append(InvertedResidualV2(c, cout, s if i == 0 else 1, t))
                c = cout
        feats.append(cna(c, last, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).mean((2, 3))
        return self.classifier(x)


class InvertedResidualV3(nn.Module):
    """MobileNetV3 bneck: expand -> depthwise k x k -> optional SE -> linear projection."""

    def __init__(
        self, cin: int, k: int, exp: int, cout: int, se: bool, hs: bool, stride: int
    ) -> None:
        super().__init__()
        act: type[nn.Module] = nn.Hardswish if hs else nn.ReLU
        mods: list[nn.Module] = []
        if exp != cin:
            mods.append(cna(cin, exp, 1, act=act, eps=1e-3, momentum=0.01))
        mods.append(cna(exp, exp, k, stride, groups=exp, act=act, eps=1e-3, momentum=0.01))
        if se:
            mods.append(SqueezeExcite(exp, make_divisible(exp // 4), nn.ReLU, nn.Hardsigmoid))
        mods.append(cna(exp, cout, 1, act=None, eps=1e-3, momentum=0.01))
        self.block = nn.Sequential(*mods)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


# input, kernel, expanded, output, SE, hard-swish, stride (Tables 1 and 2 of the paper)
V3_LARGE = [
    (16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2),
    (24, 3, 72, 24, False, False, 1), (24, 5, 72, 40, True, False, 2),
    (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
    (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1),
    (160, 5, 960, 160, True, True, 1),
]
V3_SMALL = [
    (16, 3, 16, 16, True, False, 2), (16, 3, 72, 24, False, False, 2),
    (24, 3, 88, 24, False, False, 1), (24, 5, 96, 40, True, True, 2),
    (40, 5, 240, 40, True, True, 1), (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1), (48, 5, 144, 48, True, True, 1),
    (48, 5, 288, 96, True, True, 2), (96, 5, 576, 96, True, True, 1),
    (96, 5, 576, 96, True, True, 1),
]


class MobileNetV3(nn.Module):
    """``features`` (stem, bnecks, 1x1 to 6x channels), pooling, ``classifier``."""

    def __init__(
        self,
        setting: list[tuple[int, int, int, int, bool, bool, int]],
        last: int,
        classes: int = 1000,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        feats: list[nn.Module] = [
            cna(3, setting[0][0], 3, 2, act=nn.Hardswish, eps=1e-3, momentum=0.01)
        ]
        feats += [InvertedResidualV3(*row) for row in setting]
        c = setting[-1][3]
        feats.append(cna(c, 6 * c, 1, act=nn.Hardswish, eps=1e-3, momentum=0.01))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(
            nn.Linear(6 * c, last), nn.Hardswish(), nn.Dropout(dropout), nn.Linear(last, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).mean((2, 3))
        return self.classifier(x)


def mobilenet_v2(classes: int = 1000) -> MobileNetV2:
    """MobileNetV2 1.0 (3,504,872 parameters)."""
    return MobileNetV2(classes)


def mobilenet_v3_large(classes: int = 1000) -> MobileNetV3:
    """MobileNetV3-Large (5,483,032 parameters)."""
    return MobileNetV3(V3_LARGE, 1280, classes)


def mobilenet_v3_small(classes: int = 1000) -> MobileNetV3:
    """MobileNetV3-Small (2,542,856 parameters)."""
    return MobileNetV3(V3_SMALL, 1024, classes)
