"""SqueezeNet 1.0 and 1.1 with torchvision's module layout.

Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer, "SqueezeNet: AlexNet-level
accuracy with 50x fewer parameters and <0.5MB model size", 2016 (1.1: the
revision in the authors' repository, a 3x3/64 stem and earlier pooling).

A fire module squeezes with a 1x1 conv (``squeeze``) + ReLU, then concatenates on
channels ``relu(expand1x1(s))`` and ``relu(expand3x3(s))`` (3x3, pad 1). Every conv
has a bias. ``features`` numbers every module (convs, ReLUs, 3x3/2 max pools in
ceil mode, fires); ``classifier`` = dropout, conv1x1(classes), relu, global
average pooling (key ``classifier.1``).

Example:
    >>> sum(p.numel() for p in squeezenet("1_1").parameters())
    1235496
"""

from __future__ import annotations

import torch
from torch import nn


class Fire(nn.Module):
    """squeeze 1x1 -> relu -> concat(relu(expand 1x1), relu(expand 3x3))."""

    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``concat(e1, e3)`` on dim 1."""
        s = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(s)), torch.relu(self.expand3x3(s))], 1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """``features`` -> ``classifier`` -> flatten."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5
                 ) -> None:
        super().__init__()
        # fire modules as (squeeze, expand) with expand1x1 = expand3x3 = expand
        fires = [(16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256),
                 (64, 256)]
        if version == "1_0":
            layers: list[nn.Module] = [nn.Conv2d(3, 96, 7, stride=2), nn.ReLU(inplace=True)]
            pool_before = (0, 3, 7)       # a max pool precedes fires 0, 3 and 7
            cin = 96
        else:
            layers = [nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(inplace=True)]
            pool_before = (0, 2, 4)
            cin = 64
        for i, (s, e) in enumerate(fires):
            if i in pool_before:
                layers.append(_pool())
            layers.append(Fire(cin, s, e, e))
            cin = 2 * e
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Conv2d(512, num_classes, 1),
                                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, H, W]`` to logits."""
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet(version: str = "1_0", num_classes: int = 1000) -> SqueezeNet:
    """SqueezeNet ``version`` "1_0" or "1_1"."""
    return SqueezeNet(version, num_classes)
