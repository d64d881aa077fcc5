"""Blocks as modules: each block instance of the compiled network is a callable submodule.

:func:`nest_blocks` runs after :func:`~resgraph.lower.build.compile_arch` has built the
flat graph. Each block instance and each labelled sub-chain (scope kinds ``block`` and
``seq``: ``layer1``, ``layer1.0``, ``transformer.h.0``) whose nodes form a *clean region*
becomes a nested ``torch.fx.GraphModule`` at its module path, built from the nodes of that
scope: its placeholders are the values flowing into the scope, its output the values
leaving it (a tuple when there are several). The parent graph calls it
(``layer1_0 = self.layer1[0](maxpool)``), so forward hooks on ``model.layer1[0]`` fire,
``torch.utils.checkpoint`` can wrap a block (``checkpoint=`` of
:func:`~resgraph.lower.build.compile_arch`), and :func:`block_summary` lists each block's
output shape. Innermost scopes are nested first, so ``layer1`` calls ``layer1.0``.

The existing parameters and submodules move into the block's ``GraphModule`` in their
order, so ``state_dict`` keys (and their order) are exactly the flat build's.

**The clean-region rule.** A scope becomes a module only when

- no value produced outside the scope depends on the scope's values and is read back by
  it (the region is convex: extracting it cannot make a cycle), and
- every module or parameter its nodes use lies under its path, and no node outside it
  uses one that does.

Otherwise (an edge statement that crosses scopes, a dense layer reading its parent's
concat, a spread) its nodes stay in the parent graph; the inner blocks that are clean
still become modules. ResNet blocks, transformer layers and MBConvs are clean.

>>> import resgraph
>>> gm = resgraph.load("examples/resnet18.rg").compile(device="meta")
>>> type(gm.layer1[0]).__name__, gm.layer1[0].conv1.weight.shape
('basic', torch.Size([64, 64, 3, 3]))
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Iterable
from typing import Any

import torch
from torch import fx, nn

from resgraph.ir import Architecture

#: The scope kinds that become modules (when their nodes form a clean region).
MODULE_SCOPES = ("block", "seq")


class Block(fx.GraphModule):
    """A block module: a ``GraphModule`` whose numbered children index like
    ``nn.Sequential``'s (``gm.layer1[0]``)."""

    def __init__(self, root: nn.Module | dict[str, Any], graph: fx.Graph,
                 class_name: str = "GraphModule") -> None:
        # GraphModule.__init__ compiles the graph it is given; a block is made with an
        # empty one and gets its real graph (compiled once) later: skip that first compile
        self.__dict__["_rg_building"] = True
        try:
            super().__init__(root, graph, class_name)
        finally:
            del self.__dict__["_rg_building"]

    def recompile(self) -> Any:
        if self.__dict__.get("_rg_building"):
            return None
        return super().recompile()

    def __getitem__(self, idx: int) -> nn.Module:
        key = str(idx if idx >= 0 else len(self._numbered()) + idx)
        if key not in self._modules:
            raise IndexError(f"index {idx} is out of range")
        mod = self._modules[key]
        assert mod is not None
        return mod

    def __len__(self) -> int:
        return len(self._numbered())

    def _numbered(self) -> list[str]:
        return [k for k in self._modules if k.isdigit()]


def nest_blocks(gm: fx.GraphModule, arch: Architecture) -> list[str]:
    """Turn each clean block scope of ``gm`` (the flat build of ``arch``) into a nested
    ``GraphModule``, in place; return the block paths that became modules.

    Each fx node of ``gm`` carries ``meta["rg_nid"]``, the IR node it lowers.
    """
    scopes = arch.scopes
    candidates = [s for s in scopes.values() if s.kind in MODULE_SCOPES and s.path]
    candidates.sort(key=lambda s: -len(s.path.split(".")))  # innermost first
    # each fx node's set of scope ids
    member: dict[fx.Node, frozenset[int]] = {}
    for node in gm.graph.nodes:
        nid = node.meta.get("rg_nid")
        member[node] = frozenset(arch.graph.nodes[nid]["scope"]) if nid is not None \
            else frozenset()
    by_target: dict[str, set[fx.Node]] = {}
    for node in gm.graph.nodes:
        if node.op in ("call_module", "get_attr"):
            by_target.setdefault(str(node.target), set()).add(node)
    done: list[str] = []
    for scope in candidates:
        region = [n for n in gm.graph.nodes if scope.id in member.get(n, frozenset())]
        if region and _extract(gm, region, scope.path, scope.name, member, by_target):
            done.append(scope.path)
    gm.graph.lint()
    _compile_each_once(gm)
    return sorted(done, key=lambda p: [int(x) if x.isdigit() else -1 for x in p.split(".")])


def _under(target: Any, path: str) -> bool:
    return isinstance(target, str) and target.startswith(path + ".")


def _extract(gm: fx.GraphModule, region: list[fx.Node], path: str, name: str,
             member: dict[fx.Node, frozenset[int]],
             by_target: dict[str, set[fx.Node]]) -> bool:
    """Make ``region`` (the nodes of scope ``path``, in graph order) the block module
    ``path`` if it is a clean region (the module docstring's rule); return whether it was.
    ``by_target`` indexes the graph's call_module and get_attr nodes by target and is kept
    up to date."""
    graph = gm.graph
    inside = set(region)
    if any(n.op in ("placeholder", "output") for n in region):
        return False
    # module paths: inside nodes use only paths under `path`; outside nodes none of them
    if any(n.op in ("call_module", "get_attr") and not _under(n.target, path)
           for n in region):
        return False
    try:
        container = gm.get_submodule(path)
    except AttributeError:
        container = None
    if container is not None and type(container) is not nn.Module:
        return False
    if container is None and any(_under(k, path) for k, _ in gm.named_parameters()):
        return False
    if container is not None:  # the nodes that use a path under `path` (from the index)
        names = [name for name, _ in container.named_modules(remove_duplicate=False)]
        names += [name for name, _ in container.named_parameters(remove_duplicate=False)]
        if any(u not in inside for name in names if name
               for u in by_target.get(f"{path}.{name}", ())):
            return False
    # convexity: nothing outside that depends on the region feeds the region; such a node
    # lies between the region's first and last nodes in the (topological) node order
    below: set[fx.Node] = set()
    between: set[fx.Node] = set()
    n = region[0]
    while n is not region[-1]:
        n = n.next
        if n not in inside:
            between.add(n)
            if any(a in inside or a in below for a in n.all_input_nodes):
                below.add(n)
    if any(a in below for n in region for a in n.all_input_nodes):
        return False
    ins: list[fx.Node] = []
    for n in region:
        for a in n.all_input_nodes:
            if a not in inside and a not in ins:
                ins.append(a)
    outs = [n for n in region if any(u not in inside for u in n.users)]
    if not outs:
        return False
    # the call goes after the region's last node: the graph needs reordering only where a
    # node between the region's nodes reads one of its outputs
    reorder = any(u in between for o in outs for u in o.users)
    # the block's graph
    sub = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for a in ins:
        env[a] = sub.placeholder(a.name)
    cut = len(path) + 1
    for n in region:
        new = sub.node_copy(n, lambda a: env[a])
        if n.op in ("call_module", "get_attr"):
            new.target = str(n.target)[cut:]
        env[n] = new
    sub.output(env[outs[0]] if len(outs) == 1 else tuple(env[o] for o in outs))
    block = Block({}, fx.Graph(), class_name=_class_name(name))
    if container is not None:  # move the children, in order: same state_dict keys
        block._modules.update(container._modules)
        block._parameters.update(container._parameters)
        block._buffers.update(container._buffers)
    # Not the ``graph`` setter: it recompiles this block and every block inside it, each
    # time an enclosing block is made; nest_blocks compiles each block once at the end.
    block._graph = sub
    sub.owning_module = block
    parent_path, _, leaf = path.rpartition(".")
    parent: nn.Module = gm
    for part in parent_path.split(".") if parent_path else ():
        if part not in parent._modules:  # a group with no parameters has no module yet
            parent.add_module(part, nn.Module())
        child = parent._modules[part]
        assert child is not None
        parent = child
    if container is not None:
        parent._modules[leaf] = block  # the same key: its place in the order stays
    else:
        parent.add_module(leaf, block)
    # the call in the parent graph
    with graph.inserting_after(region[-1]):
        call = graph.create_node("call_module", path, tuple(ins), {},
                                 name=path.replace(".", "_"))
    scope_ids = frozenset.intersection(*(member[n] for n in region))
    member[call] = scope_ids
    results: list[fx.Node] = [call]
    if len(outs) > 1:
        results = []
        prev = call
        for i in range(len(outs)):
            with graph.inserting_after(prev):
                prev = graph.call_function(operator.getitem, (call, i))
            member[prev] = scope_ids
            results.append(prev)
    for o, r in zip(outs, results):
        o.replace_all_uses_with(r, delete_user_cb=lambda u: u not in inside)
    for n in reversed(region):
        graph.erase_node(n)
        member.pop(n, None)
        if n.op in ("call_module", "get_attr"):
            by_target[str(n.target)].discard(n)
    by_target.setdefault(path, set()).add(call)
    if reorder:
        _toposort(graph)
    return True


def _compile_each_once(gm: fx.GraphModule) -> None:
    """Generate the forward of ``gm`` and of every ``GraphModule`` below it, each once.

    ``GraphModule.recompile`` also recompiles the module's ``GraphModule`` children, and
    theirs, so recompiling each block would compile the innermost ones once per enclosing
    block, while recompiling the root alone would miss blocks under a plain container (a
    DenseNet layer inside its dense block). Each module is compiled here with that
    recursion switched off for it alone (an attribute of the instance, removed after)."""
    mods = [m for m in gm.modules() if isinstance(m, fx.GraphModule)]
    for m in mods:
        object.__setattr__(m, "_recompile_submodules", _no_submodules)
    try:
        for m in mods:
            m.recompile()
    finally:
        for m in mods:
            object.__delattr__(m, "_recompile_submodules")


def _no_submodules() -> list[Any]:
    return []


def _class_name(name: str) -> str:
    ident = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "block"
    return ident if not ident[0].isdigit() else f"block_{ident}"


def _toposort(graph: fx.Graph) -> None:
    """Reorder ``graph``'s nodes topologically, keeping the current order where it is one."""
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    missing = {n: len(n.all_input_nodes) for n in nodes}
    if all(index[a] < index[n] for n in nodes for a in n.all_input_nodes):
        return
    ready = [(index[n], n.name) for n in nodes if missing[n] == 0]
    by_name = {n.name: n for n in nodes}
    heapq.heapify(ready)
    order: list[fx.Node] = []
    while ready:
        _, nm = heapq.heappop(ready)
        n = by_name[nm]
        order.append(n)
        for u in n.users:
            missing[u] -= 1
            if missing[u] == 0:
                heapq.heappush(ready, (index[u], u.name))
    assert len(order) == len(nodes)
    for a, b in zip(order, order[1:]):
        a.append(b)


def block_paths(gm: nn.Module) -> list[str]:
    """The module paths of the block modules of a compiled network, in call order."""
    return [name for name, m in gm.named_modules()
            if name and isinstance(m, fx.GraphModule)]


def flat_graph(gm: fx.GraphModule) -> fx.Graph:
    """``gm``'s graph with every block module's graph inlined: the flat build's graph
    (same node names, targets relative to ``gm``), for code that wants one function."""
    out = fx.Graph()
    _inline(out, gm, "", None)
    return out


def _inline(out: fx.Graph, gm: fx.GraphModule, prefix: str,
            args: Iterable[Any] | None) -> Any:
    env: dict[fx.Node, Any] = {}
    given = iter(args) if args is not None else None
    result: Any = None

    def look(a: fx.Node) -> Any:
        return env[a]

    for node in gm.graph.nodes:
        if node.op == "placeholder" and given is not None:
            env[node] = next(given)
        elif node.op == "output":
            if given is None:
                out.output(fx.map_arg(node.args[0], look))
            result = fx.map_arg(node.args[0], look)
        elif node.op == "call_function" and node.target is operator.getitem \
                and isinstance(node.args[0], fx.Node) and isinstance(env[node.args[0]], tuple):
            env[node] = env[node.args[0]][node.args[1]]
        elif node.op == "call_module" and \
                isinstance(sub := gm.get_submodule(str(node.target)), fx.GraphModule):
            env[node] = _inline(out, sub, f"{prefix}{node.target}.",
                                fx.map_arg(node.args, look))
        else:
            new = out.node_copy(node, look)
            if node.op in ("call_module", "get_attr"):
                new.target = prefix + str(node.target)
            env[node] = new
    return result


def apply_checkpoint(gm: fx.GraphModule, paths: Iterable[str]) -> None:
    """Run each block module in ``paths`` under ``torch.utils.checkpoint`` (non-reentrant):
    its activations are recomputed in the backward pass instead of stored."""
    wanted = list(paths)
    blocks = set(block_paths(gm))
    for p in wanted:
        if p not in blocks:
            raise ValueError(f"checkpoint: {p!r} is not a block module of this network; "
                             f"blocks: {', '.join(sorted(blocks)) or 'none'}")
    for p in wanted:
        for mod in gm.get_submodule(p).modules():
            if isinstance(mod, fx.GraphModule):
                _no_inplace_on_inputs(mod)
        parent_path, _, leaf = p.rpartition(".")
        owner: Any = gm.get_submodule(parent_path) if parent_path else gm
        graph: fx.Graph = owner.graph
        for node in list(graph.nodes):
            if node.op == "call_module" and node.target == leaf:
                with graph.inserting_before(node):
                    fn = graph.create_node("get_attr", leaf, name=f"{node.name}_module")
                    ck = graph.call_function(torch.utils.checkpoint.checkpoint,
                                             (fn, *node.args), {"use_reentrant": False})
                node.replace_all_uses_with(ck)
                graph.erase_node(node)
                ck.name = node.name
        owner.recompile()


def _no_inplace_on_inputs(block: fx.GraphModule) -> None:
    """Make ops that would write into one of ``block``'s inputs out of place: a checkpointed
    block runs twice on the same inputs."""
    changed = False
    for node in block.graph.nodes:
        if node.op != "call_function" or not node.args or \
                not (isinstance(node.args[0], fx.Node) and node.args[0].op == "placeholder"):
            continue
        if node.kwargs.get("inplace"):
            node.kwargs = {**node.kwargs, "inplace": False}
            changed = True
        elif node.target is operator.iadd:
            node.target = operator.add
            changed = True
    if changed:
        block.recompile()


def block_summary(gm: nn.Module, *inputs: Any) -> list[tuple[str, Any]]:
    """Run ``gm`` on ``inputs`` and list each block module's path with its output shape
    (a tuple of shapes where the block returns several), in call order.

    >>> import resgraph, torch
    >>> gm = resgraph.load("examples/resnet18.rg").compile(device="meta")
    >>> rows = block_summary(gm, torch.empty(2, 3, 224, 224, device="meta"))
    >>> rows[1]
    ('layer1.0', (2, 64, 56, 56))
    """
    rows: list[tuple[str, Any]] = []

    def shape(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return tuple(v.shape)
        if isinstance(v, (tuple, list)):
            return tuple(shape(x) for x in v)
        return None

    handles = []
    for name, mod in gm.named_modules():
        if name and isinstance(mod, fx.GraphModule):
            handles.append(mod.register_forward_hook(
                lambda m, a, o, name=name: rows.append((name, shape(o)))))
    try:
        with torch.no_grad():
            gm(*inputs)
    finally:
        for h in handles:
            h.remove()
    # hooks fire when a block finishes: an outer block after its inner ones; list by start
    order = {name: i for i, name in enumerate(block_paths(gm))}
    return sorted(rows, key=lambda r: order[r[0]])
