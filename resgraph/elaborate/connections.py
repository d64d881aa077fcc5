"""Connection kinds in elaboration: group forms, edge statements and their merges.

Each kind of :data:`resgraph.kinds.CONNECTIONS` has a :class:`Merger` here, found
through :data:`MERGES`. A merger's ``build`` makes the node where a branch joins the
main flow (``main``: F(x) for a group, the edge target's old input for an edge);
``feed`` turns the joining source into what enters that node (a residual's shortcut);
``expand`` replaces the generic group form (wrap the body, then merge) where a kind
needs its own (dense). Adding a kind is its registry entry plus one ``build`` function.

>>> import resgraph
>>> arch = resgraph.loads('''network n() { input x[8]
...     a: linear(8) -> relu -> b: linear(8)
...     skip(merge=add) a -> b }''')
>>> [arch.graph.nodes[n]["op"] for n in arch.graph]
['input', 'linear', 'relu', 'linear', 'add']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from resgraph import ast
from resgraph.binding import call_text
from resgraph.elaborate.graphops import reaches, shortcut_stride, single_labelled
from resgraph.elaborate.naming import Naming
from resgraph.errors import ResgraphError, Span, did_you_mean
from resgraph.ir import ScopeKind
from resgraph.kinds import CONNECTIONS, is_signal
from resgraph.util import shape_text

if TYPE_CHECKING:
    from resgraph.elaborate.builder import Elaborator
    from resgraph.elaborate.frame import Frame

Args = dict[str, Any]
Build = Callable[["Elaborator", int, int, Args, Span, Naming], int]
Feed = Callable[["Elaborator", int, tuple[int, ...], Args, Span, Naming], int]
Expand = Callable[["Elaborator", ast.Group, int, "Frame", Naming, Args], int]


def _as_is(el: Elaborator, src: int, target: tuple[int, ...], args: Args, span: Span,
           nm: Naming) -> int:
    return src


@dataclass(frozen=True)
class Merger:
    """How one connection kind joins a branch: see the module docstring."""

    build: Build
    feed: Feed = _as_is
    expand: Expand | None = None
    scoped: bool = False
    """Whether an unlabelled group of this kind is a naming level of its own (dense)."""


# ---------------------------------------------------------------- residual


def shortcut(el: Elaborator, x: int, target: tuple[int, ...], args: Args, span: Span,
             nm: Naming) -> int:
    """The shortcut s(x) of a residual: identity, pad (option A), project (B) or conv (C)."""
    mode = args["shortcut"]
    xs = el.graph.nodes[x]["shape"]
    if mode in ("identity", "pad", "project") and xs == target:
        return x
    if mode == "identity":
        raise ResgraphError("RG410", f"residual shapes differ: F(x) is {shape_text(target)} but "
                            f"x is {shape_text(xs)}; use residual(shortcut=project) (1×1 conv "
                            "+ bn) or residual(shortcut=pad) (subsample and zero-pad channels)",
                            span)
    stride = shortcut_stride(xs, target)
    if stride is None or (mode == "pad" and target[0] < xs[0]):
        raise ResgraphError("RG410", f"residual shortcut={mode} cannot turn x {shape_text(xs)} "
                            f"into F(x)'s shape {shape_text(target)}", span)
    if mode == "pad":
        return el.node("pad", {"stride": stride, "channels": target[0]},
                       [(x, "residual", 0)], span, nm)
    inner = el.new_scope(nm, "shortcut", "downsample", "downsample", ("shortcut",), span,
                         None, None, preferred="downsample", numbered=True)
    if len(xs) == 1:
        proj = el.node("linear", {"out": target[0], "bias": False}, [(x, "residual", 0)], span,
                       inner, index=inner.slot())
    else:
        proj = el.node("conv", {"out": target[0], "k": 1, "stride": stride, "pad": 0,
                                "groups": 1, "dilation": 1, "bias": False},
                       [(x, "residual", 0)], span, inner, index=inner.slot())
    if not args["shortcut_bn"]:
        return proj
    return el.node("bn", {"eps": 1e-5, "momentum": 0.1}, [(proj, "seq", 0)], span, inner,
                   index=inner.slot())


def _residual(el: Elaborator, main: int, src: int, args: Args, span: Span, nm: Naming) -> int:
    return el.node("add", {"drop_path": args["drop_path"]}, [(main, "seq", 1),
                                                              (src, "residual", 0)], span, nm)


# ---------------------------------------------------------------- highway


def _highway(el: Elaborator, h: int, x: int, args: Args, span: Span, nm: Naming) -> int:
    hs, xs = el.graph.nodes[h]["shape"], el.graph.nodes[x]["shape"]
    if hs != xs:
        raise ResgraphError("RG410", f"highway: H(x) has shape {shape_text(hs)} but x has "
                            f"{shape_text(xs)}; a highway unit must keep its input's shape",
                            span)
    gate = el.node("gate", {"gate_bias": args["gate_bias"]}, [(x, "control", 0)], span, nm,
                   preferred="gate")
    return el.node("highway", {}, [(h, "seq", 1), (x, "highway", 0), (gate, "control", 0)],
                   span, nm)


# ---------------------------------------------------------------- dense


def concat(el: Elaborator, feats: list[int], span: Span, nm: Naming) -> int:
    """The concat of a dense group: the block input and every layer output so far."""
    inputs = [(f, "dense", 1 if j else 0) for j, f in enumerate(feats)]
    inputs[-1] = (feats[-1], "seq", 1 if len(feats) > 1 else 0)
    return el.node("concat", {}, inputs, span, nm)


def _dense_edge(el: Elaborator, main: int, src: int, args: Args, span: Span,
                nm: Naming) -> int:
    return el.node("concat", {}, [(main, "seq", 0), (src, "dense", 0)], span, nm)


def _dense_group(el: Elaborator, gr: ast.Group, x: int, fr: Frame, nm: Naming,
                 args: Args) -> int:
    layers: int = args["layers"]
    limits = el.limits
    if layers > limits.max_repeat:
        raise ResgraphError("RG504", f"dense layers={layers:,} is over the limit of "
                            f"{limits.max_repeat:,} (raise it with --max-repeat)", gr.span)
    if layers * (layers + 1) // 2 > limits.max_nodes:
        raise ResgraphError("RG503", f"dense layers={layers:,} would make "
                            f"{layers * (layers + 1) // 2:,} dense connections, over the "
                            f"limit of {limits.max_nodes:,} (raise it with --max-nodes)",
                            gr.span)
    feats = [x]
    labelled = single_labelled(gr.body)
    for i in range(layers):
        before = el.size()
        inp = x if i == 0 else concat(el, feats, gr.span, nm)
        single = _single_block_call(gr.body, el)
        layer_fr = fr.index_frame(gr.var, gr.var_span, i)
        h: int | None
        if labelled is not None:  # `"denselayer{i + 1}": layer(32)`: the label names it
            h = el.term(labelled, inp, layer_fr, nm)
        elif single is not None:
            h = el.instantiate(el.program.blocks[single.name], single, inp, layer_fr, nm,
                               None, i)
        else:
            layer_nm = el.new_scope(nm, "dense_layer", "layer", f"layer {i}", ("layer",),
                                    gr.span, None, i)
            h = el.body(gr.body, layer_fr, layer_nm, inp)
        if h is None or h == inp:
            raise ResgraphError("RG212", "a dense layer must compute something: the body "
                                "of dense { ... } is empty", gr.span)
        feats.append(h)
        el.estimate(before, layers - i - 1, gr.span, f"dense layers={layers:,}")
    return x if layers == 0 else concat(el, feats, gr.span, nm)


def _single_block_call(body: list[ast.Stmt], el: Elaborator) -> ast.Call | None:
    """The block call when a body is exactly one unlabelled, unrepeated block instance."""
    if len(body) != 1 or not isinstance(body[0], ast.ChainStmt):
        return None
    terms = body[0].chain.terms
    if len(terms) != 1 or terms[0].label is not None or terms[0].repeat is not None:
        return None
    atom = terms[0].atom
    return atom if isinstance(atom, ast.Call) and atom.name in el.program.blocks else None


# ---------------------------------------------------------------- skip


def _skip(el: Elaborator, main: int, src: int, args: Args, span: Span, nm: Naming) -> int:
    if args["merge"] == "add":
        return el.node("add", {"drop_path": 0.0}, [(main, "seq", 0), (src, "skip", 0)], span,
                       nm)
    return el.node("concat", {}, [(main, "seq", 0), (src, "skip", 0)], span, nm)


# ---------------------------------------------------------------- gate


def broadcasts(f: tuple[int, ...], x: tuple[int, ...]) -> bool:
    """Whether a gate F(x) of shape ``f`` broadcasts over ``x`` (same rank, each dim equal
    or 1).

    >>> broadcasts((64, 1, 1), (64, 8, 8)), broadcasts((32, 1, 1), (64, 8, 8))
    (True, False)
    """
    return len(f) == len(x) and all(a in (b, 1) for a, b in zip(f, x))


def _gate(el: Elaborator, f: int, x: int, args: Args, span: Span, nm: Naming) -> int:
    g = el.graph
    fs, xs = g.nodes[f]["shape"], g.nodes[x]["shape"]
    if not broadcasts(fs, xs):
        ones = shape_text((xs[0], *(1 for _ in xs[1:])))
        raise ResgraphError("RG414", f"gate: F(x) has shape {shape_text(fs)}, which does not "
                            f"broadcast over x {shape_text(xs)}; end the gate with as many "
                            f"channels as x ({ones}, e.g. gap -> ... -> conv(in.channels, 1) "
                            "-> sigmoid)", span)
    return el.node("mul", {}, [(x, "gate", 0), (f, "control", 0)], span, nm)


def _gate_group(el: Elaborator, gr: ast.Group, x: int, fr: Frame, nm: Naming,
                args: Args) -> int:
    """``gate { F }``: ``y = x · F(x)``; F's input edges and its edge into the product are
    control edges (F is no signal path, as a highway gate)."""
    first = len(el.graph)
    f = el.body(gr.body, fr, nm, x)
    if f is None or f == x:
        raise ResgraphError("RG415", "a gate must compute something: the body of gate { ... } "
                            "is empty (e.g. gate { gap -> conv(in.channels, 1) -> sigmoid })",
                            gr.span)
    as_control(el, x, first)
    return _gate(el, f, x, args, gr.span, nm)


def as_control(el: Elaborator, x: int, first: int, end: int | None = None) -> None:
    """Make the edges from ``x`` into a gate's body (the nodes from ``first`` up to
    ``end``) control edges: the body is no signal path."""
    g = el.graph
    for c in list(g.successors(x)):
        if first <= c < (len(g) if end is None else end) and g.edges[x, c]["kind"] == "seq":
            g.edges[x, c]["kind"] = "control"


# ---------------------------------------------------------------- parallel


def _parallel_merge(el: Elaborator, main: int, src: int, args: Args, span: Span,
                    nm: Naming) -> int:  # pragma: no cover - parallel has no edge form
    raise AssertionError("parallel has no edge form")


def _parallel_group(el: Elaborator, gr: ast.Group, x: int, fr: Frame, nm: Naming,
                    args: Args) -> int:
    """``parallel { b1; b2 }``: every statement is a branch from the group's input; their
    outputs are concatenated (or added, ``merge=add``, or multiplied elementwise,
    ``merge=mul``) in order. A branch that is absent
    (``b if false``) is left out; the identity branch is written ``in`` (in a block)."""
    outs: list[int] = []
    spans: list[Span] = []
    firsts: list[int] = []
    for stmt in gr.body:
        if not isinstance(stmt, (ast.ChainStmt, ast.Assign)):
            el.body([stmt], fr, nm, x)
            continue
        first = stmt.chain.terms[0]
        if isinstance(stmt, ast.ChainStmt) and len(stmt.chain.terms) == 1 \
                and first.cond is not None and first.label is None and first.repeat is None \
                and el.node_reference(first.atom, fr) is not None:
            if not el.condition(first.cond, fr):  # `in if stride == 1`: absent
                continue
            stmt = ast.ChainStmt(ast.Chain([dataclasses.replace(first, cond=None)],
                                           stmt.chain.span), stmt.span)
        start = len(el.graph)
        out = el.body([stmt], fr, nm, x)
        assert out is not None
        if out == x and el.node_reference(stmt.chain.terms[0].atom, fr) != x:
            continue  # every term of the branch is absent
        if out in outs:
            raise ResgraphError("RG415", "two branches of parallel { ... } end at the same "
                                "node; each branch must compute its own output", stmt.span,
                                notes=[("the other branch", spans[outs.index(out)])])
        outs.append(out)
        spans.append(stmt.span)
        firsts.append(start)
    if not outs:
        raise ResgraphError("RG415", "parallel { ... } has no branch: write one chain per "
                            "branch, e.g. parallel { conv(8, 1); conv(8, 3) }", gr.span)
    if len(outs) == 1:
        return outs[0]
    shapes = [el.graph.nodes[o]["shape"] for o in outs]
    inputs = [(o, "parallel", 0 if o == x else 1) for o in outs]
    if args["merge"] == "add":
        if any(s != shapes[0] for s in shapes):
            shown = ", ".join(shape_text(s) for s in shapes)
            raise ResgraphError("RG410", f"parallel(merge=add): the branches give {shown}; "
                                "added branches must have one shape (or use merge=concat)",
                                gr.span)
        return el.node("add", {"drop_path": 0.0}, inputs, gr.span, nm)
    if args["merge"] == "mul":
        if any(s != shapes[0] for s in shapes):
            shown = ", ".join(shape_text(s) for s in shapes)
            raise ResgraphError("RG230", f"parallel(merge=mul): the branches give {shown}; "
                                "multiplied branches must have one shape (end each branch "
                                "with the same width, e.g. linear(n) in both)", gr.span,
                                notes=[(f"this branch gives {shape_text(s)}", sp)
                                       for s, sp in zip(shapes, spans)])
        # elementwise, left to right: ((b1 × b2) × b3) ..., one product node per branch.
        # The last branch is the signal; the earlier ones gate it, as the body of a
        # gate { } does: control paths, no signal path (SwiGLU: silu(gate_proj) × up_proj)
        for start, end in zip(firsts, firsts[1:]):
            as_control(el, x, start, end)
        ins = [(o, "control", 0) for o, _, _ in inputs[:-1]] + [inputs[-1]]
        y = el.node("mul", {}, ins[:2], gr.span, nm)
        for o in ins[2:]:
            y = el.node("mul", {}, [(y, "control", 0), o], gr.span, nm)
        return y
    if any(len(s) != len(shapes[0]) or s[1:] != shapes[0][1:] for s in shapes):
        shown = ", ".join(shape_text(s) for s in shapes)
        raise ResgraphError("RG411", f"parallel: the branches give {shown}; concatenated "
                            "branches must agree in all but the channel dimension (check "
                            "strides and padding, or use ceil=true on pools)", gr.span)
    return el.node("concat", {}, inputs, gr.span, nm)


MERGES: dict[str, Merger] = {
    "residual": Merger(_residual, feed=shortcut),
    "highway": Merger(_highway),
    "dense": Merger(_dense_edge, expand=_dense_group, scoped=True),
    "skip": Merger(_skip),
    "gate": Merger(_gate, expand=_gate_group),
    "parallel": Merger(_parallel_merge, expand=_parallel_group),
}
"""The merger of every connection kind in :data:`resgraph.kinds.CONNECTIONS`."""


# ---------------------------------------------------------------- group form


def group(el: Elaborator, gr: ast.Group, x: int, fr: Frame, nm: Naming, label: str | None,
          index: int | None) -> int:
    """``KIND(opts) { body }``: the body's output merged with the group's input."""
    kind = CONNECTIONS[gr.kind]
    if kind.group_args is None:
        raise ResgraphError("RG211", f"{gr.kind} exists only as an edge statement: "
                            f"`{gr.kind} a -> b`", gr.kind_span)
    args = el.bind(gr.kind, kind.group_args, gr.args, fr.env, gr.span)
    merger = MERGES[gr.kind]
    if gr.var is not None and merger.expand is not _dense_group:
        assert gr.var_span is not None
        raise ResgraphError("RG222", f"'as {gr.var}' names the layer index of dense(...) "
                            f"{{ }} (or of a repeat, 'term * n as {gr.var}'); {gr.kind} has "
                            "no index", gr.var_span)
    if label is not None or index is not None or merger.scoped:
        call = call_text(gr.kind, args, kind.group_args)
        nm = el.new_scope(nm, cast(ScopeKind, gr.kind), gr.kind, call, (gr.kind, call),
                          gr.span, label, index)
    if merger.expand is not None:
        return merger.expand(el, gr, x, fr, nm, args)
    if args.get("shortcut") == "none":  # residual(shortcut=none) { F } is F
        out = el.body(gr.body, fr, nm, x)
        return x if out is None else out
    f = el.body(gr.body, fr, nm, x)
    if f is None or f == x:
        f = el.node("identity", {}, [(x, "seq", 0)], gr.span, nm)
    s = merger.feed(el, x, el.graph.nodes[f]["shape"], args, gr.span, nm)
    return merger.build(el, f, s, args, gr.span, nm)


# ---------------------------------------------------------------- edge statements


def edge(el: Elaborator, e: ast.Edge, fr: Frame, nm: Naming) -> None:
    """``KIND(opts) a -> b``: ``a``'s output joins in front of ``b`` by the kind's merge."""
    a = _endpoint(e.src, e.src_span, fr)
    if e.dst == "in":
        raise ResgraphError("RG213", "an edge cannot end at 'in'", e.dst_span)
    b = _endpoint(e.dst, e.dst_span, fr)
    # the target is what the name names: an op (merge in front of it), or a block
    # instance, group or sub-chain (merge at its input), even when the instance's output
    # node is an op that carries a label of its own (`out: (a -> b: relu)`)
    instance = fr.instance(e.dst)
    kind = CONNECTIONS[e.kind]
    if kind.edge_args is None:
        raise ResgraphError("RG211", f"{e.kind} has no edge form; write it as a group "
                            f"{e.kind} {{ ... }}", e.span)
    args = el.bind(e.kind, kind.edge_args, e.args, fr.env, e.span)
    if args.get("shortcut") == "none":  # `residual(shortcut=none) a -> b`: no connection
        return
    g = el.graph
    if a == b:
        raise ResgraphError("RG213", "an edge from a node to itself", e.span)
    if g.nodes[b]["op"] == "input":
        raise ResgraphError("RG213", f"'{e.dst}' is an input; nothing can merge into it",
                            e.dst_span)
    if reaches(g, b, a):
        raise ResgraphError("RG214", f"this edge would make a cycle: '{e.dst}' is upstream "
                            f"of '{e.src}' (edges must point downstream)", e.span)
    merge = (e.kind, str(args.get("merge", "")))
    target = (b, -1 if instance is None else instance[1])
    m = el.merge_in.get(target)
    if m is not None:
        have = el.merge_kind[m]
        if have != merge:
            raise ResgraphError("RG412", f"two merge kinds into '{e.dst}': it already has a "
                                f"{_kind_text(*have)} merge, and this is a "
                                f"{_kind_text(*merge)} edge", e.span)
        if kind.single:
            raise ResgraphError("RG412", f"'{e.dst}' already has a {e.kind} edge; a node "
                                "takes at most one", e.span)
        _extra_input(el, m, a, e.kind, args, e.span, nm)
    else:
        m = _insert_merge(el, b, instance, a, e, args, nm)
        el.merge_in[target] = m
        el.merge_kind[m] = merge
    el.reshape(m, e.span)


def _endpoint(name: str, span: Span, fr: Frame) -> int:
    nid = fr.node(name)
    if nid is None:
        raise ResgraphError("RG207", f"undefined node '{name}'"
                            f"{did_you_mean(name, fr.visible_labels())}", span)
    return nid


def _insert_merge(el: Elaborator, b: int, instance: tuple[int, int] | None, a: int,
                  e: ast.Edge, args: Args, nm: Naming) -> int:
    """Build the merge of ``a`` with ``b``'s input, and make the readers of that input read
    the merge. ``b`` is an op (its one signal input is the main flow), or a labelled block
    instance or group (``d2: cbr(16)``, ``instance`` its (input, scope)), whose own input is
    the main flow: every node inside it that read that input reads the merge instead."""
    g = el.graph
    if instance is not None:
        main, sid = instance
        readers = [c for c in g.successors(main) if sid in g.nodes[c]["scope"]]
    else:
        preds = [p for p in g.predecessors(b) if is_signal(g.edges[p, b]["kind"])]
        if len(preds) != 1:
            raise ResgraphError("RG213", f"cannot merge in front of '{e.dst}': it already has "
                                f"{len(preds)} inputs; label a node after it instead", e.span)
        main, readers = preds[0], [b]
    if main == a:
        raise ResgraphError("RG213", f"'{e.src}' already feeds '{e.dst}' directly", e.span)
    merger = MERGES[e.kind]
    s = merger.feed(el, a, g.nodes[main]["shape"], args, e.span, nm)
    m = merger.build(el, main, s, args, e.span, nm)
    for c in readers:
        attrs = g.edges[main, c]
        g.remove_edge(main, c)
        g.add_edge(m, c, **attrs)
    return m


def _extra_input(el: Elaborator, m: int, a: int, kind: str, args: Args, span: Span,
                 nm: Naming) -> None:
    g = el.graph
    if g.has_edge(a, m):
        raise ResgraphError("RG213", "this edge repeats an existing one", span)
    margs = g.nodes[m]["args"]
    if "drop_path" in args and args["drop_path"] != margs["drop_path"]:
        raise ResgraphError("RG412", f"{kind} edges into one node must agree on drop_path "
                            f"(this one says {args['drop_path']:g}, an earlier one "
                            f"{margs['drop_path']:g})", span)
    main = next(p for p in g.predecessors(m) if g.edges[p, m]["port"] == 0)
    src = MERGES[kind].feed(el, a, g.nodes[main]["shape"], args, span, nm)
    g.add_edge(src, m, kind=kind, port=g.in_degree(m), unit=0)


def _kind_text(kind: str, merge: str) -> str:
    return f"{kind} ({merge})" if merge else kind
