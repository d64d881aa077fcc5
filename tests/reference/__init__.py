"""Independent, hand-written PyTorch reference models.

Plain ``torch`` only (no torchvision). The tests compare resgraph's compiled
examples against these modules: parameter counts, ``state_dict`` keys and,
with shared weights, outputs. See ``README.md`` beside this file for how each
reference is built and which conventions it follows.

Example:
    >>> from tests.reference import resnet18
    >>> sum(p.numel() for p in resnet18().parameters())
    11689512
"""

from __future__ import annotations

from .cifar_resnet import cifar_resnet
from .dense_block import DenseBlock
from .densenet import densenet121, densenet169, densenet201, densenet_bc
from .gpt2 import gpt2
from .highway import highway_mlp
from .preact_resnet import preact_resnet
from .resnet import resnet18, resnet34, resnet50, resnet101, resnet152

__all__ = [
    "DenseBlock",
    "cifar_resnet",
    "densenet121",
    "densenet169",
    "densenet201",
    "densenet_bc",
    "gpt2",
    "highway_mlp",
    "preact_resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]
