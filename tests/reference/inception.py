"""Inception v3 with torchvision's module layout, with ``AuxLogits`` as a second output.

Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception Architecture
for Computer Vision", 2015. torchvision's layout: every conv is a ``BasicConv2d``
(conv without bias ``.conv``, batch norm eps 1e-3 ``.bn``, relu), named as in
torchvision (``Conv2d_1a_3x3``, ``Mixed_5b.branch5x5_1``, ...). Modules A (5b-5d),
B (6a, grid reduction), C (6b-6e, factorised 7x7), D (7a, reduction) and E
(7b-7c, expanded 1x3 | 3x1 outputs) concatenate their branches in torchvision's
order. ``AuxLogits`` reads Mixed_6e: avg pool 5/3, ``conv0`` 1x1(128), ``conv1``
5x5(768), global average pooling, ``fc``. The main head: global average pooling,
dropout 0.5, ``fc``.

Unlike torchvision, :meth:`Inception3.forward` returns ``(logits, aux_logits)`` in
eval mode too, and ``transform_input`` is False (the input is used as given).

Example:
    >>> sum(p.numel() for p in inception_v3().parameters())
    27161264
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .googlenet import BasicConv2d


def _conv(cin: int, cout: int, k: int | tuple[int, int], stride: int = 1) -> BasicConv2d:
    """BasicConv2d with "same" padding for odd kernels at stride 1, none at stride 2."""
    kh, kw = (k, k) if isinstance(k, int) else k
    pad = (kh // 2, kw // 2) if stride == 1 else (0, 0)
    return BasicConv2d(cin, cout, k, stride=stride, padding=pad)


class InceptionA(nn.Module):
    """1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1 (Mixed_5b..5d)."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _conv(cin, 64, 1)
        self.branch5x5_1 = _conv(cin, 48, 1)
        self.branch5x5_2 = _conv(48, 64, 5)
        self.branch3x3dbl_1 = _conv(cin, 64, 1)
        self.branch3x3dbl_2 = _conv(64, 96, 3)
        self.branch3x3dbl_3 = _conv(96, 96, 3)
        self.branch_pool = _conv(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches on channels."""
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Grid reduction: 3x3/2 | 1x1-3x3-3x3/2 | maxpool 3/2 (Mixed_6a)."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _conv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = _conv(cin, 64, 1)
        self.branch3x3dbl_2 = _conv(64, 96, 3)
        self.branch3x3dbl_3 = _conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches on channels."""
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    """1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avgpool-1x1 (Mixed_6b..6e)."""

    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _conv(cin, 192, 1)
        self.branch7x7_1 = _conv(cin, c7, 1)
        self.branch7x7_2 = _conv(c7, c7, (1, 7))
        self.branch7x7_3 = _conv(c7, 192, (7, 1))
        self.branch7x7dbl_1 = _conv(cin, c7, 1)
        self.branch7x7dbl_2 = _conv(c7, c7, (7, 1))
        self.branch7x7dbl_3 = _conv(c7, c7, (1, 7))
        self.branch7x7dbl_4 = _conv(c7, c7, (7, 1))
        self.branch7x7dbl_5 = _conv(c7, 192, (1, 7))
        self.branch_pool = _conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches on channels."""
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Grid reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool 3/2 (Mixed_7a)."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = _conv(cin, 192, 1)
        self.branch3x3_2 = _conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _conv(cin, 192, 1)
        self.branch7x7x3_2 = _conv(192, 192, (1, 7))
        self.branch7x7x3_3 = _conv(192, 192, (7, 1))
        self.branch7x7x3_4 = _conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches on channels."""
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """1x1 | 1x1-(1x3|3x1) | 1x1-3x3-(1x3|3x1) | avgpool-1x1 (Mixed_7b, 7c)."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch1x1 = _conv(cin, 320, 1)
        self.branch3x3_1 = _conv(cin, 384, 1)
        self.branch3x3_2a = _conv(384, 384, (1, 3))
        self.branch3x3_2b = _conv(384, 384, (3, 1))
        self.branch3x3dbl_1 = _conv(cin, 448, 1)
        self.branch3x3dbl_2 = _conv(448, 384, 3)
        self.branch3x3dbl_3a = _conv(384, 384, (1, 3))
        self.branch3x3dbl_3b = _conv(384, 384, (3, 1))
        self.branch_pool = _conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches on channels."""
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b3, bd, bp], 1)


class InceptionAux(nn.Module):
    """avgpool 5/3 -> conv0 1x1(128) -> conv1 5x5(768) -> global avg pool -> fc."""

    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = _conv(cin, 128, 1)
        self.conv1 = BasicConv2d(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auxiliary logits from the 17x17 grid."""
        x = self.conv1(self.conv0(F.avg_pool2d(x, 5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Inception3(nn.Module):
    """The stem, Mixed_5b..Mixed_7c, ``AuxLogits`` on Mixed_6e, pooling, dropout, ``fc``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = _conv(32, 64, 3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = _conv(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.AuxLogits = InceptionAux(768, num_classes)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map images ``[N, 3, 299, 299]`` to ``(logits, aux_logits)``."""
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1",
                     "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c",
                     "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            x = getattr(self, name)(x)
        aux = self.AuxLogits(x)
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = self.dropout(torch.flatten(self.avgpool(x), 1))
        return self.fc(x), aux


def inception_v3(num_classes: int = 1000) -> Inception3:
    """Inception v3 with its auxiliary head (``transform_input=False``)."""
    return Inception3(num_classes)
