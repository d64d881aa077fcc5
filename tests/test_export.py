"""``resgraph export``: ONNX (checked in onnxruntime) and ``torch.export`` (.pt2) files.

For ResNet-50, MobileNetV3-Small (squeeze-and-excitation, hard-swish) and GPT-2 small,
the exported file gives the compiled module's outputs within 1e-4 at two batch sizes
(the batch dimension is dynamic). The ONNX tests skip where onnx, onnxscript or
onnxruntime are missing; the dev extra installs them.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import resgraph  # noqa: E402
from resgraph.cli import main  # noqa: E402
from resgraph.errors import ResgraphError  # noqa: E402
from resgraph.lower import export  # noqa: E402
from resgraph.lower.export import example_inputs, to_onnx, to_pt2  # noqa: E402

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="needs onnx, onnxscript and onnxruntime "
                                "(pip install 'resgraph[dev]')")

# name: (file, network, --set values). GPT-2 keeps GPT-2 small's widths and vocabulary but
# runs 2 layers at ctx 128 here; at the defaults (124M parameters, ctx 1024) the same check
# took 2 minutes and 6 GB on 2 cores (ONNX export 39 s, 475 MiB; .pt2 11 s; largest
# difference 4.6e-4 on logits of magnitude 480, 9.5e-7 relative), checked by hand.
MODELS: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "resnet50": ("examples/resnet50.rg", None, {}),
    "mobilenet_v3_small": ("examples/mobilenet.rg", "mobilenet_v3_small", {}),
    "gpt2": ("examples/gpt2.rg", None, {"ctx": 128, "layers": 2}),
}
SLOW = {"resnet50", "gpt2"}
BATCHES = (1, 3)  # the trace uses 2: both differ from it
TOL = 1e-4


def model_params(slow_ones: set[str]) -> list[Any]:
    return [pytest.param(n, marks=[pytest.mark.slow] if n in slow_ones else [], id=n)
            for n in MODELS]


class Compiled:
    """A network, its compiled module (eval, seeded weights) and its exports, made once."""

    def __init__(self, name: str, folder: Path) -> None:
        file, network, sets = MODELS[name]
        self.arch = resgraph.load(str(ROOT / file), network, **sets)
        torch.manual_seed(0)
        self.module = self.arch.compile().eval()
        self.folder = folder
        self.files: dict[str, Path] = {}
        self.seconds: dict[str, float] = {}

    def file(self, kind: str) -> Path:
        if kind not in self.files:
            start = time.perf_counter()
            write = to_onnx if kind == "onnx" else to_pt2
            self.files[kind] = write(self.arch, self.folder / f"{self.arch.name}.{kind}",
                                     module=self.module)
            self.seconds[kind] = time.perf_counter() - start
        return self.files[kind]

    def reference(self, x: tuple[torch.Tensor, ...]) -> torch.Tensor:
        with torch.no_grad():
            return self.module(*x)


_CACHE: dict[str, Compiled] = {}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    def get(name: str) -> Compiled:
        if name not in _CACHE:
            _CACHE.clear()  # one model in memory at a time
            _CACHE[name] = Compiled(name, tmp_path_factory.mktemp(name))
        return _CACHE[name]
    yield get
    _CACHE.clear()


def close(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """The largest difference; asserts it is within 1e-4 times the reference's largest
    magnitude where that is over 1 (GPT-2's logits), absolutely otherwise (the CNNs)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    diff = (ours - ref).abs().max().item()
    scale = ref.abs().max().item()
    assert scale > 1e-3
    assert diff <= TOL * max(1.0, scale), (diff, scale)
    return diff


@needs_onnx
@pytest.mark.parametrize("name", model_params(SLOW))
def test_onnx_matches_the_module_in_onnxruntime(name: str, compiled: Any) -> None:
    import onnxruntime as ort

    c = compiled(name)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(str(c.file("onnx")), opts,
                                   providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(c.arch.inputs)
    assert [o.name for o in session.get_outputs()] == list(c.arch.outputs)
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a symbolic batch dimension
    for batch in BATCHES:
        x = example_inputs(c.arch, batch, seed=batch)
        got = session.run(None, {n: t.numpy() for n, t in zip(c.arch.inputs, x)})[0]
        close(torch.from_numpy(got), c.reference(x))


@pytest.mark.parametrize("name", model_params(SLOW))
def test_pt2_round_trip(name: str, compiled: Any) -> None:
    c = compiled(name)
    loaded = torch.export.load(c.file("pt2"))
    assert set(dict(c.module.named_parameters())) <= set(loaded.state_dict)
    for batch in BATCHES:
        x = example_inputs(c.arch, batch, seed=batch)
        with torch.no_grad():
            got = loaded.module()(*x)
        close(got, c.reference(x))


TWO_IO = """network two() {
    input a[6]
    input b[6]
    a -> fa: linear(4)
    b -> fb: linear(4) -> j: relu -> out: linear(3)
    residual fa -> j
    fa -> side: linear(2)
    output out, side
}
"""

def test_cli_writes_both_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "two.rg").write_text("network n(d=4) {\n    input x[3, 8, 8]\n    x -> conv(d)"
                                     " -> relu -> gap -> flatten -> fc: linear(2)\n}\n")
    monkeypatch.chdir(tmp_path)
    args = ["export", "two.rg", "--set", "d=5", "--pt2", "n.pt2"]
    if HAS_ONNX:
        args += ["--onnx", "n.onnx"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "wrote n.pt2 (torch.export, batch dynamic): network n, " in out
    x = torch.randn(4, 3, 8, 8)
    assert torch.export.load("n.pt2").module()(x).shape == (4, 2)
    if HAS_ONNX:
        assert "wrote n.onnx (ONNX, batch dynamic)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["two.rg", "n.pt2"] + (["n.onnx"] if HAS_ONNX else []))  # no staging left


@needs_onnx
def test_onnx_keeps_names_of_several_inputs_and_outputs(tmp_path: Path) -> None:
    import onnxruntime as ort

    arch = resgraph.loads(TWO_IO)
    torch.manual_seed(0)
    gm = arch.compile().eval()
    session = ort.InferenceSession(str(to_onnx(arch, tmp_path / "t.onnx", module=gm)),
                                   providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["a", "b"]
    assert [o.name for o in session.get_outputs()] == ["out", "side"]
    x = example_inputs(arch, 5, seed=1)
    got = session.run(None, {"a": x[0].numpy(), "b": x[1].numpy()})
    with torch.no_grad():
        ref = gm(*x)
    for g, r in zip(got, ref):
        assert torch.allclose(torch.from_numpy(g), r, atol=1e-6)


@pytest.mark.parametrize(("flag", "path", "code", "text"), [
    ("--onnx", "net.onx", "RG706", "an ONNX file's name ends in .onnx"),
    ("--pt2", "net.pt", "RG706", "a torch.export file's name ends in .pt2"),
    ("--pt2", "", "RG706", "give a file name"),
    ("--pt2", "missing/net.pt2", "RG707", "the folder 'missing' does not exist"),
    ("--pt2", "folder.pt2", "RG707", "it is a folder"),
])
def test_bad_targets_are_refused_before_compiling(
        flag: str, path: str, code: str, text: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "folder.pt2").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(export, "compile_arch", lambda *a, **k: pytest.fail("compiled"))
    assert main(["export", str(ROOT / "examples/resnet18.rg"), flag, path]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"resgraph: error[{code}]: ") and text in err, err


def test_export_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["export", str(ROOT / "examples/resnet18.rg")])
    assert exc.value.code == 2
    assert "give --onnx OUT.onnx, --pt2 OUT.pt2 or both" in capsys.readouterr().err


def test_onnx_without_onnxscript_is_rg708(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    arch = resgraph.loads("network n() { input x[4]\n x -> linear(2) }")
    with pytest.raises(ResgraphError) as exc:
        to_onnx(arch, tmp_path / "n.onnx")
    assert exc.value.code == "RG708" and "pip install onnx onnxscript" in exc.value.message


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    arch = resgraph.loads("network n() { input x[4]\n x -> linear(2) }")
    target = tmp_path / "n.pt2"
    target.write_bytes(b"old")

    def full_disk(ep: Any, f: Any) -> None:
        Path(f).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.export, "save", full_disk)
    with pytest.raises(ResgraphError) as exc:
        to_pt2(arch, target)
    assert exc.value.code == "RG707" and "No space left on device" in exc.value.message
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["n.pt2"]
