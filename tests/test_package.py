"""The package that ``resgraph compile -o DIR`` writes, read as code a person would keep
(issue 14 item 2; resgraph/lower/codegen.py, resgraph/lower/package.py).

- ResNet-18's ``module.py`` has one class for the five identity basic blocks, one for the
  three downsampling ones and the network class; ``__init__`` assigns submodules, stages
  are ``nn.Sequential`` (``model.layer1[0]``), ``forward`` has no ``x = None`` and no
  ``getattr``; only used imports, no helper class, no ``bias=`` on a batch norm. It imports
  under ``python -I`` with resgraph blocked, gives the compiled module's outputs, and
  builds with ``weights=None`` after its weights file is gone.
- For ResNet-18/50, DenseNet-121, EfficientNet-B0 (squeeze-and-excitation), GPT-2 and
  Swin-T (small configs) the package's model takes the compiled module's state_dict with
  strict=True, in the same key order, and gives equal outputs.
- Helper classes are copied only where used; GPT-2's tied head stays tied.
- The packages run on an older torch where one is given (``RESGRAPH_OLD_TORCH_PYTHON``, an
  interpreter with that torch and safetensors); CI downloads no torch, so there it skips.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import resgraph
from resgraph.cli import main as cli
from resgraph.lower.codegen import block_hparams
from resgraph.lower.package import module_source, package_class_name
from resgraph.lower.torch_ops import PACKAGE_CLASSES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: (file, network, parameters): small configs of the zoo, and the classes each package has.
CASES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "resnet18": ("resnet18.rg", None, {"classes": 10, "size": 64}),
    "resnet50": ("resnet50.rg", None, {"classes": 10, "size": 64}),
    "densenet121": ("densenet.rg", "densenet121", {"classes": 10, "size": 64}),
    "efficientnet_b0": ("efficientnet.rg", "efficientnet_b0", {"classes": 10, "size": 64}),
    "gpt2": ("gpt2.rg", None, {"vocab": 100, "ctx": 16, "d": 32, "layers": 2, "heads": 2}),
    "swin_t": ("swin.rg", "swin_t", {"classes": 10, "size": 64, "embed": 32,
                                     "depths": [2, 2, 2, 2], "heads": [1, 2, 2, 4]}),
}


def _inputs(arch: resgraph.Architecture) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for nid in arch.graph.graph["inputs"]:
        node = arch.graph.nodes[nid]
        shape = (2, *node["shape"])
        out.append(torch.randint(0, 100, shape, generator=gen) if node["dtype"] == "long"
                   else torch.randn(shape, generator=gen))
    return out


def _randomise(model: nn.Module) -> None:
    """Batch-norm statistics that are not 0 and 1, so eval mode means something."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def _exec(text: str, folder: Path) -> types.ModuleType:
    mod = types.ModuleType("generated_module")
    mod.__file__ = str(folder / "module.py")
    exec(compile(text, mod.__file__, "exec"), mod.__dict__)
    return mod


def _classes(text: str) -> list[str]:
    return re.findall(r"^class (\w+)\(", text, re.M)


# ---------------------------------------------------------------- ResNet-18 from the CLI


_RUN = """
import os, sys
sys.modules["resgraph"] = None          # importing resgraph now fails
import torch
from safetensors.torch import load_file
from pkg import resnet18
io = load_file("io.safetensors")
model = resnet18().eval()
with torch.no_grad():
    diff = float((model(io["x"]) - io["y"]).abs().max())
assert type(model.layer1[0]) is type(model.layer4[1]), "one class for the identity blocks"
os.rename("pkg/model.safetensors", "gone.safetensors")
fresh = resnet18(weights=None)           # reads no file
print("diff", diff, "params", sum(p.numel() for p in fresh.parameters()))
"""


def test_resnet18_package_reads_like_pytorch(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["compile", str(EXAMPLES / "resnet18.rg"), "-o", str(tmp_path / "pkg")]) == 0
    capsys.readouterr()
    text = (tmp_path / "pkg" / "module.py").read_text()
    assert _classes(text) == ["Basic", "BasicDownsample", "resnet18"]
    assert "class Basic(nn.Module):\n    def __init__(self, c):\n" in text
    assert "        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)\n" in text
    assert "        self.bn1 = nn.BatchNorm2d(c)\n" in text
    assert "self.layer1 = nn.Sequential(Basic(64), Basic(64))" in text
    assert "self.layer4 = nn.Sequential(BasicDownsample(512, in_channels=256), Basic(512))" \
        in text
    assert re.findall(r"\bBasic\((\d+)\)", text) == ["64", "64", "128", "256", "512"]
    assert len(re.findall(r"\bBasicDownsample\(\d", text)) == 3
    forward = text[text.index("class resnet18"):].split("def forward(self, x):\n")[1]
    assert forward.splitlines()[:3] == ["        x = self.conv1(x)", "        x = self.bn1(x)",
                                        "        x = F.relu(x, inplace=True)"]
    assert "        out += x\n" in text and "        x = self.downsample(x)\n" in text
    code = text.split('"""', 2)[2]  # after the docstring
    for unwanted in ("= None", ";", "getattr(", "_put", "import *", "fx_pytree", "inf",
                     "nan", "bias=True", "math", "momentum", "eps=", *(
                         f"class {c.__name__}" for c in PACKAGE_CLASSES)):
        assert unwanted not in code, unwanted
    arch = resgraph.load(str(EXAMPLES / "resnet18.rg"))
    gm = arch.compile().eval()
    from safetensors.torch import load_file, save_file

    gm.load_state_dict(load_file(tmp_path / "pkg" / "model.safetensors"))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        save_file({"x": x, "y": gm(x)}, tmp_path / "io.safetensors")
    proc = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, '.')\n"
                           + _RUN], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["diff", "0.0", "params", "11689512"]


# ---------------------------------------------------------------- parity across the zoo


@pytest.mark.parametrize("name", list(CASES))
def test_package_takes_the_compiled_state_dict_and_gives_its_outputs(
        tmp_path: Path, name: str) -> None:
    file, network, params = CASES[name]
    arch = resgraph.load(str(EXAMPLES / file), network, **params)
    torch.manual_seed(0)
    gm = arch.compile()
    _randomise(gm)
    text = module_source(gm, arch.name, hparams=block_hparams(arch))
    model = getattr(_exec(text, tmp_path), package_class_name(arch.name))(weights=None)
    assert list(model.state_dict()) == list(gm.state_dict())
    model.load_state_dict(gm.state_dict(), strict=True)
    xs = _inputs(arch)
    with torch.no_grad():
        want, got = gm.eval()(*xs), model.eval()(*xs)
    assert float((want - got).abs().max()) == 0.0
    # the classes: fewer than the block modules, each structure once
    blocks = [m for p, m in gm.named_modules() if p and isinstance(m, torch.fx.GraphModule)]
    classes = _classes(text)
    assert len(classes) - 1 - sum(c.__name__ in classes for c in PACKAGE_CLASSES) \
        < len(blocks)
    assert ";  " not in text and "_put(" not in text


def _first_networks() -> list[tuple[str, str]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.rg")):
        names = re.findall(r"^network (\w+)", path.read_text(), re.M)
        if names:
            out.append((path.name, names[0]))
    return out


@pytest.mark.parametrize(("file", "network"), _first_networks())
def test_every_example_packages_with_the_compiled_keys_and_shapes(file: str,
                                                                  network: str) -> None:
    """Full size, on the meta device: the package's model has the compiled module's
    state_dict keys, in order, with the same shapes (outputs: the test above)."""
    arch = resgraph.load(str(EXAMPLES / file), network)
    gm = arch.compile(device="meta")
    text = module_source(gm, arch.name, hparams=block_hparams(arch))
    cls = getattr(_exec(text, EXAMPLES), package_class_name(arch.name))
    with torch.device("meta"):
        model = cls(weights=None)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in gm.state_dict().items()]
    assert ";  " not in text and "_put(" not in text
    assert max(map(len, text.splitlines())) <= 100  # long calls are wrapped


def test_resnet50_has_one_class_per_bottleneck_structure(tmp_path: Path) -> None:
    arch = resgraph.load(str(EXAMPLES / "resnet50.rg"))
    text = module_source(arch.compile(device="meta"), "resnet50", hparams=block_hparams(arch))
    assert sorted(_classes(text)) == ["Bottleneck", "BottleneckDownsample", "resnet50"]
    assert "        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)\n" in text
    assert len(re.findall(r"\bBottleneck\(\d", text)) == 12
    assert len(re.findall(r"\bBottleneckDownsample\(\d", text)) == 4


def test_helper_classes_only_where_used_and_tied_weights_stay_tied(tmp_path: Path) -> None:
    file, network, params = CASES["gpt2"]
    arch = resgraph.load(str(EXAMPLES / file), network, **params)
    gm = arch.compile()
    text = module_source(gm, "gpt2", hparams=block_hparams(arch))
    helpers = {c.__name__ for c in PACKAGE_CLASSES} & set(_classes(text))
    assert helpers == {"Conv1D", "SelfAttention"}
    model = _exec(text, tmp_path).gpt2(weights=None)
    assert model.lm_head.weight is model.transformer.wte.weight
    assert type(model.transformer.h[0]) is type(model.transformer.h[1])


def test_a_network_without_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "plain.rg"
    src.write_text("network plain() {\n  input x[3, 8, 8]\n"
                   "  x -> conv(4) -> bn -> relu -> gap -> flatten -> linear(2)\n}\n")
    assert cli(["compile", str(src), "-o", str(tmp_path / "pkg")]) == 0
    capsys.readouterr()
    text = (tmp_path / "pkg" / "module.py").read_text()
    assert _classes(text) == ["plain"]
    assert "nn.BatchNorm2d(4)" in text
    gm = resgraph.load(str(src)).compile().eval()
    model = _exec(text, tmp_path / "pkg").plain().eval()  # the weights file beside it
    x = torch.randn(2, 3, 8, 8)
    gm.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(model(x), gm(x))


# ---------------------------------------------------------------- an older torch


_OLD = os.environ.get("RESGRAPH_OLD_TORCH_PYTHON")

_OLD_RUN = """
import importlib, sys
sys.modules["resgraph"] = None
import torch
from safetensors.torch import load_file
sys.path.insert(0, sys.argv[1])
for name in sys.argv[2:]:
    mod = importlib.import_module("pkg_" + name)
    model = getattr(mod, name)().eval()
    io = load_file(f"{sys.argv[1]}/io_{name}.safetensors")
    xs = [io[k] for k in sorted(k for k in io if k.startswith("x"))]
    with torch.no_grad():
        y = model(*xs)
    getattr(mod, name)(weights=None)
    print(torch.__version__, name, float((y - io["y"]).abs().max()))
"""


@pytest.mark.skipif(not _OLD, reason="set RESGRAPH_OLD_TORCH_PYTHON to an interpreter with an "
                    "older torch and safetensors (CI downloads no torch)")
@pytest.mark.parametrize("names", [["resnet18", "efficientnet_b0", "swin_t"], ["gpt2"]])
def test_packages_run_on_an_older_torch(tmp_path: Path, names: list[str]) -> None:
    """Checked with Debian 12's torch 1.13.1: the conv nets and Swin run; GPT-2's
    attention needs ``F.scaled_dot_product_attention`` (torch 2.0)."""
    from safetensors.torch import save_file

    assert _OLD is not None
    version = subprocess.run([_OLD, "-I", "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if "gpt2" in names and tuple(int(v) for v in version.split(".")[:2]) < (2, 0):
        pytest.skip(f"torch {version} has no F.scaled_dot_product_attention (torch 2.0)")

    from resgraph.lower.package import compile_package

    for name in names:
        file, network, params = CASES[name]
        arch = resgraph.load(str(EXAMPLES / file), network, **params)
        torch.manual_seed(0)
        folder = compile_package(arch, tmp_path / f"pkg_{name}", log=lambda s: None)
        gm = arch.compile().eval()
        from safetensors.torch import load_file

        gm.load_state_dict(load_file(folder / "model.safetensors"))
        xs = _inputs(arch)
        with torch.no_grad():
            y = gm(*xs)
        save_file({**{f"x{i}": x for i, x in enumerate(xs)}, "y": y.contiguous()},
                  tmp_path / f"io_{name}.safetensors")
    proc = subprocess.run([_OLD, "-I", "-c", _OLD_RUN, str(tmp_path), *names],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert [r[1] for r in rows] == names
    assert all(float(r[2]) <= 1e-5 for r in rows), rows
