"""Ablations as graph transforms: the plain counterpart of a network, and unit deletion.

:func:`plain` removes every residual and highway connection (the identity path), so that
one file gives both networks of the degradation experiment (He et al., 2015; Srivastava
et al., 2015):

- a residual unit ``y = F(x) + s(x)`` becomes ``y = F(x)``. Its shortcut ``s`` goes with
  it: an identity or ``pad`` shortcut has no parameters, a projection shortcut
  (``shortcut=project`` / ``conv``: 1×1 conv, and its batch norm) does, so the plain
  network has the residual one's parameters **minus the projections'**. A ``drop_path``
  on the sum goes too (it drops F in favour of the shortcut, and there is none).
- a highway unit ``y = H(x)·T(x) + x·(1 − T(x))`` becomes ``y = H(x)``; the transform
  gate ``T`` (a linear layer and its bias) is removed, so the plain network has the
  highway one's parameters **minus the gates'**.
- gates that scale a signal (``gate { ... }``, squeeze-and-excitation, SwiGLU's
  ``parallel(merge=mul)``) are control paths, not identity paths: they stay.
- dense blocks, long ``skip`` edges (U-Net) and ``parallel`` branches merged by concat or
  add have no identity path to remove: their merges join several signal paths that the
  later layers' shapes depend on. They are refused (RG750), naming the connection.

Every other node keeps its module path, so the plain network's ``state_dict`` keys are a
subset of the original's: the weights of a trained residual network load into it.

:func:`delete_units` is the lesion of Veit et al. (2016): a residual unit is replaced by
its shortcut (``y = s(x)``: ``x``, or the projection of ``x``), a highway unit by its carry
(``y = x``), and a unit of a plain network (:func:`units`) by its input, where the unit
keeps its input's shape. Both return a new :class:`~resgraph.ir.Architecture`; the one
passed in is never changed.

>>> import resgraph
>>> arch = resgraph.load("examples/digits_resnet.rg")
>>> p = plain(arch)
>>> arch.analyze().paths, p.analyze().paths, arch.num_params - p.num_params
(8, 1, 576)
>>> [u.name for u in units(arch)]
['layer1.0', 'layer2.0', 'layer2.1']
>>> delete_units(arch, ["layer2.1"]).analyze().paths
4
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from resgraph.errors import ResgraphError, Span
from resgraph.ir import Architecture, inputs_of, node_attrs
from resgraph.kinds import is_signal
from resgraph.util import shape_text

#: Connection kinds whose identity path :func:`plain` removes.
REMOVABLE = ("residual", "highway")

_WHY = {
    "dense": "each dense layer reads the concatenation of every earlier output, so without "
             "it the layers' input widths change",
    "skip": "a long skip joins features from far upstream (concatenated or added): it is no "
            "identity shortcut around one unit",
    "parallel": "parallel branches are separate signal paths, not an identity shortcut",
}


@dataclass(frozen=True)
class Unit:
    """One deletable unit of a network: a residual or highway unit, or a unit of a plain
    network (the former residual branch F, or a block instance).

    ``entry`` is the node whose output enters the unit (x), ``exit`` the node whose output
    leaves it (the merge, or F's last node in a plain network), ``shortcut`` the node whose
    output replaces the unit's when it is deleted (x, the projection of x, or None where
    the unit cannot be deleted: a plain unit that changes the shape).

    >>> import resgraph
    >>> u = units(resgraph.load("examples/digits_resnet.rg"))[1]
    >>> u.name, u.kind, u.deletable
    ('layer2.0', 'residual', True)
    """

    name: str
    kind: str
    entry: int
    exit: int
    shortcut: int | None
    span: Span
    why_not: str = ""

    @property
    def deletable(self) -> bool:
        return self.shortcut is not None


# ---------------------------------------------------------------- graph surgery


def _copy(arch: Architecture) -> tuple[nx.DiGraph, dict[int, Any]]:
    """A private copy of the graph (node and edge attributes copied too) and scopes."""
    g = copy.deepcopy(arch.graph)
    return g, {sid: copy.copy(info) for sid, info in arch.scopes.items()}


def _live(g: nx.DiGraph) -> set[int]:
    """The nodes some output is reached from."""
    outs = set(g.graph["outputs"].values())
    live = set(outs)
    for o in outs:
        live |= nx.ancestors(g, o)
    return live


def _become_identity(g: nx.DiGraph, n: int, src: int) -> None:
    """Make node ``n`` an identity of ``src``'s output: its op, weights and inputs go; its
    module path, shape, scope and readers stay."""
    assert g.nodes[src]["shape"] == g.nodes[n]["shape"]
    for p in list(g.predecessors(n)):
        g.remove_edge(p, n)
    node = g.nodes[n]
    node.update(op="identity", args={}, params=0, macs=0, weighted=0)
    g.add_edge(src, n, kind="seq", port=0, unit=0)


def _splice(g: nx.DiGraph, n: int) -> int | None:
    """Remove the identity node ``n``, its readers reading its input instead, where that
    leaves no two edges between one pair of nodes and ``n`` is no output; return the
    input that stands for it now (None where ``n`` stays)."""
    (src,) = g.predecessors(n)
    succs = list(g.successors(n))
    if n in g.graph["outputs"].values() or any(g.has_edge(src, s) for s in succs):
        return None
    for s in succs:
        g.add_edge(src, s, **g.edges[n, s])
    g.remove_node(n)
    return int(src)


def _finish(arch: Architecture, g: nx.DiGraph, scopes: dict[int, Any], live: set[int],
            identities: Iterable[int], extra: dict[str, Any] | None = None) -> Architecture:
    """Drop the nodes that no longer reach an output (of those that did), splice out the
    new identities, number the nodes 0..n-1 again and wrap the result."""
    dead = live - _live(g)
    g.remove_nodes_from(dead)
    alias: dict[int, int] = {}
    for n in identities:
        if n in g and g.nodes[n]["op"] == "identity":
            src = _splice(g, n)
            if src is not None:
                alias[n] = src
    mapping = {n: i for i, n in enumerate(sorted(g))}

    def where(n: int) -> int | None:
        while n in alias:
            n = alias[n]
        return mapping.get(n)

    g = nx.relabel_nodes(g, mapping, copy=True)
    g.graph["inputs"] = [mapping[n] for n in g.graph["inputs"]]
    g.graph["outputs"] = {k: mapping[n] for k, n in g.graph["outputs"].items()}
    records = {"plain_units": g.graph.get("plain_units", []), **(extra or {})}
    for key, value in records.items():
        if value or key in g.graph or extra:
            kept = [dict(u, entry=where(u["entry"]), exit=where(u["exit"])) for u in value]
            g.graph[key] = [u for u in kept if u["entry"] is not None
                            and u["exit"] is not None]
    used = {sid for n in g for sid in g.nodes[n]["scope"]}
    scopes = {sid: info for sid, info in scopes.items()
              if sid in used or info.kind != "shortcut"}
    return Architecture(arch.name, g, scopes, dict(arch.hparams), arch.file)


def _origin(g: nx.DiGraph, scopes: dict[int, Any], n: int) -> int:
    """The node a shortcut starts from: ``n`` itself, or the input of the pad or
    projection chain that ends at ``n``."""
    while _is_shortcut(g, scopes, n):
        preds = inputs_of(g, n)
        if not preds:
            break
        n = preds[0]
    return n


def _is_shortcut(g: nx.DiGraph, scopes: dict[int, Any], n: int) -> bool:
    node = g.nodes[n]
    scope = node["scope"]
    return node["op"] == "pad" or (bool(scope) and scopes[scope[-1]].kind == "shortcut")


def _signal_inputs(g: nx.DiGraph, n: int) -> list[int]:
    return [p for p in inputs_of(g, n) if is_signal(g.edges[p, n]["kind"])]


# ---------------------------------------------------------------- units


def units(arch: Architecture) -> list[Unit]:
    """The deletable units of ``arch``, in network order: its residual and highway units;
    for a network without any, the units :func:`plain` recorded (the former branches F),
    else its innermost block instances with one input and one output.

    A unit's name is the module path of the block it sits in (``layer1.0``), or of its
    merge where a block holds several units (``h.0.add_0`` and ``h.0.add_1``).

    >>> import resgraph
    >>> [(u.name, u.deletable) for u in units(plain(resgraph.load("examples/digits_resnet.rg")))]
    [('layer1.0', True), ('layer2.0', False), ('layer2.1', True)]
    """
    g = arch.graph
    found: list[tuple[str, Unit]] = []
    for n in nx.lexicographical_topological_sort(g):
        node = node_attrs(g, n)
        kinds = {p: g.edges[p, n]["kind"] for p in g.predecessors(n)}
        if node["op"] == "add" and "residual" in kinds.values():
            f, *rest = inputs_of(g, n)
            if g.edges[f, n]["kind"] != "seq" or len(rest) != 1:
                continue  # several shortcuts into one sum: no single unit to delete
            entry = _origin(g, arch.scopes, rest[0])
            found.append((node["path"], Unit("", "residual", entry, n, rest[0], node["span"])))
        elif node["op"] == "highway":
            x = next(p for p, k in kinds.items() if k == "highway")
            found.append((node["path"], Unit("", "highway", x, n, x, node["span"])))
    if not found:
        for rec in g.graph.get("plain_units") or _block_units(arch):
            entry, exit_ = rec["entry"], rec["exit"]
            same = g.nodes[entry]["shape"] == g.nodes[exit_]["shape"]
            why = "" if same else (f"it turns {shape_text(g.nodes[entry]['shape'])} into "
                                   f"{shape_text(g.nodes[exit_]['shape'])}")
            found.append((rec["path"], Unit(rec.get("name", ""), "plain", entry, exit_,
                                            entry if same else None,
                                            g.nodes[exit_]["span"], why)))
    return _named(found)


def _named(found: list[tuple[str, Unit]]) -> list[Unit]:
    """Give each unit its block's path, or its own where that is not unique."""
    parents = [u.name or path.rpartition(".")[0] or path for path, u in found]
    out = []
    for (path, u), parent in zip(found, parents):
        name = parent if parents.count(parent) == 1 else path
        out.append(Unit(name, u.kind, u.entry, u.exit, u.shortcut, u.span, u.why_not))
    return out


def _block_units(arch: Architecture) -> list[dict[str, Any]]:
    """The innermost block instances with one input and one output value, in order."""
    g = arch.graph
    members: dict[int, list[int]] = {}
    for n in nx.lexicographical_topological_sort(g):
        for sid in g.nodes[n]["scope"]:
            members.setdefault(sid, []).append(n)
    blocks = [sid for sid, info in arch.scopes.items() if info.kind == "block" and info.path
              and sid in members]
    inner = [sid for sid in blocks if not any(
        arch.scopes[o].parent is not None and _within(arch, o, sid) for o in blocks if o != sid)]
    outs = set(g.graph["outputs"].values())
    recs = []
    for sid in inner:
        nodes = set(members[sid])
        entries = {p for n in nodes for p in g.predecessors(n)
                   if p not in nodes and is_signal(g.edges[p, n]["kind"])}
        exits = {n for n in nodes if n in outs or any(s not in nodes for s in g.successors(n))}
        if len(entries) == 1 and len(exits) == 1:
            recs.append({"name": arch.scopes[sid].path, "path": arch.scopes[sid].path,
                         "entry": entries.pop(), "exit": exits.pop()})
    return recs


def _within(arch: Architecture, sid: int, ancestor: int) -> bool:
    parent = arch.scopes[sid].parent
    while parent is not None:
        if parent == ancestor:
            return True
        parent = arch.scopes[parent].parent
    return False


# ---------------------------------------------------------------- plain


def plain(arch: Architecture) -> Architecture:
    """The network without its residual and highway connections (see the module
    docstring); RG750 where a connection has no identity path to remove.

    The former units are recorded (graph attribute ``plain_units``) for
    :func:`units`, so that a lesion study deletes the same units in both networks.

    >>> import resgraph
    >>> p = plain(resgraph.load("examples/highway_mlp.rg"))
    >>> p.analyze().paths, p.num_params
    (1, 46410)
    """
    g, scopes = _copy(arch)
    live = _live(g)
    identities: list[int] = []
    recorded: list[dict[str, Any]] = []
    for u in units(arch):
        if u.kind not in REMOVABLE:
            continue
        f = inputs_of(g, u.exit)[0]  # F(x) (H(x) of a highway unit): port 0
        recorded.append({"name": u.name, "path": g.nodes[u.exit]["path"], "entry": u.entry,
                         "exit": f})
    for n in list(g):
        node = g.nodes[n]
        kinds = [g.edges[p, n]["kind"] for p in inputs_of(g, n)]
        if node["op"] == "highway":
            _become_identity(g, n, inputs_of(g, n)[0])
            identities.append(n)
        elif node["op"] == "add" and "residual" in kinds:
            for p in [p for p in inputs_of(g, n) if g.edges[p, n]["kind"] == "residual"]:
                g.remove_edge(p, n)
            rest = inputs_of(g, n)
            if len(rest) == 1:
                _become_identity(g, n, rest[0])
                identities.append(n)
            else:
                for port, p in enumerate(rest):
                    g.edges[p, n]["port"] = port
    _refuse_merges(g)
    return _finish(arch, g, scopes, live, identities, {"plain_units": recorded})


def _refuse_merges(g: nx.DiGraph) -> None:
    """RG750 at the first node that still joins several signal paths."""
    for n in nx.lexicographical_topological_sort(g):
        ins = _signal_inputs(g, n)
        if len(ins) < 2:
            continue
        node = node_attrs(g, n)
        kinds = [g.edges[p, n]["kind"] for p in ins]
        kind = next((k for k in ("dense", "skip", "parallel") if k in kinds), None)
        if kind is not None:
            what = f"the {kind} connection into '{node['path']}' ({node['op']})"
            why = _WHY[kind]
        else:
            what = f"'{node['path']}' ({node['op']}), which joins {len(ins)} signal paths"
            why = "its inputs are separate signal paths, not an identity shortcut"
        raise ResgraphError("RG750", f"--plain cannot remove {what}: {why}; only residual and "
                            "highway connections have an identity path to remove",
                            node["span"])


# ---------------------------------------------------------------- lesions


def delete_units(arch: Architecture, names: Iterable[str]) -> Architecture:
    """``arch`` with the named units (:func:`units`) deleted: a residual unit replaced by
    its shortcut, a highway unit by its carry ``x``, a plain unit by its input (RG752
    for an unknown name or a unit that changes the shape).

    The layers of a deleted unit are gone (their weights are not needed); every other
    node keeps its module path, so the trained network's weights load for the rest.

    >>> import resgraph
    >>> arch = resgraph.load("examples/digits_resnet.rg")
    >>> cut = delete_units(arch, ["layer1.0", "layer2.0"])
    >>> cut.analyze().paths, arch.num_params - cut.num_params
    (2, 18624)
    """
    table = {u.name: u for u in units(arch)}
    wanted = list(dict.fromkeys(names))
    g, scopes = _copy(arch)
    live = _live(g)
    identities = []
    for name in wanted:
        u = table.get(name)
        if u is None:
            known = ", ".join(table) or "none"
            raise ResgraphError("RG752", f"network '{arch.name}' has no unit '{name}' to "
                                f"delete (its units: {known})")
        if u.shortcut is None:
            raise ResgraphError("RG752", f"unit '{name}' of network '{arch.name}' cannot be "
                                f"deleted: {u.why_not}, so no identity can stand in for it",
                                u.span)
        _become_identity(g, u.exit, u.shortcut)
        identities.append(u.exit)
    return _finish(arch, g, scopes, live, identities)
