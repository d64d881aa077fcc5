"""Run folders (``--out``, ``--resume``), AMP, ``torch.compile``, schedules and ``--help``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

import resgraph
from resgraph.cli import build_parser
from resgraph.cli import main as cli
from resgraph.errors import ResgraphError
from resgraph.lower import runs
from resgraph.lower.schedule import lr_factor
from resgraph.lower.train import evaluate, load_digits, train

ROOT = Path(__file__).resolve().parent.parent
DIGITS_RESNET = ROOT / "examples" / "digits_resnet.rg"
DROPOUT_MLP = ("network mlp() { input x[64]\n"
               " x -> linear(32) -> relu -> dropout(0.3) -> linear(10) }")
METRIC_KEYS = {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
               "seconds", "images_per_second"}


def quiet(_: str) -> None:
    pass


def small_resnet() -> resgraph.Architecture:
    return resgraph.load(str(DIGITS_RESNET), width=4)


def test_out_writes_the_config_weights_and_metrics(tmp_path: Path) -> None:
    arch = small_resnet()
    result = train(arch, epochs=3, lr=0.01, batch_size=128, out=tmp_path / "run",
                   progress=False, log=quiet)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == sorted(runs.RUN_FILES)
    config = json.loads((run / "config.json").read_text())
    assert config["format"] == "resgraph-run" and config["version"] == 1
    assert config["file"] == "digits_resnet.rg" and config["network"] == "digits_resnet"
    assert config["source"] == DIGITS_RESNET.read_text()
    assert [Path(k).name for k in config["sources"]] == ["resnet_blocks.rg"]
    assert config["params"] == {"classes": 10, "width": 4} and config["plain"] is False
    assert config["data"] == "digits"
    assert config["options"] == {
        "epochs": 3, "batch_size": 128, "lr": 0.01, "seed": 0, "optimizer": "adam",
        "weight_decay": 0.0, "schedule": "cosine", "warmup": 0.0, "amp": False,
        "compile": False, "crop_pad": 0, "flip": False, "normalize": False, "holdout": 0.2,
        "resize": False, "world_size": 1, "amp_dtype": None}
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and all(set(r) == METRIC_KEYS for r in rows)
    assert [r["test_accuracy"] for r in rows] == result["test_accuracies"]
    assert [r["train_loss"] for r in rows] == result["train_losses"]
    assert rows[-1]["lr"] == 0.0 and rows[0]["lr"] == pytest.approx(0.01 * 0.75)
    assert all(r["images_per_second"] > 0 and r["seconds"] > 0 for r in rows)
    last = load_file(run / "last.safetensors")
    for key, value in result["model"].state_dict().items():
        assert torch.equal(last[key], value), key
    # model.safetensors holds the best epoch's weights: they score the best accuracy
    best_model = arch.compile()
    best_model.load_state_dict(load_file(run / "model.safetensors"))
    _, acc = evaluate(best_model, load_digits((1, 8, 8))[1], torch.device("cpu"))
    assert acc == max(r["test_accuracy"] for r in rows) == result["best_accuracy"]
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 3 and state["step"] == 3 * 12


def _interrupt_after_epoch_1(line: str) -> None:
    if line.startswith("epoch   1/"):
        raise KeyboardInterrupt


@pytest.mark.parametrize("net", ["resnet", "dropout"])
def test_resume_reaches_the_weights_of_an_uninterrupted_run(tmp_path: Path, net: str) -> None:
    """Batch norm statistics, Adam's moments, the schedule, crops and flips (resnet) and
    dropout's global generator (mlp) all continue where the interrupted run stopped."""
    def arch() -> resgraph.Architecture:
        return small_resnet() if net == "resnet" else resgraph.loads(DROPOUT_MLP)

    options: dict[str, Any] = {"epochs": 2, "lr": 0.01, "batch_size": 96, "seed": 3,
                               "progress": False, "warmup": 0.5}
    if net == "resnet":
        options.update(crop_pad=1, flip=True)
    whole = train(arch(), out=tmp_path / "whole", log=quiet, **options)
    with pytest.raises(KeyboardInterrupt):
        train(arch(), out=tmp_path / "cut", log=_interrupt_after_epoch_1, **options)
    assert len((tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()) == 1
    lines: list[str] = []
    resumed = train(arch(), resume=tmp_path / "cut", log=lines.append, progress=False)
    assert lines[1].startswith(f"resuming {tmp_path / 'cut'} after epoch 1 (step 15,")
    a, b = (load_file(tmp_path / run / "last.safetensors") for run in ("whole", "cut"))
    diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    assert a.keys() == b.keys() and diff == 0.0
    assert resumed["test_accuracies"] == whole["test_accuracies"][1:]
    rows = [[json.loads(x) for x in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
            for run in ("whole", "cut")]
    for row in rows[0] + rows[1]:
        del row["seconds"], row["images_per_second"]
    assert rows[0] == rows[1]


def test_resume_refusals(tmp_path: Path) -> None:
    import numpy as np

    run = tmp_path / "run"
    train(resgraph.loads(DROPOUT_MLP), epochs=1, out=run, progress=False, log=quiet)
    with pytest.raises(ResgraphError, match=f"RG743.*run folder '{run}': it holds a run already; "
                       f"continue it with --resume {run}, or give a new folder"):
        train(resgraph.loads(DROPOUT_MLP), epochs=1, out=run, progress=False, log=quiet)
    with pytest.raises(ResgraphError, match=r"--lr 0.5 differs from the run's 0.001; a resumed "
                       r"run keeps its options \(only --epochs may grow\)"):
        train(resgraph.loads(DROPOUT_MLP), epochs=1, lr=0.5, resume=run, progress=False,
              log=quiet)
    with pytest.raises(ResgraphError, match="has finished its 1 epochs; give a larger --epochs"):
        train(resgraph.loads(DROPOUT_MLP), resume=run, progress=False, log=quiet)
    with pytest.raises(ResgraphError, match=r"trained on 1,437 train / 360 test samples \[64\], "
                       r"10 classes, but --data d.npz gives 8 train / 2 test \(seeded 20% "
                       r"split\) samples \[64\], 2 classes; give the run's data"):
        np.savez(tmp_path / "d.npz", x=np.zeros((10, 64), np.float32), y=np.arange(10) % 2)
        train(resgraph.loads(DROPOUT_MLP), epochs=2, resume=run, data=str(tmp_path / "d.npz"),
              progress=False, log=quiet)
    with pytest.raises(ResgraphError, match="trained another network: its network differs"):
        train(small_resnet(), epochs=2, resume=run, progress=False, log=quiet)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ResgraphError, match=r"RG743.*'.*other': the folder is not empty \(1 "
                       r"entry\) and holds no run"):
        train(resgraph.loads(DROPOUT_MLP), epochs=1, out=tmp_path / "other", progress=False)
    with pytest.raises(ResgraphError, match="holds no config.json: not a run"):
        train(resgraph.loads(DROPOUT_MLP), epochs=1, resume=tmp_path / "other", progress=False)


def test_amp_trains_in_bf16_on_the_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["train", str(DIGITS_RESNET), "--set", "width=8", "--epochs", "2", "--amp",
                "--lr", "0.01", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "Adam lr 0.01, cosine schedule, bfloat16 autocast, cpu" in out.splitlines()[0]
    options = json.loads((tmp_path / "run" / "config.json").read_text())["options"]
    assert options["amp"] is True and options["amp_dtype"] == "bfloat16"
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["test_accuracy"] > 0.85  # learns as in float32 (94% here; 10% is chance)
    assert load_file(tmp_path / "run" / "model.safetensors")["fc.weight"].dtype == torch.float32


def test_compile_flag_reaches_torch_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[torch.nn.Module] = []

    def fake_compile(model: torch.nn.Module) -> torch.nn.Module:
        seen.append(model)
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    lines: list[str] = []
    result = train(resgraph.loads(DROPOUT_MLP), epochs=1, max_steps=2, compile=True,
                   progress=False, log=lines.append)
    assert seen == [result["model"]] and ", torch.compile, cpu" in lines[0]


def test_a_compile_failure_in_the_first_step_is_rg744(monkeypatch: pytest.MonkeyPatch) -> None:
    class InductorError(RuntimeError):
        pass

    InductorError.__module__ = "torch._inductor.exc"

    class Failing(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise InductorError("CppCompileError: C++ compile error\nmore lines")

    monkeypatch.setattr(torch, "compile", lambda model: Failing())
    with pytest.raises(ResgraphError) as err:
        train(resgraph.loads(DROPOUT_MLP), epochs=1, compile=True, progress=False, log=quiet)
    assert err.value.code == "RG744" and err.value.message == (
        "torch.compile failed: CppCompileError: C++ compile error; train without --compile")


@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")),
                    reason="inductor needs a C++ compiler on the CPU")
def test_compile_really_compiles_a_tiny_net() -> None:
    """torch.compile on the CPU (inductor: a C++ compiler) trains; about 10 s."""
    result = train(resgraph.loads("network m() { input x[64]\n x -> linear(10) }"), epochs=1,
                   max_steps=3, compile=True, lr=0.05, progress=False, log=quiet)
    assert len(result["step_losses"]) == 3 and result["step_losses"][-1] < result["step_losses"][0]


def test_schedules_and_warmup() -> None:
    cos, step, const = (lr_factor(s, total=100, warmup_steps=10) for s in
                        ("cosine", "step", "constant"))
    assert [cos(0), cos(9), cos(10), cos(55)] == [0.1, 1.0, 1.0, pytest.approx(0.5)]
    assert [step(10), step(54), step(55), step(77), step(78)] == [1.0, 1.0, 0.1, 0.1, 0.01]
    assert {const(s) for s in range(10, 100)} == {1.0}
    lines: list[str] = []
    r = train(resgraph.loads(DROPOUT_MLP), epochs=4, schedule="step", warmup=1, lr=0.01,
              progress=False, log=lines.append)
    # 23 steps per epoch: warmup over epoch 1, then x0.1 from step 23 + 35 = 58, x0.01 from 75
    assert r["lrs"] == pytest.approx([0.01, 0.01, 0.001, 0.0001])
    assert "Adam lr 0.01, step schedule, 1 warmup epoch, cpu" in lines[0]


def test_help_shows_every_default() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    sub = commands.choices["train"]  # type: ignore[index]
    own = [a for a in sub._actions if a.dest not in ("help", "file", "network", "sets", "debug",
                                                      "use_path")
           and not a.dest.startswith("max_")]
    assert len(own) == 21
    for action in own:
        assert action.help and "default" in action.help, action.dest


def test_run_data_gives_the_images_the_run_was_tested_on(tmp_path: Path) -> None:
    """A lesion study loads the run's data with runs.run_data: the same split (seed 0, the
    run's --holdout) and normalisation, whatever the training --seed was."""
    import numpy as np

    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (60, 8, 8), dtype=np.uint8),
             y=np.arange(60) % 3)
    result = train(resgraph.loads(DROPOUT_MLP), epochs=2, seed=5, data=str(tmp_path / "d.npz"),
                   holdout=0.4, normalize=True, out=tmp_path / "run", progress=False, log=quiet)
    config = runs.read_config(tmp_path / "run")
    data = runs.run_data(config, (64,))
    assert (len(data.train), len(data.test)) == (36, 24) and data.normalization is not None
    model = resgraph.loads(DROPOUT_MLP).compile()
    model.load_state_dict(load_file(tmp_path / "run" / "last.safetensors"))
    assert evaluate(model, data.test, torch.device("cpu")) == \
        (result["test_losses"][-1], result["test_accuracies"][-1])


def test_plain_is_recorded_and_resumed(tmp_path: Path) -> None:
    lines: list[str] = []
    train(small_resnet(), epochs=1, plain=True, out=tmp_path / "run", max_steps=2,
          progress=False, log=lines.append)
    assert lines[0].startswith("training digits_resnet (plain) (")
    config = runs.read_config(tmp_path / "run")
    assert config["plain"] is True and config["params"] == {"classes": 10, "width": 4}
    keys = set(load_file(tmp_path / "run" / "last.safetensors"))
    assert keys < set(small_resnet().compile().state_dict())  # the projections are gone
    lines.clear()
    train(small_resnet(), epochs=2, resume=tmp_path / "run", progress=False, log=lines.append)
    assert lines[0].startswith("training digits_resnet (plain) (")  # plain from the config
