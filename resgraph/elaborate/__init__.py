"""AST → IR: expand blocks, repeats and groups, evaluate arguments, infer shapes, build the graph.

The package's parts: :mod:`~resgraph.elaborate.builder` (bodies, chains, op calls, block
instances), :mod:`~resgraph.elaborate.connections` (group forms, edge statements and
merges, through the kind registry), :mod:`~resgraph.elaborate.naming` (label rules and
module paths), :mod:`~resgraph.elaborate.frame` (labels and values in scope).
The IR's node and edge attributes are documented in :mod:`resgraph.ir`.

>>> from resgraph.program import Limits, load_program
>>> prog = load_program("network n() { input x[3, 8, 8]\\n x -> conv(4) -> relu }", "n.rg",
...                     Limits())
>>> g = elaborate(prog, prog.networks["n"], {}, Limits()).graph
>>> [(g.nodes[n]["op"], g.nodes[n]["path"]) for n in g]
[('input', 'x'), ('conv', 'conv_0'), ('relu', 'relu_0')]
"""

from __future__ import annotations

import re
from typing import Any

from resgraph import ast
from resgraph.binding import bind_params
from resgraph.elaborate.builder import Elaborator, NetworkState
from resgraph.elaborate.frame import Frame
from resgraph.elaborate.graphops import MAX_ELEMENTS
from resgraph.elaborate.naming import check_name, name_span
from resgraph.errors import ResgraphError, did_you_mean
from resgraph.evaluate import Scope
from resgraph.ir import Architecture, annotate, weight_shape
from resgraph.program import Limits, Program
from resgraph.util import shape_text

__all__ = ["elaborate", "Elaborator"]


def elaborate(program: Program, defn: ast.Definition, params: dict[str, Any],
              limits: Limits) -> Architecture:
    """Build the annotated IR of network ``defn`` with parameter overrides ``params``."""
    check_name(defn.name, "network", name_span(defn.span, defn.name))
    values = bind_params(defn, params, program, limits, defn.span)
    el = Elaborator(program, limits)
    root = el.new_scope(None, "network", defn.name, defn.name, (defn.name,), defn.span, None,
                        None)
    state = NetworkState()
    fr = Frame(values, Scope(program.values), None, el.graph, el.queried)
    try:
        flow = el.body(defn.body, fr, root, None, state)
    except RecursionError:
        raise ResgraphError("RG505", "the network nests too deeply to elaborate", defn.span) \
            from None
    if not state.inputs:
        raise ResgraphError("RG215", f"network '{defn.name}' has no input; declare one, e.g. "
                            "input x[3, 224, 224]", defn.span)
    g = el.graph
    el.names.assign(lambda n, path: g.nodes[n].__setitem__("path", path))
    outputs = _outputs(el, fr, state, flow, defn)
    g.graph.update(network=defn.name, inputs=list(state.inputs), outputs=outputs)
    _ties(el)
    annotate(g)
    for n in g:
        node = g.nodes[n]
        if node["params"] >= MAX_ELEMENTS:
            raise ResgraphError("RG407", f"{node['op']} would have {node['params']:,} "
                                "parameters; a layer must have fewer than 2**56", node["span"])
    return Architecture(defn.name, g, el.scopes, values, program.file)


def _ties(el: Elaborator) -> None:
    """Check each ``tied=NODE`` (the two weights have one shape, RG229, checked once every
    edge statement has set the shapes) and record the shared layer's module path."""
    g = el.graph
    for n, (t, span) in el.ties.items():
        mine, theirs = weight_shape(g, n), weight_shape(g, t)
        if mine != theirs:
            node, other = g.nodes[n], g.nodes[t]
            fix = (f"linear({theirs[0]}) reading {theirs[1]} features"
                   if node["op"] == "linear" else f"embedding({theirs[0]}, {theirs[1]})")
            raise ResgraphError("RG229", f"{node['op']} '{node['path']}' would share the "
                                f"weight of {other['op']} '{other['path']}', but its weight is "
                                f"{shape_text(mine)} and that one {shape_text(theirs)}; a tied "
                                f"layer needs the same weight shape, here a {fix}", span,
                                notes=[(f"'{other['path']}' is defined here", other["span"])])
        g.nodes[n]["args"]["tied"] = g.nodes[t]["path"]


def _outputs(el: Elaborator, fr: Frame, state: NetworkState, flow: int | None,
             defn: ast.Definition) -> dict[str, int]:
    """The network's outputs: ``output a, b`` if given, else its flow."""
    outputs: dict[str, int] = {}
    for name, span in state.outputs:
        if name in outputs:
            raise ResgraphError("RG207", f"'{name}' is named twice in 'output'; each output "
                                "is listed once", span)
        nid = fr.node(name)
        if nid is None:
            raise ResgraphError("RG207", f"undefined node '{name}'"
                                f"{did_you_mean(name, fr.visible_labels())}", span)
        outputs[name] = nid
    if not outputs:
        if flow is None:
            raise ResgraphError("RG215", f"network '{defn.name}' has no output: end with a "
                                "chain or name outputs with 'output a, b'", defn.span)
        outputs[output_name(el.graph.nodes[flow])] = flow
    return outputs


def output_name(node: dict[str, Any]) -> str:
    """The name of a network output that ``output`` does not name: its label, or, when the
    label is no Python name (``1``, ``block-1``), its module path made one
    (``classifier_1``); ``output`` for a node without a label.

    >>> output_name({"label": "fc", "path": "fc"}), output_name({"label": None, "path": "x"})
    ('fc', 'output')
    >>> output_name({"label": "1", "path": "classifier.1"})
    'classifier_1'
    >>> output_name({"label": "0", "path": "0"})
    'output_0'
    """
    label = node["label"]
    if label is None:
        return "output"
    if label.isidentifier():
        return str(label)
    name = re.sub(r"[^A-Za-z0-9_]", "_", node["path"])
    return name if name.isidentifier() else f"output_{name}"

