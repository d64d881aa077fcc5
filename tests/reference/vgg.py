"""VGG 11/13/16/19 (configurations A, B, D, E), with and without batch norm.

Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", 2014. torchvision's layout: ``features`` is one ``nn.Sequential``
in which every module takes the next number: 3x3 conv (pad 1, with bias, also
before a batch norm), [batch norm,] ReLU, and 2x2/2 max pooling closing each of
the five stages. Then ``AdaptiveAvgPool2d((7, 7))``, flatten and ``classifier`` =
linear(4096), relu, dropout, linear(4096), relu, dropout, linear(classes)
(keys ``classifier.{0,3,6}``).

Example:
    >>> sum(p.numel() for p in vgg16().parameters())
    138357544
"""

from __future__ import annotations

import torch
from torch import nn

# Convs per stage for configurations A (11), B (13), D (16), E (19); widths 64..512.
STAGES = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)


class VGG(nn.Module):
    """``features`` -> adaptive average pool to 7x7 -> ``classifier``."""

    def __init__(self, depth: int, batch_norm: bool = False, num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for convs, width in zip(STAGES[depth], WIDTHS):
            for _ in range(convs):
                layers.append(nn.Conv2d(cin, width, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU(inplace=True))
                cin = width
            layers.append(nn.MaxPool2d(2, stride=2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, H, W]`` to logits."""
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg(depth: int, batch_norm: bool = False, num_classes: int = 1000) -> VGG:
    """VGG-``depth`` (11, 13, 16 or 19), with batch norm after each conv if ``batch_norm``."""
    return VGG(depth, batch_norm, num_classes)


def vgg16(num_classes: int = 1000) -> VGG:
    """VGG-16 (configuration D) without batch norm."""
    return VGG(16, False, num_classes)
