"""Which scopes a diagram opens, boxes or hides: collapsing runs and limiting depth.

A *run* is a sequence of sibling scopes (block instances, repeated copies, dense
layers) with the same :attr:`~resgraph.ir.ScopeInfo.key` and the same structure
(:meth:`Plan.signature`: ops, arguments, inner scopes and inner edges; the key alone
does not tell the first ``bottleneck(64)`` of a stage, which has a projection, from
the next), each feeding the next directly or through a concat of their parent (dense
layers). With ``collapse`` on, a run is drawn once, as its first member; its other
members are *hidden* and their nodes stand for the first member's. With ``depth``,
a scope nested deeper than ``depth`` levels is one *box*.

Collapsing also draws each block's insides only once (:meth:`Plan.folds`): a run, or a
lone block, whose structure (:meth:`Plan.structure`: the ops and how they are joined,
whatever their widths) is already drawn open earlier in the figure is one box, and a
dense block is always one box (its fan of concats is the tangle a figure avoids). A
labelled group that holds nothing but one run and has no sibling group (GPT-2's ``h``:
twelve blocks, beside embeddings and norms) is not drawn as a frame of its own (*flat*):
the run's ``12 × ...`` frame says what it is.

>>> import resgraph
>>> plan = Plan(resgraph.load("examples/resnet18.rg"), collapse=True, depth=None)
>>> [(s, len(run)) for s, run in plan.runs.items() if len(run) > 1]
[(2, 2)]
>>> plan.display(12), plan.display(5)  # layer1.1.conv1 is drawn as layer1.0.conv1
('n5', 'n5')
>>> [plan.scopes[s].path for s, state in plan.state.items() if state == "box"]
['layer2.1', 'layer3.0', 'layer3.1', 'layer4.0', 'layer4.1']
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from resgraph.ir import Architecture


class Plan:
    """Decides for every scope whether it is a cluster, a box, or hidden in a run.

    ``state`` maps scope ids to ``cluster``, ``box``, ``hidden`` or ``flat`` (a group
    not framed, whose contents are drawn in its parent's frame); ``runs`` maps the first
    member of each run to all its members (a lone scope is a run of one); ``inner_run``
    maps a box that holds nothing but one run of several blocks to that run.
    """

    FOLDED = frozenset({"block", "copy", "residual", "highway", "dense_layer", "gate",
                        "parallel"})
    """Scope kinds that collapse to a box where their structure is already drawn."""

    def __init__(self, arch: Architecture, collapse: bool, depth: int | None) -> None:
        self.g: nx.DiGraph = arch.graph
        self.scopes = arch.scopes
        self.collapse = collapse
        self.depth = depth
        self.members: dict[int, list[int]] = defaultdict(list)
        for n in sorted(self.g):
            for s in self.g.nodes[n]["scope"]:
                self.members[s].append(n)
        self.children: dict[int, list[int]] = defaultdict(list)
        for s in sorted(self.members, key=lambda s: self.members[s][0]):
            parent = self.scopes[s].parent
            if parent is not None:
                self.children[parent].append(s)
        self.state: dict[int, str] = {}
        self.rep: dict[int, int] = {}
        self.runs: dict[int, list[int]] = {}
        self.run_of: dict[int, tuple[int, float]] = {}
        self.absorbed: dict[int, tuple[int, float]] = {}
        self.inner_run: dict[int, list[int]] = {}
        self.opened: set[tuple] = set()
        self._signatures: dict[tuple[int, bool | None], tuple] = {}
        self._position: dict[int, dict[int, int]] = {}
        self.root = next(s for s, info in self.scopes.items() if info.parent is None)
        self._plan(self.root, 0)

    def _plan(self, scope: int, level: int) -> None:
        for run in self._runs(scope):
            first = run[0]
            self.runs[first] = run
            for i, member in enumerate(run):
                self.run_of[member] = (first, i)
                if i:
                    self.state[member] = "hidden"
                    self.rep[member] = first
            if len(run) > 1:
                self._absorb(scope, run)
            opened = (self.depth is None or level < self.depth) and not self.folds(first)
            self.state[first] = "cluster" if opened else "box"
            only = self._only_run(first)
            if opened:
                self.opened.add(self.structure(first))
                if only is not None and self.collapse and len(run) == 1 \
                        and self._lone_group(first):
                    self.state[first] = "flat"
                self._plan(first, level + 1)
            elif only is not None:
                self.inner_run[first] = only

    def folds(self, scope: int) -> bool:
        """Whether collapsing draws ``scope`` as one box although ``depth`` would open it:
        a dense block, or a block whose structure is already drawn open.

        >>> import resgraph
        >>> plan = Plan(resgraph.load("examples/resnet50.rg"), collapse=True, depth=None)
        >>> [plan.scopes[s].call for s in (7, 9) if plan.folds(s)]  # seen in layer1
        ['bottleneck(128, stride=2)', 'bottleneck(128)']
        """
        if not self.collapse:
            return False
        kind = self.scopes[scope].kind
        return kind == "dense" or (kind in self.FOLDED and self.structure(scope) in self.opened)

    def _lone_group(self, scope: int) -> bool:
        """Whether ``scope`` is a group whose frame would add nothing to its run's: one with
        no sibling group (GPT-2's ``h`` among embeddings and norms) or a bare number
        (Swin's ``features.1``); ResNet's ``layer1`` beside ``layer2`` is framed."""
        info = self.scopes[scope]
        if info.kind != "seq":
            return False
        siblings = self.children[info.parent] if info.parent is not None else []
        return info.name.isdigit() or not any(
            self.scopes[s].kind == "seq" for s in siblings if s != scope)

    def _only_run(self, scope: int) -> list[int] | None:
        """The run of several blocks that holds every node of ``scope``, if there is one."""
        children = self.children[scope]
        if len(children) < 2 or sum(len(self.members[c]) for c in children) \
                != len(self.members[scope]):
            return None
        first = children[0]
        if all(self._same(first, c) for c in children[1:]) and all(
                self._feeds(a, b, scope) for a, b in zip(children, children[1:])):
            return children
        return None

    def _runs(self, scope: int) -> list[list[int]]:
        runs: list[list[int]] = []
        for child in self.children[scope]:
            if (self.collapse and runs and self._same(runs[-1][-1], child)
                    and self._feeds(runs[-1][-1], child, scope)):
                runs[-1].append(child)
            else:
                runs.append([child])
        return runs

    def _same(self, a: int, b: int) -> bool:
        """Same call and structure, or the same block whose calls differ only in values that
        change no shape and no parameter count (Swin's shift, a per-block drop-path rate)."""
        sa, sb = self.scopes[a], self.scopes[b]
        if sa.key == sb.key:
            return self.signature(a) == self.signature(b)
        return ((sa.kind, sa.name) == (sb.kind, sb.name)
                and self.signature(a, values=False) == self.signature(b, values=False))

    def _feeds(self, a: int, b: int, parent: int) -> bool:
        """Whether ``a``'s output feeds ``b``, directly or through a concat of ``parent``."""
        inside_b = set(self.members[b])
        for u in self.members[a]:
            for v in self.g.successors(u):
                if v in inside_b:
                    return True
                if self._between(v, parent) and any(w in inside_b for w in self.g.successors(v)):
                    return True
        return False

    def _between(self, n: int, parent: int) -> bool:
        node = self.g.nodes[n]
        return node["op"] == "concat" and node["scope"][-1] == parent

    def _absorb(self, parent: int, run: list[int]) -> None:
        """Mark the concat nodes that sit between members of a run: they are not drawn."""
        for i, (a, b) in enumerate(zip(run, run[1:])):
            inside_b = set(self.members[b])
            for u in self.members[a]:
                for v in self.g.successors(u):
                    if self._between(v, parent) and any(w in inside_b
                                                        for w in self.g.successors(v)):
                        self.absorbed[v] = (run[0], i + 0.5)

    def structure(self, scope: int) -> tuple:
        """What a reader sees of a scope drawn open, whatever its widths and strides: its
        kind and block name, and its ops and how they are joined (``signature`` with
        ``values=None``)."""
        info = self.scopes[scope]
        return (info.kind, info.name, self.signature(scope, values=None))

    def signature(self, scope: int, values: bool | None = True) -> tuple:
        """The structure of a scope's contents: ops, arguments, inner scopes, inner edges.

        With ``values=False``, each node's output shape and parameter count stand in for
        its arguments, and inner scopes are known by kind and block name; with ``None``,
        only the ops (no arguments, shapes or sizes) and inner scopes by kind and name.
        """
        if (scope, values) not in self._signatures:
            nodes = self.members[scope]
            index = {n: i for i, n in enumerate(nodes)}
            level = self.g.nodes[nodes[0]]["scope"].index(scope)
            sig = []
            for n in nodes:
                d = self.g.nodes[n]
                inner = tuple(self.scopes[s].key if values
                              else (self.scopes[s].kind, self.scopes[s].name)
                              for s in d["scope"][level + 1:])
                ins = tuple(sorted((index.get(p, -1), self.g.edges[p, n]["kind"],
                                    self.g.edges[p, n]["port"]) for p in self.g.predecessors(n)))
                what: object = (repr(sorted(d["args"].items())) if values
                                else None if values is None else (d["shape"], d["params"]))
                sig.append((d["op"], what, inner, ins))
            self._signatures[scope, values] = tuple(sig)
        return self._signatures[scope, values]

    def display(self, n: int) -> str | None:
        """The id of the drawn node that stands for IR node ``n`` (None: not drawn)."""
        for s in self.g.nodes[n]["scope"][1:]:
            state = self.state[s]
            if state == "hidden":
                return self.display(self._counterpart(n, s))
            if state == "box":
                return f"s{s}"
        return None if n in self.absorbed else f"n{n}"

    def _counterpart(self, n: int, scope: int) -> int:
        """The node of the run's first member at the same place as ``n`` in ``scope``."""
        if scope not in self._position:
            self._position[scope] = {m: i for i, m in enumerate(self.members[scope])}
        return self.members[self.rep[scope]][self._position[scope][n]]

    def runs_of(self, n: int) -> dict[int, float]:
        """For each run that ``n`` lies in: which member (x.5: between two members)."""
        found = {run: i for s in self.g.nodes[n]["scope"][1:]
                 for run, i in [self.run_of.get(s, (-1, 0))] if run >= 0}
        if n in self.absorbed:
            run, i = self.absorbed[n]
            found[run] = i
        return found

    def crosses_members(self, u: int, v: int) -> bool:
        """Whether an edge joins two different members of one run (not drawn).

        Inside a hidden member, the runs nested in it were planned only in the run's first
        member, so the edge is checked again at each step that maps its ends there.
        """
        while True:
            if self._crosses(u, v):
                return True
            cu, cv = self._step(u), self._step(v)
            if (cu, cv) == (u, v):
                return False
            u, v = cu, cv

    def _crosses(self, u: int, v: int) -> bool:
        ru, rv = self.runs_of(u), self.runs_of(v)
        return any(ru[r] != rv[r] for r in ru.keys() & rv.keys())

    def _step(self, n: int) -> int:
        """``n``'s place in the first member of the outermost run member that hides it."""
        for s in self.g.nodes[n]["scope"][1:]:
            state = self.state.get(s)
            if state == "hidden":
                return self._counterpart(n, s)
            if state == "box":
                return n
        return n
