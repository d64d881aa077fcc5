"""The elaborator: bodies, chains, terms, op calls and block instances become IR nodes.

Connection groups and edge statements are built by :mod:`resgraph.elaborate.connections`
through the kind registry; names by :mod:`resgraph.elaborate.naming`.

>>> from resgraph.program import Limits, load_program
>>> prog = load_program("network n() { input x[3, 8, 8]\\n x -> conv(4) -> relu }", "n.rg",
...                     Limits())
>>> el = Elaborator(prog, Limits())
>>> root = el.new_scope(None, "network", "n", "n", ("n",), prog.networks["n"].span, None, None)
>>> fr = Frame({}, None, None, el.graph, el.queried)
>>> out = el.body(prog.networks["n"].body, fr, root, None, NetworkState())
>>> [el.graph.nodes[n]["op"] for n in el.graph], el.graph.nodes[out]["shape"]
(['input', 'conv', 'relu'], (4, 8, 8))
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from resgraph import ast
from resgraph.binding import bind_args, bind_params, check_type, match_args, positional_shown
from resgraph.elaborate import connections
from resgraph.elaborate.frame import Frame
from resgraph.elaborate.graphops import check_size, single_labelled, uses_name
from resgraph.elaborate.naming import LABEL_PATTERN, NameTable, Naming, check_name, name_span
from resgraph.errors import ResgraphError, Span, did_you_mean
from resgraph.evaluate import NodeRef, Scope, Word, evaluate, show, type_name
from resgraph.ir import Dtype, ScopeInfo, ScopeKind, new_node
from resgraph.kinds import CONNECTIONS
from resgraph.ops import OPS, USER_OPS, ArgSpec, OpError
from resgraph.program import Limits, Program
from resgraph.util import shape_text

DTYPES: dict[str, Dtype] = {"float": "float", "long": "long", "int": "long"}

Input = tuple[int, str, int]

TIEABLE = ("linear", "embedding")
"""Ops that take ``tied=NODE``: their weight may be shared with another of these."""

ORDER_GAP = 1 << 64
"""Room between the places of consecutive nodes in :meth:`Elaborator.position`, for the
nodes that edge statements insert."""
"""An input of a new node: (source node, edge kind, unit flag), in port order."""


@dataclass
class NetworkState:
    """What a network body declares besides its chains: inputs and named outputs."""

    inputs: list[int] = field(default_factory=list)
    outputs: list[tuple[str, Span]] = field(default_factory=list)


@dataclass
class Elaborator:
    """Builds the IR graph of one network."""

    program: Program
    limits: Limits
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    names: NameTable = field(default_factory=NameTable)
    queried: set[int] = field(default_factory=set)
    order: dict[int, int] = field(default_factory=dict)
    """Node → its place in a topological order, for the nodes that edge statements placed
    (every other node's place is ``id * ORDER_GAP``); see :meth:`reshape`."""
    merge_in: dict[tuple[int, int], int] = field(default_factory=dict)
    """Edge target → the merge node that edge statements built in front of it; a target is
    (node, -1) for an op and (output node, scope) for a block instance, group or sub-chain."""
    merge_kind: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Merge node → (kind, merge option) of the edges into it."""
    stack: list[str] = field(default_factory=list)
    ties: dict[int, tuple[int, Span]] = field(default_factory=dict)
    """Layer → (the layer whose weight it shares, the ``tied=`` argument's span)."""

    @property
    def scopes(self) -> dict[int, ScopeInfo]:
        return self.names.scopes

    def nested(self, nm: Naming) -> bool:
        """Whether a label given in ``nm`` has a level above it in its module path (it is
        no attribute of the compiled model itself, so it may be ``self``)."""
        return self.names.scopes[nm.scope].parent is not None

    def size(self) -> tuple[int, int]:
        """(nodes, scopes) so far: :meth:`estimate` compares two of these."""
        return len(self.graph), len(self.names.scopes)

    # ------------------------------------------------------------ scopes and nodes

    def new_scope(self, nm: Naming | None, kind: ScopeKind, name: str, call: str,
                  key: tuple[Any, ...], span: Span, label: str | None, index: int | None,
                  preferred: str | None = None, numbered: bool = False) -> Naming:
        """Open a block instance or group scope (see :class:`NameTable`)."""
        if len(self.names.scopes) >= self.limits.max_nodes:
            raise ResgraphError("RG503", f"the network has more than {self.limits.max_nodes:,} "
                                "block instances (raise the limit with --max-nodes)", span)
        return self.names.new_scope(nm, kind, name, call, key, span, label, index, preferred,
                                    numbered)

    def node(self, op: str, args: dict[str, Any], inputs: Sequence[Input], span: Span,
             nm: Naming, label: str | None = None, index: int | None = None,
             base: str | None = None, preferred: str | None = None) -> int:
        """Add one op node fed by ``inputs``; its shape is inferred from theirs."""
        spec = OPS[op]
        g = self.graph
        if len(g) >= self.limits.max_nodes:
            raise ResgraphError("RG503", f"the network has more than {self.limits.max_nodes:,} "
                                "nodes (raise the limit with --max-nodes)", span)
        dtypes: set[Dtype] = {g.nodes[i]["dtype"] for i, _, _ in inputs}
        for held in dtypes:
            if spec.input_dtype != "any" and held != spec.input_dtype:
                want = "token ids (an input declared ': long')" if spec.input_dtype == "long" \
                    else "float features"
                raise ResgraphError("RG406", f"{op} expects {want}, but its input holds "
                                    f"{held} values", span)
        shape = self.infer(op, [g.nodes[i]["shape"] for i, _, _ in inputs], args, span)
        # ops that take any dtype (identity) pass it on; every other op computes floats
        dtype: Dtype = dtypes.pop() if spec.input_dtype == "any" and len(dtypes) == 1 \
            else "float"
        nid = len(g)
        g.add_node(nid, **new_node(op, args, shape, dtype, span, nm.chain, label))
        for port, (src, kind, unit) in enumerate(inputs):
            g.add_edge(src, nid, kind=kind, port=port, unit=unit)
        self.names.add_node(nm, nid, label, index, base or op, preferred, span)
        return nid

    def infer(self, op: str, in_shapes: list[tuple[int, ...]], args: dict[str, Any],
              span: Span) -> tuple[int, ...]:
        """The op's output shape by its registry rule, located at ``span`` on error."""
        try:
            shape = OPS[op].shape(in_shapes, args)
        except OpError as exc:
            raise ResgraphError(exc.code, str(exc), span) from None
        if any(d < 1 for d in shape):
            raise ResgraphError("RG403", f"{op} would produce an empty tensor of shape "
                                f"{shape_text(shape)}", span)
        check_size(op, shape, span)
        return tuple(shape)

    def bind(self, what: str, specs: Sequence[ArgSpec], args: Iterable[ast.Arg], env: Scope,
             span: Span) -> dict[str, Any]:
        """Bind call arguments to an op's or group's signature, with type checks."""
        return bind_args(what, specs, args, env, span, self.limits.max_int_bits)

    # ------------------------------------------------------------ bodies and chains

    def body(self, stmts: Sequence[ast.Stmt], fr: Frame, nm: Naming, flow: int | None,
             network: NetworkState | None = None) -> int | None:
        """Elaborate a block or network body; returns its flow at the end."""
        for stmt in stmts:
            if isinstance(stmt, ast.ChainStmt):
                flow = self.chain(stmt.chain, flow, fr, nm, network)
            elif isinstance(stmt, ast.Assign):
                flow = self.chain(stmt.chain, flow, fr, nm, network)
                fr.define(stmt.name, flow, stmt.span, self.nested(nm))
                if self.names.label_node(nm.scope, flow, stmt.name, stmt.span):
                    self.graph.nodes[flow]["label"] = stmt.name
            elif isinstance(stmt, ast.Edge):
                if nm.spread is not None:
                    self.not_flat(f"a {stmt.kind} edge", stmt.span, nm.spread)
                connections.edge(self, stmt, fr, nm)
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
        """``input x[3, 224, 224]: dtype``: a network input node."""
        check_name(stmt.name, "input", name_span(stmt.span, stmt.name))
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
        check_size(f"input '{stmt.name}'", dims, stmt.span)
        dtype = DTYPES.get(stmt.dtype or "float")
        if dtype is None:
            raise ResgraphError("RG301", f"unknown dtype '{stmt.dtype}' (use float or long)"
                                f"{did_you_mean(stmt.dtype or '', DTYPES)}",
                                stmt.dtype_span or stmt.span)
        nid = len(self.graph)
        self.graph.add_node(nid, **new_node("input", {"name": stmt.name, "dtype": dtype},
                                            tuple(dims), dtype, stmt.span, nm.chain, stmt.name))
        self.names.claim(nm.scope, stmt.name, stmt.span)
        self.names.add_node(nm.scope, nid, stmt.name, None, "input")
        fr.define(stmt.name, nid, stmt.span)
        return nid

    def chain(self, chain: ast.Chain, flow: int | None, fr: Frame, nm: Naming,
              network: NetworkState | None = None) -> int:
        """``a -> op -> block -> ...``: each term's output feeds the next."""
        x = self.start(chain.terms[0], flow, fr, nm, network)
        for term in chain.terms[1:]:
            if self.node_reference(term.atom, fr) is not None:
                name = "in" if isinstance(term.atom, ast.InRef) else \
                    getattr(term.atom, "name", "")
                raise ResgraphError("RG208", f"'{name}' is a node; a node name can only start "
                                    f"a chain. To feed it in here use an edge statement, e.g. "
                                    f"`skip {name} -> TARGET`", term.atom.span)
            x = self.term(term, x, fr, nm)
        return x

    def start(self, t: ast.Term, flow: int | None, fr: Frame, nm: Naming,
              network: NetworkState | None) -> int:
        """The first term of a chain: a node in scope starts there, else it continues
        the flow."""
        ref = self.node_reference(t.atom, fr)
        if ref is not None:
            if t.label is not None or t.repeat is not None or t.cond is not None:
                raise ResgraphError("RG208", "a node reference cannot be labelled, repeated or "
                                    "conditional (only a branch of parallel { } may be "
                                    "`in if cond` alone)", t.span)
            return ref
        atom = t.atom
        if isinstance(atom, ast.Call) and atom.args is None and atom.name not in OPS \
                and atom.name not in self.program.blocks and not self.op_param(atom, fr):
            scope = fr.visible_labels()
            raise ResgraphError("RG207", f"there is no node '{atom.name}' here, and no op or "
                                f"block of that name{did_you_mean(atom.name, [*scope, *USER_OPS])}"
                                f" (nodes in scope: {', '.join(scope) or 'none'})",
                                atom.name_span)
        if flow is None:
            if network is not None and not network.inputs:
                raise ResgraphError("RG209", "this chain has nothing to start from: the "
                                    "network has no input yet; declare one before it, e.g. "
                                    "`input x[3, 32, 32]`, then start the chain with `x ->`",
                                    t.span)
            raise ResgraphError("RG209", "this chain has nothing to start from: begin it with a "
                                "node name (there is no single input to flow from)", t.span)
        return self.term(t, flow, fr, nm)

    def term(self, t: ast.Term, x: int, fr: Frame, nm: Naming) -> int:
        """One term: an op, block, group or sub-chain, maybe labelled, repeated or
        conditional. An absent term (``if`` false, an op parameter bound to ``none``) is
        the identity and takes no number."""
        atom = t.atom
        if t.cond is not None and not self.condition(t.cond, fr):
            return x
        if isinstance(atom, ast.Call) and self.op_param(atom, fr) and \
                fr.env.lookup(atom.name) is None:
            return x
        if t.var is not None and t.repeat is None:  # pragma: no cover - the grammar needs '*'
            raise AssertionError(t)
        if t.label is not None and (nm.spread is not None or t.spread is not None):
            assert t.label_span is not None
            at = t.spread or nm.spread
            shown = t.label if t.template is not None else f"'{t.label}'"
            raise ResgraphError("RG225", f"a label inside a spread: '...' numbers every node "
                                f"it makes in the enclosing labelled sub-chain or repeat, so "
                                f"the label {shown} would name nothing; drop it, or leave "
                                "out the '...' so that the term forms a level with its own "
                                "names", t.label_span, notes=[("the spread", at)])
        if t.spread is not None:
            if nm.counter is None:
                raise ResgraphError("RG226", "'...' spreads a term's nodes into the numbers of "
                                    "the enclosing labelled sub-chain or repeat, and there is "
                                    "none here; put it inside one, e.g. "
                                    "`features: (...stage(64) -> ...stage(128))`", t.spread)
            nm = self.names.spread(nm, t.spread)
        repeat = None
        if t.repeat is not None:
            repeat = check_type("repeat", ArgSpec("n", "int", minimum=0),
                                evaluate(t.repeat, fr.env, max_int_bits=self.limits.max_int_bits),
                                t.repeat.span)
            if repeat > self.limits.max_repeat:
                raise ResgraphError("RG504", f"repeat count {repeat:,} is over the limit of "
                                    f"{self.limits.max_repeat:,} (raise it with --max-repeat)",
                                    t.repeat.span)
        if repeat is not None and t.template is not None and t.var is not None \
                and uses_name(t.template, t.var):
            # `"block1-{i}": res(w) * 2 as i`: the label names each copy
            one = dataclasses.replace(t, repeat=None, var=None, var_span=None, cond=None)
            assert t.repeat is not None
            return self.copies(ast.SubChain(ast.Chain([one], t.span), t.span), x, fr, nm,
                               repeat, t.repeat.span, t)
        if t.label is None:
            if repeat is None:
                return self.atom(atom, x, fr, nm, label=None, index=nm.member())
            assert t.repeat is not None
            return self.copies(atom, x, fr, nm, repeat, t.repeat.span, t)
        assert t.label_span is not None
        label = self.label_of(t, fr)
        fr.check_free(label, t.label_span)
        self.names.claim(nm.scope, label, t.label_span)
        first_scope = len(self.names.scopes)
        if repeat is None and not isinstance(atom, ast.SubChain):
            out = self.atom(atom, x, fr, nm, label=label, index=None)
        else:
            inner = self.new_scope(nm, "seq", label, label, ("seq", label), t.span,
                                   label, None, numbered=True)
            if repeat is None:
                assert isinstance(atom, ast.SubChain)
                out = self.chain(atom.chain, x, fr, inner)
            else:
                assert t.repeat is not None
                out = self.copies(atom, x, fr, inner, repeat, t.repeat.span, t)
        fr.define(label, out, t.label_span, self.nested(nm))
        if len(self.names.scopes) > first_scope and self.names.scopes[first_scope].parent \
                == nm.scope and out != x:
            fr.instances[label] = (x, first_scope)
        return out

    def copies(self, atom: ast.Atom, x: int, fr: Frame, nm: Naming, n: int,
               span: Span, t: ast.Term | None = None) -> int:
        """``term * n [as i]``: n copies in series, numbered within ``nm``; ``as i`` binds
        the copy's index. When the repeated term is a sub-chain of one labelled term,
        ``("b{i}": block) * n as i``, that label names each copy instead of its number."""
        var, var_span = (t.var, t.var_span) if t is not None else (None, None)
        single = single_labelled(atom)
        for i in range(n):
            before = self.size()
            copy = fr.index_frame(var, var_span, i) if var is not None else fr
            if single is not None:
                x = self.term(single, x, copy if var is not None else fr.child(), nm)
            elif isinstance(atom, ast.Call):
                x = self.atom(atom, x, copy, nm, label=None, index=nm.member())
            else:
                base = atom.kind if isinstance(atom, ast.Group) else "seq"
                inner = self.new_scope(nm, "copy", base, base, ("copy", id(atom)), atom.span,
                                       None, nm.member())
                x = self.atom(atom, x, copy if var is not None else fr.child(), inner,
                              label=None, index=None)
            self.estimate(before, n - i - 1, span, f"{n:,} copies")
        return x

    def estimate(self, before: tuple[int, int], left: int, span: Span, what: str) -> None:
        """Fail early when ``left`` more copies like the last one would pass the node limit."""
        if not left:
            return
        limit = self.limits.max_nodes
        nodes, scopes = self.size()
        nodes += (nodes - before[0]) * left
        scopes += (scopes - before[1]) * left
        if nodes > limit or scopes > limit:
            kind = "nodes" if nodes > limit else "block instances"
            raise ResgraphError("RG503", f"{what} would give the network about "
                                f"{max(nodes, scopes):,} {kind}, over the limit of {limit:,} "
                                "(raise it with --max-nodes)", span)

    def node_reference(self, atom: ast.Atom, fr: Frame) -> int | None:
        """The node a term names (``in`` or a bare label), or None for an op/block/group."""
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
            inner = self.new_scope(nm, "seq", "seq", "seq", ("seq",), atom.span, label, index,
                                   numbered=True)
            return self.chain(atom.chain, x, fr, inner)
        if isinstance(atom, ast.Group):
            if nm.spread is not None:
                self.not_flat(f"a {atom.kind} group", atom.kind_span, nm.spread)
            return connections.group(self, atom, x, fr, nm, label, index)
        raise AssertionError(atom)  # pragma: no cover

    def not_flat(self, what: str, span: Span, spread: Span) -> None:
        """Refuse (RG227) a connection inside a spread: a flat nn.Sequential holds a chain."""
        raise ResgraphError("RG227", f"{what} inside a spread: '...' lays nodes out as one "
                            "flat numbered chain, like nn.Sequential, which cannot hold a "
                            "merge of branches; leave out the '...' (the term then takes one "
                            "number and forms a level), or spread only the plain chains "
                            "around the connection", span, notes=[("the spread", spread)])

    def call(self, c: ast.Call, x: int, fr: Frame, nm: Naming, label: str | None,
             index: int | None) -> int:
        """An op call or a block instance (a parameter bound to an op's name stands for
        that op)."""
        if self.op_param(c, fr):
            bound = fr.env.lookup(c.name)
            if bound is None:
                return x
            c = ast.Call(str(bound), c.args, c.span, c.name_span)
        if c.name in self.program.blocks:
            return self.instantiate(self.program.blocks[c.name], c, x, fr, nm, label, index)
        spec = OPS.get(c.name)
        if spec is None or spec.internal:
            known = [*USER_OPS, *self.program.blocks]
            kind = "op" if c.name in CONNECTIONS else "op or block"
            raise ResgraphError("RG201", f"unknown {kind} '{c.name}'"
                                f"{did_you_mean(c.name, known)}", c.name_span)
        given = c.args or []
        tie = next((a for a in given if a.name == "tied"), None) if c.name in TIEABLE \
            else None
        if tie is not None:
            given = [a for a in given if a is not tie]
        args = self.bind(c.name, spec.args, given, fr.env, c.span)
        nid = self.node(c.name, args, [(x, "seq", 0)], c.span, nm, label, index)
        if tie is not None:
            self.ties[nid] = (self.tie_target(c.name, tie, fr), tie.span)
        return nid

    def tie_target(self, op: str, tie: ast.Arg, fr: Frame) -> int:
        """The node that ``tied=NODE`` names: an embedding or linear in scope, itself
        untied (RG228)."""
        name = tie.value.name if isinstance(tie.value, ast.Var) else ""
        nid = fr.node(name) if name else None
        if nid is None:
            shown = f"'{name}'" if name else "this value"
            raise ResgraphError("RG228", f"{op}: tied= names the embedding or linear layer "
                                f"whose weight this one shares, and {shown} is no node in "
                                "scope; write the label of a layer defined before it (e.g. "
                                f"tied=wte){did_you_mean(name, fr.visible_labels())}",
                                tie.span)
        target = self.graph.nodes[nid]
        if target["op"] not in TIEABLE:
            raise ResgraphError("RG228", f"{op}: tied={name} names a {target['op']} node; "
                                "a weight can be shared only with an embedding or a linear "
                                "layer", tie.span, notes=[(f"'{name}' is this node",
                                                           target["span"])])
        if nid in self.ties:
            first = self.graph.nodes[self.ties[nid][0]]["label"]
            raise ResgraphError("RG228", f"{op}: '{name}' is itself tied to '{first}'; "
                                f"tie this layer to '{first}' directly", tie.span)
        return nid

    # ------------------------------------------------------------ new forms

    def condition(self, cond: ast.Expr, fr: Frame) -> bool:
        """The value of ``term if cond``: a boolean (RG308 otherwise)."""
        v = evaluate(cond, fr.env, max_int_bits=self.limits.max_int_bits)
        if not isinstance(v, bool):
            raise ResgraphError("RG308", f"the condition of 'TERM if COND' must be true or "
                                f"false, got {show(v)}; write a comparison (e.g. 'if n != 0' "
                                "or 'if stride == 1')", cond.span)
        return v

    def op_param(self, c: ast.Call, fr: Frame) -> bool:
        """Whether the term ``c`` names a parameter (or let) bound to an op, a block or
        ``none`` (an op-valued parameter: ``act=relu`` used as ``-> act``).

        A bound name whose value is not a word or ``none`` is not one (``dropout(dropout)``
        with a float parameter ``dropout`` is the op); a word that names no op or block,
        or any other value under a name that is no op or block, is RG223.
        """
        try:
            v = fr.env.lookup(c.name)
        except KeyError:
            return False
        if isinstance(v, NodeRef):
            return False
        if v is None:
            return True
        if isinstance(v, Word):
            name = str(v)
            spec = OPS.get(name)
            if name in self.program.blocks or (spec is not None and not spec.internal):
                return True
            known = [*USER_OPS, *self.program.blocks]
            raise ResgraphError("RG223", f"'{c.name}' is bound to '{name}', which is no op or "
                                f"block: pass an op (e.g. {c.name}=relu), a block, or none to "
                                f"leave the term out{did_you_mean(name, known)}", c.name_span)
        if c.name in OPS or c.name in self.program.blocks:
            return False
        raise ResgraphError("RG223", f"'{c.name}' is {show(v)}, not an op: a parameter used as "
                            f"a term must be bound to an op or block name (e.g. "
                            f"{c.name}=relu) or to none", c.name_span)

    def label_of(self, t: ast.Term, fr: Frame) -> str:
        """A term's label: a name, an integer (``0:``) or a template ``"block{i}"``
        filled in (RG221 when the result is no label)."""
        assert t.label is not None and t.label_span is not None
        if t.template is None:
            return str(int(t.label)) if t.label.isdigit() else t.label
        text = []
        for part in t.template:
            if isinstance(part, str):
                text.append(part)
                continue
            v = evaluate(part, fr.env, max_int_bits=self.limits.max_int_bits)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, (int, str)) or isinstance(v, NodeRef):
                raise ResgraphError("RG221", f"a label template takes ints and strings, but "
                                    f"this part is a {type_name(v)} ({show(v)})", part.span)
            text.append(str(v))
        label = "".join(text)
        if not LABEL_PATTERN.fullmatch(label):
            raise ResgraphError("RG221", f"label template {t.label} gives {show(label)}, which "
                                "is not a label: labels are letters, digits, '_' and '-', "
                                "not starting with '-' (e.g. \"block{i}\" or \"b{s}-{i}\")",
                                t.label_span)
        return label

    # ------------------------------------------------------------ blocks

    def instantiate(self, defn: ast.Definition, c: ast.Call, x: int, fr: Frame, nm: Naming,
                    label: str | None, index: int | None) -> int:
        """A block instance: a scope and a fresh frame whose input ``in`` is ``x``."""
        if defn.name in self.stack:
            cycle = " -> ".join([*self.stack[self.stack.index(defn.name):], defn.name])
            raise ResgraphError("RG210", f"block '{defn.name}' uses itself ({cycle}); blocks "
                                "cannot be recursive", c.name_span)
        if len(self.stack) >= self.limits.max_nesting:
            raise ResgraphError("RG505", f"blocks nested more than {self.limits.max_nesting} "
                                "deep (raise it with --max-nesting)", c.name_span)
        given, _ = match_args(f"block '{defn.name}'", [p.name for p in defn.params],
                              c.args or [], fr.env, self.limits.max_int_bits)
        values = bind_params(defn, given, self.program, self.limits, c.span)
        shown = ", ".join(show(v, digits=12) for v in positional_shown(c, values, defn))
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

    # ------------------------------------------------------------ shapes after edges

    def reshape(self, start: int, span: Span) -> None:
        """Re-infer shapes below ``start`` (the merge node an edge statement built or fed)
        after the edge changed its inputs.

        Only nodes with an input whose shape changed are visited, through a heap keyed
        by each node's place in a topological order (:meth:`place`): a node is
        re-inferred once, after all its changed inputs, and the walk stops where shapes
        stop changing. So an edge near the top of a long chain costs as much as the
        shapes it changes, not the length of the chain. Changing the shape of a node
        whose shape an expression already used is RG413.
        """
        g = self.graph
        self.place(start)
        where = self.position
        g.nodes[start]["shape"] = self.shape_of(start, span)
        heap = [(where(s), s) for s in g.successors(start)]
        heapq.heapify(heap)
        queued = {s for _, s in heap}
        while heap:
            _, n = heapq.heappop(heap)
            new = self.shape_of(n, span)
            if new == g.nodes[n]["shape"]:
                continue
            if n in self.queried:
                raise ResgraphError("RG413", "this edge changes the shape of a node whose "
                                    "shape an expression already used; put the edge "
                                    "statement before the shape query", span)
            g.nodes[n]["shape"] = new
            for s in g.successors(n):
                if s not in queued:
                    queued.add(s)
                    heapq.heappush(heap, (where(s), s))

    def position(self, n: int) -> int:
        """Node ``n``'s place in a topological order of the graph (see :meth:`place`).

        Nodes are made after their inputs, so a node's id gives its place (spread out
        by ``ORDER_GAP``), except where an edge statement put new nodes in front of older
        ones: those are in :attr:`order`.
        """
        return self.order.get(n, n * ORDER_GAP)

    def place(self, m: int) -> None:
        """Give the merge node ``m`` and the nodes just built to feed it places in front
        of ``m``'s readers, keeping :meth:`position` topological.

        The nodes to move are ``m`` and every node upstream of it placed at or after its
        first reader (its new feed nodes, and, for an edge from a node made later than
        its target, that node and its ancestors made since). They go, in topological
        order, into the gap between their other inputs and that reader; when the gap is
        used up, every node gets a fresh place from a topological sort.
        """
        g = self.graph
        where = self.position
        readers = list(g.successors(m))
        if not readers:
            return
        lo = min(where(r) for r in readers)
        moved = {m}
        todo = [m]
        while todo:
            for p in g.predecessors(todo.pop()):
                if p not in moved and where(p) >= lo:
                    moved.add(p)
                    todo.append(p)
        hi = max((where(p) for n in moved for p in g.predecessors(n) if p not in moved),
                 default=-ORDER_GAP)
        step = min((lo - hi) // (len(moved) + 1), ORDER_GAP >> 16)
        if step < 1:
            self.order = {n: i * ORDER_GAP for i, n in enumerate(nx.topological_sort(g))}
            return
        left = {n: sum(p in moved for p in g.predecessors(n)) for n in moved}
        ready = sorted(n for n, k in left.items() if not k)
        at = hi
        while ready:
            n = ready.pop()
            at += step
            self.order[n] = at
            for s in g.successors(n):
                if s in moved:
                    left[s] -= 1
                    if not left[s]:
                        ready.append(s)

    def shape_of(self, n: int, span: Span | None = None) -> tuple[int, ...]:
        """Node ``n``'s shape inferred again from its inputs' current shapes."""
        g = self.graph
        node = g.nodes[n]
        if node["op"] == "input":
            return tuple(node["shape"])
        preds = sorted(g.predecessors(n), key=lambda p: g.edges[p, n]["port"])
        return self.infer(node["op"], [g.nodes[p]["shape"] for p in preds], node["args"],
                          span or node["span"])
