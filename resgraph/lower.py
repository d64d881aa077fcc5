"""IR → ``torch.fx.GraphModule``: the lowering stage, and ``resgraph compile``.

:func:`compile_arch` walks the IR in topological order and builds a ``torch.fx.Graph``
directly (one placeholder per input, ``call_module`` / ``call_function`` nodes, one
output); no Python model is ever traced. Each op is lowered by the function of
:mod:`resgraph.torch_ops` that its registry entry names. Submodules sit at the IR's
module paths, so ``state_dict`` keys are the paths (``layer2.0.downsample.0.weight``),
and fx node names come from the same paths, so ``gm.code`` reads like hand-written
PyTorch. :func:`write_package` writes a compiled module as a standalone package.

>>> import resgraph
>>> arch = resgraph.loads("network n() { input x[3, 8, 8]\\n x -> conv1: conv(4) -> relu }")
>>> gm = compile_arch(arch, device="meta")
>>> gm(torch.empty(2, 3, 8, 8, device="meta")).shape
torch.Size([2, 4, 8, 8])
"""

from __future__ import annotations

import argparse
import inspect
import keyword
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import torch
from torch import fx, nn

from resgraph import torch_ops
from resgraph.errors import ResgraphError
from resgraph.ir import Architecture, inputs_of
from resgraph.ops import OPS

_DTYPES = {"float32": torch.float32, "float": torch.float32, "fp32": torch.float32,
           "float64": torch.float64, "double": torch.float64, "fp64": torch.float64,
           "float16": torch.float16, "half": torch.float16, "fp16": torch.float16,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


# ---------------------------------------------------------------- devices and memory


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
            elements += 2 * node["shape"][0]
            extra += 8
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


# ---------------------------------------------------------------- lowering


class Step:
    """One IR node being lowered: what a :mod:`resgraph.torch_ops` function works with.

    Attributes: ``op``, ``args``, ``shape`` and ``in_shapes`` (batch excluded), ``path``
    (the node's module path), ``name`` (its fx name), ``inputs`` (fx nodes, in port
    order) and ``factory`` (``device`` and ``dtype`` keywords for module constructors).

    >>> import resgraph
    >>> gm = resgraph.loads("network n() { input x[4]\\n x -> fc: linear(2) }").compile()
    >>> [n.name for n in gm.graph.nodes]
    ['x', 'fc', 'output']
    """

    def __init__(self, builder: _Builder, nid: int, inputs: list[fx.Node]) -> None:
        node = builder.ir.nodes[nid]
        self._b, self.nid = builder, nid
        self.op: str = node["op"]
        self.args: dict[str, Any] = node["args"]
        self.shape: tuple[int, ...] = node["shape"]
        self.path: str = node["path"]
        self.name: str = self.path.replace(".", "_")
        self.inputs = inputs
        self.in_shapes = [builder.ir.nodes[p]["shape"] for p in builder.preds[nid]] \
            if self.op != "input" else [self.shape]
        self.factory: dict[str, Any] = builder.factory

    def module(self, mod: nn.Module, *args: Any, path: str | None = None,
               name: str | None = None) -> fx.Node:
        """Register ``mod`` at ``path`` (default: this node's) and call it on ``args``."""
        path = path or self.path
        self._b.put(path, mod)
        return self._b.graph.create_node("call_module", path, args or (self.inputs[0],), {},
                                         name=name or path.replace(".", "_"))

    def call(self, fn: Callable[..., Any], *args: Any, name: str | None = None,
             **kwargs: Any) -> fx.Node:
        """Emit ``fn(*args, **kwargs)`` (a torch function or an ``operator`` builtin)."""
        return self._b.graph.create_node("call_function", fn, args, kwargs,
                                         name=name or self.name)

    def parameter(self, param: nn.Parameter, path: str | None = None) -> fx.Node:
        """Register a bare parameter at ``path`` (default: this node's) and read it."""
        path = path or self.path
        self._b.put(path, param)
        return self._b.graph.create_node("get_attr", path, (), {}, name=path.replace(".", "_"))

    def placeholder(self, name: str) -> fx.Node:
        """A forward argument called ``name``."""
        return self._b.graph.create_node("placeholder", name, (), {}, name=name)

    def free_path(self, base: str) -> str:
        """A module path beside this node's that no IR node uses: ``layer1.0.drop_path``."""
        parent = self.path.rpartition(".")[0]
        taken = self._b.taken_paths()
        for k in range(len(taken) + 1):
            leaf = base if k == 0 else f"{base}_{k}"
            path = f"{parent}.{leaf}" if parent else leaf
            if path not in taken:
                taken.add(path)
                return path
        raise AssertionError("unreachable")

    def input_op(self, port: int) -> str:
        """The op of the IR node that feeds ``port``."""
        return self._b.ir.nodes[self._b.preds[self.nid][port]]["op"]

    def sole_consumer(self, port: int) -> bool:
        """True when this node alone reads the output of the IR node on ``port``."""
        p = self._b.preds[self.nid][port]
        return self._b.ir.out_degree(p) == 1 and p not in self._b.outputs


class _Builder:
    def __init__(self, arch: Architecture, device: torch.device, dtype: torch.dtype) -> None:
        self.arch, self.ir = arch, arch.graph
        self.factory = {"device": device, "dtype": dtype}
        self.graph = fx.Graph()
        # Submodules go straight into the GraphModule, in graph order (so state_dict keys
        # come in the order a hand-written module would register them); the finished
        # graph is assigned last, which generates the code once.
        self.gm = fx.GraphModule({}, fx.Graph(), class_name=arch.name)
        self.preds = {n: inputs_of(self.ir, n) for n in self.ir}
        self.outputs = set(self.ir.graph["outputs"].values())
        self._taken: set[str] | None = None

    def taken_paths(self) -> set[str]:
        if self._taken is None:
            self._taken = set()
            for _, path in self.ir.nodes(data="path"):
                parts = path.split(".")
                self._taken.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return self._taken

    def put(self, path: str, obj: nn.Module | nn.Parameter) -> None:
        _put(self.gm, path, obj)

    def build(self) -> fx.GraphModule:
        ir = self.ir
        env: dict[int, fx.Node] = {}
        inputs = list(ir.graph["inputs"])  # placeholders first, in declaration order
        for n in [*inputs, *nx.lexicographical_topological_sort(ir)]:
            if n not in env:
                lower = getattr(torch_ops, OPS[ir.nodes[n]["op"]].lowering)
                env[n] = lower(Step(self, n, [env[p] for p in self.preds[n]]))
        outs = [env[n] for n in ir.graph["outputs"].values()]
        self.graph.output(outs[0] if len(outs) == 1 else tuple(outs))
        self.gm.graph = self.graph
        return self.gm


def _put(root: nn.Module, path: str, obj: nn.Module | nn.Parameter) -> None:
    *parents, leaf = path.split(".")
    mod = root
    for part in parents:
        child = mod._modules.get(part)
        if child is None:
            child = nn.Module()
            mod.add_module(part, child)
        mod = child
    setattr(mod, leaf, obj)


def compile_arch(arch: Architecture, device: Any = None, dtype: Any = None) -> fx.GraphModule:
    """Lower ``arch`` to a ``torch.fx.GraphModule`` on ``device`` with parameters in ``dtype``.

    ``device="meta"`` allocates nothing (shapes and parameter counts only). On a real
    device the parameter memory is estimated first, and a network that cannot fit is
    refused with RG701. Initialisation is PyTorch's default (highway gate biases:
    ``gate_bias``; positional embeddings: N(0, 0.02)).

    >>> import resgraph
    >>> gm = compile_arch(resgraph.load("examples/resnet50.rg"), device="meta")
    >>> sum(p.numel() for p in gm.parameters())
    25557032
    """
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    check_memory(arch, dev, dt)
    return _Builder(arch, dev, dt).build()


# ---------------------------------------------------------------- packages


_HEADER = '''"""{name}: generated by resgraph from {file} (network {name}).

Standalone: needs only torch. Use it with::

    from {package} import {name}
    model = {name}()        # weights from state_dict.pt beside this file
"""
from __future__ import annotations

import os
import math  # noqa: F401

import torch
import torch.nn.functional as F  # noqa: F401
from torch import nn  # noqa: F401
from torch.nn import *  # noqa: F401,F403
{builtins}

def _put(root, path, obj):
    *parents, leaf = path.split(".")
    for part in parents:
        if part not in root._modules:
            root.add_module(part, torch.nn.Module())
        root = root._modules[part]
    setattr(root, leaf, obj)

'''


def _constructor(obj: nn.Module | torch.Tensor) -> str:
    """Source text that rebuilds ``obj`` (weights come from the state dict)."""
    if isinstance(obj, torch.Tensor):
        return f"torch.nn.Parameter(torch.empty({list(obj.shape)}, dtype={obj.dtype}))"
    cls = type(obj)
    if cls in torch_ops.PACKAGE_CLASSES:
        return f"{cls.__name__}({obj.extra_repr()})"
    if cls.__module__.startswith("torch.nn.") and not obj._modules:
        return repr(obj)
    raise TypeError(f"cannot write {cls.__qualname__} as source")  # pragma: no cover


def package_class_name(name: str) -> str:
    """The class name an exported package uses for network ``name`` (never a clash).

    >>> package_class_name("resnet18"), package_class_name("torch")
    ('resnet18', 'torch_net')
    """
    taken = {"torch", "os", "math", "F", "nn", "device", "inf", "nan", "NoneType", "fx_pytree",
             "pytree", "here", *(c.__name__ for c in torch_ops.PACKAGE_CLASSES)}
    if keyword.iskeyword(name) or name in taken or name.startswith("_") \
            or hasattr(torch.nn, name):
        return f"{name}_net"
    return name


def write_package(gm: fx.GraphModule, folder: str | os.PathLike[str], name: str,
                  source: str = "?") -> Path:
    """Write ``gm`` as an importable package ``folder`` holding the class ``name``.

    The layout is ``GraphModule.to_folder``'s (``__init__.py``, ``module.py``,
    ``state_dict.pt``), but every submodule is rebuilt from source (no pickled modules),
    resgraph's own module classes are copied in, and the weights are found beside
    ``module.py``, so the folder can be moved and imported where resgraph is not installed.

    >>> import resgraph, tempfile
    >>> gm = resgraph.loads("network n() { input x[4]\\n x -> linear(2) }").compile()
    >>> write_package(gm, tempfile.mkdtemp() + "/pkg", "n").name
    'pkg'
    """
    folder = Path(folder)
    name = package_class_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(gm.state_dict(), folder / "state_dict.pt")
    try:
        from torch.fx.graph import _custom_builtins

        builtins = "\n".join(sorted({v.import_str for v in _custom_builtins.values()}))
    except ImportError:  # pragma: no cover - private torch API
        builtins = ""
    parts = [_HEADER.format(name=name, file=source, package=folder.name, builtins=builtins)]
    parts += [inspect.getsource(cls) + "\n" for cls in torch_ops.PACKAGE_CLASSES]
    body = [f"class {name}(torch.nn.Module):",
            "    def __init__(self):",
            "        super().__init__()"]
    for node in gm.graph.nodes:
        if node.op == "call_module":
            obj: Any = gm.get_submodule(node.target)
        elif node.op == "get_attr":
            obj = gm.get_parameter(node.target)
        else:
            continue
        body.append(f"        _put(self, {node.target!r}, {_constructor(obj)})")
    body.append("        here = os.path.dirname(os.path.abspath(__file__))")
    body.append("        self.load_state_dict(torch.load(os.path.join(here, 'state_dict.pt'), "
                "map_location='cpu'))")
    code = "\n".join("    " + line if line.strip() else "" for line in gm.code.splitlines())
    parts.append("\n".join(body) + "\n" + code.rstrip() + "\n")
    (folder / "module.py").write_text("\n".join(parts))
    (folder / "__init__.py").write_text(f"from .module import {name}\n\n__all__ = [{name!r}]\n")
    return folder


def cli_main(arch: Architecture, args: argparse.Namespace) -> int:
    """``resgraph compile FILE -o DIR``: write the compiled network as a package DIR.

    >>> cli_main(arch, argparse.Namespace(file="net.rg", output="out/net"))  # doctest: +SKIP
    wrote out/net/ ...
    """
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ResgraphError("RG703", f"cannot write the package to '{out}': it is a file; "
                            "give a folder name, e.g. -o build/mynet")
    gm = compile_arch(arch, device="cpu")
    name = package_class_name(arch.name)
    try:
        write_package(gm, out, name, source=os.path.basename(str(args.file)))
    except OSError as exc:
        raise ResgraphError("RG703", f"cannot write the package to '{out}': "
                            f"{exc.strerror or exc}") from None
    hint = f"from {out.name} import {name}" if out.name.isidentifier() else \
        f"import it under a name that is a Python identifier, then use class {name}"
    print(f"wrote {out}/ (module.py, state_dict.pt): network {arch.name}, "
          f"{sum(p.numel() for p in gm.parameters()):,} parameters; "
          f"with {out.resolve().parent} on sys.path: {hint}; model = {name}()")
    return 0
