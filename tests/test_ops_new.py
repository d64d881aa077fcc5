"""The ops of the CNN zoo (issue 12): PyTorch is the oracle for every one of them.

For each op a small network is compiled, and its output must equal the plain torch
computation on the same input (``nn.MaxPool2d(ceil_mode=True)``, ``nn.AdaptiveAvgPool2d``,
``x.permute``, a hand-written channel shuffle ...), with the shape the elaboration inferred.
Misuse gives a located error with a fix; none of these ops counts MACs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import resgraph
from resgraph.lower.package import write_package
from resgraph.ops import OPS, _window_out
from tests.loading import load_module

NEW_OPS = ("relu6", "hardswish", "hardsigmoid", "adaptiveavgpool", "permute", "reshape",
           "flatten", "slice", "shuffle", "layernorm", "scale", "maxpool", "avgpool")


def run(text: str, *shape: int, seed: int = 0) -> tuple[resgraph.Architecture, torch.fx.GraphModule,
                                                         torch.Tensor, torch.Tensor]:
    """Compile ``text`` (one input ``x`` of ``shape``), run it on a random batch of 2 and
    check the output's shape against the inferred one; returns (arch, module, x, y)."""
    arch = resgraph.loads(text)
    torch.manual_seed(seed)
    gm = arch.compile()
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(seed))
    y = gm(x)
    assert tuple(y.shape[1:]) == next(iter(arch.outputs.values()))
    return arch, gm, x, y


def net(body: str, shape: str) -> str:
    return f"network n() {{\n    input x[{shape}]\n    x -> {body}\n}}\n"


def same(a: torch.Tensor, b: torch.Tensor, tol: float = 0.0) -> bool:
    return a.shape == b.shape and bool((a - b).abs().max() <= tol)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize(("op", "ref"), [("relu6", nn.ReLU6()), ("hardswish", nn.Hardswish()),
                                         ("hardsigmoid", nn.Hardsigmoid())])
def test_activations(op: str, ref: nn.Module) -> None:
    _, _, x, y = run(net(op, "4, 5, 5"), 4, 5, 5)
    assert same(y, ref(x))
    # after a conv (relu6 works in place there) with a gradient through it
    arch, gm, x, y = run(net(f"c: conv(6, 3) -> {op}", "3, 6, 6"), 3, 6, 6)
    conv = gm.get_submodule("c")
    assert same(y, ref(conv(x)))
    y.sum().backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()
    assert OPS[op].label({}, [(6, 6, 6)], (6, 6, 6)) == op


def test_relu6_in_place_gives_the_same_gradient() -> None:
    arch = resgraph.loads(net("c: conv(4, 3) -> relu6 -> gap -> flatten", "2, 5, 5"))
    torch.manual_seed(0)
    gm = arch.compile()
    assert "inplace = True" in gm.code
    x = torch.randn(3, 2, 5, 5) * 3
    gm(x).sum().backward()
    conv = gm.get_submodule("c")
    ours = conv.weight.grad.clone()
    conv.weight.grad = None
    nn.functional.adaptive_avg_pool2d(nn.ReLU6()(conv(x)), 1).sum().backward()
    assert torch.allclose(ours, conv.weight.grad)


# ---------------------------------------------------------------- pooling


def test_ceil_output_size_is_pytorchs() -> None:
    """Every kernel, stride, padding and size up to 20, against PyTorch's own shapes."""
    for size in range(1, 21):
        for k in range(1, 5):
            for s in range(1, 4):
                for p in range(0, k // 2 + 1):
                    if size + 2 * p < k:
                        continue
                    for ceil in (False, True):
                        got = nn.MaxPool1d(k, s, p, ceil_mode=ceil)(torch.zeros(1, 1, size))
                        assert _window_out(size, k, s, p, 1, ceil) == got.shape[-1], \
                            (size, k, s, p, ceil)


@pytest.mark.parametrize("size", [13, 14, 27, 28, 55, 112])
def test_maxpool_ceil_on_odd_and_even_sizes(size: int) -> None:
    arch, _, x, y = run(net("maxpool(3, stride=2, ceil=true)", f"3, {size}, {size}"),
                        3, size, size)
    assert same(y, nn.MaxPool2d(3, 2, ceil_mode=True)(x))
    _, _, x, y = run(net("maxpool(2, ceil=true)", f"3, {size}, {size}"), 3, size, size)
    assert same(y, nn.MaxPool2d(2, ceil_mode=True)(x))


def test_googlenet_pools_give_56_28_14_7() -> None:
    text = net("conv(8, 7, stride=2) -> a: maxpool(3, stride=2, ceil=true) -> "
               "b: maxpool(3, stride=2, ceil=true) -> c: maxpool(3, stride=2, ceil=true) -> "
               "d: maxpool(2, stride=2, ceil=true)", "3, 224, 224")
    arch = resgraph.loads(text)
    shapes = {d["path"]: d["shape"] for _, d in arch.graph.nodes(data=True)}
    assert [shapes[p][1] for p in "abcd"] == [56, 28, 14, 7]


@pytest.mark.parametrize(("k", "s", "p", "size"), [(3, 2, 1, 13), (3, 2, 1, 14), (2, 2, 1, 5),
                                                   (3, 1, 1, 7), (5, 3, 2, 11)])
def test_avgpool_ceil_counts_padding_like_pytorch(k: int, s: int, p: int, size: int) -> None:
    text = net(f"avgpool({k}, stride={s}, pad={p}, ceil=true)", f"2, {size}, {size}")
    _, _, x, y = run(text, 2, size, size)
    assert same(y, nn.AvgPool2d(k, s, p, ceil_mode=True)(x), 1e-6)
    _, _, x, y = run(net(f"maxpool({k}, stride={s}, pad={p}, ceil=true)", f"2, {size}"), 2, size)
    assert same(y, nn.MaxPool1d(k, s, p, ceil_mode=True)(x))


def test_pool_label_shows_ceil() -> None:
    assert OPS["maxpool"].label({"k": 3, "stride": 2, "pad": 0, "ceil": True}, [(3, 9, 9)],
                                (3, 4, 4)) == "maxpool 3×3, /2, ceil"


@pytest.mark.parametrize(("size", "shape"), [(7, "8, 13, 13"), (7, "8, 14, 14"), (6, "4, 13, 13"),
                                             ("[3, 5]", "4, 9, 11"), (4, "3, 10"),
                                             (2, "3, 5, 6, 7"), (9, "3, 4, 4")])
def test_adaptiveavgpool(size: Any, shape: str) -> None:
    dims = [int(v) for v in shape.split(", ")]
    _, _, x, y = run(net(f"adaptiveavgpool({size})", shape), *dims)
    target = tuple(size) if isinstance(size, list) else size
    if isinstance(size, str):
        target = tuple(int(v) for v in size.strip("[]").split(", "))
    cls = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[len(dims) - 2]
    assert same(y, cls(target)(x), 1e-6)


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize(("dims", "shape"), [("[1, 2, 0]", "4, 5, 6"), ("[2, 0, 1]", "4, 5, 6"),
                                             ("[0, 1, 2]", "4, 5, 6"), ("[1, 0]", "3, 7"),
                                             ("[0, 2, 3, 1]", "2, 3, 4, 5")])
def test_permute(dims: str, shape: str) -> None:
    d = [int(v) for v in dims.strip("[]").split(", ")]
    _, _, x, y = run(net(f"permute({dims})", shape), *map(int, shape.split(", ")))
    assert same(y, x.permute(0, *(i + 1 for i in d)))


def test_convnext_channels_last_round_trip() -> None:
    text = net("permute([1, 2, 0]) -> layernorm -> l: linear(16) -> gelu -> linear(8) "
               "-> permute([2, 0, 1])", "8, 5, 5")
    arch, gm, x, y = run(text, 8, 5, 5)
    assert arch.outputs["output"] == (8, 5, 5)


@pytest.mark.parametrize(("target", "shape"), [("[-1]", "4, 3, 2"), ("[6, -1]", "4, 3, 2"),
                                               ("[2, 2, 6]", "4, 3, 2"), ("[-1, 4]", "8")])
def test_reshape(target: str, shape: str) -> None:
    want = [int(v) for v in target.strip("[]").split(", ")]
    _, _, x, y = run(net(f"reshape({target})", shape), *map(int, shape.split(", ")))
    assert same(y, x.reshape(2, *want))


@pytest.mark.parametrize(("args", "torch_args"), [("", (1,)), ("1", (2,)), ("0, 1", (1, 2)),
                                                  ("1, 2", (2, 3)), ("start=-2", (2,)),
                                                  ("end=-2", (1, 2)), ("2, 2", (3, 3))])
def test_flatten_range(args: str, torch_args: tuple[int, ...]) -> None:
    body = f"flatten({args})" if args else "flatten"
    _, _, x, y = run(net(body, "3, 4, 5"), 3, 4, 5)
    assert same(y, torch.flatten(x, *torch_args))


@pytest.mark.parametrize(("args", "index"), [
    ("0, 2", (slice(None), slice(0, 2))), ("2, 6", (slice(None), slice(2, 6))),
    ("-3, 6", (slice(None), slice(3, 6))), ("0, -1", (slice(None), slice(0, 5))),
    ("1, 3, dim=1", (slice(None), slice(None), slice(1, 3))),
    ("2, 4, dim=-1", (slice(None), slice(None), slice(None), slice(2, 4))),
])
def test_slice(args: str, index: tuple[slice, ...]) -> None:
    _, _, x, y = run(net(f"slice({args})", "6, 4, 5"), 6, 4, 5)
    assert same(y, x[index])


def test_shufflenet_split_and_shuffle() -> None:
    """ShuffleNetV2's stride-1 unit: split the channels, transform one half, concatenate,
    shuffle with 2 groups, against the channel shuffle written by hand."""
    text = """
network unit() {
    input x[8, 5, 5]
    a = x -> slice(0, 4)
    b = x -> slice(4, 8) -> c: conv(4, 1) -> relu
    y = a -> identity
    skip b -> y
    y -> shuffle(2)
}
"""
    arch = resgraph.loads(text)
    gm = arch.compile()
    x = torch.randn(2, 8, 5, 5)
    conv = gm.get_submodule("c")
    cat = torch.cat([x[:, :4], torch.relu(conv(x[:, 4:]))], 1)
    n, c, h, w = cat.shape
    shuffled = cat.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
    assert same(gm(x), shuffled, 1e-6)


@pytest.mark.parametrize(("groups", "shape"), [(2, "8, 3, 3"), (3, "12, 4"), (4, "8, 2, 2, 2"),
                                               (1, "5, 3, 3")])
def test_shuffle(groups: int, shape: str) -> None:
    dims = [int(v) for v in shape.split(", ")]
    _, _, x, y = run(net(f"shuffle({groups})", shape), *dims)
    n, c = x.shape[:2]
    assert same(y, x.reshape(n, groups, c // groups, *dims[1:]).transpose(1, 2)
                .reshape(x.shape))


# ---------------------------------------------------------------- layernorm over channels


def test_layernorm_over_channels() -> None:
    arch, gm, x, y = run(net("ln: layernorm(eps=1e-6, dim=0)", "6, 4, 5"), 6, 4, 5)
    ln = gm.get_submodule("ln")
    assert isinstance(ln, nn.LayerNorm) and ln.normalized_shape == (6,) and ln.eps == 1e-6
    assert [(k, tuple(v.shape)) for k, v in gm.state_dict().items()] == \
        [("ln.weight", (6,)), ("ln.bias", (6,))]
    with torch.no_grad():
        ln.weight.copy_(torch.randn(6))
        ln.bias.copy_(torch.randn(6))
    ref = nn.LayerNorm(6, eps=1e-6)
    ref.load_state_dict({"weight": ln.weight, "bias": ln.bias})
    want = ref(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert same(gm(x), want, 1e-5)
    assert arch.num_params == 12
    # the default is unchanged: the last dim
    arch, gm, x, y = run(net("ln: layernorm", "6, 4, 5"), 6, 4, 5)
    assert gm.get_submodule("ln").normalized_shape == (5,) and arch.num_params == 10


# ---------------------------------------------------------------- scale (a bare parameter)


CONVNEXT_BLOCK = """
block cnblock(c) {
    residual {
        block: (conv(c, 7, groups=c) -> permute([1, 2, 0]) -> layernorm(eps=1e-6)
                -> linear(4 * c) -> gelu -> linear(c) -> permute([2, 0, 1]))
        -> layer_scale: scale(1e-6)
    }
}
network convnext_stage() {
    input x[8, 6, 6]
    x -> features: (stem: conv(8, 1) -> b: cnblock(8) * 2)
}
"""


def test_scale_is_a_bare_parameter_at_the_nodes_path() -> None:
    arch = resgraph.loads(CONVNEXT_BLOCK)
    scales = [d for _, d in arch.graph.nodes(data=True) if d["op"] == "scale"]
    assert len(scales) == 2 and all(d["path"].endswith(".layer_scale") for d in scales)
    torch.manual_seed(0)
    gm = arch.compile()
    state = gm.state_dict()
    for d in scales:
        key = d["path"]
        assert key in state and state[key].shape == (8, 1, 1)  # not key + ".weight"
        assert torch.equal(state[key], torch.full((8, 1, 1), 1e-6))
        assert d["params"] == 8 and d["macs"] == 0
    assert not [k for k in state if "layer_scale." in k]
    assert sum(p.numel() for p in gm.parameters()) == arch.num_params
    x = torch.randn(2, 8, 6, 6)
    y = gm(x)
    assert tuple(y.shape[1:]) == arch.outputs["output"]
    y.square().sum().backward()
    for d in scales:
        grad = gm.get_parameter(d["path"]).grad
        assert grad is not None and grad.shape == (8, 1, 1) and grad.abs().sum() > 0


def test_scale_multiplies_like_convnext() -> None:
    text = net("c: conv(4, 1) -> layer_scale: scale(0.5)", "4, 3, 3")
    arch, gm, x, y = run(text, 4, 3, 3)
    w = torch.randn(4, 1, 1)
    with torch.no_grad():
        gm.get_parameter("layer_scale").copy_(w)
    assert same(gm(x), w * gm.get_submodule("c")(x))
    # along the last dim of a channels-last map, and on a vector
    arch, gm, x, y = run(net("s: scale(2.0, dim=-1)", "3, 4, 5"), 3, 4, 5)
    assert gm.get_parameter("s").shape == (1, 1, 5) and same(y, 2 * x)
    arch, gm, x, y = run(net("s: scale", "7"), 7)
    assert gm.get_parameter("s").shape == (7,) and same(y, x) and arch.num_params == 7


def test_scale_package_loads_strictly(tmp_path: Path) -> None:
    arch = resgraph.loads(CONVNEXT_BLOCK)
    gm = arch.compile()
    with torch.no_grad():
        for p in gm.parameters():
            p.copy_(torch.randn_like(p))
    folder = write_package(gm, tmp_path / "pkg", "convnext_stage")
    mod = load_module("pkg_convnext_stage", folder / "module.py")
    model = mod.convnext_stage()  # loads model.safetensors with strict=True
    assert list(model.state_dict()) == list(gm.state_dict())
    x = torch.randn(2, 8, 6, 6)
    assert same(model(x), gm(x), 1e-6)


def test_scale_on_meta_device() -> None:
    gm = resgraph.loads(CONVNEXT_BLOCK).compile(device="meta")
    assert gm.get_parameter("features.b.0.layer_scale").is_meta


# ---------------------------------------------------------------- counts and labels


def test_new_ops_count_no_macs_and_have_labels(tmp_path: Path) -> None:
    text = net("conv(8, 3) -> maxpool(3, stride=2, ceil=true) -> avgpool(2, ceil=true) "
               "-> adaptiveavgpool(3) -> shuffle(2) -> slice(0, 6) -> layernorm(dim=0) "
               "-> scale(0.1) -> relu6 -> hardswish -> hardsigmoid -> permute([1, 2, 0]) "
               "-> reshape([9, 6]) -> flatten(0, 1)", "3, 13, 13")
    arch = resgraph.loads(text)
    ops = {}
    for _, d in arch.graph.nodes(data=True):
        ops[d["op"]] = d
        if d["op"] != "conv":
            assert d["macs"] == 0, d["op"]
    assert set(NEW_OPS) <= set(ops)
    assert ops["layernorm"]["params"] == 12 and ops["scale"]["params"] == 6
    assert sum(d["macs"] for d in ops.values()) == ops["conv"]["macs"]
    labels = {op: OPS[op].label(d["args"], [arch.graph.nodes[p]["shape"]
                                            for p in arch.graph.predecessors(n)], d["shape"])
              for n, d in arch.graph.nodes(data=True) if (op := d["op"]) in NEW_OPS}
    assert labels["adaptiveavgpool"] == "adaptive avgpool → 3×3"
    assert labels["shuffle"] == "channel shuffle, 2 groups"
    assert labels["slice"] == "slice 0:6"
    assert labels["permute"] == "permute [1, 2, 0]"
    assert labels["flatten"] == "flatten 0..1"
    assert labels["layernorm"] == "layernorm, dim 0"
    assert all(OPS[op].meaning for op in NEW_OPS)
    gm = arch.compile()
    assert sum(p.numel() for p in gm.parameters()) == arch.num_params
    y = gm(torch.randn(2, 3, 13, 13))
    assert tuple(y.shape[1:]) == arch.outputs["output"] == (54,)
    arch.render(str(tmp_path / "n.dot"))  # the diagram takes every label
    assert "channel shuffle" in (tmp_path / "n.dot").read_text(encoding="utf-8")


# ---------------------------------------------------------------- errors


ERRORS = [
    ("slice(2, 9)", "6, 4", "RG421", "slice(2, 9) is out of range for channels of size 6"),
    ("slice(3, 3)", "6, 4", "RG421", "0 <= start < stop <= 6"),
    ("slice(0, 2, dim=3)", "6, 4", "RG420", "dim=3 is out of range"),
    ("permute([0, 0, 1])", "6, 4, 4", "RG422", "is not a permutation of the 3 dims"),
    ("permute([1, 0])", "6, 4, 4", "RG422", "e.g. permute([1, 2, 0])"),
    ("permute([-1, 0, 1])", "6, 4, 4", "RG303", "'dims' must be at least 0"),
    ("reshape([5, -1])", "6, 4", "RG423", "24 is not a multiple of 5"),
    ("reshape([5, 5])", "6, 4", "RG423", "[5, 5] holds 25 elements"),
    ("reshape([-1, -1])", "6, 4", "RG423", "-1 once"),
    ("reshape([0, 24])", "6, 4", "RG423", "must be positive"),
    ("reshape([-2, 12])", "6, 4", "RG303", "at least -1"),
    ("shuffle(4)", "6, 4, 4", "RG424", "use a divisor of 6 such as 3"),
    ("shuffle(2)", "6", "RG402", "shuffle needs channels and at least one more dim"),
    ("shuffle(0)", "6, 4", "RG303", "'groups' must be at least 1"),
    ("flatten(2, 1)", "6, 4, 4", "RG425", "start must not come after end"),
    ("flatten(0, 5)", "6, 4, 4", "RG420", "end=5 is out of range"),
    ("layernorm(dim=3)", "6, 4, 4", "RG420", "layernorm: dim=3 is out of range"),
    ("scale(dim=-4)", "6, 4, 4", "RG420", "scale: dim=-4 is out of range"),
    ("adaptiveavgpool(0)", "6, 4, 4", "RG303", "'size' must be at least 1"),
    ("adaptiveavgpool([2, 2, 2])", "6, 4, 4", "RG303", "'size' has 3 values"),
    ("adaptiveavgpool(2)", "6", "RG402", "adaptiveavgpool needs an input"),
    ("maxpool(3, ceil=1)", "6, 4, 4", "RG303", "'ceil' must be true or false"),
]


@pytest.mark.parametrize(("body", "shape", "code", "text"), ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_misuse_is_a_located_error(body: str, shape: str, code: str, text: str) -> None:
    with pytest.raises(resgraph.ResgraphError) as err:
        resgraph.loads(net(body, shape), file="example.rg")
    assert err.value.code == code and text in err.value.message, err.value.message
    # at the call (x -> is 10 columns in), or at the argument for a value out of its range
    assert err.value.line == 3 and err.value.column >= 10
