"""The torch stage: IR → ``torch.fx.GraphModule``, standalone packages, and training.

The only part of resgraph that imports torch (``check``, ``analyze`` and ``render``
never do). Modules: :mod:`~resgraph.lower.build` (the fx graph builder,
:func:`compile_arch`), :mod:`~resgraph.lower.blocks` (block instances as nested
``GraphModule`` s: hooks, checkpointing, :func:`block_summary`),
:mod:`~resgraph.lower.torch_ops` (the lowering table, one function
per op), :mod:`~resgraph.lower.device` (devices, dtypes, memory),
:mod:`~resgraph.lower.package` (``resgraph compile -o DIR``: a package of source, safetensors
weights and a ``resgraph.json`` config, written atomically) and
:mod:`~resgraph.lower.train` (``resgraph train``, imported on its own).

>>> import resgraph, torch
>>> arch = resgraph.loads("network n() { input x[3, 8, 8]\\n x -> conv1: conv(4) -> relu }")
>>> gm = compile_arch(arch, device="meta")
>>> gm(torch.empty(2, 3, 8, 8, device="meta")).shape
torch.Size([2, 4, 8, 8])
"""

from resgraph.lower.blocks import block_summary
from resgraph.lower.build import Step, compile_arch
from resgraph.lower.device import (
    available_bytes,
    check_memory,
    estimate_bytes,
    resolve_device,
    resolve_dtype,
)
from resgraph.lower.package import (
    compile_package,
    is_package,
    module_source,
    package_class_name,
    package_config,
    write_package,
)
from resgraph.lower.torch_ops import LOWERINGS

__all__ = ["LOWERINGS", "Step", "available_bytes", "block_summary", "check_memory", "compile_arch",
           "compile_package", "estimate_bytes", "is_package", "module_source",
           "package_class_name", "package_config", "resolve_device", "resolve_dtype",
           "write_package"]
