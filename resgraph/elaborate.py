"""AST → IR: expand blocks, repeats and groups, evaluate arguments, infer shapes, build the graph.

The IR is a :class:`networkx.DiGraph`; node and edge attributes are documented in
:mod:`resgraph.ir`. Module paths are given after the whole network is built
(:meth:`Elaborator.name_everything`), then :func:`resgraph.ir.annotate` adds
parameters and MACs.

>>> from resgraph.program import Limits, load_program
>>> prog = load_program("network n() { input x[3, 8, 8]\\n x -> conv(4) -> relu }", "n.rg",
...                     Limits())
>>> g = elaborate(prog, prog.networks["n"], {}, Limits()).graph
>>> [g.nodes[n]["op"] for n in g]
['input', 'conv', 'relu']
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from resgraph import ast
from resgraph.binding import (
    bind_args,
    bind_params,
    call_text,
    check_type,
    match_args,
    positional_shown,
)
from resgraph.errors import ResgraphError, Span, did_you_mean
from resgraph.evaluate import NodeRef, Scope, evaluate, show
from resgraph.ir import Architecture, ScopeInfo, annotate
from resgraph.ops import OPS, USER_OPS, ArgSpec, OpError
from resgraph.program import Limits, Program

GROUP_ARGS: dict[str, tuple[ArgSpec, ...]] = {
    "residual": (ArgSpec("shortcut", "word", "identity", ("identity", "pad", "project", "conv")),
                 ArgSpec("drop_path", "float", 0.0, minimum=0, maximum=1),
                 ArgSpec("shortcut_bn", "bool", True)),
    "highway": (ArgSpec("gate_bias", "float", -2.0),),
    "dense": (ArgSpec("layers", "int", minimum=0),),
}
EDGE_ARGS: dict[str, tuple[ArgSpec, ...]] = {
    "residual": GROUP_ARGS["residual"],
    "highway": GROUP_ARGS["highway"],
    "dense": (),
    "skip": (ArgSpec("merge", "word", "concat", ("concat", "add")),),
}
DTYPES = {"float": "float", "long": "long", "int": "long"}
#: Labels become attribute names of the compiled nn.Module: these would break it.
RESERVED_LABELS = frozenset(keyword.kwlist) | frozenset({
    "add_module", "apply", "bfloat16", "buffers", "children", "code", "compile", "cpu", "cuda",
    "double", "eval", "extra_repr", "float", "forward", "get_buffer", "get_parameter",
    "get_submodule", "graph", "half", "load_state_dict", "modules", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "recompile",
    "register_buffer", "register_module", "register_parameter", "requires_grad_",
    "state_dict", "to", "to_empty", "train", "training", "type", "xpu", "zero_grad"})
MAX_ELEMENTS = 2**56  # no tensor (activation or parameter) may reach this many elements


@dataclass
class _Entry:
    """A named thing (node or scope) inside a naming scope, named when elaboration ends."""

    kind: str
    ref: int
    label: str | None
    index: int | None
    base: str
    preferred: str | None = None


@dataclass
class Naming:
    """Where new nodes get their module names: a scope, and a counter in numbered groups."""

    scope: int
    chain: tuple[int, ...]
    counter: list[int] | None = None

    def slot(self) -> int | None:
        if self.counter is None:
            return None
        self.counter[0] += 1
        return self.counter[0] - 1


class Frame:
    """Labels and values of one block instance (or of one repeated copy / dense layer)."""

    def __init__(self, values: dict[str, Any], parent_values: Scope | None,
                 in_node: int | None, graph: nx.DiGraph, queried: set[int],
                 parent: Frame | None = None) -> None:
        self.labels: dict[str, int] = {}
        self.label_spans: dict[str, Span] = {}
        self.parent = parent
        self.in_node = in_node
        self.graph = graph
        self.queried = queried
        self.env = Scope(values, parent.env if parent else parent_values, self._noderef)

    def node(self, name: str) -> int | None:
        frame: Frame | None = self
        while frame is not None:
            if name in frame.labels:
                return frame.labels[name]
            if name == "in" and frame.in_node is not None:
                return frame.in_node
            frame = frame.parent
        return None

    def _noderef(self, name: str) -> NodeRef | None:
        if name in self.env.values:
            return None
        nid = self.node(name) if self.parent is None or name in self.labels or name == "in" \
            else None
        if nid is None:
            return None
        self.queried.add(nid)
        return NodeRef(name, nid, self.graph.nodes[nid]["shape"])

    def define(self, name: str, nid: int, span: Span) -> None:
        if name == "in":
            raise ResgraphError("RG204", "'in' is reserved for the block input", span)
        if name in RESERVED_LABELS:
            raise ResgraphError("RG220", f"'{name}' cannot be a label: it names a module, and "
                                "it is a Python keyword or an nn.Module attribute; choose "
                                f"another name (e.g. '{name}_')", span)
        if name in self.labels:
            raise ResgraphError("RG204", f"duplicate label '{name}'", span,
                                notes=[("first defined here", self.label_spans[name])])
        self.labels[name] = nid
        self.label_spans[name] = span


@dataclass
class Elaborator:
    """Builds the IR graph of one network."""

    program: Program
    limits: Limits
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    scopes: dict[int, ScopeInfo] = field(default_factory=dict)
    entries: dict[int, list[_Entry]] = field(default_factory=dict)
    queried: set[int] = field(default_factory=set)
    merge_in: dict[int, int] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ naming

    def new_scope(self, nm: Naming, kind: str, name: str, call: str, key: tuple, span: Span,
                  label: str | None, index: int | None, preferred: str | None = None) -> Naming:
        sid = len(self.scopes)
        if sid >= self.limits.max_nodes:
            raise ResgraphError("RG503", f"the network has more than {self.limits.max_nodes:,} "
                                "block instances (raise the limit with --max-nodes)", span)
        parent = nm.scope if self.scopes else None
        self.scopes[sid] = ScopeInfo(sid, kind, name, call, key, parent, span)
        self.entries[sid] = []
        if parent is not None:
            self.entries[parent].append(_Entry("scope", sid, label, index, name, preferred))
        return Naming(sid, (*nm.chain, sid) if self.scopes and parent is not None else (sid,))

    def name_node(self, nid: int, label: str, nm: Naming) -> None:
        """``name = chain``: the label also names the last node's module, when that node is
        an unlabelled node of this scope (not the output of a block instance or group)."""
        for entry in self.entries[nm.scope]:
            if entry.kind == "node" and entry.ref == nid:
                if entry.label is None and entry.index is None:
                    entry.label = label
                    self.graph.nodes[nid]["label"] = label
                return

    def name_everything(self) -> None:
        """Give every node and scope its dotted module path (labels, indices, auto names)."""
        for sid, info in self.scopes.items():
            taken = {e.label for e in self.entries[sid] if e.label} | {
                str(e.index) for e in self.entries[sid] if e.index is not None}
            counters: dict[str, int] = {}
            for e in self.entries[sid]:
                if e.label:
                    name = e.label
                elif e.index is not None:
                    name = str(e.index)
                elif e.preferred and e.preferred not in taken:
                    name = e.preferred
                else:
                    k = counters.get(e.base, 0)
                    while f"{e.base}_{k}" in taken:
                        k += 1
                    name = f"{e.base}_{k}"
                    counters[e.base] = k + 1
                taken.add(name)
                path = f"{info.path}.{name}" if info.path else name
                if e.kind == "scope":
                    self.scopes[e.ref].path = path
                else:
                    self.graph.nodes[e.ref]["path"] = path

    # ------------------------------------------------------------ nodes

    def node(self, op: str, args: dict[str, Any], inputs: Sequence[tuple[int, str, int]],
             span: Span, nm: Naming, label: str | None = None, index: int | None = None,
             base: str | None = None, preferred: str | None = None) -> int:
        """Add one node; ``inputs`` are (source, edge kind, unit) in port order."""
        spec = OPS[op]
        g = self.graph
        if len(g) >= self.limits.max_nodes:
            raise ResgraphError("RG503", f"the network has more than {self.limits.max_nodes:,} "
                                "nodes (raise the limit with --max-nodes)", span)
        in_shapes = [g.nodes[i]["shape"] for i, _, _ in inputs]
        for i, _, _ in inputs:
            dtype = g.nodes[i]["dtype"]
            if spec.input_dtype != "any" and dtype != spec.input_dtype:
                want = "token ids (an input declared ': long')" if spec.input_dtype == "long" \
                    else "float features"
                raise ResgraphError("RG406", f"{op} expects {want}, but its input holds "
                                    f"{dtype} values", span)
        shape = self.infer(op, in_shapes, args, span)
        nid = len(g)
        dtype = args.get("dtype", "float") if op == "input" else "float"
        g.add_node(nid, op=op, args=args, shape=shape, dtype=dtype, params=0, macs=0,
                   weighted=spec.weighted, path="", span=span, scope=nm.chain, label=label)
        for port, (src, kind, unit) in enumerate(inputs):
            g.add_edge(src, nid, kind=kind, port=port, unit=unit)
        self.entries[nm.scope].append(_Entry("node", nid, label, index, base or op, preferred))
        return nid

    def infer(self, op: str, in_shapes: list[tuple[int, ...]], args: dict[str, Any],
              span: Span) -> tuple[int, ...]:
        try:
            shape = OPS[op].shape(in_shapes, args)
        except OpError as exc:
            raise ResgraphError(exc.code, str(exc), span) from None
        if any(d < 1 for d in shape):
            raise ResgraphError("RG403", f"{op} would produce an empty tensor of shape "
                                f"{_fmt(shape)}", span)
        _check_size(op, shape, span)
        return tuple(shape)

    # ------------------------------------------------------------ arguments

    def bind(self, what: str, specs: Sequence[ArgSpec], args: Iterable[ast.Arg], env: Scope,
             span: Span) -> dict[str, Any]:
        """Bind call arguments to an op's or group's signature, with type checks."""
        return bind_args(what, specs, args, env, span, self.limits.max_int_bits)

    # ------------------------------------------------------------ bodies and chains

    def body(self, stmts: Sequence[ast.Stmt], fr: Frame, nm: Naming, flow: int | None,
             network: _NetworkState | None = None) -> int | None:
        for stmt in stmts:
            if isinstance(stmt, ast.ChainStmt):
                flow = self.chain(stmt.chain, flow, fr, nm)
            elif isinstance(stmt, ast.Assign):
                flow = self.chain(stmt.chain, flow, fr, nm)
                fr.define(stmt.name, flow, stmt.span)
                self.name_node(flow, stmt.name, nm)
            elif isinstance(stmt, ast.Edge):
                self.edge(stmt, fr, nm)
            elif isinstance(stmt, ast.Let):
                if stmt.name in fr.env.values:
                    raise ResgraphError("RG205", f"'{stmt.name}' is already defined", stmt.span)
                fr.env.values[stmt.name] = evaluate(stmt.value, fr.env,
                                                    max_int_bits=self.limits.max_int_bits)
            elif isinstance(stmt, ast.Input):
                if network is None:
                    raise ResgraphError("RG207", "'input' belongs in a network; a block's input "
                                        "is 'in'", stmt.span)
                nid = self.input(stmt, fr, nm)
                network.inputs.append(nid)
                flow = nid if len(network.inputs) == 1 else None
            elif isinstance(stmt, ast.Output):
                if network is None:
                    raise ResgraphError("RG207", "'output' belongs in a network; a block's "
                                        "output is the node labelled 'out' or its last node",
                                        stmt.span)
                network.outputs.extend(stmt.names)
        return flow

    def input(self, stmt: ast.Input, fr: Frame, nm: Naming) -> int:
        dims = []
        for d in stmt.dims:
            v = evaluate(d, fr.env, max_int_bits=self.limits.max_int_bits)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ResgraphError("RG301", f"input dimensions must be positive ints, got "
                                    f"{show(v)}", d.span)
            dims.append(v)
        if not dims:
            raise ResgraphError("RG301", f"input '{stmt.name}' needs a shape, e.g. "
                                f"input {stmt.name}[3, 32, 32]", stmt.span)
        _check_size(f"input '{stmt.name}'", dims, stmt.span)
        dtype = DTYPES.get(stmt.dtype or "float")
        if dtype is None:
            raise ResgraphError("RG301", f"unknown dtype '{stmt.dtype}' (use float or long)"
                                f"{did_you_mean(stmt.dtype or '', DTYPES)}",
                                stmt.dtype_span or stmt.span)
        args = {"name": stmt.name, "dtype": dtype}
        g = self.graph
        nid = len(g)
        g.add_node(nid, op="input", args=args, shape=tuple(dims), dtype=dtype, params=0, macs=0,
                   weighted=0, path="", span=stmt.span, scope=nm.chain, label=stmt.name)
        self.entries[nm.scope].append(_Entry("node", nid, stmt.name, None, "input"))
        fr.define(stmt.name, nid, stmt.span)
        return nid

    def chain(self, chain: ast.Chain, flow: int | None, fr: Frame, nm: Naming) -> int:
        x = flow
        for i, term in enumerate(chain.terms):
            x = self.term(term, x, fr, nm, first=(i == 0))
        assert x is not None
        return x

    def term(self, t: ast.Term, x: int | None, fr: Frame, nm: Naming, first: bool) -> int:
        atom = t.atom
        ref = self.node_reference(atom, fr)
        if ref is not None:
            if not first:
                name = "in" if isinstance(atom, ast.InRef) else atom.name  # type: ignore[union-attr]
                raise ResgraphError("RG208", f"'{name}' is a node; a node name can only start a "
                                    f"chain. To feed it in here use an edge statement, e.g. "
                                    f"`skip {name} -> TARGET`", atom.span)
            if t.label is not None or t.repeat is not None:
                raise ResgraphError("RG208", "a node reference cannot be labelled or repeated",
                                    t.span)
            return ref
        if x is None:
            raise ResgraphError("RG209", "this chain has nothing to start from: begin it with a "
                                "node name (there is no single input to flow from)", t.span)
        repeat = None
        if t.repeat is not None:
            repeat = check_type("repeat", ArgSpec("n", "int", minimum=0),
                                 evaluate(t.repeat, fr.env, max_int_bits=self.limits.max_int_bits),
                                 t.repeat.span)
            if repeat > self.limits.max_repeat:
                raise ResgraphError("RG504", f"repeat count {repeat:,} is over the limit of "
                                    f"{self.limits.max_repeat:,} (raise it with --max-repeat)",
                                    t.repeat.span)
        if t.label is not None:
            assert t.label_span is not None
            if repeat is None and not isinstance(atom, ast.SubChain):
                out = self.atom(atom, x, fr, nm, label=t.label, index=None)
            else:
                inner = self.new_scope(nm, "seq", t.label, t.label, ("seq", t.label), t.span,
                                       t.label, None)
                inner.counter = [0]
                if repeat is None:
                    assert isinstance(atom, ast.SubChain)
                    out = self.chain(atom.chain, x, fr, inner)
                else:
                    out = self.copies(atom, x, fr, inner, repeat, t.repeat.span)
            fr.define(t.label, out, t.label_span)
            return out
        if repeat is None:
            return self.atom(atom, x, fr, nm, label=None, index=nm.slot())
        return self.copies(atom, x, fr, nm, repeat, t.repeat.span)

    def copies(self, atom: ast.Atom, x: int, fr: Frame, nm: Naming, n: int,
               span: Span) -> int:
        for i in range(n):
            before = (len(self.graph), len(self.scopes))
            if isinstance(atom, ast.Call):
                x = self.atom(atom, x, fr, nm, label=None, index=nm.slot())
            else:
                base = atom.kind if isinstance(atom, ast.Group) else "seq"
                inner = self.new_scope(nm, "copy", base, base, ("copy", id(atom)), atom.span,
                                       None, nm.slot())
                child = Frame({}, None, fr.in_node, self.graph, self.queried, parent=fr)
                x = self.atom(atom, x, child, inner, label=None, index=None)
            self.estimate(before, n - i - 1, span, f"{n:,} copies")
        return x

    def estimate(self, before: tuple[int, int], left: int, span: Span, what: str) -> None:
        """Fail early when ``left`` more copies like the last one would pass the node limit."""
        if not left:
            return
        limit = self.limits.max_nodes
        nodes = len(self.graph) + (len(self.graph) - before[0]) * left
        scopes = len(self.scopes) + (len(self.scopes) - before[1]) * left
        if nodes > limit or scopes > limit:
            kind = "nodes" if nodes > limit else "block instances"
            raise ResgraphError("RG503", f"{what} would give the network about "
                                f"{max(nodes, scopes):,} {kind}, over the limit of {limit:,} "
                                "(raise it with --max-nodes)", span)

    def node_reference(self, atom: ast.Atom, fr: Frame) -> int | None:
        if isinstance(atom, ast.InRef):
            if fr.in_node is None:
                raise ResgraphError("RG209", "'in' is the input of a block; a network names its "
                                    "inputs with 'input'", atom.span)
            return fr.in_node
        if isinstance(atom, ast.Call) and atom.args is None:
            return fr.node(atom.name)
        if isinstance(atom, ast.Call) and fr.node(atom.name) is not None \
                and atom.name not in OPS and atom.name not in self.program.blocks:
            raise ResgraphError("RG208", f"'{atom.name}' is a node, not an op or a block",
                                atom.name_span)
        return None

    def atom(self, atom: ast.Atom, x: int, fr: Frame, nm: Naming, label: str | None,
             index: int | None) -> int:
        if isinstance(atom, ast.Call):
            return self.call(atom, x, fr, nm, label, index)
        if isinstance(atom, ast.SubChain):
            if label is None and index is None:
                return self.chain(atom.chain, x, fr, nm)
            inner = self.new_scope(nm, "seq", "seq", "seq", ("seq",), atom.span, label, index)
            inner.counter = [0]
            return self.chain(atom.chain, x, fr, inner)
        if isinstance(atom, ast.Group):
            return self.group(atom, x, fr, nm, label, index)
        raise AssertionError(atom)  # pragma: no cover

    def call(self, c: ast.Call, x: int, fr: Frame, nm: Naming, label: str | None,
             index: int | None) -> int:
        if c.name in self.program.blocks:
            return self.instantiate(self.program.blocks[c.name], c, x, fr, nm, label, index)
        spec = OPS.get(c.name)
        if spec is None or spec.internal:
            known = [*USER_OPS, *self.program.blocks]
            kind = "op or block"
            if c.name in ("residual", "highway", "dense", "skip"):
                kind = "op"
            raise ResgraphError("RG201", f"unknown {kind} '{c.name}'"
                                f"{did_you_mean(c.name, known)}", c.name_span)
        args = self.bind(c.name, spec.args, c.args or [], fr.env, c.span)
        nid = self.node(c.name, args, [(x, "seq", 0)], c.span, nm, label, index)
        return nid

    # ------------------------------------------------------------ blocks

    def instantiate(self, defn: ast.Definition, c: ast.Call, x: int, fr: Frame, nm: Naming,
                    label: str | None, index: int | None) -> int:
        if defn.name in self.stack:
            cycle = " -> ".join([*self.stack[self.stack.index(defn.name):], defn.name])
            raise ResgraphError("RG210", f"block '{defn.name}' uses itself ({cycle}); blocks "
                                "cannot be recursive", c.name_span)
        if len(self.stack) >= self.limits.max_nesting:
            raise ResgraphError("RG505", f"blocks nested more than {self.limits.max_nesting} "
                                "deep (raise it with --max-nesting)", c.name_span)
        values = self.block_args(defn, c, fr)
        shown = ", ".join(show(v) for v in positional_shown(c, values, defn))
        key = (defn.name, tuple((k, show(v)) for k, v in values.items()))
        inner = self.new_scope(nm, "block", defn.name, f"{defn.name}({shown})", key, c.span,
                               label, index)
        frame = Frame(values, Scope(self.program.values), x, self.graph, self.queried)
        self.stack.append(defn.name)
        try:
            flow = self.body(defn.body, frame, inner, x)
        except ResgraphError as exc:
            if len(exc.notes) < 8:
                exc.with_note(f"in block '{defn.name}' used here", c.name_span)
            raise
        finally:
            self.stack.pop()
        out = frame.labels.get("out", flow)
        assert out is not None
        return out

    def block_args(self, defn: ast.Definition, c: ast.Call, fr: Frame) -> dict[str, Any]:
        given, _ = match_args(f"block '{defn.name}'", [p.name for p in defn.params],
                              c.args or [], fr.env, self.limits.max_int_bits)
        return bind_params(defn, given, self.program, self.limits, c.span)

    # ------------------------------------------------------------ groups

    def group(self, gr: ast.Group, x: int, fr: Frame, nm: Naming, label: str | None,
              index: int | None) -> int:
        if gr.kind == "skip":
            raise ResgraphError("RG211", "skip exists only as an edge statement: "
                                "`skip a -> b`", gr.kind_span)
        args = self.bind(gr.kind, GROUP_ARGS[gr.kind], gr.args, fr.env, gr.span)
        if label is not None or index is not None or gr.kind == "dense":
            call = call_text(gr.kind, args, GROUP_ARGS[gr.kind])
            nm = self.new_scope(nm, gr.kind, gr.kind, call, (gr.kind, call), gr.span, label,
                                index)
        if gr.kind == "dense":
            return self.dense(gr, x, fr, nm, args["layers"])
        f = self.body(gr.body, fr, nm, x)
        if f is None or f == x:
            f = self.node("identity", {}, [(x, "seq", 0)], gr.span, nm)
        if gr.kind == "residual":
            s = self.shortcut(x, self.graph.nodes[f]["shape"], args, gr.span, nm)
            return self.node("add", {"drop_path": args["drop_path"]},
                             [(f, "seq", 1), (s, "residual", 0)], gr.span, nm)
        return self.highway(f, x, args["gate_bias"], gr.span, nm)

    def highway(self, h: int, x: int, bias: float, span: Span, nm: Naming) -> int:
        hs, xs = self.graph.nodes[h]["shape"], self.graph.nodes[x]["shape"]
        if hs != xs:
            raise ResgraphError("RG410", f"highway: H(x) has shape {_fmt(hs)} but x has "
                                f"{_fmt(xs)}; a highway unit must keep its input's shape",
                                span)
        gate = self.node("gate", {"gate_bias": bias}, [(x, "control", 0)], span, nm,
                         preferred="gate")
        return self.node("highway", {}, [(h, "seq", 1), (x, "highway", 0),
                                         (gate, "control", 0)], span, nm)

    def dense(self, gr: ast.Group, x: int, fr: Frame, nm: Naming, layers: int) -> int:
        if layers > self.limits.max_repeat:
            raise ResgraphError("RG504", f"dense layers={layers:,} is over the limit of "
                                f"{self.limits.max_repeat:,} (raise it with --max-repeat)",
                                gr.span)
        if layers * (layers + 1) // 2 > self.limits.max_nodes:
            raise ResgraphError("RG503", f"dense layers={layers:,} would make "
                                f"{layers * (layers + 1) // 2:,} dense connections, over the "
                                f"limit of {self.limits.max_nodes:,} (raise it with --max-nodes)",
                                gr.span)
        feats = [x]
        for i in range(layers):
            before = (len(self.graph), len(self.scopes))
            inp = x if i == 0 else self.concat(feats, gr.span, nm)
            single = _single_block_call(gr.body, self.program)
            if single is not None:
                h = self.instantiate(self.program.blocks[single.name], single, inp, fr, nm,
                                     None, i)
            else:
                layer_nm = self.new_scope(nm, "dense_layer", "layer", f"layer {i}", ("layer",),
                                          gr.span, None, i)
                child = Frame({}, None, fr.in_node, self.graph, self.queried, parent=fr)
                h = self.body(gr.body, child, layer_nm, inp)
            if h is None or h == inp:
                raise ResgraphError("RG212", "a dense layer must compute something: the body "
                                    "of dense { ... } is empty", gr.span)
            feats.append(h)
            self.estimate(before, layers - i - 1, gr.span, f"dense layers={layers:,}")
        return x if layers == 0 else self.concat(feats, gr.span, nm)

    def concat(self, feats: list[int], span: Span, nm: Naming) -> int:
        inputs = [(f, "dense", 1 if j else 0) for j, f in enumerate(feats)]
        inputs[-1] = (feats[-1], "seq", 1 if len(feats) > 1 else 0)
        return self.node("concat", {}, inputs, span, nm)

    def shortcut(self, x: int, target: tuple[int, ...], args: dict[str, Any], span: Span,
                 nm: Naming) -> int:
        """The shortcut s(x) of a residual: identity, pad (option A), project (B) or conv (C)."""
        mode = args["shortcut"]
        xs = self.graph.nodes[x]["shape"]
        if mode in ("identity", "pad", "project") and xs == target:
            return x
        if mode == "identity":
            raise ResgraphError("RG410", f"residual shapes differ: F(x) is {_fmt(target)} but x "
                                f"is {_fmt(xs)}; use residual(shortcut=project) (1×1 conv + bn) "
                                "or residual(shortcut=pad) (subsample and zero-pad channels)",
                                span)
        stride = _stride(xs, target)
        if stride is None or (mode == "pad" and target[0] < xs[0]):
            raise ResgraphError("RG410", f"residual shortcut={mode} cannot turn x {_fmt(xs)} "
                                f"into F(x)'s shape {_fmt(target)}", span)
        if mode == "pad":
            return self.node("pad", {"stride": stride, "channels": target[0]},
                             [(x, "residual", 0)], span, nm)
        inner = self.new_scope(nm, "shortcut", "downsample", "downsample", ("shortcut",), span,
                               None, None, preferred="downsample")
        inner.counter = [0]
        if len(xs) == 1:
            proj = self.node("linear", {"out": target[0], "bias": False},
                             [(x, "residual", 0)], span, inner, index=inner.slot())
        else:
            proj = self.node("conv", {"out": target[0], "k": 1, "stride": stride, "pad": 0,
                                      "groups": 1, "dilation": 1, "bias": False},
                             [(x, "residual", 0)], span, inner, index=inner.slot())
        if not args["shortcut_bn"]:
            return proj
        return self.node("bn", {"eps": 1e-5, "momentum": 0.1}, [(proj, "seq", 0)], span, inner,
                         index=inner.slot())

    # ------------------------------------------------------------ edge statements

    def edge(self, e: ast.Edge, fr: Frame, nm: Naming) -> None:
        a = fr.node(e.src)
        if a is None:
            raise ResgraphError("RG207", f"undefined node '{e.src}'"
                                f"{did_you_mean(e.src, fr.labels)}", e.src_span)
        if e.dst == "in":
            raise ResgraphError("RG213", "an edge cannot end at 'in'", e.dst_span)
        b = fr.node(e.dst)
        if b is None:
            raise ResgraphError("RG207", f"undefined node '{e.dst}'"
                                f"{did_you_mean(e.dst, fr.labels)}", e.dst_span)
        args = self.bind(e.kind, EDGE_ARGS[e.kind], e.args, fr.env, e.span)
        g = self.graph
        if a == b:
            raise ResgraphError("RG213", "an edge from a node to itself", e.span)
        if g.nodes[b]["op"] == "input":
            raise ResgraphError("RG213", f"'{e.dst}' is an input; nothing can merge into it",
                                e.dst_span)
        if _reaches(g, b, a):
            raise ResgraphError("RG214", f"this edge would make a cycle: '{e.dst}' is upstream "
                                f"of '{e.src}' (edges must point downstream)", e.span)
        kind = e.kind
        merge = args.get("merge", "")
        m = self.merge_in.get(b)
        if m is not None:
            have = g.nodes[m]["merge"]
            if have != (kind, merge):
                raise ResgraphError("RG412", f"two merge kinds into '{e.dst}': it already has a "
                                    f"{_kind_text(*have)} merge, and this is a "
                                    f"{_kind_text(kind, merge)} edge", e.span)
            if kind == "highway":
                raise ResgraphError("RG412", f"'{e.dst}' already has a highway edge; a node "
                                    "takes at most one", e.span)
            self.extra_input(m, a, kind, args, e.span, nm)
        else:
            m = self.insert_merge(b, a, kind, args, e, nm)
        self.reshape(m, e.span)

    def insert_merge(self, b: int, a: int, kind: str, args: dict[str, Any], e: ast.Edge,
                     nm: Naming) -> int:
        g = self.graph
        preds = [p for p in g.predecessors(b) if g.edges[p, b]["kind"] != "control"]
        if len(preds) != 1:
            raise ResgraphError("RG213", f"cannot merge in front of '{e.dst}': it already has "
                                f"{len(preds)} inputs; label a node after it instead", e.span)
        p = preds[0]
        if p == a:
            raise ResgraphError("RG213", f"'{e.src}' already feeds '{e.dst}' directly", e.span)
        ps = g.nodes[p]["shape"]
        if kind == "residual":
            s = self.shortcut(a, ps, args, e.span, nm)
            m = self.node("add", {"drop_path": args["drop_path"]},
                          [(p, "seq", 1), (s, "residual", 0)], e.span, nm)
        elif kind == "highway":
            m = self.highway(p, a, args["gate_bias"], e.span, nm)
        elif kind == "skip" and args["merge"] == "add":
            m = self.node("add", {"drop_path": 0.0}, [(p, "seq", 0), (a, "skip", 0)], e.span,
                          nm)
        else:
            m = self.node("concat", {}, [(p, "seq", 0), (a, kind, 0)], e.span, nm)
        g.nodes[m]["merge"] = (kind, args.get("merge", ""))
        attrs = g.edges[p, b]
        g.remove_edge(p, b)
        g.add_edge(m, b, **attrs)
        self.merge_in[b] = m
        return m

    def extra_input(self, m: int, a: int, kind: str, args: dict[str, Any], span: Span,
                    nm: Naming) -> None:
        g = self.graph
        if g.has_edge(a, m):
            raise ResgraphError("RG213", "this edge repeats an existing one", span)
        src, edge_kind = a, kind
        if kind == "residual" and args["drop_path"] != g.nodes[m]["args"]["drop_path"]:
            raise ResgraphError("RG412", f"residual edges into one node must agree on drop_path "
                                f"(this one says {args['drop_path']:g}, an earlier one "
                                f"{g.nodes[m]['args']['drop_path']:g})", span)
        if kind == "residual":
            main = next(p for p in g.predecessors(m) if g.edges[p, m]["port"] == 0)
            src = self.shortcut(a, g.nodes[main]["shape"], args, span, nm)
        port = g.in_degree(m)
        g.add_edge(src, m, kind=edge_kind, port=port, unit=0)

    def reshape(self, start: int, span: Span) -> None:
        """Re-infer shapes below ``start`` after an edge statement changed its inputs."""
        g = self.graph
        changed = {start}
        g.nodes[start]["shape"] = self._shape_of(start, span)
        if not any(self._shape_of(s, span) != g.nodes[s]["shape"] for s in g.successors(start)):
            return
        for n in nx.topological_sort(g.subgraph(nx.descendants(g, start))):
            if not any(p in changed for p in g.predecessors(n)):
                continue
            new = self._shape_of(n, span)
            if new != g.nodes[n]["shape"]:
                if n in self.queried:
                    raise ResgraphError("RG413", "this edge changes the shape of a node whose "
                                        "shape an expression already used; put the edge "
                                        "statement before the shape query", span)
                g.nodes[n]["shape"] = new
                changed.add(n)

    def _shape_of(self, n: int, span: Span | None = None) -> tuple[int, ...]:
        g = self.graph
        node = g.nodes[n]
        if node["op"] == "input":
            return node["shape"]
        preds = sorted(g.predecessors(n), key=lambda p: g.edges[p, n]["port"])
        ins = [g.nodes[p]["shape"] for p in preds]
        return self.infer(node["op"], ins, node["args"], span or node["span"])


@dataclass
class _NetworkState:
    inputs: list[int] = field(default_factory=list)
    outputs: list[tuple[str, Span]] = field(default_factory=list)


def elaborate(program: Program, defn: ast.Definition, params: dict[str, Any],
              limits: Limits) -> Architecture:
    """Build the annotated IR of network ``defn`` with parameter overrides ``params``."""
    values = bind_params(defn, params, program, limits, defn.span)
    el = Elaborator(program, limits)
    root = el.new_scope(Naming(0, ()), "network", defn.name, defn.name, (defn.name,), defn.span,
                        None, None)
    state = _NetworkState()
    fr = Frame(values, Scope(program.values), None, el.graph, el.queried)
    try:
        flow = el.body(defn.body, fr, root, None, state)
    except RecursionError:
        raise ResgraphError("RG505", "the network nests too deeply to elaborate", defn.span) \
            from None
    if not state.inputs:
        raise ResgraphError("RG215", f"network '{defn.name}' has no input; declare one, e.g. "
                            "input x[3, 224, 224]", defn.span)
    outputs: dict[str, int] = {}
    for name, span in state.outputs:
        nid = fr.node(name)
        if nid is None:
            raise ResgraphError("RG207", f"undefined node '{name}'"
                                f"{did_you_mean(name, fr.labels)}", span)
        outputs[name] = nid
    if not outputs:
        if flow is None:
            raise ResgraphError("RG215", f"network '{defn.name}' has no output: end with a "
                                "chain or name outputs with 'output a, b'", defn.span)
        outputs[el.graph.nodes[flow]["label"] or "output"] = flow
    el.name_everything()
    g = el.graph
    for n in g:
        g.nodes[n].pop("merge", None)
    g.graph.update(network=defn.name, inputs=list(state.inputs), outputs=dict(outputs))
    annotate(g)
    for n in g:
        if g.nodes[n]["params"] >= MAX_ELEMENTS:
            node = g.nodes[n]
            raise ResgraphError("RG407", f"{node['op']} would have {node['params']:,} "
                                "parameters; a layer must have fewer than 2**56", node["span"])
    return Architecture(defn.name, g, el.scopes, values, program.file)


# ---------------------------------------------------------------- helpers


def _reaches(g: nx.DiGraph, src: int, dst: int) -> bool:
    """Whether a path leads from ``src`` to ``dst``: breadth-first from both ends in turn.

    Alternating keeps the cost near the smaller of "below src" and "above dst", so that
    many edge statements stay cheap whichever end of the network they touch.
    """
    if src == dst:
        return True
    below, above = {src}, {dst}
    down: list[int] | None = [src]
    up: list[int] | None = [dst]
    while down and up:
        down = _widen(down, g.successors, below, above)
        if down is None:
            return True
        up = _widen(up, g.predecessors, above, below)
        if up is None:
            return True
    return False


def _widen(frontier: list[int], neighbours: Any, seen: set[int],
           other: set[int]) -> list[int] | None:
    """One breadth-first step of :func:`_reaches`; None when it meets the other side."""
    nxt = []
    for n in frontier:
        for m in neighbours(n):
            if m in other:
                return None
            if m not in seen:
                seen.add(m)
                nxt.append(m)
    return nxt


def _check_size(what: str, shape: Sequence[int], span: Span) -> None:
    """Refuse tensors too large for any device (and for PyTorch's int64 sizes)."""
    n = math.prod(shape)
    if n >= MAX_ELEMENTS:
        raise ResgraphError("RG407", f"{what} would produce a tensor of shape {_fmt(shape)} with "
                            f"{n:,} elements; tensors must have fewer than 2**56", span)


def _fmt(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _kind_text(kind: str, merge: str) -> str:
    return f"{kind} ({merge})" if merge else kind


def _single_block_call(body: Sequence[ast.Stmt], program: Program) -> ast.Call | None:
    """The block call when a body is exactly one unlabelled, unrepeated block instance."""
    if len(body) != 1 or not isinstance(body[0], ast.ChainStmt):
        return None
    terms = body[0].chain.terms
    if len(terms) != 1 or terms[0].label is not None or terms[0].repeat is not None:
        return None
    atom = terms[0].atom
    return atom if isinstance(atom, ast.Call) and atom.name in program.blocks else None


def _stride(xs: tuple[int, ...], target: tuple[int, ...]) -> int | None:
    if len(xs) != len(target):
        return None
    if len(xs) == 1:
        return 1
    strides = set()
    for size, out in zip(xs[1:], target[1:]):
        s = max(1, size // out)
        if (size - 1) // s + 1 != out:
            s += 1
            if (size - 1) // s + 1 != out:
                return None
        strides.add(s)
    return strides.pop() if len(strides) == 1 else None
