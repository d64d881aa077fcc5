"""ConvNeXt Tiny/Small/Base/Large with torchvision's module layout.

Liu et al., "A ConvNet for the 2020s", 2022.

Written from the paper and torchvision's published layer names (not its code):
``features`` = stem ``0`` (conv 4x4/4 with bias, channel LayerNorm numbered 0, 1),
then stages at odd positions (1, 3, 5, 7) and downsampling layers between them
(channel LayerNorm, conv 2x2/2 with bias, numbered 0, 1); ``classifier`` =
(channel LayerNorm, Flatten, Linear). A block is
``x + layer_scale * block(x)`` with ``block`` = depthwise conv 7x7 (bias) ``0``,
permute to channels-last ``1``, LayerNorm ``2``, Linear to 4C ``3``, GELU ``4``,
Linear to C ``5``, permute back ``6``; ``layer_scale`` is a bare parameter of
shape [C, 1, 1] (initialised to 1e-6). Every LayerNorm uses eps 1e-6. Stochastic
depth is the identity in eval and is left out.
"""

from __future__ import annotations

import torch
from torch import nn


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of [N, C, H, W] at every position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Permute(nn.Module):
    """x.permute(dims): parameter-free, but takes its place in a numbered Sequential."""

    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class Block(nn.Module):
    """x + layer_scale * (dwconv7 -> LN -> Linear 4C -> GELU -> Linear C)(x)."""

    def __init__(self, c: int, scale: float = 1e-6) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(c, c, 7, padding=3, groups=c),
            Permute(0, 2, 3, 1),
            nn.LayerNorm(c, eps=1e-6),
            nn.Linear(c, 4 * c),
            nn.GELU(),
            nn.Linear(4 * c, c),
            Permute(0, 3, 1, 2),
        )
        self.layer_scale = nn.Parameter(torch.full((c, 1, 1), scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale * self.block(x)


class ConvNeXt(nn.Module):
    """``features`` (stem, stages, downsamplers), global mean, ``classifier``."""

    def __init__(self, dims: list[int], depths: list[int], classes: int = 1000) -> None:
        super().__init__()
        feats: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), ChannelNorm(dims[0], eps=1e-6))
        ]
        for i, (c, d) in enumerate(zip(dims, depths)):
            feats.append(nn.Sequential(*[Block(c) for _ in range(d)]))
            if i + 1 < len(dims):
                feats.append(nn.Sequential(
                    ChannelNorm(c, eps=1e-6), nn.Conv2d(c, dims[i + 1], 2, stride=2)
                ))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(
            ChannelNorm(dims[-1], eps=1e-6), nn.Flatten(1), nn.Linear(dims[-1], classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3), keepdim=True))


def convnext_tiny(classes: int = 1000) -> ConvNeXt:
    """ConvNeXt-T (28,589,128 parameters)."""
    return ConvNeXt([96, 192, 384, 768], [3, 3, 9, 3], classes)


def convnext_small(classes: int = 1000) -> ConvNeXt:
    """ConvNeXt-S."""
    return ConvNeXt([96, 192, 384, 768], [3, 3, 27, 3], classes)


def convnext_base(classes: int = 1000) -> ConvNeXt:
    """ConvNeXt-B."""
    return ConvNeXt([128, 256, 512, 1024], [3, 3, 27, 3], classes)


def convnext_large(classes: int = 1000) -> ConvNeXt:
    """ConvNeXt-L."""
    return ConvNeXt([192, 384, 768, 1536], [3, 3, 27, 3], classes)
