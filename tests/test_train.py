"""Training compiled networks on the digits: accuracy, the CLI, and DDP on 2 CPU processes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import resgraph
from resgraph.cli import main as cli
from resgraph.lower.train import load_digits, train

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def quiet(_: str) -> None:
    pass


def test_digits_split_is_fixed_and_shaped_for_the_network() -> None:
    a_train, a_test = load_digits((1, 8, 8))
    b_train, b_test = load_digits((64,))
    assert (len(a_train), len(a_test)) == (1437, 360)
    assert torch.equal(a_test.tensors[0].flatten(1), b_test.tensors[0])
    assert torch.equal(a_test.tensors[1], b_test.tensors[1])
    assert 0.0 <= float(a_train.tensors[0].min()) and float(a_train.tensors[0].max()) <= 1.0
    assert sorted(a_test.tensors[1].bincount().tolist())[0] >= 35  # stratified


def test_digits_resnet_short_run_reaches_90_percent() -> None:
    result = train(resgraph.load(str(EXAMPLES / "digits_resnet.rg")), epochs=4, seed=0,
                   progress=False, log=quiet)
    assert result["test_accuracy"] >= 0.90
    assert len(result["train_losses"]) == 4 and result["train_losses"][-1] < \
        result["train_losses"][0]
    assert isinstance(result["model"], torch.fx.GraphModule)


def test_highway_mlp_reaches_93_percent() -> None:
    result = train(resgraph.load(str(EXAMPLES / "highway_mlp.rg")), epochs=30, seed=0,
                   progress=False, log=quiet)
    assert result["test_accuracy"] >= 0.93


def test_train_cli_prints_epochs_and_final_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["train", str(EXAMPLES / "digits_resnet.rg"), "--epochs", "2", "--no-progress",
                "--batch-size", "128", "--lr", "0.003", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "epoch   1/2" in out and "epoch   2/2" in out
    assert "test accuracy" in out.splitlines()[-1]


@pytest.mark.parametrize(("text", "args", "code"), [
    ("network n() { input x[3, 8, 8]\n x -> conv(4) -> gap -> flatten -> linear(10) }", [],
     "RG711"),
    ("network n() { input x[64]\n x -> linear(5) }", [], "RG712"),
    ("network n() { input x[64]\n x -> linear(10) }", ["--epochs", "0"], "RG713"),
    ("network n() { input x[64]\n x -> linear(10) }", ["--device", "meta"], "RG713"),
], ids=["input-shape", "too-few-classes", "epochs", "meta"])
def test_train_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                          args: list[str], code: str) -> None:
    (tmp_path / "net.rg").write_text(text)
    assert cli(["train", str(tmp_path / "net.rg"), "--no-progress", *args]) == 1
    assert code in capsys.readouterr().err


_OUT_OF_MEMORY = """
import resource, sys
import sklearn.datasets, sklearn.model_selection, torch, tqdm.auto  # before the limit
import resgraph.lower.train
from resgraph.cli import main

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

limit = vm_size() + 400 * 2**20  # room for the weights, not for a batch's activations
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(main(["train", sys.argv[1], "--epochs", "1", "--batch-size", "2000",
               "--device", "cpu", "--no-progress"]))
"""


def test_out_of_memory_under_a_real_limit_is_rg701(tmp_path: Path) -> None:
    """Under an address-space limit the first batch (1,437 x 100,000 floats, 575 MB) cannot
    be allocated: RG701 at the network, with advice, and no traceback."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux's /proc/self/status")
    net = tmp_path / "wide.rg"
    net.write_text("network wide() {\n  input x[64]\n  x -> linear(100000) -> relu -> "
                   "linear(10)\n}\n")
    proc = subprocess.run([sys.executable, "-c", _OUT_OF_MEMORY, str(net)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"{net}:1:1: error[RG701]: out of memory in epoch 1, step 1" in proc.stderr
    assert "--batch-size" in proc.stderr and "Traceback" not in proc.stderr


def test_a_diverging_loss_stops_both_ddp_ranks(tmp_path: Path) -> None:
    """The ranks agree on the loss before each step, so a loss that overflows on one of
    them stops both at the same step (no rank is left waiting in a collective)."""
    net = tmp_path / "deep.rg"
    net.write_text("network deep() {\n  input x[64]\n  x -> linear(64) * 30 -> linear(10)\n}\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                           "2", "--master_port", str(_free_port()), "-m", "resgraph", "train",
                           str(net), "--epochs", "2", "--lr", "10", "--device", "cpu",
                           "--no-progress"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    errors = re.findall(r"error\[RG715\]: the loss is \w+ in epoch (\d+), step (\d+)",
                        proc.stderr)
    assert len(errors) == 2 and errors[0] == errors[1], proc.stderr[-2000:]


# ---------------------------------------------------------------- DDP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        lines: list[str] = []
        result = train(resgraph.load(str(EXAMPLES / "digits_resnet.rg")), epochs=1,
                       batch_size=32, seed=0, device="cpu", progress=False, log=lines.append)
        torch.save({"params": dict(result["model"].named_parameters()),
                    "losses": result["step_losses"], "lines": lines,
                    "world": result["world_size"]}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_ddp_two_cpu_processes(tmp_path: Path) -> None:
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["params"].keys() == r1["params"].keys()
    for k, p in r0["params"].items():
        assert torch.equal(p, r1["params"][k]), k
    for r in (r0, r1):
        losses = r["losses"]
        assert len(losses) == 23  # 1,437 images / 2 processes / batches of 32
        assert sum(losses[-3:]) < sum(losses[:3])
    assert r0["lines"] and not r1["lines"]  # rank 0 alone prints


def test_torchrun_cli(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                           "2", "--master_port", str(_free_port()), "-m", "resgraph", "train",
                           str(EXAMPLES / "highway_mlp.rg"), "--epochs", "2", "--no-progress",
                           "--out", "run"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "batch 64 per process" in lines[0] and "DDP × 2" in lines[0]
    assert sum(line.startswith("epoch") for line in lines) == 2  # printed once, by rank 0
    assert lines[-1].startswith("test accuracy")
    # rank 0 alone writes the run folder: one metrics line per epoch, not one per rank
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["options"]["world_size"] == 2 and config["options"]["batch_size"] == 64
