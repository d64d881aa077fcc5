"""The diagram model: which boxes, merges, edges and clusters a picture shows.

:func:`build_view` turns an :class:`~resgraph.ir.Architecture` into a :class:`View`,
independent of the output format (DOT and Mermaid are written from it by
:mod:`resgraph.render.dot` and :mod:`resgraph.render.mermaid`). What is collapsed
and how deep scopes open is decided by :class:`resgraph.render.plan.Plan`: collapsed,
each block's insides are drawn once (a run of identical consecutive blocks as its first
member in a frame titled ``2 × basic(64)``), and a later block of a structure already
drawn, a dense block, or a scope deeper than ``depth`` is one box: a glyph with its
title, its output shape and the connections around it (see :class:`ViewNode`).

Node ids in a view are ``n<IR node id>`` for drawn IR nodes and ``s<scope id>`` for
boxes; cluster ids are ``c<scope id>``.

>>> import resgraph
>>> view = build_view(resgraph.load("examples/resnet18.rg"), collapse=True)
>>> [c.title for c in view.clusters.values()][:3]
['layer1', '2 × basic(64)', 'layer2']
>>> box = view.nodes["s7"]  # layer2.1: its structure is drawn in layer1
>>> box.lines, box.glyph, box.repeat, box.layers
(['basic(128)', '128×28×28'], 'residual', 1, 2)
>>> len(view.nodes), len(view.edges), view.kinds()
(29, 35, ['seq', 'residual'])
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture, ScopeInfo, input_shapes
from resgraph.kinds import EDGE_KINDS, MERGE_OPS
from resgraph.ops import OPS
from resgraph.render.plan import Plan
from resgraph.util import short_count

AUTO_COLLAPSE_NODES = 150
"""``collapse=None`` collapses when the network has more IR nodes than this (or when
collapsing draws at most two thirds of them: see :func:`should_collapse`)."""

DENSE_RUN_NOTE = "each layer reads ‖ (block input, all earlier outputs)"
"""The note under a collapsed run of dense layers, whose concat nodes are not drawn."""

MERGE_TEXT = {"add": "+", "concat": "‖", "highway": "+", "mul": "×"}
"""The glyph drawn in the circle of each merge op (every op in :data:`resgraph.kinds.MERGE_OPS`)."""

MERGE_TIPS = {"add": "add (residual / skip merge)", "concat": "concat on channels",
              "highway": "gated sum y = H·T + x·(1−T)", "mul": "gate y = x · F(x)"}
"""The tooltip of each merge op's circle."""


GLYPHS = ("residual", "dense", "highway", "gate", "parallel", "")
"""The values of :attr:`ViewNode.glyph`: the topology a collapsed box stands for."""


@dataclass
class ViewNode:
    """One drawn node. ``role`` is input, op, merge, gate or box; ``lines[0]`` is the title.

    A **box** (``role="box"``) is a block drawn without its insides: a scope deeper than
    ``depth``, a dense block, or a folded run of identical blocks. Its glyph contract,
    for the writers (DOT, Mermaid, TikZ):

    ``glyph``
        the connection that shapes the block, one of :data:`GLYPHS`: ``residual`` (an
        add that brings the block's input back), ``dense`` (layers that each read the
        concat of all earlier outputs: draw a fan and ``layers``), ``highway`` (a gated
        sum), ``gate`` (x scaled by F(x)), ``parallel`` (branches side by side that fan
        in), or ``""`` (a plain chain).
    ``repeat``
        how many identical blocks in a row the box stands for (1: one); above 1 the box
        is titled ``N × call`` and is drawn with a ``×N`` bracket.
    ``layers``
        the weighted layers (conv, linear, ...) of one block, or for ``glyph="dense"``
        the number of dense layers (the fan's count); 0 when not known.
    ``shape``
        the box's output shape as text (``256×56×56``), also in ``lines``.

    Skip connections around a box are :class:`ViewEdge` s whose ``src == dst ==`` the
    box's id, one per connection kind (``residual``, ``highway``, ``dense``, ``gate``,
    ``parallel``): the writer draws each as an arc around the box (ports on one side),
    never through it.
    """

    id: str
    role: str
    op: str
    lines: list[str]
    tooltip: str = ""
    cluster: str | None = None
    output: bool = False
    repeat: int = 1
    glyph: str = ""
    layers: int = 0
    shape: str = ""


@dataclass
class ViewEdge:
    """One drawn edge of a kind in :data:`resgraph.kinds.EDGE_KINDS`; ``shape`` is its tensor
    (set where the shape changes, or on every edge when all shapes are asked for).

    ``src == dst`` is a skip arc around a box (see :class:`ViewNode`): the connection of
    kind ``kind`` inside the box, drawn around it.
    """

    src: str
    dst: str
    kind: str
    shape: str = ""


@dataclass
class ViewCluster:
    """A drawn scope: ``title`` like ``basic(128, stride=2)`` or ``12 × gpt2_block(768, 12)``.

    ``repeat`` above 1: the cluster shows the insides of the first of ``repeat`` identical
    blocks in a row, drawn with a ``×N`` bracket beside it.
    """

    id: str
    title: str
    parent: str | None
    kind: str
    repeat: int = 1
    details: list[str] = field(default_factory=list)
    tooltip: str = ""


@dataclass
class View:
    """Everything a diagram shows, in drawing order."""

    name: str
    nodes: dict[str, ViewNode] = field(default_factory=dict)
    edges: list[ViewEdge] = field(default_factory=list)
    clusters: dict[str, ViewCluster] = field(default_factory=dict)
    collapsed: bool = False

    def kinds(self) -> list[str]:
        """The edge kinds present, in the order of :data:`resgraph.kinds.EDGE_KINDS`."""
        present = {e.kind for e in self.edges}
        return [k for k in EDGE_KINDS if k in present]

    def tree(self) -> tuple[dict[str | None, list[ViewNode]], dict[str | None, list[ViewCluster]]]:
        """Nodes by enclosing cluster id and clusters by parent id (None: top level)."""
        by_cluster: dict[str | None, list[ViewNode]] = defaultdict(list)
        for node in self.nodes.values():
            by_cluster[node.cluster].append(node)
        children: dict[str | None, list[ViewCluster]] = defaultdict(list)
        for cluster in self.clusters.values():
            children[cluster.parent].append(cluster)
        return by_cluster, children


def should_collapse(arch: Architecture, collapse: bool | None) -> bool:
    """``collapse`` itself, or for ``None`` whether collapsing shortens the figure: the
    network is large (> 150 nodes), or collapsed it draws at most two thirds of its nodes
    (each block structure once; ResNet-18: 29 of 70).

    >>> import resgraph
    >>> should_collapse(resgraph.load("examples/resnet18.rg"), None)
    True
    >>> should_collapse(resgraph.load("examples/unet.rg"), None)  # 33 of 42: drawn whole
    False
    """
    if collapse is None:
        if len(arch.graph) > AUTO_COLLAPSE_NODES:
            return True
        plan = Plan(arch, True, None)
        shown = {plan.display(n) for n in arch.graph} - {None}
        return 3 * len(shown) <= 2 * len(arch.graph)
    return collapse


SHAPES = ("changes", "all")
"""The values of ``build_view(shapes=...)`` that label edges (``None``/``False``: none)."""


def shapes_mode(shapes: bool | str | None) -> str | None:
    """``build_view``'s ``shapes`` as ``"changes"``, ``"all"`` or ``None``; ``True`` (the
    old flag) means ``"changes"``. Anything else is ``RG603`` (a bad render option).

    >>> shapes_mode(True), shapes_mode("all"), shapes_mode(None), shapes_mode(False)
    ('changes', 'all', None, None)
    """
    if shapes is None or shapes is False:
        return None
    if shapes is True:
        return "changes"
    if isinstance(shapes, str) and shapes in SHAPES:
        return shapes
    raise ResgraphError("RG603", f"shapes must be one of {', '.join(SHAPES)} (or true/false), "
                        f"got {shapes!r}")


def build_view(arch: Architecture, *, collapse: bool | None = None, depth: int | None = None,
               shapes: bool | str | None = None, params: bool = False) -> View:
    """The view of ``arch``; see the module docstring for what ``collapse`` and ``depth`` do.

    ``shapes``: ``"changes"`` (or ``True``) labels only the edges where the tensor shape
    changes, ``"all"`` every edge, ``None``/``False`` none.
    """
    plan = Plan(arch, should_collapse(arch, collapse), depth)
    return _Builder(arch, plan, shapes_mode(shapes), params).build()


# ---------------------------------------------------------------- formatting helpers

UNSHOWN = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Unicode categories written as escapes in diagrams: control characters (dot cannot
parse a NUL), lone surrogates and line/paragraph separators."""


def printable(text: str) -> str:
    r"""``text`` with control characters (and lone surrogates, line and paragraph
    separators) written as Python escapes, so that every diagram file stays valid
    whatever a string argument holds.

    >>> printable("a\x00b\tc"), printable("conv 3×3")
    ('a\\x00b\\tc', 'conv 3×3')
    """
    if text.isprintable():
        return text
    return "".join(c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   if unicodedata.category(c) in UNSHOWN else c for c in text)



def dims_text(shape: tuple[int, ...]) -> str:
    """A shape as diagrams show it, ``(64, 56, 56)`` → ``64×56×56`` (the language's
    form is :func:`resgraph.util.shape_text`).

    >>> dims_text((64, 56, 56)), dims_text((1000,))
    ('64×56×56', '1000')
    """
    return "×".join(str(d) for d in shape)


def scope_title(info: ScopeInfo) -> str:
    """The title of a scope's cluster: its call, after the user's label when it has one.

    >>> from resgraph.errors import Span
    >>> s = ScopeInfo(2, "dense", "dense", "dense(layers=6)", (), 1, Span("f", 1, 1),
    ...               "features.denseblock1")
    >>> scope_title(s)
    'denseblock1: dense(layers=6)'
    """
    last = info.path.rsplit(".", 1)[-1]
    generated = (not last or last.isdigit() or last in (info.name, info.call)
                 or re.fullmatch(rf"{re.escape(info.name)}_\d+", last) is not None)
    return info.call if generated else f"{last}: {info.call}"


# ---------------------------------------------------------------- building the view


class _Builder:
    """Fills a :class:`View` from a :class:`Plan`."""

    def __init__(self, arch: Architecture, plan: Plan, shapes: str | None,
                 params: bool) -> None:
        self.arch = arch
        self.g = arch.graph
        self.plan = plan
        self.shapes = shapes
        self.params = params
        self.view = View(arch.name, collapsed=plan.collapse)

    def build(self) -> View:
        self._clusters()
        for n in sorted(self.g):
            shown = self.plan.display(n)
            if shown == f"n{n}":
                self._op_node(n)
            elif shown is not None and shown not in self.view.nodes:
                self._box_node(int(shown[1:]))
        self._edges()
        return self.view

    @cached_property
    def outputs(self) -> set[int]:
        """The IR nodes that are network outputs."""
        return set(self.g.graph["outputs"].values())

    def _cluster_of(self, scopes: tuple[int, ...]) -> str | None:
        opened = [s for s in scopes[1:] if self.plan.state.get(s) == "cluster"]
        return f"c{opened[-1]}" if opened else None

    def _run_params(self, scope: int) -> int:
        members = self._run(scope)
        return sum(self.g.nodes[n]["params"] for s in members for n in self.plan.members[s])

    def _run(self, scope: int) -> list[int]:
        """The blocks that ``scope``'s cluster or box stands for: its run, or the one run
        that fills a box."""
        return self.plan.inner_run.get(scope, self.plan.runs[scope])

    def _run_title(self, scope: int) -> str:
        run = self._run(scope)
        info = self.plan.scopes[run[0]]
        if len(run) == 1:
            if info.kind == "shortcut":
                return self._shortcut_title(scope)
            return self._contents(scope) or scope_title(info)
        calls = {self.plan.scopes[s].call for s in run}
        what = self._contents(run[0]) or (info.call if len(calls) == 1 else info.name)
        return f"{len(run)} × {what}"

    def _contents(self, scope: int) -> str:
        """For a copy of an unnamed group (``(conv(64, 3) -> relu) * 2``), what it holds:
        ``conv 3×3, 64 → relu`` (up to three ops); otherwise ``""``."""
        info = self.plan.scopes[scope]
        nodes = self.plan.members[scope]
        if info.kind != "copy" or info.name != info.call or not 0 < len(nodes) <= 3:
            return ""
        return " → ".join(OPS[self.g.nodes[n]["op"]].label(
            self.g.nodes[n]["args"], input_shapes(self.g, n), self.g.nodes[n]["shape"])
            for n in nodes)

    def _shortcut_title(self, scope: int) -> str:
        """A shortcut says what it does: ``downsample`` where it shrinks the feature map,
        ``projection`` where it only changes the channels (both are often labelled
        ``downsample``, after torchvision's key)."""
        nodes = self.plan.members[scope]
        ins = input_shapes(self.g, nodes[0])
        before, after = (ins[0] if ins else ()), self.g.nodes[nodes[-1]]["shape"]
        return "downsample" if tuple(before[1:]) != tuple(after[1:]) else "projection"

    def _run_tooltip(self, scope: int) -> str:
        paths = [self.plan.scopes[s].path for s in self._run(scope)]
        text = paths[0] if len(paths) == 1 else f"{paths[0]} … {paths[-1]} ({len(paths)})"
        parent = self.plan.scopes[scope].parent
        if parent is not None and self.plan.state.get(parent) == "flat":
            text = f"{self.plan.scopes[parent].path}: {text}"
        return text

    def _clusters(self) -> None:
        for s in sorted(self.plan.state):
            if self.plan.state[s] != "cluster":
                continue
            info = self.plan.scopes[s]
            details = []
            in_dense = info.parent is not None and self.plan.scopes[info.parent].kind == "dense"
            if len(self.plan.runs[s]) > 1 and in_dense:
                details.append(DENSE_RUN_NOTE)
            if self.params:
                details.append(short_count(self._run_params(s)) + " params")
            scopes = self.g.nodes[self.plan.members[s][0]]["scope"]
            parent = self._cluster_of(scopes[:scopes.index(s)])
            self.view.clusters[f"c{s}"] = ViewCluster(
                f"c{s}", self._run_title(s), parent, info.kind, len(self.plan.runs[s]),
                details, self._run_tooltip(s))

    def _op_node(self, n: int) -> None:
        d = self.g.nodes[n]
        op = d["op"]
        if op == "input":
            role, lines = "input", [f"input {d['args']['name']}", dims_text(d["shape"])]
        elif op in MERGE_OPS:
            role, lines = "merge", [MERGE_TEXT[op]]
        elif op == "gate":
            role, lines = "gate", ["T", "σ(" + ("conv 1×1" if len(d["shape"]) > 1 else "linear")
                                   + ")"]
        else:
            role = "op"
            lines = [OPS[op].label(d["args"], input_shapes(self.g, n), d["shape"])]
        if op == "add" and d["args"].get("drop_path"):
            lines.append(f"drop path {d['args']['drop_path']:g}")
        if d["args"].get("tied"):
            lines.append(f"tied to {d['args']['tied']}")
        if self.params and d["params"]:
            lines.append(f"{short_count(d['params'])} params")
        for name, out in self.g.graph["outputs"].items():
            if out == n:
                shown = "output" if name == "output" else f"output {name}"
                lines.append(f"{shown} · {dims_text(d['shape'])}")
        tip = MERGE_TIPS.get(op, "")
        if op == "mul" and all(self.g.edges[p, n]["kind"] in ("control", "parallel")
                               for p in self.g.predecessors(n)):
            tip = "product of parallel branches (elementwise)"
        if op == "add" and d["args"].get("drop_path"):
            tip += f", drop path {d['args']['drop_path']:g}"
        tooltip = f"{d['path']}: {tip}" if tip else f"{d['path']} → {dims_text(d['shape'])}"
        self.view.nodes[f"n{n}"] = ViewNode(f"n{n}", role, op, lines, tooltip,
                                            self._cluster_of(d["scope"]), n in self.outputs)

    def _box_node(self, scope: int) -> None:
        """A block drawn as one box: its title, output shape and glyph (see :class:`ViewNode`)."""
        plan = self.plan
        nodes = plan.members[scope]
        run = self._run(scope)
        first = plan.members[run[0]]
        glyph = self._glyph(run[0])
        out = self._output_node(scope)
        shape = dims_text(self.g.nodes[out]["shape"])
        lines = [self._run_title(scope)]
        if glyph == "dense":
            info = plan.scopes[scope]
            if info.kind == "dense":  # "denseblock1", not "denseblock1: dense(layers=6)"
                label = info.path.rsplit(".", 1)[-1]
                lines[0] = label if scope_title(info) != info.call else "dense block"
            layers = len(plan.children[scope])
            lines.append(self._dense_line(scope, layers, out))
        else:
            layers = sum(OPS[self.g.nodes[n]["op"]].weighted for n in first)
        lines.append(shape)
        if self.params:
            lines.append(f"{short_count(self._run_params(scope))} params")
        scopes = self.g.nodes[nodes[0]]["scope"]
        cluster = self._cluster_of(scopes[:scopes.index(scope)])
        self.view.nodes[f"s{scope}"] = ViewNode(
            f"s{scope}", "box", plan.scopes[scope].kind, lines, self._run_tooltip(scope),
            cluster, any(n in self.outputs for n in nodes), len(run), glyph, layers, shape)

    def _dense_line(self, scope: int, layers: int, out: int) -> str:
        """``6 layers, +32 channels each``: how a dense block grows its input (the box's ‖
        mark says that each layer reads the concat of all before)."""
        ins = input_shapes(self.g, self.plan.members[scope][0])
        grown = self.g.nodes[out]["shape"][0] - ins[0][0] if ins and layers else 0
        each = f", +{grown // layers} channels each" if grown > 0 and grown % layers == 0 else ""
        return f"{layers} layers{each}"

    def _output_node(self, scope: int) -> int:
        """The node whose value leaves ``scope`` (for a run: the last member's)."""
        nodes = self.plan.members[self._run(scope)[-1]]
        inside = set(nodes)
        leaving = [n for n in nodes if n in self.outputs
                   or any(v not in inside for v in self.g.successors(n))]
        return leaving[-1] if leaving else nodes[-1]

    def _glyph(self, scope: int) -> str:
        """The connection that shapes a block (:data:`GLYPHS`): its own kind where it is a
        connection group, else the first of dense, highway, residual, gate, parallel that
        joins inside it."""
        kind = self.plan.scopes[scope].kind
        if kind in GLYPHS:
            return kind
        nodes = self.plan.members[scope]
        found = {self.g.edges[p, n]["kind"] for n in nodes for p in self.g.predecessors(n)}
        return next((k for k in GLYPHS if k in found), "")

    def _edges(self) -> None:
        """Map IR edges onto drawn nodes; drop those inside an open node or between run members.

        Several edges of one kind between two drawn nodes become one. Where one IR node
        enters a box by several edges (its input and the residual around it), the box
        hides the merge: a single ``seq`` edge is drawn, and each connection kind that
        joins inside the box becomes an arc around it (an edge from the box to itself),
        as do those whose both ends are inside it. A connection that enters a box by one
        edge (a long skip into a decoder box) is drawn with its kind.
        """
        drawn: dict[tuple[str, str], list[ViewEdge]] = defaultdict(list)
        sources: dict[str, list[str]] = defaultdict(list)
        into: dict[tuple[int, str], int] = defaultdict(int)
        mapped = []
        for u, v, d in self.g.edges(data=True):
            du, dv = self.plan.display(u), self.plan.display(v)
            if du is None or dv is None or self.plan.crosses_members(u, v):
                continue
            mapped.append((u, du, dv, d["kind"]))
            into[u, dv] += 1
        for u, du, dv, kind in mapped:
            around = kind not in ("seq", "control")
            if du == dv or (dv.startswith("s") and into[u, dv] > 1):
                if around and dv.startswith("s"):
                    self._add(drawn, ViewEdge(dv, dv, kind))
                if du == dv:
                    continue
                kind = "seq"
            edge = ViewEdge(du, dv, kind, dims_text(self.g.nodes[u]["shape"]))
            if self._add(drawn, edge):
                sources[dv].append(du)
        if self.shapes == "changes":
            self._shapes_at_changes(drawn, sources)
        elif self.shapes is None:
            for edges in drawn.values():
                for e in edges:
                    e.shape = ""
        for edges in drawn.values():
            self.view.edges.extend(edges)

    @staticmethod
    def _add(drawn: dict[tuple[str, str], list[ViewEdge]], edge: ViewEdge) -> bool:
        edges = drawn[edge.src, edge.dst]
        if any(e.kind == edge.kind for e in edges):
            return False
        if edge.kind == "seq" and edge.src != edge.dst:
            edges.insert(0, edge)  # the box's input is the edge that carries its shape
        else:
            edges.append(edge)
        return True

    def _shapes_at_changes(self, drawn: dict[tuple[str, str], list[ViewEdge]],
                           sources: dict[str, list[str]]) -> None:
        """Keep the shape only on edges out of a node that changes it: one edge per change,
        where parallel paths (a conv and its projection) make the same change from the same
        inputs. Inputs and boxes print their shape themselves, so their edges carry none."""
        entering: dict[str, set[str]] = defaultdict(set)
        for (_, dst), edges in drawn.items():
            for e in edges:
                if e.src != e.dst:
                    entering[dst].add(e.shape)
        seen: set[tuple[frozenset[str], str]] = set()
        for (src, _), edges in drawn.items():
            for e in edges:
                if e.src == e.dst:
                    continue
                change = (frozenset(sources[src]), e.shape)
                if self.view.nodes[src].role not in ("input", "box") \
                        and e.shape not in entering[src] and change not in seen:
                    seen.add(change)
                else:
                    e.shape = ""
