"""Frames: the labels and values visible inside one block instance, repeat copy or dense layer.

>>> import networkx as nx
>>> from resgraph.errors import Span
>>> g = nx.DiGraph()
>>> g.add_node(0, shape=(3, 8, 8))
>>> fr = Frame({"c": 4}, None, None, g, set())
>>> fr.define("x", 0, Span("f.rg", 2, 5))
>>> fr.node("x"), fr.env.lookup("x").shape
(0, (3, 8, 8))
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from resgraph.elaborate.naming import check_label
from resgraph.errors import ResgraphError, Span
from resgraph.evaluate import NodeRef, Scope


class Frame:
    """Labels and values of one block instance (or of one repeated copy / dense layer).

    A child frame (a repeat copy or dense layer) sees its parent's labels; a block
    instance starts a fresh frame whose only node is its input ``in``.
    """

    def __init__(self, values: dict[str, Any], parent_values: Scope | None,
                 in_node: int | None, graph: nx.DiGraph, queried: set[int],
                 parent: Frame | None = None) -> None:
        self.labels: dict[str, int] = {}
        self.label_spans: dict[str, Span] = {}
        self.instances: dict[str, tuple[int, int]] = {}
        """Label of a block instance, group or sub-chain → (its input node, its scope): such a
        label names the instance, whose output node may also carry an op's label."""
        self.parent = parent
        self.in_node = in_node
        self.graph = graph
        self.queried = queried
        self.env: Scope = Scope(values, parent.env if parent else parent_values,
                                self._noderef)

    def child(self, values: dict[str, Any] | None = None) -> Frame:
        """A frame for one repeat copy or dense layer: its own labels, the same input, and
        ``values`` (the copy's or layer's index of ``as i``)."""
        return Frame(values or {}, None, self.in_node, self.graph, self.queried, parent=self)

    def index_frame(self, var: str | None, span: Span | None, i: int) -> Frame:
        """A child frame binding ``var`` (the name of ``* n as var`` or ``dense(...) as var``)
        to ``i``; ``var`` may not hide a name already visible (RG222)."""
        if var is None:
            return self.child()
        assert span is not None
        try:
            self.env.lookup(var)
        except KeyError:
            return self.child({var: i})
        raise ResgraphError("RG222", f"'as {var}' would hide the name '{var}' that is already "
                            f"visible here; choose another index name (e.g. '{var}{var}')",
                            span)

    def node(self, name: str) -> int | None:
        """The node a name stands for here (a label, or ``in``), or None."""
        frame: Frame | None = self
        while frame is not None:
            if name in frame.labels:
                return frame.labels[name]
            if name == "in" and frame.in_node is not None:
                return frame.in_node
            frame = frame.parent
        return None

    def instance(self, name: str) -> tuple[int, int] | None:
        """(input node, scope) when a name stands for a block instance, group or sub-chain
        here, or None when it names an op (or nothing)."""
        frame: Frame | None = self
        while frame is not None:
            if name in frame.labels:
                return frame.instances.get(name)
            if name == "in" and frame.in_node is not None:
                return None
            frame = frame.parent
        return None

    def visible_labels(self) -> list[str]:
        """Every label in scope, innermost first, for messages."""
        seen: list[str] = []
        frame: Frame | None = self
        while frame is not None:
            seen += [name for name in frame.labels if name not in seen]
            frame = frame.parent
        return seen

    def _noderef(self, name: str) -> NodeRef | None:
        if name in self.env.values:
            return None
        nid = self.node(name) if self.parent is None or name in self.labels or name == "in" \
            else None
        if nid is None:
            return None
        self.queried.add(nid)
        return NodeRef(name, nid, self.graph.nodes[nid]["shape"])

    def check_free(self, name: str, span: Span) -> None:
        """Refuse (RG204) a label this frame already defines."""
        if name in self.labels:
            raise ResgraphError("RG204", f"duplicate label '{name}'", span,
                                notes=[("first defined here", self.label_spans[name])])

    def define(self, name: str, nid: int, span: Span, nested: bool = False) -> None:
        """Bind a label to a node; labels are unique within a frame. ``nested``: the
        label's module path has a level above it (so it may be ``self``)."""
        check_label(name, span, nested)
        self.check_free(name, span)
        self.labels[name] = nid
        self.label_spans[name] = span
