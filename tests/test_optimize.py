"""The inference build (``arch.compile(optimize="inference")``, resgraph/lower/optimize.py) and
the plain build's in-place residual adds (issue 14, items 4 and 5).

- The inference build of ResNet-50, MobileNetV3-Large (depthwise convs, squeeze-excite,
  hardswish) and DenseNet-121 (batch norms after concats, which stay) gives the plain
  build's outputs within 1e-4 in eval mode, with random batch-norm statistics; it stays a
  GraphModule in eval mode, its convs are channels_last and no conv→bn pair is left.
- The plain build writes ``out += identity`` where the first operand is dead afterwards,
  and never where it is read again or is not fresh; gradients through it equal those of
  the out-of-place form.
"""

from __future__ import annotations

import copy
import operator
from pathlib import Path

import pytest
import torch
from torch import fx, nn

import resgraph
import resgraph.cli
from resgraph.lower.optimize import optimize_inference
from tests.loading import load_module
from tests.parity import randomise_bn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


CASES = [
    ("resnet50.rg", None, {"classes": 10}, 64),
    ("mobilenet.rg", "mobilenet_v3_large", {"classes": 10, "size": 64}, 64),
    ("densenet.rg", "densenet121", {"classes": 10, "size": 64}, 64),
]


@pytest.mark.parametrize(("file", "network", "params", "size"), CASES,
                         ids=[c[1] or c[0][:-3] for c in CASES])
def test_inference_build_matches_plain(file: str, network: str | None,
                                       params: dict[str, int], size: int) -> None:
    arch = resgraph.load(str(EXAMPLES / file), network=network, **params)
    torch.manual_seed(0)
    plain = arch.compile()
    randomise_bn(plain)
    plain.eval()
    keys = list(plain.state_dict())
    fast = optimize_inference(copy.deepcopy(plain), arch.inputs)
    assert list(plain.state_dict()) == keys  # the plain build is left alone
    assert isinstance(fast, fx.GraphModule) and not fast.training
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        want, got = plain(x), fast(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (got - want).abs().max()
    convs = [m for m in fast.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last)
                         for m in convs)
    bns_before = sum(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    bns_after = sum(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert bns_after < bns_before
    for node in fast.graph.nodes:  # no conv → bn pair survives
        if node.op == "call_module" and isinstance(fast.get_submodule(node.target),
                                                   nn.BatchNorm2d):
            prev = node.args[0]
            assert not (prev.op == "call_module"
                        and isinstance(fast.get_submodule(prev.target), nn.Conv2d))
    fast.graph.lint()
    assert "x_channels_last = x.contiguous(memory_format = torch.channels_last)" in fast.code


def test_resnet50_inference_build_folds_every_bn() -> None:
    arch = resgraph.load(str(EXAMPLES / "resnet50.rg"))
    gm = arch.compile(device="meta", optimize="inference")
    assert not gm.training
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gm.modules())
    assert "layer1.0.conv1.bias" in gm.state_dict()
    code = gm.layer1[0].code  # the block module's own graph
    assert "layer1_0_bn3" not in code and "layer1_0_conv3 += " in code
    assert gm(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)


def test_optimize_level_is_checked() -> None:
    arch = resgraph.loads("network n() { input x[4]\n x -> fc: linear(2) }")
    with pytest.raises(ValueError, match="optimize='fast'"):
        arch.compile(optimize="fast")
    gm = arch.compile(optimize="inference")  # no conv: nothing to fold, no channels_last
    assert not gm.training and "contiguous" not in gm.code


# ---------------------------------------------------------------- in-place adds, plain build


def test_plain_build_adds_in_place() -> None:
    gm = resgraph.load(str(EXAMPLES / "resnet50.rg")).compile(device="meta", blocks=False)
    assert gm.code.count(" += ") == 16  # one per bottleneck, as torchvision's out += identity
    assert " + " not in gm.code


def test_in_place_add_only_where_first_operand_is_dead() -> None:
    # a relu's output is not fresh (its backward reads it): out of place
    code = resgraph.loads("network n() { input x[4]\n x -> residual { a: linear(4) -> relu }"
                          " -> b: linear(4) }").compile().code
    assert "add_0 = relu_0 + x" in code
    # `a` is read again by the skip: out of place; then b (dead after) takes the skip in place
    code = resgraph.loads("network n() { input x[4]\n x -> residual { a: linear(4) }"
                          " -> b: linear(4) -> c: linear(4)\n skip(merge=add) a -> c }"
                          ).compile().code
    assert "add_0 = a + x" in code and "b += a" in code


def test_in_place_add_gradients() -> None:
    arch = resgraph.load(str(EXAMPLES / "resnet18.rg"), classes=10)
    torch.manual_seed(0)
    gm = arch.compile(blocks=False)  # one flat graph, to rewrite every add below
    assert " += " in gm.code
    ref = copy.deepcopy(gm)
    for node in ref.graph.nodes:  # the same graph with every add out of place
        if node.op == "call_function" and node.target is operator.iadd:
            node.target = operator.add
    ref.recompile()
    x = torch.randn(2, 3, 32, 32)
    for model in (gm, ref):
        model.train()
        model(x).square().sum().backward()
    for (name, p), q in zip(gm.named_parameters(), ref.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        assert torch.allclose(p.grad, q.grad, atol=1e-5, rtol=1e-4), name


def test_inference_package(tmp_path: Path) -> None:
    """`resgraph compile --optimize inference` writes the inference build as a package."""
    import json

    from resgraph.lower.package import write_package

    arch = resgraph.load(str(EXAMPLES / "resnet18.rg"), classes=10)
    torch.manual_seed(0)
    plain = arch.compile()
    randomise_bn(plain)
    gm = optimize_inference(copy.deepcopy(plain).eval(), arch.inputs)
    folder = write_package(gm, tmp_path / "r18", "resnet18")
    mod = load_module("r18_pkg", folder / "module.py")
    model = mod.resnet18().eval()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), plain.eval()(x), atol=1e-4, rtol=1e-4)
    assert resgraph.cli.main(["compile", str(EXAMPLES / "resnet18.rg"), "-o",
                              str(tmp_path / "cli"), "--optimize", "inference"]) == 0
    assert json.loads((tmp_path / "cli" / "resgraph.json").read_text())["optimize"] == \
        "inference"
    assert "BatchNorm2d" not in (tmp_path / "cli" / "module.py").read_text()
