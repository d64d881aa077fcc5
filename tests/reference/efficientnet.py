"""EfficientNet B0-B7 and EfficientNetV2 S/M/L with torchvision's module layout.

Tan and Le, "EfficientNet: Rethinking Model Scaling for CNNs", 2019;
Tan and Le, "EfficientNetV2: Smaller Models and Faster Training", 2021.

Written from the papers and torchvision's published layer names (not its code):
- ``features.0`` is the stem unit (conv 3x3/2, bn, SiLU numbered 0, 1, 2);
  ``features.1..`` are the stages (``nn.Sequential`` of blocks); the last
  ``features`` entry is a 1x1 unit (4x the last width for B0-B7, 1280 for V2);
  ``classifier = (Dropout, Linear)``;
- an MBConv block holds ``block``: optional 1x1 expansion unit, depthwise unit,
  squeeze-and-excitation (``fc1``/``fc2``, SiLU then sigmoid, squeezing to a
  quarter of the block's *input* channels), projection unit without activation;
- a FusedMBConv block (V2) holds ``block``: a k x k expansion unit and a 1x1
  projection unit, or a single k x k unit when the expansion is 1;
- residual (with stochastic depth in training, the identity in eval) only where
  the stride is 1 and the channels match.
B0-B7 scale widths by ``make_divisible(c * width)`` and stage depths by
``ceil(n * depth)``; B5-B7 use bn eps 1e-3 (momentum 0.01), V2 uses eps 1e-3.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def make_divisible(v: float, d: int = 8) -> int:
    """Round ``v`` to the nearest multiple of ``d`` (at least ``d``), never more than 10% down."""
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


class Cfg:
    """Batch-norm settings shared by one network's units."""

    def __init__(self, eps: float = 1e-5, momentum: float = 0.1) -> None:
        self.eps, self.momentum = eps, momentum

    def unit(
        self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True
    ) -> nn.Sequential:
        """Conv (no bias, padding (k-1)//2) -> bn -> optional SiLU, numbered 0, 1, 2."""
        mods: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=self.eps, momentum=self.momentum),
        ]
        if act:
            mods.append(nn.SiLU())
        return nn.Sequential(*mods)


class SqueezeExcite(nn.Module):
    """x * sigmoid(fc2(silu(fc1(mean(x))))): fc1/fc2 are 1x1 convs with bias."""

    def __init__(self, c: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = nn.functional.silu(self.fc1(x.mean((2, 3), keepdim=True)))
        return x * torch.sigmoid(self.fc2(s))


class MBConv(nn.Module):
    """Expand (1x1) -> depthwise k x k -> SE -> project (1x1, linear)."""

    def __init__(self, cfg: Cfg, cin: int, cout: int, k: int, stride: int, t: float) -> None:
        super().__init__()
        mid = make_divisible(cin * t)
        mods: list[nn.Module] = []
        if mid != cin:
            mods.append(cfg.unit(cin, mid, 1))
        mods += [
            cfg.unit(mid, mid, k, stride, groups=mid),
            SqueezeExcite(mid, max(1, cin // 4)),
            cfg.unit(mid, cout, 1, act=False),
        ]
        self.block = nn.Sequential(*mods)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class FusedMBConv(nn.Module):
    """Fused expansion (k x k) -> project (1x1, linear); one k x k unit when t == 1."""

    def __init__(self, cfg: Cfg, cin: int, cout: int, k: int, stride: int, t: float) -> None:
        super().__init__()
        mid = make_divisible(cin * t)
        if mid != cin:
            mods = [cfg.unit(cin, mid, k, stride), cfg.unit(mid, cout, 1, act=False)]
        else:
            mods = [cfg.unit(cin, cout, k, stride)]
        self.block = nn.Sequential(*mods)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


# (fused?, expansion, kernel, stride, input, output, repeats)
Stage = tuple[bool, float, int, int, int, int, int]

B0: list[Stage] = [
    (False, 1, 3, 1, 32, 16, 1), (False, 6, 3, 2, 16, 24, 2), (False, 6, 5, 2, 24, 40, 2),
    (False, 6, 3, 2, 40, 80, 3), (False, 6, 5, 1, 80, 112, 3), (False, 6, 5, 2, 112, 192, 4),
    (False, 6, 3, 1, 192, 320, 1),
]
V2_S: list[Stage] = [
    (True, 1, 3, 1, 24, 24, 2), (True, 4, 3, 2, 24, 48, 4), (True, 4, 3, 2, 48, 64, 4),
    (False, 4, 3, 2, 64, 128, 6), (False, 6, 3, 1, 128, 160, 9), (False, 6, 3, 2, 160, 256, 15),
]
V2_M: list[Stage] = [
    (True, 1, 3, 1, 24, 24, 3), (True, 4, 3, 2, 24, 48, 5), (True, 4, 3, 2, 48, 80, 5),
    (False, 4, 3, 2, 80, 160, 7), (False, 6, 3, 1, 160, 176, 14), (False, 6, 3, 2, 176, 304, 18),
    (False, 6, 3, 1, 304, 512, 5),
]
V2_L: list[Stage] = [
    (True, 1, 3, 1, 32, 32, 4), (True, 4, 3, 2, 32, 64, 7), (True, 4, 3, 2, 64, 96, 7),
    (False, 4, 3, 2, 96, 192, 10), (False, 6, 3, 1, 192, 224, 19), (False, 6, 3, 2, 224, 384, 25),
    (False, 6, 3, 1, 384, 640, 7),
]


class EfficientNet(nn.Module):
    """``features`` (stem, stages, last 1x1 unit), global mean, ``classifier``."""

    def __init__(
        self,
        stages: list[Stage],
        last: int | None,
        dropout: float,
        cfg: Cfg,
        width: float = 1.0,
        depth: float = 1.0,
        classes: int = 1000,
    ) -> None:
        super().__init__()
        rows = [
            (f, t, k, s, make_divisible(ci * width), make_divisible(co * width),
             math.ceil(n * depth))
            for f, t, k, s, ci, co, n in stages
        ]
        feats: list[nn.Module] = [cfg.unit(3, rows[0][4], 3, 2)]
        for fused, t, k, s, cin, cout, n in rows:
            kind = FusedMBConv if fused else MBConv
            feats.append(nn.Sequential(*[
                kind(cfg, cin if i == 0 else cout, cout, k, s if i == 0 else 1, t) for i in range(n)
            ]))
        c = rows[-1][5]
        out = last if last is not None else 4 * c
        feats.append(cfg.unit(c, out, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(out, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


def _b(
    width: float, depth: float, dropout: float, classes: int, eps: float = 1e-5
) -> EfficientNet:
    cfg = Cfg(eps, 0.01) if eps != 1e-5 else Cfg()
    return EfficientNet(B0, None, dropout, cfg, width, depth, classes)


def efficientnet_b0(classes: int = 1000) -> EfficientNet:
    """B0: width 1.0, depth 1.0 (5,288,548 parameters; 224x224)."""
    return _b(1.0, 1.0, 0.2, classes)


def efficientnet_b1(classes: int = 1000) -> EfficientNet:
    """B1: width 1.0, depth 1.1 (240x240)."""
    return _b(1.0, 1.1, 0.2, classes)


def efficientnet_b2(classes: int = 1000) -> EfficientNet:
    """B2: width 1.1, depth 1.2 (288x288)."""
    return _b(1.1, 1.2, 0.3, classes)


def efficientnet_b3(classes: int = 1000) -> EfficientNet:
    """B3: width 1.2, depth 1.4 (300x300)."""
    return _b(1.2, 1.4, 0.3, classes)


def efficientnet_b4(classes: int = 1000) -> EfficientNet:
    """B4: width 1.4, depth 1.8 (380x380)."""
    return _b(1.4, 1.8, 0.4, classes)


def efficientnet_b5(classes: int = 1000) -> EfficientNet:
    """B5: width 1.6, depth 2.2, bn eps 1e-3 (456x456)."""
    return _b(1.6, 2.2, 0.4, classes, 1e-3)


def efficientnet_b6(classes: int = 1000) -> EfficientNet:
    """B6: width 1.8, depth 2.6, bn eps 1e-3 (528x528)."""
    return _b(1.8, 2.6, 0.5, classes, 1e-3)


def efficientnet_b7(classes: int = 1000) -> EfficientNet:
    """B7: width 2.0, depth 3.1, bn eps 1e-3 (600x600)."""
    return _b(2.0, 3.1, 0.5, classes, 1e-3)


def efficientnet_v2_s(classes: int = 1000) -> EfficientNet:
    """EfficientNetV2-S (384x384)."""
    return EfficientNet(V2_S, 1280, 0.2, Cfg(1e-3), classes=classes)


def efficientnet_v2_m(classes: int = 1000) -> EfficientNet:
    """EfficientNetV2-M (480x480)."""
    return EfficientNet(V2_M, 1280, 0.3, Cfg(1e-3), classes=classes)


def efficientnet_v2_l(classes: int = 1000) -> EfficientNet:
    """EfficientNetV2-L (480x480)."""
    return EfficientNet(V2_L, 1280, 0.4, Cfg(1e-3), classes=classes)
