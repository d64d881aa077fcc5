"""Naming rules: which labels are allowed, and how every node and scope gets its module path.

Module paths come from the labels and block instances around a node (LANGUAGE.md §8):
a label names its module; members of a labelled sub-chain or repeat are numbered
``0, 1, ...`` like ``nn.Sequential``; an unlabelled node is ``<op>_<k>`` within its
scope (``k`` counting from 0 per op); some internal scopes prefer a fixed name when
it is free (a projection shortcut is ``downsample``, as in torchvision).

>>> from resgraph.errors import Span
>>> t = NameTable()
>>> root = t.new_scope(None, "network", "n", "n", ("n",), Span("f", 1, 1), None, None)
>>> t.add_node(root.scope, 0, None, None, "relu")
>>> t.add_node(root.scope, 1, "fc", None, "linear")
>>> paths = {}
>>> t.assign(lambda n, p: paths.__setitem__(n, p))
>>> paths
{0: 'relu_0', 1: 'fc'}
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from resgraph.errors import ResgraphError, Span
from resgraph.ir import ScopeInfo, ScopeKind

#: Labels become attribute names of the compiled nn.Module: these would break it.
RESERVED_LABELS = frozenset(keyword.kwlist) | frozenset({
    "add_module", "apply", "bfloat16", "buffers", "children", "code", "compile", "cpu", "cuda",
    "double", "eval", "extra_repr", "float", "forward", "get_buffer", "get_parameter",
    "get_submodule", "graph", "half", "load_state_dict", "modules", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "recompile",
    "register_buffer", "register_module", "register_parameter", "requires_grad_",
    "state_dict", "to", "to_empty", "train", "training", "type", "xpu", "zero_grad"})


def check_label(name: str, span: Span) -> None:
    """Refuse a label that cannot name a node and its module.

    >>> check_label("conv1", Span("f.rg", 1, 1))
    >>> try:
    ...     check_label("forward", Span("f.rg", 2, 5))
    ... except ResgraphError as err:
    ...     print(err.code, err.line, err.column)
    RG220 2 5
    """
    if name in RESERVED_LABELS:
        raise ResgraphError("RG220", f"'{name}' cannot be a label: it names a module, and "
                            "it is a Python keyword or an nn.Module attribute; choose "
                            f"another name (e.g. '{name}_')", span)


@dataclass
class Entry:
    """A named thing (node or scope) inside a naming scope, named when elaboration ends."""

    kind: Literal["node", "scope"]
    ref: int
    label: str | None
    index: int | None
    base: str
    preferred: str | None = None


@dataclass
class Naming:
    """Where new nodes go: a scope, the chain of scopes above it (for the node attribute
    ``scope``), and a member counter inside numbered groups."""

    scope: int
    chain: tuple[int, ...]
    counter: list[int] | None = None

    def slot(self) -> int | None:
        """The next member number in a numbered group, or None outside one."""
        if self.counter is None:
            return None
        self.counter[0] += 1
        return self.counter[0] - 1


class NameTable:
    """The scopes of one network and the named entries in each, in creation order."""

    def __init__(self) -> None:
        self.scopes: dict[int, ScopeInfo] = {}
        self.entries: dict[int, list[Entry]] = {}

    def new_scope(self, nm: Naming | None, kind: ScopeKind, name: str, call: str,
                  key: tuple[Any, ...], span: Span, label: str | None, index: int | None,
                  preferred: str | None = None, numbered: bool = False) -> Naming:
        """Open a scope inside ``nm`` (None for the network itself)."""
        sid = len(self.scopes)
        parent = nm.scope if nm is not None else None
        self.scopes[sid] = ScopeInfo(sid, kind, name, call, key, parent, span)
        self.entries[sid] = []
        if nm is None:
            return Naming(sid, (sid,), [0] if numbered else None)
        self.entries[nm.scope].append(Entry("scope", sid, label, index, name, preferred))
        return Naming(sid, (*nm.chain, sid), [0] if numbered else None)

    def add_node(self, scope: int, nid: int, label: str | None, index: int | None, base: str,
                 preferred: str | None = None) -> None:
        """Register node ``nid`` for naming in ``scope``."""
        self.entries[scope].append(Entry("node", nid, label, index, base, preferred))

    def label_node(self, scope: int, nid: int, label: str) -> bool:
        """``name = chain``: the label also names the last node's module, when that node is
        an unlabelled, unnumbered node of this scope (not a block instance's output)."""
        for entry in self.entries[scope]:
            if entry.kind == "node" and entry.ref == nid:
                if entry.label is None and entry.index is None:
                    entry.label = label
                    return True
                return False
        return False

    def assign(self, set_node_path: Callable[[int, str], None]) -> None:
        """Give every scope and node its dotted module path (labels, indices, auto names)."""
        for sid, info in self.scopes.items():
            entries = self.entries[sid]
            taken = {e.label for e in entries if e.label} | {
                str(e.index) for e in entries if e.index is not None}
            counters: dict[str, int] = {}
            for e in entries:
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
                    set_node_path(e.ref, path)
