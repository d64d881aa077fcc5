"""The forms of issue 12: integer and template labels, repeat and dense indices, conditional
terms, op-valued parameters, ``shortcut=none``, the ``gate`` and ``parallel`` connection
kinds, and expression functions. Each test checks the exact property (state_dict keys,
shapes, path and parameter counts) and each misuse its located error."""

from __future__ import annotations

import pytest
import torch

import resgraph
from resgraph.analyze import analyze
from resgraph.errors import ResgraphError
from resgraph.render import to_dot, to_mermaid


def _keys(src: str, **params: object) -> list[str]:
    return list(resgraph.loads(src, **params).compile().state_dict())


def _paths(src: str) -> list[str]:
    g = resgraph.loads(src).graph
    return [g.nodes[n]["path"] for n in g]


def _error(src: str) -> ResgraphError:
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(src)
    return info.value


# ---------------------------------------------------------------- (a) labels and indices


def test_integer_labels_name_modules_like_nn_sequential() -> None:
    src = """network n() { input x[3, 8, 8]
        x -> features: (0: conv(4) -> 1: bn -> 2: relu -> 3: conv(8)) }"""
    assert _keys(src) == ["features.0.weight", "features.1.weight", "features.1.bias",
                          "features.1.running_mean", "features.1.running_var",
                          "features.1.num_batches_tracked", "features.3.weight",
                          "features.3.bias"]


def test_template_labels_with_a_dash_reach_state_dict_keys_and_run() -> None:
    src = """
block res(w, stride=1) { conv: conv(w, 3, stride=stride) -> bn: bn -> relu }
network n(d=2) {
    input x[3, 16, 16]
    x -> trunk: (block1: ("block1-{i}": res(8, stride=2 if i == 0 else 1)) * d as i)
      -> gap -> flatten -> fc: linear(3)
}"""
    arch = resgraph.loads(src)
    gm = arch.compile()
    keys = list(gm.state_dict())
    assert "trunk.block1.block1-0.conv.weight" in keys
    assert "trunk.block1.block1-1.bn.running_var" in keys
    assert not any(".0.conv" in k or "copy" in k for k in keys)
    assert gm(torch.randn(2, 3, 16, 16)).shape == (2, 3)
    g = arch.graph
    convs = [g.nodes[n] for n in g if g.nodes[n]["op"] == "conv"]
    assert [c["shape"] for c in convs] == [(8, 8, 8), (8, 8, 8)]  # stride 2 only for i == 0


def test_a_repeated_template_label_that_reads_the_index_names_each_copy() -> None:
    src = """network n() { input x[4]
        x -> trunk: ("block1-{i}": linear(4) * 2 as i -> "b{j}": linear(4) * 2 as j) }"""
    assert [k for k in _keys(src) if k.endswith("weight")] == [
        "trunk.block1-0.weight", "trunk.block1-1.weight", "trunk.b0.weight", "trunk.b1.weight"]


def test_repeat_index_reaches_arguments_per_copy() -> None:
    src = """network n() { input x[4, 16, 16]
        x -> layer2: conv(8, 3, stride=2 if i == 0 else 1) * 3 as i }"""
    arch = resgraph.loads(src)
    g = arch.graph
    assert [(g.nodes[n]["path"], g.nodes[n]["shape"]) for n in g][1:] == [
        ("layer2.0", (8, 8, 8)), ("layer2.1", (8, 8, 8)), ("layer2.2", (8, 8, 8))]
    assert g.nodes[1]["args"]["stride"] == 2 and g.nodes[2]["args"]["stride"] == 1


def test_dense_index_and_a_single_labelled_layer_give_torchvision_densenet_keys() -> None:
    src = """
block dense_layer(k) { norm1: bn -> relu -> conv1: conv(4 * k, 1) -> norm2: bn -> relu
                       -> conv2: conv(k, 3) }
network n() {
    input x[8, 8, 8]
    x -> features: (denseblock1: dense(layers=3) as i { "denselayer{i + 1}": dense_layer(4) })
}"""
    keys = _keys(src)
    assert [k for k in keys if k.endswith("conv2.weight")] == [
        f"features.denseblock1.denselayer{i}.conv2.weight" for i in (1, 2, 3)]
    arch = resgraph.loads(src)
    assert arch.outputs == {"output": (8 + 3 * 4, 8, 8)}
    # the layer index reaches the arguments: growth by i
    src2 = """network n() { input x[2, 4, 4]
        x -> dense(layers=3) as i { conv(i + 1, 1) } }"""
    assert resgraph.loads(src2).outputs == {"output": (2 + 1 + 2 + 3, 4, 4)}


def test_label_template_errors_are_located_with_a_fix() -> None:
    err = _error('network n() { input x[4]\n x -> "fc{1 > 0}": linear(2) }')
    assert (err.code, err.line, err.column) == ("RG221", 2, 11)
    assert "ints and strings" in err.message
    err = _error('network n() { input x[4]\n x -> "-fc{1}": linear(2) }')
    assert (err.code, err.line, err.column) == ("RG221", 2, 7)
    assert "'-'" in err.message and 'block{i}' in err.message
    err = _error('network n() { input x[4]\n x -> "fc{}": linear(2) }')
    assert (err.code, err.line) == ("RG221", 2)
    err = _error('network n() { input x[4]\n x -> "fc{1 +}": linear(2) }')
    assert err.code == "RG003" or err.code == "RG004"


def test_an_index_name_may_not_hide_a_visible_name() -> None:
    err = _error("network n(i=2) { input x[4]\n x -> linear(4) * 2 as i }")
    assert (err.code, err.line, err.column) == ("RG222", 2, 24)
    assert "hide" in err.message and "'ii'" in err.message
    err = _error("network n() { input x[4]\n x -> residual as i { linear(4) } }")
    assert err.code == "RG222" and "dense" in err.message


# ---------------------------------------------------------------- (b) conditions, op values


def test_a_false_condition_leaves_the_term_out_and_takes_no_number() -> None:
    src = """block inv(c, e) { conv: (expand: conv(c * e, 1) if e != 1 -> conv(c, 3) -> bn) }
    network n(e=1) { input x[4, 8, 8]\n x -> inv(4, e) }"""
    def weights(e: int) -> list[str]:
        return [k for k in _keys(src, e=e) if k.endswith("weight")]
    assert weights(1) == ["inv_0.conv.0.weight", "inv_0.conv.1.weight"]
    assert weights(6) == ["inv_0.conv.expand.weight", "inv_0.conv.0.weight",
                          "inv_0.conv.1.weight"]


def test_a_condition_must_be_a_boolean() -> None:
    err = _error("network n() { input x[4]\n x -> linear(4) if 1 }")
    assert (err.code, err.line, err.column) == ("RG308", 2, 20)
    assert "true or false, got 1" in err.message and "!= 0" in err.message


def test_op_valued_parameters_and_none() -> None:
    src = """block cna(c, k=3, act=relu) { 0: conv(c, k) -> 1: bn -> 2: act }
    network n() { input x[4, 8, 8]
      x -> a: cna(8, act=tanh) -> b: cna(8, 1, act=none)
        -> c: cna(8, act=sigmoid if false else relu) }"""
    arch = resgraph.loads(src)
    g = arch.graph
    ops = {g.nodes[n]["path"]: g.nodes[n]["op"] for n in g}
    assert ops["a.2"] == "tanh" and ops["c.2"] == "relu"
    assert "b.2" not in ops and ops["b.1"] == "bn"


def test_a_parameter_used_as_a_term_must_name_an_op() -> None:
    err = _error("block b(act=rleu) { linear(4) -> act }\n"
                 "network n() { input x[4]\n x -> b }")
    assert (err.code, err.line, err.column) == ("RG223", 1, 34)
    assert "did you mean 'relu'" in err.message and "none" in err.message
    err = _error("block b(act=3) { linear(4) -> act }\nnetwork n() { input x[4]\n x -> b }")
    assert err.code == "RG223" and "not an op" in err.message


def test_a_float_parameter_named_like_an_op_leaves_the_op_alone() -> None:
    src = """block b(dropout=0.2) { linear(4) -> dropout(dropout) }
    network n() { input x[4]\n x -> b }"""
    g = resgraph.loads(src).graph
    assert [g.nodes[n]["args"].get("p") for n in g if g.nodes[n]["op"] == "dropout"] == [0.2]


def test_shortcut_none_is_just_the_body() -> None:
    src = """block mb(c, stride=1) {
        residual(shortcut=identity if stride == 1 and in.channels == c else none) {
            conv(c, 3, stride=stride) -> bn } }
    network n() { input x[4, 8, 8]\n x -> mb(4) -> mb(8, stride=2) }"""
    g = resgraph.loads(src).graph
    assert [g.nodes[n]["op"] for n in g].count("add") == 1
    assert analyze(resgraph.loads(src)).paths == 2


# ---------------------------------------------------------------- (c) gate


SE = """
block se(squeeze, act=relu, scale=sigmoid) {
    gate { gap -> fc1: conv(squeeze, 1) -> act -> fc2: conv(in.channels, 1) -> scale }
}
network n() { input x[16, 8, 8]\n x -> conv(16, 3) -> se(4) }
"""


def test_gate_is_squeeze_and_excitation() -> None:
    arch = resgraph.loads(SE)
    gm = arch.compile().eval()
    keys = list(gm.state_dict())
    assert keys == ["conv_0.weight", "conv_0.bias", "se_0.fc1.weight", "se_0.fc1.bias",
                    "se_0.fc2.weight", "se_0.fc2.bias"]
    rep = analyze(arch)
    assert rep.params == 16 * 16 * 9 + 16 + (16 * 4 + 4) + (4 * 16 + 16)
    assert rep.paths == 1 and rep.depth == 1  # the gate body is a control path
    assert rep.edges["gate"] == 1 and rep.edges["control"] == 2
    x = torch.randn(2, 16, 8, 8)
    sd = gm.state_dict()
    h = torch.nn.functional.conv2d(x, sd["conv_0.weight"], sd["conv_0.bias"], padding=1)
    s = h.mean((2, 3), keepdim=True)
    s = torch.relu(torch.nn.functional.conv2d(s, sd["se_0.fc1.weight"], sd["se_0.fc1.bias"]))
    s = torch.sigmoid(torch.nn.functional.conv2d(s, sd["se_0.fc2.weight"], sd["se_0.fc2.bias"]))
    assert torch.allclose(gm(x), h * s, atol=1e-6)


def test_gate_is_drawn_with_its_own_style_and_legend() -> None:
    arch = resgraph.loads(SE)
    dot = to_dot(arch)
    assert 'class=gate' in dot and "gate: x scaled by F(x)" in dot
    assert "==>" in to_mermaid(arch)


def test_gate_shapes_must_broadcast() -> None:
    err = _error("block se() { gate { gap -> conv(4, 1) -> sigmoid } }\n"
                 "network n() { input x[16, 8, 8]\n x -> se }")
    assert (err.code, err.line, err.column) == ("RG414", 1, 14)
    assert "[4, 1, 1]" in err.message and "[16, 1, 1]" in err.message
    assert "conv(in.channels, 1)" in err.message


def test_gate_needs_a_body_and_has_no_edge_form() -> None:
    assert _error("network n() { input x[4]\n x -> gate { } }").code == "RG415"
    err = _error("network n() { input x[4]\n x -> a: linear(4) -> b: linear(4)\n gate a -> b }")
    assert err.code == "RG211"


# ---------------------------------------------------------------- (d) parallel


INCEPTION = """
block bconv(c, k=1) { conv: conv(c, k) -> bn: bn -> relu }
network n() {
    input x[8, 8, 8]
    x -> inception3a: parallel {
        branch1: bconv(4, 1)
        branch2: (bconv(4, 1) -> bconv(6, 3))
        branch4: (maxpool(3, stride=1, pad=1) -> bconv(2, 1))
    }
}
"""


def test_parallel_concatenates_branches_with_torchvision_names() -> None:
    arch = resgraph.loads(INCEPTION)
    assert arch.outputs == {"output": (12, 8, 8)}
    keys = [k for k in arch.compile().state_dict() if k.endswith("conv.weight")]
    assert keys == ["inception3a.branch1.conv.weight", "inception3a.branch2.0.conv.weight",
                    "inception3a.branch2.1.conv.weight", "inception3a.branch4.1.conv.weight"]
    rep = analyze(arch)
    assert rep.paths == 3  # alternative paths add up
    assert (rep.depth, rep.min_depth) == (2, 1)
    assert rep.edges["parallel"] == 3
    assert {c.kind for c in rep.connections} == {"parallel"}
    assert all(c.reach == "short" for c in rep.connections)


def test_parallel_add_and_an_identity_branch() -> None:
    src = """block fire() { parallel(merge=add) { in; conv(in.channels, 3) } }
    network n() { input x[4, 8, 8]\n x -> fire }"""
    arch = resgraph.loads(src)
    g = arch.graph
    assert [g.nodes[n]["op"] for n in g] == ["input", "conv", "add"]
    assert analyze(arch).paths == 2
    x = torch.randn(1, 4, 8, 8)
    gm = arch.compile()
    sd = gm.state_dict()
    ref = x + torch.nn.functional.conv2d(x, sd["fire_0.conv_0.weight"],
                                             sd["fire_0.conv_0.bias"], padding=1)
    assert torch.allclose(gm(x), ref, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 2])
def test_parallel_with_conditional_branches_is_regnet_proj_plus_f(stride: int) -> None:
    src = """block res(w, stride=1) {
        parallel(merge=add) {
            proj: (0: conv(w, 1, stride=stride) -> 1: bn) if stride != 1
            in if stride == 1
            f: (a: conv(w, 3, stride=stride) -> bn)
        } -> relu }
    network n(s=1) { input x[4, 8, 8]\n x -> "block1-0": res(4, stride=s) }"""
    keys = [k for k in _keys(src, s=stride) if k.endswith("weight")]
    proj = ["block1-0.proj.0.weight", "block1-0.proj.1.weight"] if stride == 2 else []
    assert keys == [*proj, "block1-0.f.a.weight", "block1-0.f.0.weight"]
    assert analyze(resgraph.loads(src, s=stride)).paths == 2
    err = _error("network n() { input x[4]\n x -> relu\n x if true -> relu }")
    assert err.code == "RG208" and "conditional" in err.message


def test_parallel_is_drawn_as_fan_out_and_fan_in() -> None:
    dot = to_dot(resgraph.loads(INCEPTION))
    assert dot.count('class=parallel') >= 3 and "parallel branches" in dot


def test_parallel_branch_shapes_must_concatenate() -> None:
    err = _error("network n() { input x[4, 8, 8]\n x -> parallel {\n conv(4, 1)\n"
                 " maxpool(2) } }")
    assert (err.code, err.line, err.column) == ("RG411", 2, 7)
    assert "[4, 8, 8], [4, 4, 4]" in err.message
    err = _error("network n() { input x[4, 8, 8]\n x -> parallel { conv(4, 1) if false } }")
    assert err.code == "RG415"


# ---------------------------------------------------------------- (e) functions


def test_builtin_and_user_functions() -> None:
    src = """
let make_divisible(v, d=8) = fix_div(v, d, max(d, int(v + d / 2) // d * d))
let fix_div(v, d, m) = m + d if m < 0.9 * v else m
network n(w=1.0) { input x[3, 8, 8]
    x -> conv(make_divisible(32 * w)) -> conv(ceil(log(1000, 10)) + floor(sqrt(17)))
      -> conv(abs(-2) + sum([1, 2])) }"""
    g = resgraph.loads(src, w=0.35).graph
    assert [g.nodes[n]["shape"][0] for n in g][1:] == [16, 7, 5]
    assert resgraph.loads(src, w=1.0).graph.nodes[1]["shape"][0] == 32


def test_function_errors_are_located() -> None:
    err = _error("let f(a) = g(a)\nlet g(a) = f(a) + 1\nnetwork n() { input x[4] }")
    assert (err.code, err.line, err.column) == ("RG309", 2, 12)
    assert "f -> g -> f" in err.message
    err = _error("let b = foo(1)\nnetwork n() { input x[4] }")
    assert err.code == "RG307" and "let foo(x)" in err.message
    err = _error("let f(a) = a\nlet b = f(1, 2)\nnetwork n() { input x[4] }")
    assert (err.code, err.line, err.column) == ("RG310", 2, 9)
    err = _error("let sqrt(a) = a\nnetwork n() { input x[4] }")
    assert (err.code, err.line, err.column) == ("RG311", 1, 5)


def test_a_run_of_blocks_holding_a_run_draws_without_a_cycle() -> None:
    # Inception's Mixed_5c/5d: a collapsed run whose members hold a run of their own
    import networkx as nx

    from resgraph.render.view import build_view
    arch = resgraph.loads("block b(c) { conv(c) -> bn -> relu }\n"
                          "block pair() { a: b(4) -> c: b(4) }\n"
                          "network n() { input x[4, 8, 8]\n x -> pair -> pair }")
    view = build_view(arch, collapse=True, depth=None)
    assert nx.is_directed_acyclic_graph(nx.DiGraph([(e.src, e.dst) for e in view.edges]))
    assert len(view.edges) == 3


def test_a_gate_body_passes_the_ir_lint() -> None:
    from resgraph.ir import lint
    assert lint(resgraph.loads(SE).graph) == []


# ---------------------------------------------------------------- (j) one path per module


def _params_agree(src: str) -> list[str]:
    """The node paths of ``src``; the analysis and the compiled module count the same."""
    arch = resgraph.loads(src)
    gm = arch.compile()
    assert analyze(arch).params == sum(p.numel() for p in gm.parameters())
    return _paths(src)


def test_a_member_number_skips_template_and_integer_labels() -> None:
    src = """network n() { input x[4, 8, 8]
        x -> f: (conv(4) -> ("{j + 1}": conv(4)) * 2 as j -> conv(5)) }"""
    assert _params_agree(src) == ["x", "f.0", "f.1", "f.2", "f.3"]
    assert _keys(src)[-2:] == ["f.3.weight", "f.3.bias"]
    src = "network n() { input x[4, 8, 8]\n x -> f: (0: conv(4) -> conv(4) -> 2: conv(4)) }"
    assert _params_agree(src.replace("2: ", "")) == ["x", "f.0", "f.1", "f.2"]
    src = "network n() { input x[4, 8, 8]\n x -> f: (1: conv(4) -> conv(4) -> conv(6)) }"
    assert _params_agree(src) == ["x", "f.1", "f.0", "f.2"]


@pytest.mark.parametrize("chain, code, at, first", [
    ("f: (conv(4) -> 0: conv(4))", "RG224", 22, 11),       # a label repeats a number
    ("f: (conv(4) -> relu -> 1: conv(4))", "RG224", 30, 22),
    ('f: (("{j}": conv(4)) * 2 as j -> ("{j}": relu) * 2 as j)', "RG224", 41, 12),
    ("f: (0: conv(4) -> 0: conv(4))", "RG204", 25, 11),     # the same label twice
    ('"a{1}": conv(4) -> a1: conv(4)', "RG204", 26, 7),
])
def test_two_modules_never_share_a_path(chain: str, code: str, at: int, first: int) -> None:
    err = _error("network n() { input x[4, 8, 8]\n x -> " + chain + " }")
    assert (err.code, err.line, err.column) == (code, 2, at)
    assert [(span.line, span.column) for _, span in err.notes if span] == [(2, first)]


def test_a_label_without_the_index_cannot_name_every_copy() -> None:
    err = _error("network n() { input x[4, 8, 8]\n x -> f: ((b: conv(4)) * 2) }")
    assert (err.code, err.line, err.column) == ("RG224", 2, 12)
    assert '"b{i}"' in err.message
    err = _error("network n() { input x[4, 8, 8]\n x -> dense(layers=2) { c: conv(4) } }")
    assert err.code == "RG224"


# ---------------------------------------------------------------- (k) spreads


STAGE = """
block stage(c, n, norm=false) {
    (conv(c, 3, bias=true) -> bn if norm -> relu) * n -> maxpool(2)
}
network vgg(norm=false, w=8) {
    input x[3, 32, 32]
    x -> features: (...stage(w, 1, norm=norm) -> ...stage(2 * w, 1, norm=norm)
                    -> ...stage(4 * w, 2, norm=norm) -> ...stage(8 * w, 2, norm=norm)
                    -> ...stage(8 * w, 2, norm=norm))
      -> flatten
      -> classifier: (linear(32) -> relu -> dropout(0.5) -> linear(32) -> relu
                      -> dropout(0.5) -> linear(10))
}
"""


class _Vgg(torch.nn.Module):
    """VGG-11's layout (torchvision's ``make_layers`` for config "A"), small and written out
    by hand: one flat nn.Sequential of convs, norms, relus and pools."""

    def __init__(self, norm: bool, w: int = 8) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        c_in = 3
        for v in (w, "M", 2 * w, "M", 4 * w, 4 * w, "M", 8 * w, 8 * w, "M", 8 * w, 8 * w, "M"):
            if v == "M":
                layers.append(torch.nn.MaxPool2d(2, 2))
                continue
            assert isinstance(v, int)
            layers.append(torch.nn.Conv2d(c_in, v, 3, padding=1))
            if norm:
                layers.append(torch.nn.BatchNorm2d(v))
            layers.append(torch.nn.ReLU())
            c_in = v
        self.features = torch.nn.Sequential(*layers)
        self.classifier = torch.nn.Sequential(
            torch.nn.Linear(8 * w, 32), torch.nn.ReLU(), torch.nn.Dropout(0.5),
            torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Dropout(0.5),
            torch.nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@pytest.mark.parametrize("norm", [False, True])
def test_spreads_give_a_flat_nn_sequential_like_vgg(norm: bool) -> None:
    torch.manual_seed(0)
    ref = _Vgg(norm).eval()
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.5, 0.5)
    arch = resgraph.loads(STAGE, norm=norm)
    gm = arch.compile().eval()
    want = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in gm.state_dict().items()} == want
    assert list(gm.state_dict()) == list(want)
    gm.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(gm(x), ref(x), atol=1e-5)
    assert analyze(arch).params == sum(p.numel() for p in ref.parameters())
    g = arch.graph
    pools = [g.nodes[n]["path"] for n in g if g.nodes[n]["op"] == "maxpool"]
    assert pools == (["features.3", "features.7", "features.14", "features.21", "features.28"]
                     if norm else
                     ["features.2", "features.5", "features.10", "features.15", "features.20"])


def test_a_spread_block_stays_a_row_and_a_cluster() -> None:
    arch = resgraph.loads(STAGE)
    rows = [(b.path, b.call) for b in analyze(arch).blocks]
    assert rows[:3] == [("features.0-2", "stage(8, 1, norm=false)"),
                        ("features.3-5", "stage(16, 1, norm=false)"),
                        ("features.6-10", "stage(32, 2, norm=false)")]
    assert "6-10: stage(32, 2, norm=false)" in to_mermaid(arch)
    from resgraph.ir import lint
    assert lint(arch.graph) == []


def test_spreads_mix_with_levels_repeats_conditions_and_none() -> None:
    src = """
block unit(c, act=relu) { conv(c, 1) -> act }
block fire(c) { squeeze: conv(c, 1) -> relu }
network n(big=false) {
    input x[4, 8, 8]
    x -> f: (conv(4) -> ...unit(4) * 2 as i -> fire(4) -> ...unit(4, act=none)
             -> ...unit(4) if big -> ...(conv(4) -> relu) -> ...(...relu))
}"""
    assert _params_agree(src) == ["x", "f.0", "f.1", "f.2", "f.3", "f.4", "f.5.squeeze",
                                  "f.5.relu_0", "f.6", "f.7", "f.8", "f.9"]
    assert _keys(src, big=True)[-2:] == ["f.9.weight", "f.9.bias"]


SPREAD_MISUSE_BLOCKS = """block named(c) { a: conv(c, 1) }
block res(c) { residual { conv(c, 1) } }
block edge(c) { a = conv(c, 1)
    b = a -> relu
    skip(merge=add) a -> b }
network n() { input x[4, 8, 8]
"""


@pytest.mark.parametrize("chain, code, at", [
    ("x -> ...relu", "RG226", (7, 6)),
    ("x -> f: ((...relu) * 2)", "RG226", (7, 11)),
    ("x -> f: (...a: relu)", "RG225", (7, 13)),
    ('x -> f: (...("b{i}": relu) * 2 as i)', "RG225", (7, 14)),
    ("x -> f: (...named(4))", "RG225", (1, 18)),
    ("x -> f: (...residual { relu })", "RG227", (7, 13)),
    ("x -> f: (...res(4))", "RG227", (2, 16)),
    ("x -> f: (...edge(4))", "RG227", (5, 5)),
])
def test_spread_misuse_is_located(chain: str, code: str, at: tuple[int, int]) -> None:
    err = _error(SPREAD_MISUSE_BLOCKS + chain + " }\n")
    assert (err.code, err.line, err.column) == (code, *at)
    if code != "RG226":
        assert [(span.line, span.column) for text, span in err.notes
                if text == "the spread" and span] == [(7, 10)]


# ---------------------------------------------------------------- issue 13: weight tying

_TIED_LM = """network lm(bias=false) {
    input tokens[8]: long
    tokens -> wte: embedding(100, 16) -> ln: layernorm -> fc: linear(16) -> relu
      -> lm_head: linear(100, bias=bias, tied=wte)
}"""


@pytest.mark.parametrize("bias", [False, True])
def test_a_tied_layer_shares_one_parameter_counted_once(bias: bool) -> None:
    arch = resgraph.loads(_TIED_LM, bias=bias)
    gm = arch.compile()
    unique = sum(p.numel() for p in gm.parameters())
    assert analyze(arch).params == arch.num_params == unique == \
        1600 + 32 + 272 + (100 if bias else 0)
    assert [n for n, _ in gm.named_parameters()].count("lm_head.weight") == 0
    assert gm.lm_head.weight is gm.wte.weight
    sd = gm.state_dict()
    assert "wte.weight" in sd and "lm_head.weight" in sd  # as HF's GPT2LMHeadModel
    analysis = analyze(arch)
    assert analysis.macs == 8 * 16 * 16 + 8 * 16 * 100  # MACs stay the projection's
    # a strict load of a state_dict holding both keys (equal, as a tied checkpoint's)
    w = torch.randn(100, 16)
    sd = {k: w.clone() if k in ("wte.weight", "lm_head.weight") else v.clone()
          for k, v in sd.items()}
    gm.load_state_dict(sd, strict=True)
    assert torch.equal(gm.wte.weight, w) and gm.lm_head.weight is gm.wte.weight


def test_a_gradient_reaches_the_shared_weight_from_both_uses() -> None:
    tied = resgraph.loads(_TIED_LM).compile()
    untied = resgraph.loads(_TIED_LM.replace(", tied=wte", "")).compile()
    untied.load_state_dict(tied.state_dict())
    x = torch.randint(0, 100, (3, 8))
    tied(x).square().sum().backward()
    untied(x).square().sum().backward()
    assert torch.allclose(tied(x), untied(x))
    both = untied.wte.weight.grad + untied.lm_head.weight.grad
    assert tied.wte.weight.grad is not None
    assert torch.allclose(tied.wte.weight.grad, both, atol=1e-5)
    assert untied.wte.weight.grad.abs().sum() > 0 and untied.lm_head.weight.grad.abs().sum() > 0


def test_a_tie_is_drawn_and_counted_once_in_labels() -> None:
    dot = to_dot(resgraph.loads(_TIED_LM), params=True)
    assert "tied to wte" in dot
    assert "1.6K params" in dot and dot.count("1.6K params") == 1


@pytest.mark.parametrize(("chain", "code", "text"), [
    ("lm_head: linear(100, tied=ln)", "RG228", "names a layernorm node"),
    ("lm_head: linear(100, tied=wt)", "RG228", "did you mean 'wte'?"),
    ("lm_head: linear(100, tied=2)", "RG228", "this value is no node"),
    ("linear(32) -> lm_head: linear(100, tied=wte)", "RG229",
     "its weight is [100, 32] and that one [100, 16]"),
    ("lm_head: linear(100, layout=conv1d, tied=wte)", "RG229", "[16, 100]"),
    ("a: linear(100, tied=wte) -> relu -> linear(16) -> b: linear(100, tied=a)", "RG228",
     "'a' is itself tied to 'wte'"),
    ("lm_head: conv(100, tied=wte)", "RG202", "no argument 'tied'"),
])
def test_tie_misuse_is_located(chain: str, code: str, text: str) -> None:
    err = _error(f"""network n() {{ input tokens[8]: long
        tokens -> wte: embedding(100, 16) -> ln: layernorm -> {chain} }}""")
    assert err.code == code and text in str(err)
    assert err.span.line == 2


# ---------------------------------------------------------------- issue 13: parallel(merge=mul)

_SWIGLU = """block swiglu(ffn, d) {
    parallel(merge=mul) { gate_proj: linear(ffn, bias=false) -> silu
                          up_proj: linear(ffn, bias=false) }
    -> down_proj: linear(d, bias=false)
}
network n() { input x[5, 16]
    x -> mlp: swiglu(32, 16) }"""


def test_parallel_mul_is_swiglu() -> None:
    arch = resgraph.loads(_SWIGLU)
    gm = arch.compile()
    assert list(gm.state_dict()) == ["mlp.gate_proj.weight", "mlp.up_proj.weight",
                                     "mlp.down_proj.weight"]
    m = gm.mlp
    x = torch.randn(3, 5, 16)
    want = m.down_proj(torch.nn.functional.silu(m.gate_proj(x)) * m.up_proj(x))
    assert torch.allclose(gm(x), want)
    a = analyze(arch)
    # up_proj carries the signal; silu(gate_proj) gates it (a control path, as in gate { })
    assert (a.paths, a.depth, a.min_depth) == (1, 2, 2)
    assert a.macs == 5 * 16 * 32 * 2 + 5 * 32 * 16 and a.params == 3 * 16 * 32


def test_parallel_mul_of_three_branches_and_an_identity() -> None:
    src = """block b() { parallel(merge=mul) { in; linear(8) -> sigmoid; linear(8) } }
    network n() { input x[8]
        x -> m: b }"""
    arch = resgraph.loads(src)
    gm = arch.compile()
    x = torch.randn(4, 8)
    lin = [mod for mod in gm.modules() if isinstance(mod, torch.nn.Linear)]
    assert torch.allclose(gm(x), x * torch.sigmoid(lin[0](x)) * lin[1](x))
    assert analyze(arch).paths == 1  # the last branch; `in` and the sigmoid gate it
    mermaid = to_mermaid(arch)
    assert "×" in mermaid


def test_parallel_mul_branch_shapes_must_be_equal() -> None:
    err = _error("""network n() { input x[8]
        x -> parallel(merge=mul) { linear(8); linear(4) } }""")
    assert err.code == "RG230" and "the branches give [8], [4]" in str(err)
    assert err.span.line == 2 and len(err.notes) == 2


# ---------------------------------------------------------------- issue 13: auto through parameters


def test_auto_reaches_a_computed_default_directly_and_through_parameters() -> None:
    src = """block b(pad=auto) { conv(8, 3, pad=pad) }
    block v(valid=false) { conv(8, 5, pad=0 if valid else auto) }
    network n() { input x[3, 12, 12]
        x -> conv(4, 5, pad=auto) -> b -> b(pad=0) -> v -> v(valid=true)
          -> maxpool(2, stride=auto) }"""
    g = resgraph.loads(src).graph
    assert [(g.nodes[n]["args"].get("pad"), g.nodes[n]["shape"]) for n in g][1:] == [
        (2, (4, 12, 12)), (1, (8, 12, 12)), (0, (8, 10, 10)), (2, (8, 10, 10)),
        (0, (8, 6, 6)), (0, (8, 3, 3))]
    assert g.nodes[6]["args"]["stride"] == 2


def test_auto_where_there_is_no_computed_default_is_located() -> None:
    err = _error("""block b(p=auto) { maxpool(2, pad=p) }
    network n() { input x[3, 8, 8]
        x -> b }""")
    assert err.code == "RG303" and "'pad' has no automatic value" in str(err)
    assert (err.span.line, err.span.column) == (1, 30)


# ---------------------------------------------------------------- issue 13: output names


@pytest.mark.parametrize(("last", "name"), [
    ("classifier: (0: dropout(0.2) -> 1: linear(10))", "classifier_1"),
    ("0: linear(10)", "output_0"), ('"fc-{1}": linear(10)', "fc_1"),
    ("fc: linear(10)", "fc"), ("linear(10)", "output"),
    ("classifier: (dropout(0.2) -> linear(10))", "output"),
])
def test_output_names_are_python_names(last: str, name: str) -> None:
    arch = resgraph.loads(f"""network n() {{ input x[3, 8, 8]
        x -> conv(4) -> gap -> flatten -> {last} }}""")
    assert list(arch.outputs) == [name] and name.isidentifier()
    assert list(analyze(arch).outputs) == [name]


# ---------------------------------------------------------------- issue 13: edge targets

_POST_NORM = """block post(d) {{
    pre: linear(d) -> output: (dense: linear(d) -> relu -> LayerNorm: layernorm)
    residual in -> {target}
}}
network n() {{ input x[4, 8]
    x -> b: post(8) }}"""


@pytest.mark.parametrize("target", ["LayerNorm", "output"])
def test_an_edge_into_the_last_op_of_a_sub_chain_is_told_from_one_into_the_sub_chain(
        target: str) -> None:
    """`LayerNorm` names the op: the merge goes in front of it (BERT's post-norm); `output`
    names the sub-chain, whose output node is that same op: the merge goes at its input."""
    arch = resgraph.loads(_POST_NORM.format(target=target))
    g = arch.graph
    add = next(n for n in g if g.nodes[n]["op"] == "add")
    (reader,) = g.successors(add)
    assert g.nodes[reader]["path"] == ("b.output.LayerNorm" if target == "LayerNorm"
                                       else "b.output.dense")
    assert all(g.nodes[n]["shape"] == (4, 8) for n in g)
    gm = arch.compile().eval()
    sd = gm.state_dict()
    pre = torch.nn.Linear(8, 8)
    dense = torch.nn.Linear(8, 8)
    norm = torch.nn.LayerNorm(8)
    pre.load_state_dict({"weight": sd["b.pre.weight"], "bias": sd["b.pre.bias"]})
    dense.load_state_dict({"weight": sd["b.output.dense.weight"],
                           "bias": sd["b.output.dense.bias"]})
    norm.load_state_dict({"weight": sd["b.output.LayerNorm.weight"],
                          "bias": sd["b.output.LayerNorm.bias"]})
    x = torch.randn(3, 4, 8)
    with torch.no_grad():
        if target == "LayerNorm":
            want = norm(torch.relu(dense(pre(x))) + x)
        else:
            want = norm(torch.relu(dense(pre(x) + x)))
        assert torch.allclose(gm(x), want, atol=1e-6)


def test_edges_into_an_op_and_into_the_sub_chain_it_ends_are_two_merges() -> None:
    src = _POST_NORM.format(target="LayerNorm\n    skip(merge=add) in -> output")
    arch = resgraph.loads(src)
    g = arch.graph
    adds = [n for n in g if g.nodes[n]["op"] == "add"]
    assert sorted(g.nodes[next(iter(g.successors(a)))]["path"] for a in adds) == [
        "b.output.LayerNorm", "b.output.dense"]
    assert arch.compile()(torch.randn(2, 4, 8)).shape == (2, 4, 8)


def test_nested_sub_chains_ending_at_one_op_each_merge_at_their_own_input() -> None:
    src = """network n() { input x[8]
        x -> a: linear(8) -> outer: (b: linear(8) -> inner: (c: linear(8) -> d: relu))
        residual a -> inner }"""
    g = resgraph.loads(src).graph
    add = next(n for n in g if g.nodes[n]["op"] == "add")
    assert [g.nodes[n]["path"] for n in g.successors(add)] == ["outer.inner.c"]


# ---------------------------------------------------------------- issue 13: `self` one level down


def test_self_is_a_label_one_level_down() -> None:
    src = """block att(d) { self: linear(d) -> output: (dense: linear(d) -> relu) }
    block asg(d) { self = in -> linear(d) }
    block sub(d) { self: (linear(d) -> relu) }
    network n() { input x[4, 8]
        x -> attention: att(8) -> b: (self: linear(8) -> relu) -> att(8)
          -> c: sub(8) -> d: asg(8) }"""
    arch = resgraph.loads(src)
    gm = arch.compile()
    keys = [k for k in gm.state_dict() if k.endswith("weight")]
    assert keys == ["attention.self.weight", "attention.output.dense.weight", "b.self.weight",
                    "att_0.self.weight", "att_0.output.dense.weight", "c.self.0.weight",
                    "d.self.weight"]
    assert gm(torch.randn(2, 4, 8)).shape == (2, 4, 8)


@pytest.mark.parametrize("chain", ["self: linear(8)", "self: att(8)",
                                   "self: (linear(8) -> relu)", "self: relu * 2"])
def test_self_at_the_top_level_is_refused_with_the_rule(chain: str) -> None:
    err = _error(f"""block att(d) {{ linear(d) }}
    network n() {{ input x[8]
        x -> {chain} }}""")
    assert err.code == "RG220" and (err.span.line, err.span.column) == (3, 14)
    assert "a label one level down may be 'self'" in str(err)
    err = _error("""network n() { input x[8]
        self = x -> linear(8) }""")
    assert err.code == "RG220"


@pytest.mark.parametrize("body", ["conv(8, 1) -> sigmoid",
                                  "conv(8, 3) -> relu -> conv(8, 1) -> sigmoid"])
def test_parallel_mul_gates_its_last_branch_as_a_gate_group_does(body: str) -> None:
    """The last branch of parallel(merge=mul) is the signal, the earlier ones gate it:
    gate { F } and parallel(merge=mul) { F; in } count the same paths and depths."""
    gate = resgraph.loads(f"""network n() {{ input x[8, 6, 6]
        x -> conv(8, 3) -> gate {{ {body} }} -> conv(4, 3) }}""")
    mul = resgraph.loads(f"""block b() {{ parallel(merge=mul) {{ {body}
        in }} }}
    network n() {{ input x[8, 6, 6]
        x -> conv(8, 3) -> b -> conv(4, 3) }}""")
    a, b = analyze(gate), analyze(mul)
    assert (a.paths, a.depth, a.min_depth) == (b.paths, b.depth, b.min_depth) == (1, 2, 2)
    assert a.path_lengths == b.path_lengths
    x = torch.randn(2, 8, 6, 6)
    gm, mm = gate.compile().eval(), mul.compile().eval()
    mm.load_state_dict(dict(zip(mm.state_dict(), gm.state_dict().values())))
    assert torch.allclose(gm(x), mm(x), atol=1e-6)


def test_parallel_mul_draws_its_gate_branches_as_control_paths() -> None:
    arch = resgraph.loads(_SWIGLU.replace(
        "up_proj: linear(ffn, bias=false) }",
        "up_proj: linear(ffn, bias=false)\n    linear(ffn) -> sigmoid }"))
    g = arch.graph
    kinds = {(g.nodes[u]["path"], g.nodes[v]["path"]): k
             for u, v, k in g.edges(data="kind")}
    assert kinds[("x", "mlp.gate_proj")] == kinds[("x", "mlp.up_proj")] == "control"
    assert kinds[("x", "mlp.linear_0")] == "seq"
    assert kinds[("mlp.mul_0", "mlp.mul_1")] == kinds[("mlp.silu_0", "mlp.mul_0")] \
        == kinds[("mlp.up_proj", "mlp.mul_0")] == "control"
    assert kinds[("mlp.sigmoid_0", "mlp.mul_1")] == "parallel"
    rep = analyze(arch)
    assert (rep.paths, rep.depth) == (1, 2)
    assert 'style="dotted"' in to_dot(arch) or "dotted" in to_dot(arch)
