"""The inference build: ``arch.compile(optimize="inference")``.

A pass over the ``GraphModule`` that :func:`~resgraph.lower.build.compile_arch` builds,
which stays a readable ``GraphModule`` (same module paths, same node names) in eval mode:

1. **Batch norms folded into the convolutions before them** (eval statistics): a
   ``conv → bn`` pair where the conv's output feeds nothing else becomes one conv with a
   bias, at the conv's path (``layer1.0.conv1.weight``, ``layer1.0.conv1.bias``); the batch
   norm's node and module are removed. A batch norm after anything else (DenseNet's
   ``concat → bn``) stays.
2. **In-place residual adds**: the plain build already writes ``out += identity`` wherever
   the first operand is dead afterwards (see ``add`` in :mod:`resgraph.lower.torch_ops`);
   after folding, that operand is the conv's output, which is just as fresh.
3. **channels_last** for conv nets (2-D convolutions and no attention module): the 4-D
   weights are converted, and each 4-D input is converted on entry
   (``x_channels_last = x.contiguous(memory_format=torch.channels_last)``), so every conv
   runs on the NHWC kernels.

Outputs agree with the plain build's within float rounding (1e-4 is tested on ResNet-50,
MobileNetV3 and DenseNet-121). The build is for inference: calling ``.train()`` on it
does not bring the batch norms back.

>>> import resgraph, torch
>>> arch = resgraph.loads("network n() { input x[3, 8, 8]\\n x -> c: conv(4) -> bn -> relu }")
>>> gm = arch.compile(optimize="inference")
>>> print(gm.code.strip())
def forward(self, x):
    x_channels_last = x.contiguous(memory_format = torch.channels_last);  x = None
    c = self.c(x_channels_last);  x_channels_last = None
    relu_0 = torch.nn.functional.relu(c, inplace = True);  c = None
    return relu_0
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.utils.fusion import fuse_conv_bn_eval

from resgraph.lower.torch_ops import (
    PartitionAttention,
    PatchMerge,
    SelfAttention,
    WindowAttention,
)

#: The values ``optimize=`` takes: None (the plain build, trainable) and "inference".
OPTIMIZE_LEVELS: tuple[str | None, ...] = (None, "inference")

_ATTENTION = (SelfAttention, WindowAttention, PatchMerge, PartitionAttention)


def check_level(optimize: Any) -> None:
    """Refuse an ``optimize=`` value other than None and ``"inference"``."""
    if optimize not in OPTIMIZE_LEVELS:
        raise ValueError(f"optimize={optimize!r}: use None (the plain build) or 'inference'")


def optimize_inference(gm: fx.GraphModule, inputs: dict[str, Any]) -> fx.GraphModule:
    """Turn the plain build ``gm`` into the inference build, in place; return it.

    ``inputs`` maps each network input's name to its shape without the batch (as
    ``Architecture.inputs``): 4-D inputs of a conv net are converted to channels_last.
    """
    gm.eval()
    # block modules first (their own graphs), then the root: its calls keep them alive
    blocks = [m for name, m in gm.named_modules() if name and isinstance(m, fx.GraphModule)]
    for block in reversed(blocks):
        fold_batch_norms(block)
        block.graph.lint()
        block.recompile()
    fold_batch_norms(gm)
    if _is_conv_net(gm):
        to_channels_last(gm, [name for name, shape in inputs.items() if len(shape) == 3])
    gm.graph.lint()
    gm.recompile()
    return gm


def fold_batch_norms(gm: fx.GraphModule) -> int:
    """Fold each eval-mode batch norm into the conv before it; return how many were folded.

    Works on ``gm``'s own graph; a conv → bn pair inside a block module is folded by
    calling this on the block (as :func:`optimize_inference` does).
    """
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[str(node.target)] = calls.get(str(node.target), 0) + 1
    folded = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        bn = gm.get_submodule(str(node.target))
        prev = node.args[0]
        if not (isinstance(bn, _BatchNorm) and bn.track_running_stats
                and bn.running_mean is not None and isinstance(prev, fx.Node)
                and prev.op == "call_module" and len(prev.users) == 1
                and calls[str(prev.target)] == 1 and calls[str(node.target)] == 1):
            continue
        conv = gm.get_submodule(str(prev.target))
        if not (isinstance(conv, _ConvNd) and not conv.transposed
                and conv.out_channels == bn.num_features):
            continue
        fused = fuse_conv_bn_eval(conv.eval(), bn.eval())
        parent, _, leaf = str(prev.target).rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, leaf, fused)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
        folded += 1
    gm.delete_all_unused_submodules()
    return folded


def _is_conv_net(gm: nn.Module) -> bool:
    mods = list(gm.modules())
    return any(isinstance(m, nn.Conv2d) for m in mods) and \
        not any(isinstance(m, _ATTENTION) for m in mods)


def to_channels_last(gm: fx.GraphModule, names: list[str]) -> None:
    """Convert the 4-D parameters and buffers, and the inputs ``names`` on entry."""
    cast(Any, gm).to(memory_format=torch.channels_last)  # 4-D tensors only; not in the stubs
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if not placeholders:
        return
    with gm.graph.inserting_after(placeholders[-1]):
        for node in reversed([n for n in placeholders if n.target in names]):
            conv = gm.graph.create_node("call_method", "contiguous", (node,),
                                        {"memory_format": torch.channels_last},
                                        name=f"{node.name}_channels_last")
            node.replace_all_uses_with(conv, delete_user_cb=lambda user, c=conv: user is not c)
