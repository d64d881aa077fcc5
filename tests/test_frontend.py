"""The front end on the shipped examples and the language reference's samples.

Parameter counts are asserted against published figures (the papers and torchvision);
tests/test_reference_counts.py checks the same figures against plain PyTorch modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import resgraph
from resgraph.ir import lint
from resgraph.program import load_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LANGUAGE = Path(__file__).parent / "fixtures" / "language"

# file, --set overrides, published params, output shape
PUBLISHED = [
    ("resnet18.rg", {}, 11_689_512, (1000,)),
    ("resnet34.rg", {}, 21_797_672, (1000,)),
    ("resnet50.rg", {}, 25_557_032, (1000,)),
    ("resnet101.rg", {}, 44_549_160, (1000,)),
    ("resnet152.rg", {}, 60_192_808, (1000,)),
    ("densenet.rg", {"network": "densenet121"}, 7_978_856, (1000,)),
    ("densenet.rg", {"network": "densenet169"}, 14_149_480, (1000,)),
    ("densenet.rg", {"network": "densenet201"}, 20_013_928, (1000,)),
    ("cifar_resnet.rg", {"n": 3}, 269_722, (10,)),
    ("cifar_resnet.rg", {"n": 9}, 853_018, (10,)),
    ("cifar_resnet.rg", {"n": 18}, 1_727_962, (10,)),
    ("cifar_resnet.rg", {"n": 200}, 19_421_274, (10,)),
    ("preact_resnet.rg", {"n": 18}, 1_703_258, (10,)),
    ("preact_resnet.rg", {"n": 111}, 10_327_706, (10,)),
    ("densenet_bc.rg", {"L": 100, "k": 12}, 769_162, (10,)),
    # GPT-2 small, its head tied to the token embedding (counted once).
    ("gpt2.rg", {}, 124_439_808, (1024, 50257)),
]


@pytest.mark.parametrize(("file", "sets", "params", "out"), PUBLISHED,
                         ids=[f"{f}{s or ''}" for f, s, _, _ in PUBLISHED])
def test_published_parameter_counts(file: str, sets: dict, params: int, out: tuple) -> None:
    arch = resgraph.load(str(EXAMPLES / file), **sets)
    assert arch.num_params == params
    assert list(arch.outputs.values()) == [out]
    assert lint(arch.graph) == []


def network_files() -> list[tuple[Path, str]]:
    """Each network of each example file."""
    return [(p, n) for p in sorted(EXAMPLES.glob("*.rg")) if "network" in p.read_text()
            for n in load_program(p.read_text(), str(p), resgraph.Limits()).networks]


@pytest.mark.parametrize(("path", "network"), network_files(),
                         ids=[f"{p.name}:{n}" for p, n in network_files()])
def test_every_example_elaborates_and_lints(path: Path, network: str) -> None:
    arch = resgraph.load(str(path), network=network)
    assert lint(arch.graph) == []
    assert path.read_text().startswith("#"), "each example starts with a comment naming its paper"


def test_resnet_module_paths_follow_torchvision() -> None:
    arch = resgraph.load(str(EXAMPLES / "resnet50.rg"))
    paths = {d["path"] for _, d in arch.graph.nodes(data=True) if d["params"]}
    for key in ("conv1", "bn1", "layer1.0.conv1", "layer1.0.downsample.0",
                "layer1.0.downsample.1", "layer4.2.bn3", "fc"):
        assert key in paths
    assert not any("downsample" in p for p in paths if p.startswith("layer1.1"))
    assert len(paths) == 107  # torchvision ResNet-50: 53 convs, 53 bns and fc


def test_small_shapes_and_custom_classes() -> None:
    arch = resgraph.load(str(EXAMPLES / "resnet18.rg"), classes=10, size=64)
    assert arch.inputs == {"x": (3, 64, 64)}
    assert arch.outputs == {"fc": (10,)}
    conv = next(d for _, d in arch.graph.nodes(data=True) if d["path"] == "layer4.0.conv2")
    assert conv["shape"] == (512, 2, 2)


@pytest.mark.parametrize("name", ["first_look", "explicit_forms", "shape_query", "tokens"])
def test_language_reference_samples_elaborate(name: str) -> None:
    path = LANGUAGE / f"{name}.rg"
    prog_networks = [line.split()[1].split("(")[0] for line in path.read_text().splitlines()
                     if line.startswith("network ")]
    for net in prog_networks:
        arch = resgraph.load(str(path), network=net)
        assert lint(arch.graph) == []


def test_first_look_is_resnet18() -> None:
    assert resgraph.load(str(LANGUAGE / "first_look.rg")).num_params == 11_689_512


def test_explicit_residual_equals_group_form() -> None:
    """`residual in -> out` inserts the add in front of `out`, like the group form."""
    arch = resgraph.load(str(LANGUAGE / "explicit_forms.rg"), network="explicit_resnet")
    g = arch.graph
    adds = [n for n in g if g.nodes[n]["op"] == "add"]
    assert len(adds) == 2
    for a in adds:
        (succ,) = g.successors(a)
        assert g.nodes[succ]["op"] == "relu"
    # basic_explicit(32, stride=2) projects 16 -> 32 channels with a strided 1x1 conv + bn
    proj = next(d for _, d in g.nodes(data=True) if d["path"].endswith("downsample.0"))
    assert (proj["args"]["stride"], proj["params"]) == (2, 16 * 32)


def test_skip_concat_widens_the_target() -> None:
    arch = resgraph.load(str(LANGUAGE / "explicit_forms.rg"), network="unet", base=16)
    g = arch.graph
    d2 = next(d for _, d in g.nodes(data=True) if d["label"] == "d2")
    assert d2["params"] == (64 + 32) * 32 * 9 + 32  # concat(upsampled b, e2) -> 32 channels
    kinds = [d["kind"] for _, _, d in g.edges(data=True)]
    assert kinds.count("skip") == 2


def test_shape_query_and_dense_group() -> None:
    arch = resgraph.load(str(LANGUAGE / "shape_query.rg"), k=12)
    g = arch.graph
    convs = [d for _, d in g.nodes(data=True) if d["op"] == "conv"]
    # stem 24 channels, 4 dense layers of 12 -> 72 channels, transition to int(72 * 0.5)
    assert [c["shape"][0] for c in convs] == [24, 12, 12, 12, 12, 36]
    concat_inputs = sorted(g.in_degree(n) for n in g if g.nodes[n]["op"] == "concat")
    assert concat_inputs == [2, 3, 4, 5]


def test_highway_gate_and_control_edges() -> None:
    arch = resgraph.load(str(LANGUAGE / "tokens.rg"), network="two_outputs")
    g = arch.graph
    gate = next(d for _, d in g.nodes(data=True) if d["op"] == "gate")
    assert gate["args"]["gate_bias"] == -1.0
    assert gate["params"] == 8 * 8 + 8
    assert sorted(d["kind"] for _, _, d in g.edges(data=True)).count("control") == 2
    assert arch.outputs == {"highway_in": (8, 16, 16), "b": (4,)}


def test_long_tokens_and_attention() -> None:
    arch = resgraph.load(str(LANGUAGE / "tokens.rg"), network="seq", ctx=16)
    att = next(d for _, d in arch.graph.nodes(data=True) if d["op"] == "attention")
    assert att["params"] == 4 * 64 * 64 + 4 * 64
    assert att["macs"] == 4 * 16 * 64 * 64 + 2 * 16 * 16 * 64
    assert arch.outputs == {"output": (16, 1000)}


def test_labelled_subchain_numbers_members() -> None:
    arch = resgraph.loads("""
        network n() {
            input x[4]
            x -> head: (linear(8) -> relu -> linear(2)) -> tail: linear(3) * 2
        }""")
    paths = [d["path"] for _, d in arch.graph.nodes(data=True)]
    assert paths == ["x", "head.0", "head.1", "head.2", "tail.0", "tail.1"]


def test_bias_auto_and_option_a() -> None:
    arch = resgraph.load(str(EXAMPLES / "cifar_resnet.rg"), n=3)
    g = arch.graph
    assert all(not d["args"]["bias"] for _, d in g.nodes(data=True) if d["op"] == "conv")
    assert next(d for _, d in g.nodes(data=True) if d["op"] == "linear")["args"]["bias"]
    pads = [d for _, d in g.nodes(data=True) if d["op"] == "pad"]
    assert [(p["args"]["stride"], p["shape"]) for p in pads] == [(2, (32, 16, 16)),
                                                               (2, (64, 8, 8))]


def test_repeat_zero_is_identity() -> None:
    arch = resgraph.loads("network n(d=0) { input x[4]\n x -> linear(4) * d -> relu }")
    assert [d["op"] for _, d in arch.graph.nodes(data=True)] == ["input", "relu"]


def test_use_is_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.rg").write_text("let w = 6\nblock b() { linear(w) }\n")
    (tmp_path / "net.rg").write_text('use "lib/blocks.rg"\nnetwork n() { input x[3]\n x -> b }\n')
    assert resgraph.load(str(tmp_path / "net.rg")).outputs == {"output": (6,)}


@pytest.mark.parametrize("code", [
    "import resgraph, sys; resgraph.load('examples/resnet50.rg'); "
    "assert 'torch' not in sys.modules, 'load imported torch'",
    "import sys, runpy; sys.argv = ['resgraph', 'check', 'examples/resnet50.rg'];\n"
    "try:\n    runpy.run_module('resgraph', run_name='__main__')\n"
    "except SystemExit as e:\n    assert e.code == 0\n"
    "assert 'torch' not in sys.modules, 'check imported torch'",
])
def test_check_and_load_do_not_import_torch(code: str) -> None:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
