"""IR → ``torch.fx.GraphModule``: the graph builder behind :func:`compile_arch`.

:func:`compile_arch` walks the IR in topological order and builds a ``torch.fx.Graph``
directly (one placeholder per input, ``call_module`` / ``call_function`` nodes, one
output); no Python model is ever traced. Each op is lowered by its entry in
:data:`resgraph.lower.torch_ops.LOWERINGS`, which receives a :class:`Step`. Submodules
sit at the IR's module paths, so ``state_dict`` keys are the paths
(``layer2.0.downsample.0.weight``), and fx node names come from the same paths, so
``gm.code`` reads like hand-written PyTorch.

>>> import resgraph
>>> arch = resgraph.loads("network n() { input x[3, 8, 8]\\n x -> conv1: conv(4) -> relu }")
>>> gm = compile_arch(arch, device="meta")
>>> gm(torch.empty(2, 3, 8, 8, device="meta")).shape
torch.Size([2, 4, 8, 8])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx
import torch
from torch import fx, nn

from resgraph.ir import Architecture, inputs_of
from resgraph.lower.blocks import apply_checkpoint, nest_blocks
from resgraph.lower.device import check_memory, resolve_device, resolve_dtype
from resgraph.lower.torch_ops import LOWERINGS


class Step:
    """One IR node being lowered: what each function of the lowering table works with.

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

    def method(self, method: str, *args: Any, name: str | None = None) -> fx.Node:
        """Emit ``args[0].method(*args[1:])`` (a tensor method: ``x.size(0)``)."""
        return self._b.graph.create_node("call_method", method, args, {},
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
    """The state of one lowering: the IR, the fx graph being built and the module tree."""

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
            for _, node in self.ir.nodes(data=True):
                parts = node["path"].split(".")
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
                lower = LOWERINGS[ir.nodes[n]["op"]]
                env[n] = lower(Step(self, n, [env[p] for p in self.preds[n]]))
                for node in reversed(self.graph.nodes):  # tag the new fx nodes: their IR node
                    if "rg_nid" in node.meta:
                        break
                    node.meta["rg_nid"] = n
        for n in ir:  # `tied=NODE`: one nn.Parameter under both layers' keys
            tied = ir.nodes[n]["args"].get("tied")
            if tied:
                shared = self.gm.get_submodule(tied).weight
                assert isinstance(shared, nn.Parameter)
                _put(self.gm, f"{ir.nodes[n]['path']}.weight", shared)
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


def compile_arch(arch: Architecture, device: Any = None, dtype: Any = None,
                 optimize: str | None = None, *, blocks: bool = True,
                 checkpoint: Iterable[str] = ()) -> fx.GraphModule:
    """Lower ``arch`` to a ``torch.fx.GraphModule`` on ``device`` with parameters in ``dtype``.

    Block instances and labelled sub-chains are nested ``GraphModule`` s at their module
    paths (``gm.layer1[0]``), called by the root graph, where their nodes form a clean
    region (:mod:`resgraph.lower.blocks`); ``blocks=False`` gives one flat graph. The
    ``state_dict`` keys are the same either way. ``checkpoint`` names block module paths
    (``["layer1", "layer2.0"]``) to run under ``torch.utils.checkpoint`` (non-reentrant):
    their activations are recomputed in the backward pass; a path that is not a block
    module is refused with ValueError.

    ``optimize="inference"`` returns the inference build (eval mode, batch norms folded into
    the convolutions, channels_last for conv nets: :mod:`resgraph.lower.optimize`); the
    default ``None`` is the plain, trainable build.

    ``device="meta"`` allocates nothing (shapes and parameter counts only). On a real
    device the parameter memory is estimated first, and a network that cannot fit is
    refused with RG701. Initialisation is PyTorch's default (highway gate biases:
    ``gate_bias``; positional embeddings: N(0, 0.02)).

    >>> import resgraph
    >>> gm = compile_arch(resgraph.load("examples/resnet50.rg"), device="meta")
    >>> sum(p.numel() for p in gm.parameters())
    25557032
    """
    from resgraph.lower.optimize import check_level, optimize_inference

    check_level(optimize)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    check_memory(arch, dev, dt)
    checkpoint = list(checkpoint)
    if checkpoint and not blocks:
        raise ValueError("checkpoint= needs the block modules: leave blocks=True")
    gm = _Builder(arch, dev, dt).build()
    if blocks:
        nest_blocks(gm, arch)
        apply_checkpoint(gm, checkpoint)
    if optimize == "inference":
        optimize_inference(gm, dict(arch.inputs))
    return gm
