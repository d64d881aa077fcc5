"""RegNetX and RegNetY with torchvision's module layout.

Radosavovic et al., "Designing Network Design Spaces", 2020.

Written from the paper and torchvision's published layer names (not its code):
``stem`` (conv 3x3/2 to 32, bn, relu numbered 0, 1, 2), ``trunk_output`` holding
stages ``block1..block4``, each holding blocks ``block{s}-{i}``, then global
average pooling and ``fc``. A block is ``relu(proj(x) + f(x))`` with
``proj`` a 1x1 conv + bn (numbered 0, 1) where the width or stride changes (the
identity otherwise) and ``f`` = ``a`` (1x1 unit), ``b`` (grouped 3x3 unit with
the stride, group width g), RegNetY's ``se`` (``fc1``/``fc2``, relu then
sigmoid, squeezing to a quarter of the block's *input* width) and ``c`` (1x1 unit
without activation). Bottleneck ratio 1, every conv bias-free.

Per-stage widths and depths come from the paper's quantised linear rule
(w_0, w_a, w_m, depth), computed in float32 as the published models were;
``stages(...)`` returns them, so the tables in ``examples/regnet.rg`` can be
checked against it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def stages(
    depth: int, w0: int, wa: float, wm: float, g: int
) -> tuple[list[int], list[int], list[int]]:
    """(depths, widths, group widths) per stage of a RegNet from its generating parameters."""
    u = torch.arange(depth) * wa + w0  # float32, as the published models were computed
    steps = torch.round(torch.log(u / w0) / math.log(wm))
    widths = (torch.round(w0 * torch.pow(wm, steps) / 8) * 8).int().tolist()
    ws: list[int] = []
    ds: list[int] = []
    for w in widths:
        if ws and ws[-1] == w:
            ds[-1] += 1
        else:
            ws.append(w)
            ds.append(1)
    # a group is at most as wide as its stage; the stage width becomes a multiple of it,
    # rounded to nearest but never more than 10% down
    gs = [min(g, w) for w in ws]
    return ds, [round_to(w, q) for w, q in zip(ws, gs)], gs


def round_to(v: int, q: int) -> int:
    """Nearest multiple of ``q`` (at least ``q``), bumped up if more than 10% below ``v``."""
    n = max(q, int(v + q / 2) // q * q)
    return n + q if n < 0.9 * v else n


def unit(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    """Conv (no bias) -> bn -> optional relu, numbered 0, 1, 2."""
    mods: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        mods.append(nn.ReLU())
    return nn.Sequential(*mods)


class SqueezeExcite(nn.Module):
    """x * sigmoid(fc2(relu(fc1(mean(x))))): fc1/fc2 are 1x1 convs with bias."""

    def __init__(self, c: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))
        return x * torch.sigmoid(self.fc2(s))


class Block(nn.Module):
    """relu(proj(x) + f(x)), f = a -> b -> (se) -> c."""

    def __init__(self, cin: int, w: int, stride: int, g: int, se: bool) -> None:
        super().__init__()
        self.proj = unit(cin, w, 1, stride, act=False) if cin != w or stride != 1 else None
        f: dict[str, nn.Module] = {"a": unit(cin, w, 1), "b": unit(w, w, 3, stride, w // g)}
        if se:
            f["se"] = SqueezeExcite(w, int(round(0.25 * cin)))
        f["c"] = unit(w, w, 1, act=False)
        self.f = nn.Sequential()
        for name, m in f.items():
            self.f.add_module(name, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x if self.proj is None else self.proj(x)
        return torch.relu(s + self.f(x))


class RegNet(nn.Module):
    """``stem``, ``trunk_output`` (stages of blocks), global mean, ``fc``."""

    def __init__(
        self, depth: int, w0: int, wa: float, wm: float, g: int, se: bool, classes: int = 1000
    ) -> None:
        super().__init__()
        ds, ws, gs = stages(depth, w0, wa, wm, g)
        self.stem = unit(3, 32, 3, 2)
        self.trunk_output = nn.Sequential()
        c = 32
        for s, (d, w, q) in enumerate(zip(ds, ws, gs), start=1):
            stage = nn.Sequential()
            for i in range(d):
                stage.add_module(f"block{s}-{i}", Block(c, w, 2 if i == 0 else 1, q, se))
                c = w
            self.trunk_output.add_module(f"block{s}", stage)
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.trunk_output(self.stem(x)).mean((2, 3)))


# name: (depth, w_0, w_a, w_m, group width) from the paper's model tables
X = {
    "400mf": (22, 24, 24.48, 2.54, 16), "800mf": (16, 56, 35.73, 2.28, 16),
    "1_6gf": (18, 80, 34.01, 2.25, 24), "3_2gf": (25, 88, 26.31, 2.25, 48),
    "8gf": (23, 80, 49.56, 2.88, 120), "16gf": (22, 216, 55.59, 2.1, 128),
    "32gf": (23, 320, 69.86, 2.0, 168),
}
Y = {
    "400mf": (16, 48, 27.89, 2.09, 8), "800mf": (14, 56, 38.84, 2.4, 16),
    "1_6gf": (27, 48, 20.71, 2.65, 24), "3_2gf": (21, 80, 42.63, 2.66, 24),
    "8gf": (17, 192, 76.82, 2.19, 56), "16gf": (18, 200, 106.23, 2.48, 112),
    "32gf": (20, 232, 115.89, 2.53, 232), "128gf": (27, 456, 160.83, 2.52, 264),
}


def regnet_x(name: str, classes: int = 1000) -> RegNet:
    """RegNetX-<name>, e.g. ``regnet_x("400mf")``."""
    return RegNet(*X[name], se=False, classes=classes)


def regnet_y(name: str, classes: int = 1000) -> RegNet:
    """RegNetY-<name> (with squeeze-and-excitation), e.g. ``regnet_y("400mf")``."""
    return RegNet(*Y[name], se=True, classes=classes)


def regnet_x_400mf(classes: int = 1000) -> RegNet:
    """RegNetX-400MF (5,495,976 parameters)."""
    return regnet_x("400mf", classes)


def regnet_y_400mf(classes: int = 1000) -> RegNet:
    """RegNetY-400MF (4,344,144 parameters)."""
    return regnet_y("400mf", classes)


def regnet_x_800mf(classes: int = 1000) -> RegNet:
    """RegNetX-800MF."""
    return regnet_x("800mf", classes)


def regnet_x_1_6gf(classes: int = 1000) -> RegNet:
    """RegNetX-1.6GF."""
    return regnet_x("1_6gf", classes)


def regnet_x_3_2gf(classes: int = 1000) -> RegNet:
    """RegNetX-3.2GF."""
    return regnet_x("3_2gf", classes)


def regnet_x_8gf(classes: int = 1000) -> RegNet:
    """RegNetX-8GF."""
    return regnet_x("8gf", classes)


def regnet_x_16gf(classes: int = 1000) -> RegNet:
    """RegNetX-16GF."""
    return regnet_x("16gf", classes)


def regnet_x_32gf(classes: int = 1000) -> RegNet:
    """RegNetX-32GF."""
    return regnet_x("32gf", classes)


def regnet_y_800mf(classes: int = 1000) -> RegNet:
    """RegNetY-800MF."""
    return regnet_y("800mf", classes)


def regnet_y_1_6gf(classes: int = 1000) -> RegNet:
    """RegNetY-1.6GF."""
    return regnet_y("1_6gf", classes)


def regnet_y_3_2gf(classes: int = 1000) -> RegNet:
    """RegNetY-3.2GF."""
    return regnet_y("3_2gf", classes)


def regnet_y_8gf(classes: int = 1000) -> RegNet:
    """RegNetY-8GF."""
    return regnet_y("8gf", classes)


def regnet_y_16gf(classes: int = 1000) -> RegNet:
    """RegNetY-16GF."""
    return regnet_y("16gf", classes)


def regnet_y_32gf(classes: int = 1000) -> RegNet:
    """RegNetY-32GF."""
    return regnet_y("32gf", classes)


def regnet_y_128gf(classes: int = 1000) -> RegNet:
    """RegNetY-128GF (the published weights are SWAG, at 384x384)."""
    return regnet_y("128gf", classes)
