"""Pre-activation bottleneck ResNets for CIFAR (ResNet-164, ResNet-1001).

He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", 2016.
A 3x3 conv with 16 channels, three stages of ``n`` pre-activation bottleneck
units (widths 16, 32, 64; outputs 64, 128, 256; stride 2 at the first unit of
stages 2 and 3), then bn, relu, global average pooling and a linear
classifier: ``9n + 2`` weighted layers.

A unit computes ``y = F(x) + s(x)`` with
``F = bn-relu-conv1x1(w) -> bn-relu-conv3x3(w, stride) -> bn-relu-conv1x1(4w)``.
The shortcut ``s`` is the identity where the shape is unchanged, else a bare,
bias-free 1x1 conv (no bn) with the unit's stride, applied to the unit's
*raw* input ``x`` (not to the pre-activated ``relu(bn(x))``).

Example:
    >>> sum(p.numel() for p in preact_resnet(18).parameters())  # ResNet-164
    1703258
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PreActBottleneck(nn.Module):
    """bn-relu-conv (1x1, 3x3, 1x1) with an identity or bare 1x1 conv shortcut."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * self.expansion
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``F(x) + s(x)`` (no activation after the sum)."""
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return out + shortcut


class PreActResNet(nn.Module):
    """ResNet-(9n+2): ``conv1, layer1..layer3, norm, fc``."""

    def __init__(self, n: int, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        cin = 16
        stages = []
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = [PreActBottleneck(cin, width, stride)]
            cin = width * PreActBottleneck.expansion
            blocks += [PreActBottleneck(cin, width) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.norm = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, 32, 32]`` to logits ``[N, classes]``."""
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        x = F.relu(self.norm(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def preact_resnet(n: int, classes: int = 10) -> PreActResNet:
    """ResNet-(9n+2): n=18 gives ResNet-164, n=111 gives ResNet-1001."""
    return PreActResNet(n, classes)
