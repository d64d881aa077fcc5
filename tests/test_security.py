"""Hardening (issue 11): hostile or careless input gets a located error, never a silent
wrong model. Each test names the item of the issue it covers."""

from __future__ import annotations

import pytest

import resgraph
from resgraph.errors import ResgraphError


def _error(text: str) -> ResgraphError:
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(text)
    return info.value


@pytest.mark.parametrize(("call", "at", "phrase"), [
    ("bn(momentum=-5)", "momentum", "'momentum' must be at least 0"),
    ("bn(momentum=1.5)", "momentum", "'momentum' must be at most 1"),
    ("bn(eps=0)", "eps", "'eps' must be greater than 0"),
    ("groupnorm(2, eps=-1)", "eps", "'eps' must be greater than 0"),
    ("layernorm(eps=-0.0)", "eps", "'eps' must be greater than 0"),
    ("dropout(1.0)", "1.0", "'p' must be less than 1"),
    ("upsample(0)", "0", "'scale' must be greater than 0"),
    ("residual(drop_path=1) { relu }", "drop_path", "'drop_path' must be less than 1"),
])
def test_item_10_values_out_of_range_are_refused(call: str, at: str, phrase: str) -> None:
    """The error points at the offending argument (column of ``at`` in the call)."""
    err = _error(f"network n() {{\n  input x[4, 8, 8]\n  x -> {call}\n}}")
    assert (err.code, err.line, err.column) == ("RG303", 3, 8 + call.index(at))
    assert phrase in err.message


def test_item_10_dtype_flows_through_identity() -> None:
    err = _error("network n() {\n  input t[5]: long\n  t -> identity -> linear(3)\n}")
    assert (err.code, err.line) == ("RG406", 3)
    arch = resgraph.loads("network n() {\n  input t[5]: long\n  t -> identity -> "
                          "embedding(10, 4)\n}")
    assert arch.outputs == {"output": (5, 4)}


def test_item_12_an_output_named_twice_is_refused() -> None:
    err = _error("network n() {\n  input x[4]\n  a = x -> linear(2)\n  output a, a\n}")
    assert (err.code, err.line, err.column) == ("RG207", 4, 13)
    assert "named twice" in err.message
