"""Where and in what dtype a network is built, and whether its parameters fit there.

>>> import resgraph
>>> arch = resgraph.loads("network n() { input x[4]\\n x -> linear(2) }")
>>> resolve_device("meta"), resolve_dtype("bf16"), estimate_bytes(arch)
(device(type='meta'), torch.bfloat16, 40)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture

_DTYPES = {"float32": torch.float32, "float": torch.float32, "fp32": torch.float32,
           "float64": torch.float64, "double": torch.float64, "fp64": torch.float64,
           "float16": torch.float16, "half": torch.float16, "fp16": torch.float16,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def resolve_device(device: Any = None) -> torch.device:
    """The device to build on: ``None`` means torch's default device (normally the CPU).

    >>> resolve_device("meta")
    device(type='meta')
    """
    if device is None:
        default = getattr(torch, "get_default_device", None)  # torch ≥ 2.3
        return default() if default else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ResgraphError("RG702", f"bad device {device!r}: {exc} (use cpu, cuda, cuda:1, "
                            "meta ...)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ResgraphError("RG702", f"device {device!r} asked for, but CUDA is not available "
                            "here; use device=\"cpu\", or \"meta\" to build without memory")
    return dev


def resolve_dtype(dtype: Any = None) -> torch.dtype:
    """The parameter dtype: a ``torch.dtype`` or a name (``"bf16"``); ``None``: the default.

    >>> resolve_dtype("bf16")
    torch.bfloat16
    """
    if dtype is None:
        return torch.get_default_dtype()
    dt = _DTYPES.get(dtype.lower().removeprefix("torch.")) if isinstance(dtype, str) else dtype
    if not isinstance(dt, torch.dtype) or not dt.is_floating_point:
        raise ResgraphError("RG702", f"bad dtype {dtype!r}: parameters need a floating-point "
                            "dtype (float32, bfloat16, float16, float64)")
    return dt


def estimate_bytes(arch: Architecture, dtype: torch.dtype = torch.float32) -> int:
    """Bytes that the parameters and buffers (batch-norm statistics) of ``arch`` take.

    >>> import resgraph
    >>> estimate_bytes(resgraph.loads("network n() { input x[4]\\n x -> linear(2) }"))
    40
    """
    elements, extra = 0, 0
    for _, node in arch.graph.nodes(data=True):
        elements += node["params"]
        if node["op"] == "bn":
            elements += 2 * node["shape"][0]  # running mean and variance
            extra += 8  # num_batches_tracked, a long
    return elements * dtype.itemsize + extra


def available_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` (the CPU: MemAvailable and the cgroup limit), or None.

    >>> available_bytes(torch.device("cpu")) > 0
    True
    """
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    free: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    free.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    if not free:
        try:
            free.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            free.append(int(limit) - int(used))
    except OSError:
        pass
    return min(free) if free else None


def check_memory(arch: Architecture, device: torch.device, dtype: torch.dtype) -> None:
    """Refuse (RG701) to build ``arch`` where its parameters cannot fit in free memory.

    >>> import resgraph
    >>> check_memory(resgraph.load("examples/resnet18.rg"), torch.device("cpu"), torch.float32)
    """
    if device.type == "meta":
        return
    need = estimate_bytes(arch, dtype)
    free = available_bytes(device)
    if free is not None and need > free:
        raise ResgraphError("RG701", f"network '{arch.name}' has {arch.num_params:,} parameters: "
                            f"about {_gib(need)} as {str(dtype).removeprefix('torch.')}, but "
                            f"only {_gib(free)} is free on {device}; compile it on the meta "
                            "device to analyse it without allocating: "
                            "arch.compile(device=\"meta\")")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**28 else f"{n / 2**20:,.1f} MiB"
