"""Lesion studies: deleting a unit is exactly the unit replaced by its shortcut; the table,
the plot and the errors of ``resgraph lesion``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import resgraph
from resgraph.cli import main as cli
from resgraph.lower.lesion import lesion, load_into, read_weights
from resgraph.lower.train import accuracy, load_digits
from resgraph.transform import delete_units, plain, units

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CPU = torch.device("cpu")

UNITS = """
block unit(c, stride=1) {
    residual(shortcut=project) {
        conv1: conv(c, 3, stride=stride) -> bn1: bn -> relu -> conv2: conv(c, 3) -> bn2: bn
    }
}
network n(classes=10) {
    input x[1, 8, 8]
    x -> stem: conv(4, 3) -> a: unit(4) -> b: unit(8, stride=2) -> c: unit(8)
      -> gap -> flatten -> fc: linear(classes)
}
"""


def trained_like(arch: resgraph.Architecture, seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights with non-trivial batch-norm statistics (a few forward passes in train mode)."""
    torch.manual_seed(seed)
    gm = arch.compile()
    with torch.no_grad():
        for _ in range(3):
            gm(torch.randn(16, *next(iter(arch.inputs.values()))))
    return {k: v.clone() for k, v in gm.state_dict().items()}


def with_blocks(arch: resgraph.Architecture, weights: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The block build (each block instance a module whose forward hooks fire)."""
    gm = arch.compile()
    gm.load_state_dict(weights, strict=True)
    return gm.eval()


def test_deleting_an_identity_unit_is_its_output_replaced_by_its_input() -> None:
    arch = resgraph.loads(UNITS)
    weights = trained_like(arch)
    full = with_blocks(arch, weights)
    x = torch.randn(6, 1, 8, 8)
    for name in ("a", "c"):
        handle = full.get_submodule(name).register_forward_hook(lambda m, i, o: i[0])
        with torch.no_grad():
            want = full(x)
        handle.remove()
        with torch.no_grad():
            got = load_into(delete_units(arch, [name]), weights)(x)
            assert torch.equal(got, want), name
            assert not torch.equal(got, full(x))


def test_deleting_a_projection_unit_leaves_the_projection() -> None:
    arch = resgraph.loads(UNITS)
    weights = trained_like(arch)
    full = with_blocks(arch, weights)
    m = dict(full.named_modules())
    down = [k for k in m if k.startswith("b.downsample") and "." in k[len("b."):]]
    assert down == ["b.downsample.0", "b.downsample.1"]
    x = torch.randn(6, 1, 8, 8)
    handle = full.get_submodule("b").register_forward_hook(
        lambda mod, i, o: m["b.downsample.1"](m["b.downsample.0"](i[0])))
    with torch.no_grad():
        want = full(x)
        handle.remove()
        cut = delete_units(arch, ["b"])
        assert torch.equal(load_into(cut, weights)(x), want)
    assert arch.num_params - cut.num_params == sum(
        p.numel() for k, p in full.named_parameters() if k.startswith(("b.conv", "b.bn")))


def test_plain_units_are_the_former_branches_and_refuse_a_shape_change() -> None:
    arch = plain(resgraph.loads(UNITS))
    assert [(u.name, u.kind, u.deletable) for u in units(arch)] == [
        ("a", "plain", True), ("b", "plain", False), ("c", "plain", True)]
    weights = trained_like(arch)
    full = with_blocks(arch, weights)
    x = torch.randn(6, 1, 8, 8)
    handle = full.get_submodule("c").register_forward_hook(lambda m, i, o: i[0])
    with torch.no_grad():
        want = full(x)
        handle.remove()
        assert torch.equal(load_into(delete_units(arch, ["c"]), weights)(x), want)
    with pytest.raises(resgraph.ResgraphError) as err:
        delete_units(arch, ["b"])
    assert err.value.code == "RG752"
    assert "it turns [4, 8, 8] into [8, 4, 4]" in err.value.message
    assert err.value.line == 4  # the branch's last layer, in the block


def test_lesion_measures_every_unit_and_every_subset() -> None:
    arch = resgraph.loads(UNITS)
    weights = trained_like(arch)
    test = load_digits((1, 8, 8))[1]
    r = lesion(arch, weights, test, samples=5)
    assert r.baseline == accuracy(load_into(arch, weights), test, CPU)
    assert [d.unit for d in r.single] == ["a", "b", "c"]
    assert {k: len(v) for k, v in r.random.items()} == {1: 3, 2: 3, 3: 1}  # all subsets
    assert sorted(r.random[1]) == sorted(d.accuracy for d in r.single)
    assert r.random[3] == [accuracy(load_into(delete_units(arch, ["a", "b", "c"]), weights),
                                    test, CPU)]
    few = lesion(arch, weights, test, samples=2, seed=1)
    assert {k: len(v) for k, v in few.random.items()} == {1: 3, 2: 2, 3: 1}  # k=1: all
    assert few.random[1] == r.random[1]


def test_lesion_cli_reads_a_run_and_draws(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    arch = resgraph.load(str(EXAMPLES / "highway_mlp.rg"), layers=3)
    weights = trained_like(plain(arch))
    run = tmp_path / "run"
    run.mkdir()
    save_file(weights, str(run / "model.safetensors"))
    (run / "config.json").write_text(json.dumps(
        {"network": "highway_mlp", "params": {"d": 64, "layers": 3, "classes": 10},
         "plain": True, "data": "digits"}))
    out = tmp_path / "lesion.png"
    assert cli(["lesion", str(EXAMPLES / "highway_mlp.rg"), "--weights", str(run),
                "-o", str(out)]) == 0
    text = capsys.readouterr().out
    base = accuracy(load_into(plain(arch), weights), load_digits((64,))[1], CPU)
    assert f"highway_mlp (plain): test accuracy {base:.2%} on 360 samples" in text
    assert "highway_1  plain" in text and "            3        1" in text
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv,code,words", [
    (["--weights", "missing"], "RG751", "no such file or folder"),
    (["--weights", "{run}", "--set", "d=32"], "RG751", "were they trained with other --set"),
    (["--weights", "{plain}"], "RG751", "the weights have no 'highway_0.gate.weight'"),
    (["--weights", "{run}", "--samples", "0"], "RG752", "--samples must be a positive int"),
    (["--weights", "{run}", "-o", "{tmp}/x.jpg"], "RG753", "ending in .png, .svg or .pdf"),
])
def test_lesion_errors(argv: list[str], code: str, words: str, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    arch = resgraph.load(str(EXAMPLES / "highway_mlp.rg"), layers=2)
    file = tmp_path / "w.safetensors"
    save_file(arch.compile().state_dict(), str(file))
    save_file(plain(arch).compile().state_dict(), str(tmp_path / "plain.safetensors"))
    argv = [a.replace("{run}", str(file)).replace("{tmp}", str(tmp_path))
            .replace("{plain}", str(tmp_path / "plain.safetensors")) for a in argv]
    sets = [] if "--set" in argv else ["--set", "layers=2"]
    assert cli(["lesion", str(EXAMPLES / "highway_mlp.rg"), *sets, *argv]) == 1
    err = capsys.readouterr().err
    assert f"error[{code}]" in err and words in err, err


def test_a_network_without_units_is_refused() -> None:
    arch = resgraph.loads("network n() { input x[64]\n x -> linear(10) }")
    with pytest.raises(resgraph.ResgraphError) as err:
        lesion(arch, arch.compile().state_dict(), load_digits((64,))[1])
    assert err.value.code == "RG752" and "no unit to delete" in err.value.message
    with pytest.raises(resgraph.ResgraphError) as err:
        delete_units(resgraph.load(str(EXAMPLES / "digits_resnet.rg")), ["layer9"])
    assert err.value.message == ("network 'digits_resnet' has no unit 'layer9' to delete (its "
                                 "units: layer1.0, layer2.0, layer2.1)")


def test_read_weights_of_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(resgraph.ResgraphError) as err:
        read_weights(tmp_path)
    assert err.value.code == "RG751" and "holds no model.safetensors" in err.value.message


def test_lesion_measures_the_runs_own_held_out_images(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A run trained on an .npz with ``--holdout 0.3`` is measured on its own held-out
    samples, whatever ``--seed`` the lesion study draws its subsets with: the full network's
    accuracy is the best epoch's held-out accuracy in ``metrics.jsonl`` (the weights in
    model.safetensors), on as many samples."""
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    npz = tmp_path / "digits.npz"
    np.savez(npz, x=(digits.data / 16).astype(np.float32), y=digits.target)
    rg, run = str(EXAMPLES / "highway_mlp.rg"), tmp_path / "run"
    assert cli(["train", rg, "--set", "layers=2", "--epochs", "2", "--data", str(npz),
                "--holdout", "0.3", "--no-progress", "--out", str(run)]) == 0
    best = max(json.loads(line)["test_accuracy"]
               for line in (run / "metrics.jsonl").read_text().splitlines())
    header = capsys.readouterr().out.splitlines()[0]
    held_out = int(re.search(r"(\d+) test", header).group(1))
    assert held_out == pytest.approx(0.3 * len(digits.target), abs=10)
    assert cli(["lesion", rg, "--weights", str(run), "--seed", "7"]) == 0
    assert f"highway_mlp: test accuracy {best:.2%} on {held_out} samples" in \
        capsys.readouterr().out
