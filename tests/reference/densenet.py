"""DenseNets: torchvision's ImageNet layout and the CIFAR DenseNet-BC.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
Networks", 2017.

ImageNet (torchvision layout, keys ``features.conv0``, ``features.denseblock1``,
``features.transition1``, ``features.norm5``, ``classifier``): conv0 7x7/2
(no bias), norm0, relu0, pool0 = maxpool(3, 2, pad 1); dense blocks of
bottleneck layers; transitions bn-relu-conv1x1(floor(c/2))-avgpool(2); then
norm5, relu, global average pooling and the linear classifier.

CIFAR DenseNet-BC(L, k): conv 3x3 with 2k channels (no bias), three dense blocks
of ``(L - 4) // 6`` bottleneck layers (bn_size 4) separated by two transitions
with compression 0.5, then bn, relu, global average pooling, linear(classes).

Example:
    >>> sum(p.numel() for p in densenet121().parameters())
    7978856
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .dense_block import DenseBlock


class Transition(nn.Sequential):
    """bn-relu-conv1x1(cout)-avgpool(2): torchvision's ``_Transition``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(cin))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(cin, cout, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(2, stride=2))


class DenseNet(nn.Module):
    """A DenseNet: ``features`` (nn.Sequential) then ``classifier``."""

    def __init__(
        self,
        growth: int,
        block_config: tuple[int, ...],
        init_features: int,
        bn_size: int = 4,
        compression: float = 0.5,
        classes: int = 1000,
        imagenet_stem: bool = True,
    ) -> None:
        super().__init__()
        stem: OrderedDict[str, nn.Module] = OrderedDict()
        if imagenet_stem:
            stem["conv0"] = nn.Conv2d(3, init_features, 7, stride=2, padding=3, bias=False)
            stem["norm0"] = nn.BatchNorm2d(init_features)
            stem["relu0"] = nn.ReLU(inplace=True)
            stem["pool0"] = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            stem["conv0"] = nn.Conv2d(3, init_features, 3, padding=1, bias=False)
        self.features = nn.Sequential(stem)
        c = init_features
        for i, layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(c, growth, layers, bn_size))
            c += layers * growth
            if i != len(block_config) - 1:
                cout = int(c * compression)
                self.features.add_module(f"transition{i + 1}", Transition(c, cout))
                c = cout
        self.features.add_module(f"norm{len(block_config) + 1}", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, H, W]`` to logits ``[N, classes]``."""
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def densenet121(num_classes: int = 1000) -> DenseNet:
    """DenseNet-121: growth 32, blocks (6, 12, 24, 16), 64 initial features."""
    return DenseNet(32, (6, 12, 24, 16), 64, classes=num_classes)


def densenet161(num_classes: int = 1000) -> DenseNet:
    """DenseNet-161: growth 48, blocks (6, 12, 36, 24), 96 initial features."""
    return DenseNet(48, (6, 12, 36, 24), 96, classes=num_classes)


def densenet169(num_classes: int = 1000) -> DenseNet:
    """DenseNet-169: growth 32, blocks (6, 12, 32, 32), 64 initial features."""
    return DenseNet(32, (6, 12, 32, 32), 64, classes=num_classes)


def densenet201(num_classes: int = 1000) -> DenseNet:
    """DenseNet-201: growth 32, blocks (6, 12, 48, 32), 64 initial features."""
    return DenseNet(32, (6, 12, 48, 32), 64, classes=num_classes)


def densenet_bc(L: int = 100, k: int = 12, classes: int = 10) -> DenseNet:  # noqa: N803
    """CIFAR DenseNet-BC with depth ``L`` and growth ``k``: 3 blocks of ``(L - 4) // 6`` layers."""
    n = (L - 4) // 6
    return DenseNet(k, (n, n, n), 2 * k, classes=classes, imagenet_stem=False)
