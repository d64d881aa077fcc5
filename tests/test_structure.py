"""The kind registry covers every stage, and the structural defects of issue 10 stay fixed."""

from __future__ import annotations

import warnings

import pytest

import resgraph
from resgraph.elaborate.connections import MERGES
from resgraph.errors import ResgraphError
from resgraph.kinds import CONNECTIONS, EDGE_KINDS, MERGE_OPS
from resgraph.ops import OPS


def test_every_connection_kind_has_a_merger_and_an_edge_kind() -> None:
    assert set(MERGES) == set(CONNECTIONS)
    for name, kind in CONNECTIONS.items():
        assert EDGE_KINDS[name] is kind.edge
        assert kind.merge_op in kind.merge_ops
        assert kind.group_args is not None or kind.edge_args is not None, name
    assert list(EDGE_KINDS)[0] == "seq" and list(EDGE_KINDS)[-1] == "control"


def test_every_merge_op_is_a_registry_op() -> None:
    for op in MERGE_OPS:
        assert op in OPS and OPS[op].internal, op


@pytest.mark.parametrize("dilation", ["2", "[2, 2]"])
def test_default_padding_keeps_the_size_for_any_dilation(dilation: str) -> None:
    arch = resgraph.loads(f"network n() {{ input x[4, 8, 8]\n x -> conv(4, 3, "
                          f"dilation={dilation}) }}")
    assert arch.outputs == {"output": (4, 8, 8)}


def test_errors_quote_their_own_source_after_another_load() -> None:
    first = resgraph.loads("network a() {\n  input x[4]\n  x -> fc: linear(2)\n}")
    resgraph.loads("network b() {\n  input y[4]\n  y -> relu\n}")  # same file name <string>
    g = first.graph
    span = next(g.nodes[n]["span"] for n in g if g.nodes[n]["op"] == "linear")
    text = str(ResgraphError("RG999", "test", span))
    assert "x -> fc: linear(2)" in text
    assert "y -> relu" not in text


def test_hparams_and_the_deprecated_params_alias() -> None:
    arch = resgraph.loads("network n(k=4) { input x[8]\n x -> linear(k) }", k=3)
    assert arch.hparams == {"k": 3}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert arch.params == {"k": 3}
    assert [w.category for w in caught] == [DeprecationWarning]


def _error(text: str) -> ResgraphError:
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(text)
    return info.value


def test_a_network_without_input_is_told_to_declare_one() -> None:
    err = _error("network n() {\n  conv(8) -> relu\n}")
    assert (err.code, err.line, err.column) == ("RG209", 2, 3)
    assert "no input" in err.message and "input x[" in err.message


def test_a_chain_from_an_unknown_node_lists_the_nodes_in_scope() -> None:
    err = _error("network n() {\n  input x[3, 8, 8]\n  img -> conv(8)\n}")
    assert (err.code, err.line, err.column) == ("RG207", 3, 3)
    assert "no node 'img'" in err.message and "x" in err.message.split("scope:")[1]


def test_a_misspelt_op_continuing_the_flow_still_suggests_the_op() -> None:
    err = _error("network n() {\n  input x[8]\n  x -> relu\n  rleu\n}")
    assert (err.code, err.line, err.column) == ("RG207", 4, 3)
    assert "did you mean 'relu'" in err.message


SKIP_INTO_BLOCK = """
block cbr(c) { conv(c, 3) -> bn -> relu }
network u() {
    input img[1, 16, 16]
    e1 = img -> cbr(8)
    e1 -> maxpool(2) -> cbr(16) -> upsample(2) -> d1: cbr(8) -> conv(2, 1)
    skip e1 -> d1
}
"""


def test_an_edge_into_a_labelled_block_instance_merges_at_its_input() -> None:
    g = resgraph.loads(SKIP_INTO_BLOCK).graph
    by_path = {g.nodes[n]["path"]: n for n in g}
    first = by_path["d1.conv_0"]
    (merge,) = g.predecessors(first)
    assert g.nodes[merge]["op"] == "concat"
    assert g.nodes[merge]["shape"] == (24, 16, 16)  # upsampled 16 channels + e1's 8
    kinds = {g.nodes[p]["path"]: g.edges[p, merge]["kind"] for p in g.predecessors(merge)}
    assert kinds == {"upsample_0": "seq", "cbr_0.relu_0": "skip"}
    # the block's last op reads the block's own chain, as before
    (bn,) = g.predecessors(by_path["d1.relu_0"])
    assert g.nodes[bn]["path"] == "d1.bn_0"
