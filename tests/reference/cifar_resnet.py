"""CIFAR ResNets with option A (parameter-free padding) shortcuts.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", 2015, §4.2:
a 3x3 conv with 16 channels, three stages of ``n`` basic blocks with 16, 32
and 64 channels (the first block of stages 2 and 3 has stride 2), global
average pooling and a linear classifier: ``6n + 2`` weighted layers.

Option A shortcut: where the shape changes, subsample ``x[:, :, ::s, ::s]``
and zero-pad the channel dimension symmetrically (``(cout - cin) // 2`` zero
channels in front, the rest behind). Otherwise the shortcut is the identity.

Example:
    >>> sum(p.numel() for p in cifar_resnet(3).parameters())  # ResNet-20
    269722
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_shortcut(x: torch.Tensor, cout: int, stride: int) -> torch.Tensor:
    """Option A: subsample by ``stride`` and zero-pad channels up to ``cout``."""
    if stride != 1:
        x = x[:, :, ::stride, ::stride]
    extra = cout - x.shape[1]
    if extra:
        x = F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))
    return x


class PadBasicBlock(nn.Module):
    """Two 3x3 conv-bn layers around an option A shortcut, then relu."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.cout = cout
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(bn2(conv2(relu(bn1(conv1(x))))) + pad_shortcut(x))``."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + pad_shortcut(x, self.cout, self.stride))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 images: ``conv1, bn1, layer1..layer3, fc``."""

    def __init__(self, n: int, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        stages = []
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = [PadBasicBlock(cin, cout, stride)]
            blocks += [PadBasicBlock(cout, cout) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, 3, 32, 32]`` to logits ``[N, classes]``."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def cifar_resnet(n: int, classes: int = 10) -> CifarResNet:
    """ResNet-(6n+2): n=3 gives ResNet-20, 5 -> 32, 7 -> 44, 9 -> 56, 18 -> 110, 200 -> 1202."""
    return CifarResNet(n, classes)
