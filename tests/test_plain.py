"""``--plain`` (resgraph.transform.plain): residual and highway connections removed, on every
example network, with the parameters of projections and gates as the only difference."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
import torch

import resgraph
from resgraph.cli import main as cli
from resgraph.ir import lint
from resgraph.program import load_program
from resgraph.transform import plain

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: Example networks whose merges have no identity path to remove (RG750): dense blocks,
#: U-Net's skips, parallel branches merged by concat (Inception, ShuffleNet, SqueezeNet) or
#: add (BERT's embeddings).
REFUSED = {"all_kinds": "dense", "bert": "parallel", "densenet121": "dense",
           "densenet161": "dense", "densenet169": "dense", "densenet201": "dense",
           "densenet_bc": "dense", "googlenet": "parallel", "inception_v3": "parallel",
           "shufflenet_v2_x0_5": "parallel", "shufflenet_v2_x1_0": "parallel",
           "shufflenet_v2_x1_5": "parallel", "shufflenet_v2_x2_0": "parallel",
           "squeezenet1_0": "parallel", "squeezenet1_1": "parallel", "unet": "skip"}


def example_networks() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.rg")):
        for name in load_program(path.read_text(), str(path), resgraph.Limits()).networks:
            out.append((path, name))
    return out


def removed_params(arch: resgraph.Architecture) -> int:
    """What --plain removes, counted from the original's graph: the layers that reach an
    output only through a residual or highway connection (projection shortcuts, written by
    the kind or by hand as MaxViT's ``residual proj -> out``) and the highway gates."""
    g = arch.graph.copy()
    outs = set(g.graph["outputs"].values())

    def live() -> set[int]:
        return outs.union(*(nx.ancestors(g, o) for o in outs))

    before = live()
    g.remove_edges_from([(u, v) for u, v, k in g.edges(data="kind")
                         if k in ("residual", "highway") or g.nodes[v]["op"] == "highway"
                         and k == "control"])
    return sum(g.nodes[n]["params"] for n in before - live())


def test_every_example_is_plain_with_the_documented_parameters_or_refused() -> None:
    seen_refused, done = set(), 0
    for path, name in example_networks():
        arch = resgraph.load(str(path), name)
        before = arch.analyze(distributions=False)
        try:
            p = plain(arch)
        except resgraph.ResgraphError as err:
            assert err.code == "RG750", (name, err)
            assert name in REFUSED, f"{name} refused: {err.message}"
            assert f"the {REFUSED[name]} connection into '" in err.message
            assert Path(err.file or "").parent == EXAMPLES and (err.line or 0) > 1  # a use'd file
            seen_refused.add(name)
            continue
        assert name not in REFUSED, name
        rep = p.analyze(distributions=False)
        assert rep.paths == 1, name
        assert rep.params == p.num_params == arch.num_params - removed_params(arch), name
        assert lint(p.graph) == [], name
        assert arch.analyze(distributions=False).paths == before.paths  # arch untouched
        done += 1
    assert seen_refused == set(REFUSED)
    assert done == 75


@pytest.mark.parametrize("name,file,sets", [
    ("digits_resnet", "digits_resnet.rg", {}),
    ("highway_mlp", "highway_mlp.rg", {}),
    ("resnet50", "resnet50.rg", {}),
    ("preact_resnet", "preact_resnet.rg", {"n": 2}),
    ("gpt2", "gpt2.rg", {"vocab": 97, "ctx": 16, "d": 32, "heads": 4, "layers": 2}),
    ("efficientnet_b0", "efficientnet.rg", {}),
])
def test_plain_compiles_to_its_counted_parameters_and_takes_the_trained_weights(
        name: str, file: str, sets: dict[str, int]) -> None:
    arch = resgraph.load(str(EXAMPLES / file), name, **sets)
    p = plain(arch)
    full, gm = arch.compile(device="meta"), p.compile(device="meta")
    assert sum(t.numel() for t in gm.parameters()) == p.analyze().params == p.num_params
    ours, theirs = gm.state_dict(), full.state_dict()
    assert set(ours) <= set(theirs) and len(ours) < len(theirs) or \
        removed_params(arch) == 0 and list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)


def test_plain_forward_is_the_branches_alone() -> None:
    arch = resgraph.loads("""network n() { input x[6]
        x -> a: linear(6) -> residual { l1: linear(6) -> relu -> l2: linear(6) }
          -> residual(shortcut=project) { l3: linear(4) } -> head: linear(3) }""")
    p = plain(arch)
    assert arch.num_params - p.num_params == 6 * 4 + 2 * 4  # the projection and its bn
    torch.manual_seed(0)
    full = arch.compile()
    gm = p.compile()
    gm.load_state_dict({k: v for k, v in full.state_dict().items() if k in gm.state_dict()},
                       strict=True)
    x = torch.randn(5, 6)
    m = dict(full.named_modules())
    with torch.no_grad():
        h = m["a"](x)
        h = m["l2"](torch.relu(m["l1"](h)))
        want = m["head"](m["l3"](h))
        assert torch.equal(gm(x), want)
        assert not torch.equal(full(x), want)


def test_highway_gates_go_and_squeeze_excitation_gates_stay() -> None:
    arch = resgraph.loads("""network n() { input x[4, 6, 6]
        x -> c: conv(4) -> residual { conv(4) -> bn -> gate { gap -> conv(4, 1) -> sigmoid } }
          -> gap -> flatten -> highway { linear(4) -> relu } -> linear(2) }""")
    p = plain(arch)
    ops = [d["op"] for _, d in p.graph.nodes(data=True)]
    assert "mul" in ops and "sigmoid" in ops  # the SE gate stays
    assert "gate" not in ops and "highway" not in ops and "add" not in ops
    assert arch.num_params - p.num_params == 4 * 4 + 4  # the highway gate's linear
    assert p.analyze().paths == 1


def test_refusal_names_the_connection_and_its_line() -> None:
    src = """network n() {
    input x[4, 8, 8]
    x -> conv(8) -> dense(layers=2) { bn -> relu -> conv(4) } -> gap
}"""
    with pytest.raises(resgraph.ResgraphError) as err:
        plain(resgraph.loads(src, file="d.rg"))
    e = err.value
    assert (e.code, e.line, e.column) == ("RG750", 3, 21)  # at `dense`
    assert "dense connection into 'dense_0.concat_0' (concat)" in e.message


def test_analyze_plain_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["analyze", str(EXAMPLES / "digits_resnet.rg"), "--plain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("network digits_resnet (plain)")
    assert "signal paths    1  (1)" in out and "parameters      37,690" in out
    assert cli(["analyze", str(EXAMPLES / "highway_mlp.rg"), "--plain", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert (rep["network"], rep["paths"], rep["params"]) == ("highway_mlp (plain)", 1, 46410)
    assert cli(["analyze", str(EXAMPLES / "unet.rg"), "--plain"]) == 1
    err = capsys.readouterr().err
    assert "unet.rg:25:5: error[RG750]: --plain cannot remove the skip connection" in err
