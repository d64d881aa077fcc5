"""The IR: a networkx DiGraph with documented attributes, its checks and its passes.

Node attributes
    ``op`` (registry name), ``args`` (resolved arguments), ``shape`` (tuple, batch
    excluded), ``dtype`` ("float" or "long"), ``params``, ``macs``, ``weighted``
    (weighted-layer count), ``path`` (dotted module path), ``span`` (source
    :class:`~resgraph.errors.Span`), ``scope`` (ids of the enclosing scopes, outermost
    first; see :attr:`Architecture.scopes`), ``label`` (the user's label or None).
Edge attributes
    ``kind`` (seq residual skip highway dense control), ``port`` (position among the
    target's inputs), ``unit`` (1 when the edge closes a unit's branch: used for path
    lengths counted in units).
Graph attributes
    ``network``, ``inputs`` (node ids), ``outputs`` (name → node id).

>>> import resgraph
>>> arch = resgraph.loads("network n() { input x[8]\\n x -> linear(4) }")
>>> lint(arch.graph)
[]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

import networkx as nx

from resgraph.errors import Span
from resgraph.kinds import EDGE_KINDS, EdgeKindName, is_signal
from resgraph.ops import NORM_OPS, OPS

if TYPE_CHECKING:
    from resgraph.analyze import Analysis

Shape = tuple[int, ...]
Dtype = Literal["float", "long"]
ScopeKind = Literal["network", "block", "seq", "copy", "residual", "highway", "dense",
                    "dense_layer", "shortcut", "gate", "parallel"]


class NodeAttrs(TypedDict):
    """The attributes of every IR node (see the module docstring)."""

    op: str
    args: dict[str, Any]
    shape: Shape
    dtype: Dtype
    params: int
    macs: int
    weighted: int
    path: str
    span: Span
    scope: tuple[int, ...]
    label: str | None


class EdgeAttrs(TypedDict):
    """The attributes of every IR edge."""

    kind: EdgeKindName
    port: int
    unit: int


def new_node(op: str, args: dict[str, Any], shape: Shape, dtype: Dtype, span: Span,
             scope: tuple[int, ...], label: str | None = None) -> NodeAttrs:
    """The one constructor of node attributes: the registry fills ``weighted``; ``params``,
    ``macs`` (by :func:`annotate`) and ``path`` (by naming) are filled later.

    >>> new_node("relu", {}, (8,), "float", Span("f.rg", 1, 1), (0,))["weighted"]
    0
    """
    return NodeAttrs(op=op, args=args, shape=shape, dtype=dtype, params=0, macs=0,
                     weighted=OPS[op].weighted, path="", span=span, scope=scope, label=label)


def node_attrs(g: nx.DiGraph, n: int) -> NodeAttrs:
    """A node's attributes, typed."""
    return cast(NodeAttrs, g.nodes[n])


def edge_attrs(g: nx.DiGraph, u: int, v: int) -> EdgeAttrs:
    """An edge's attributes, typed."""
    return cast(EdgeAttrs, g.edges[u, v])


@dataclass
class ScopeInfo:
    """A block instance or group: what the diagram draws as a cluster.

    ``kind`` is network, block, seq (a labelled sub-chain), copy (one copy of a
    repeated group), residual, highway, dense, dense_layer or shortcut; ``call`` is
    the text to show (``basic(128, stride=2)``); ``key`` is equal for instances that
    call the same block with the same arguments (their insides may still differ
    with the input shape).
    """

    id: int
    kind: ScopeKind
    name: str
    call: str
    key: tuple[Any, ...]
    parent: int | None
    span: Span
    path: str = ""


class Architecture:
    """A compiled-to-IR network: the result of :func:`resgraph.load` / :func:`resgraph.loads`.

    >>> import resgraph
    >>> arch = resgraph.loads("network n(k=4) { input x[8]\\n x -> linear(k) }", k=2)
    >>> arch.name, arch.inputs, arch.outputs
    ('n', {'x': (8,)}, {'output': (2,)})
    """

    def __init__(self, name: str, graph: nx.DiGraph, scopes: dict[int, ScopeInfo],
                 hparams: dict[str, Any], file: str) -> None:
        self.name = name
        self.graph = graph
        self.scopes = scopes
        self.hparams = hparams
        """The network's parameter values (``classes=10``), after defaults and overrides."""
        self.file = file

    @property
    def params(self) -> dict[str, Any]:
        """Deprecated alias of :attr:`hparams` (``params`` elsewhere means weight counts)."""
        warnings.warn("Architecture.params is renamed Architecture.hparams", DeprecationWarning,
                      stacklevel=2)
        return self.hparams

    @property
    def inputs(self) -> dict[str, tuple[int, ...]]:
        g = self.graph
        return {g.nodes[n]["args"]["name"]: g.nodes[n]["shape"] for n in g.graph["inputs"]}

    @property
    def outputs(self) -> dict[str, tuple[int, ...]]:
        g = self.graph
        return {name: g.nodes[n]["shape"] for name, n in g.graph["outputs"].items()}

    @property
    def num_params(self) -> int:
        return sum(d["params"] for _, d in self.graph.nodes(data=True))

    def analyze(self, **options: Any) -> Analysis:
        """Exact path counts, depth, parameters and MACs: see :mod:`resgraph.analyze`."""
        from resgraph.analyze import analyze

        return analyze(self, **options)

    def render(self, path: str, **options: Any) -> str:
        """Draw the network; the format comes from the extension (svg png pdf dot mmd)."""
        from resgraph.render import render

        return render(self, path, **options)

    def compile(self, device: Any = None, dtype: Any = None,
                optimize: str | None = None, *, blocks: bool = True,
                checkpoint: Any = ()) -> Any:
        """Lower to a ``torch.fx.GraphModule`` (imports torch); ``optimize="inference"``
        gives the inference build (eval mode, batch norms folded, channels_last). Blocks
        are nested ``GraphModule`` s at their paths (``blocks=False``: one flat graph);
        ``checkpoint=["layer1", "layer2.0"]`` runs those block modules under
        ``torch.utils.checkpoint``."""
        from resgraph.lower import compile_arch

        return compile_arch(self, device=device, dtype=dtype, optimize=optimize,
                            blocks=blocks, checkpoint=checkpoint)

    def _repr_svg_(self) -> str | None:
        """Inline SVG for Jupyter; None (the text repr) when the dot program is missing."""
        from resgraph.errors import ResgraphError
        from resgraph.render import to_svg

        try:
            return to_svg(self)
        except ResgraphError:
            return None

    def __repr__(self) -> str:
        return (f"<Architecture {self.name}: {len(self.graph)} nodes, "
                f"{self.num_params:,} params>")


def annotate(g: nx.DiGraph) -> None:
    """Resolve ``bias=auto`` and fill ``params`` and ``macs`` from the registry."""
    for n, node in g.nodes(data=True):
        args = node["args"]
        if args.get("bias") == "auto":
            consumers = [s for s in g.successors(n) if is_signal(g.edges[n, s]["kind"])]
            only_norm = len(consumers) == 1 and g.nodes[consumers[0]]["op"] in NORM_OPS
            args["bias"] = not only_norm
        spec = OPS[node["op"]]
        ins = input_shapes(g, n)
        node["params"] = spec.params(ins, node["shape"], args)
        if args.get("tied"):  # the weight is another layer's, counted there
            node["params"] -= math.prod(weight_shape(g, n))
        node["macs"] = spec.macs(ins, node["shape"], args)


def weight_shape(g: nx.DiGraph, n: int) -> Shape:
    """The stored weight shape of a linear (``[out, in]``; ``[in, out]`` with
    ``layout=conv1d``) or an embedding (``[num, dim]``): what ``tied=`` compares.

    >>> import resgraph
    >>> g = resgraph.loads("network n() { input x[8]\\n x -> linear(4) }").graph
    >>> weight_shape(g, 1)
    (4, 8)
    """
    node = g.nodes[n]
    args = node["args"]
    if node["op"] == "embedding":
        return (args["num"], args["dim"])
    out, inp = args["out"], input_shapes(g, n)[0][-1]
    return (inp, out) if args.get("layout") == "conv1d" else (out, inp)


def inputs_of(g: nx.DiGraph, n: int) -> list[int]:
    """A node's inputs in port order."""
    return sorted(g.predecessors(n), key=lambda p: g.edges[p, n]["port"])


def input_shapes(g: nx.DiGraph, n: int) -> list[tuple[int, ...]]:
    node = g.nodes[n]
    if node["op"] == "input":
        return [node["shape"]]
    return [g.nodes[p]["shape"] for p in inputs_of(g, n)]


def lint(g: nx.DiGraph) -> list[str]:
    """Check the IR's invariants; return a list of problems (empty when all is well)."""
    problems: list[str] = []
    if not nx.is_directed_acyclic_graph(g):
        problems.append("the graph has a cycle")
    paths: dict[str, int] = {}
    for n, d in g.nodes(data=True):
        op = d.get("op")
        if op not in OPS:
            problems.append(f"node {n}: unknown op {op!r}")
            continue
        shape = d.get("shape")
        if not isinstance(shape, tuple) or not shape or not all(
                isinstance(x, int) and x > 0 for x in shape):
            problems.append(f"node {n} ({op}): bad shape {shape!r}")
        if not d.get("path"):
            problems.append(f"node {n} ({op}): no module path")
        elif d["path"] in paths:
            problems.append(f"nodes {paths[d['path']]} and {n} share the path {d['path']!r}")
        else:
            paths[d["path"]] = n
        ports = sorted(g.edges[p, n]["port"] for p in g.predecessors(n))
        if op == "input":
            if ports:
                problems.append(f"input node {n} has inputs")
        elif ports != list(range(len(ports))) or not ports:
            problems.append(f"node {n} ({op}): input ports {ports} are not 0..k-1")
        for p in g.predecessors(n):
            kind = g.edges[p, n]["kind"]
            if kind not in EDGE_KINDS:
                problems.append(f"edge {p}->{n}: unknown kind {kind!r}")
            if not is_signal(kind) and op not in ("gate", "highway", "mul") \
                    and g.in_degree(n) != 1:  # else it starts the body of a gate { }
                problems.append(f"edge {p}->{n}: control edge into {op}")
        if not isinstance(d.get("params"), int) or d["params"] < 0:
            problems.append(f"node {n} ({op}): params not set")
    for name in ("inputs", "outputs"):
        if not g.graph.get(name):
            problems.append(f"graph has no {name}")
    return problems
