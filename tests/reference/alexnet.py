"""AlexNet with torchvision's module layout (the single-GPU "one weird trick" variant).

Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", 2012; Krizhevsky, "One weird trick for parallelizing
convolutional neural networks", 2014 (64-192-384-256-256 channels).

``features`` is an ``nn.Sequential`` of five convs (with bias), each followed by
a ReLU, with 3x3/2 max pooling after the first, second and fifth; then
``AdaptiveAvgPool2d((6, 6))``, flatten and ``classifier`` = dropout, linear(4096),
relu, dropout, linear(4096), relu, linear(classes). Keys: ``features.{0,3,6,8,10}``,
``classifier.{1,4,6}``.

Example:
    >>> sum(p.numel() for p in alexnet().parameters())
    61100840
"""

from __future__ import annotations

import torch
from torch import nn


class AlexNet(nn.Module):
    """``features`` -> adaptive average pool to 6x6 -> ``classifier``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        # (out channels, kernel, stride, padding, max pool after)
        for cout, k, s, p, pool in [(64, 11, 4, 2, True), (192, 5, 1, 2, True),
                                    (384, 3, 1, 1, False), (256, 3, 1, 1, False),
                                    (256, 3, 1, 1, True)]:
            layers += [nn.Conv2d(cin, cout, k, stride=s, padding=p), nn.ReLU(inplace=True)]
            if pool:
                layers.append(nn.MaxPool2d(3, stride=2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, H, W]`` to logits."""
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def alexnet(num_classes: int = 1000) -> AlexNet:
    """AlexNet (torchvision's layout, 61,100,840 parameters with 1000 classes)."""
    return AlexNet(num_classes)
