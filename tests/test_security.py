"""Hardening (issue 11): hostile or careless input gets a located error, never a silent
wrong model. Each test names the item of the issue it covers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import resgraph
from resgraph.errors import ResgraphError


def _error(text: str) -> ResgraphError:
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(text)
    return info.value


@pytest.mark.parametrize(("call", "at", "phrase"), [
    ("bn(momentum=-5)", "momentum", "'momentum' must be at least 0"),
    ("bn(momentum=1.5)", "momentum", "'momentum' must be at most 1"),
    ("bn(eps=0)", "eps", "'eps' must be greater than 0"),
    ("groupnorm(2, eps=-1)", "eps", "'eps' must be greater than 0"),
    ("layernorm(eps=-0.0)", "eps", "'eps' must be greater than 0"),
    ("dropout(1.0)", "1.0", "'p' must be less than 1"),
    ("upsample(0)", "0", "'scale' must be greater than 0"),
    ("residual(drop_path=1) { relu }", "drop_path", "'drop_path' must be less than 1"),
])
def test_item_10_values_out_of_range_are_refused(call: str, at: str, phrase: str) -> None:
    """The error points at the offending argument (column of ``at`` in the call)."""
    err = _error(f"network n() {{\n  input x[4, 8, 8]\n  x -> {call}\n}}")
    assert (err.code, err.line, err.column) == ("RG303", 3, 8 + call.index(at))
    assert phrase in err.message


def test_item_10_dtype_flows_through_identity() -> None:
    err = _error("network n() {\n  input t[5]: long\n  t -> identity -> linear(3)\n}")
    assert (err.code, err.line) == ("RG406", 3)
    arch = resgraph.loads("network n() {\n  input t[5]: long\n  t -> identity -> "
                          "embedding(10, 4)\n}")
    assert arch.outputs == {"output": (5, 4)}


def test_item_12_an_output_named_twice_is_refused() -> None:
    err = _error("network n() {\n  input x[4]\n  a = x -> linear(2)\n  output a, a\n}")
    assert (err.code, err.line, err.column) == ("RG207", 4, 13)
    assert "named twice" in err.message


# ---- outputs are safe, packages never run code from a file (issue 11 items 2, 3, 4, 9, 12)

_PKG_ROOT = Path(resgraph.__file__).resolve().parent.parent
_PKG_NET_A = "network a() {\n  input x[4]\n  x -> linear(2)\n}\n"
_PKG_NET_B = "network b() {\n  input x[256]\n  x -> linear(256) -> relu -> linear(3)\n}\n"


def _pkg_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``args`` in a fresh interpreter that imports this checkout's resgraph."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(_PKG_ROOT)})


def _pkg_compile(capsys: pytest.CaptureFixture[str], text: str, out: Path,
             *options: str) -> tuple[int, str]:
    """``resgraph compile`` of ``text`` (saved beside ``out``) to ``out``: exit code, stderr."""
    from resgraph.cli import main

    (out.parent / "net.rg").write_text(text)
    code = main(["compile", str(out.parent / "net.rg"), "-o", str(out), *options])
    return code, capsys.readouterr().err


def _pkg_snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder``: file bytes, or where a link points."""
    return {p.name: (b"-> " + os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.iterdir()) if p.name != "__pycache__"}


_IMPORT_PACKAGE = """
import importlib.util, json, os, sys, torch
no_file = sys.argv[1:2] == ["--no-file"]
for i, folder in enumerate(sys.argv[1 + no_file:]):
    spec = importlib.util.spec_from_file_location(
        f"pkg{i}", os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[f"pkg{i}"] = mod
    spec.loader.exec_module(mod)
    config = json.load(open(os.path.join(folder, "resgraph.json")))
    cls = getattr(mod, config["class"])
    x = torch.zeros(2, *config["inputs"]["x"])
    for model in [cls(weights=None)] if no_file else [cls(), cls(weights=None)]:
        assert list(model(x).shape) == [2, *config["outputs"]["output"]], model(x).shape
    print("ok", config["network"])
"""


def test_item_2_an_empty_output_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from resgraph.cli import main

    (tmp_path / "a.rg").write_text(_PKG_NET_A)
    monkeypatch.chdir(tmp_path)
    assert main(["compile", "a.rg", "-o", ""]) == 1
    assert "error[RG703]: cannot write the package to '': the folder name is empty" \
        in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rg"]


def test_item_2_a_folder_that_is_not_a_package_is_refused_unless_forced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from resgraph.cli import main

    (tmp_path / "a.rg").write_text(_PKG_NET_A)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "__init__.py").write_text("# my package\n")
    (mine / "module.py").write_text("VALUE = 1\n")
    before = _pkg_snapshot(mine)
    assert main(["compile", str(tmp_path / "a.rg"), "-o", str(mine)]) == 1
    err = capsys.readouterr().err
    assert "error[RG704]" in err and "not empty (2 entries)" in err and "--force" in err
    assert _pkg_snapshot(mine) == before
    # a package written earlier is recognised by its resgraph.json and replaced quietly
    assert main(["compile", str(tmp_path / "a.rg"), "-o", str(mine), "--force"]) == 0
    config = json.loads((mine / "resgraph.json").read_text())
    assert config["format"] == "resgraph-package" and config["source"] == _PKG_NET_A
    (tmp_path / "b.rg").write_text(_PKG_NET_B)
    assert main(["compile", str(tmp_path / "b.rg"), "-o", str(mine)]) == 0
    assert json.loads((mine / "resgraph.json").read_text())["network"] == "b"


def test_item_2_planted_links_are_replaced_never_followed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victims = {name: tmp_path / f"victim_{name}" for name in
               ("module.py", "__init__.py", "model.safetensors", "resgraph.json")}
    for victim in victims.values():
        victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "module.py").symlink_to(victims["module.py"])
    code, err = _pkg_compile(capsys, _PKG_NET_A, out)  # a folder holding only a link: not a package
    assert code == 1 and "error[RG704]" in err
    assert _pkg_compile(capsys, _PKG_NET_A, out, "--force")[0] == 0
    assert _pkg_compile(capsys, _PKG_NET_A, out)[0] == 0  # a package now: plant links, write again
    for name, victim in victims.items():
        (out / name).unlink()
        (out / name).symlink_to(victim)
    code, err = _pkg_compile(capsys, _PKG_NET_A, out)  # a linked resgraph.json does not count
    assert code == 1 and "error[RG704]" in err
    assert _pkg_compile(capsys, _PKG_NET_A, out, "--force")[0] == 0
    assert all(v.read_text() == "precious\n" for v in victims.values())
    assert not any((out / name).is_symlink() for name in victims)
    proc = _pkg_python(_IMPORT_PACKAGE, str(out))
    assert proc.returncode == 0 and proc.stdout.split() == ["ok", "a"], proc.stderr


def test_item_2_an_output_folder_that_is_a_link_needs_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "out").symlink_to(target)
    code, err = _pkg_compile(capsys, _PKG_NET_A, tmp_path / "out")
    assert code == 1 and "error[RG704]" in err and "symbolic link" in err
    assert list(target.iterdir()) == []
    assert _pkg_compile(capsys, _PKG_NET_A, tmp_path / "out", "--force")[0] == 0
    assert (target / "resgraph.json").is_file()


_FULL_DISK = """
import resource, signal, sys
import torch, matplotlib.pyplot
from resgraph.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
sys.exit(main(sys.argv[1:]))
"""


def test_item_3_a_failed_write_keeps_the_previous_package(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A write that fails half-way (a file-size limit stands in for a full disk) leaves
    every file of the previous package as it was, and no temporary files."""
    out = tmp_path / "pkg"
    assert _pkg_compile(capsys, _PKG_NET_A, out)[0] == 0
    before = _pkg_snapshot(out)
    (tmp_path / "b.rg").write_text(_PKG_NET_B)
    proc = _pkg_python(_FULL_DISK, "compile", str(tmp_path / "b.rg"), "-o", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error[RG703]" in proc.stderr and "Traceback" not in proc.stderr
    assert _pkg_snapshot(out) == before


def test_item_3_a_failed_write_keeps_the_previous_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from resgraph.cli import main

    net = tmp_path / "net.rg"
    net.write_text("network n() {\n  input x[4]\n  x -> residual { linear(4) } * 3\n}\n")
    out = tmp_path / "plots" / "lengths.png"
    out.parent.mkdir()
    assert main(["analyze", str(net), "--plot", str(out)]) == 0
    before = out.read_bytes()
    assert len(before) > 4096
    net.write_text("network n() {\n  input x[4]\n  x -> residual { linear(4) } * 9\n}\n")
    proc = _pkg_python(_FULL_DISK, "analyze", str(net), "--plot", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error[RG602]" in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["lengths.png"]


_CONCURRENT = """
import os, sys, time
import torch, resgraph.lower
from resgraph.cli import main
open(sys.argv[3] + f".ready.{os.getpid()}", "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.001)
sys.exit(main(["compile", sys.argv[1], "-o", sys.argv[2]]))
"""


def test_item_3_concurrent_compiles_to_one_folder_leave_one_run(tmp_path: Path) -> None:
    """Four processes write two different networks to one folder at the same moment; the
    folder ends with one run's config, module and weights (the strict load of the
    weights into the module fails on a mix)."""
    for name, text in (("a", _PKG_NET_A), ("b", _PKG_NET_B)):
        (tmp_path / f"{name}.rg").write_text(text)
    out = tmp_path / "pkg"
    env = {**os.environ, "PYTHONPATH": str(_PKG_ROOT)}
    for run in range(2):
        go = tmp_path / f"go{run}"
        procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT,
                                   str(tmp_path / f"{name}.rg"), str(out), str(go)],
                                  env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for name in "abab"]
        deadline = time.monotonic() + 240
        while len(list(tmp_path.glob(f"go{run}.ready.*"))) < len(procs):  # all at the line
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.05)
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
        assert sorted(p.name for p in out.iterdir() if p.name != "__pycache__") == \
            ["__init__.py", "model.safetensors", "module.py", "resgraph.json"]
        check = _pkg_python(_IMPORT_PACKAGE, str(out))
        assert check.returncode == 0, check.stderr
        config = json.loads((out / "resgraph.json").read_text())
        assert f"class {config['class']}(torch.nn.Module)" in (out / "module.py").read_text()


def test_item_4_the_package_never_unpickles(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """module.py loads safetensors only: a pickle planted as the weights (or as the old
    state_dict.pt) is refused without running, and ``weights=None`` reads no file."""
    out = tmp_path / "pkg"
    assert _pkg_compile(capsys, _PKG_NET_A, out)[0] == 0
    text = (out / "module.py").read_text()
    assert "torch.load(" not in text and "import pickle" not in text and "pickle." not in text
    assert (out / "model.safetensors").read_bytes()[8:9] == b"{"  # a safetensors header
    marker = tmp_path / "pwned"
    payload = (b"cbuiltins\nopen\n(" + repr(str(marker)).encode() + b"\nVw\ntR.")
    for name in ("model.safetensors", "state_dict.pt"):
        (out / name).write_bytes(payload)
    proc = _pkg_python(_IMPORT_PACKAGE, str(out))
    assert proc.returncode != 0 and not marker.exists(), proc.stderr
    (out / "model.safetensors").unlink()
    (out / "state_dict.pt").unlink()
    proc = _pkg_python(_IMPORT_PACKAGE, "--no-file", str(out))
    assert proc.returncode == 0 and proc.stdout.split() == ["ok", "a"], proc.stderr


_PKG_ODD_NAMES = ["x\\N.rg", 'q"""q.rg', "it's.rg", 'say "hi".rg', "back\\slash\\.rg",
              "new\nline.rg", "tab\tand\rreturn.rg", "ünïcødé ✓ 模型.rg", "\\u00e9\\x41.rg",
              "\udcff bad byte.rg", "{braces} %s.rg"]


def test_item_9_odd_file_and_folder_names_give_a_package_that_imports(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The file and folder names reach module.py only escaped; every package imports and
    runs in a fresh interpreter."""
    from resgraph.cli import main

    outs = []
    for i, name in enumerate(_PKG_ODD_NAMES):
        folder = tmp_path / f"{i} {name[:-3]}"
        folder.mkdir()
        (folder / name).write_text(_PKG_NET_A)
        outs.append(folder / f"pkg {name[:-3]}")
        assert main(["compile", str(folder / name), "-o", str(outs[-1])]) == 0, \
            capsys.readouterr().err
        assert "\n" not in capsys.readouterr().out.strip()
        compile((outs[-1] / "module.py").read_text(encoding="utf-8"), "module.py", "exec")
    proc = _pkg_python(_IMPORT_PACKAGE, *map(str, outs))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "a"] * len(_PKG_ODD_NAMES)
    for name, out in zip(_PKG_ODD_NAMES, outs):
        assert json.loads((out / "resgraph.json").read_text())["source_file"] == name


_PEAK_RSS = """
import importlib.util, os, sys, torch
folder = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "pkg", os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
mod = importlib.util.module_from_spec(spec)
sys.modules["pkg"] = mod
spec.loader.exec_module(mod)
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM, the peak
model = mod.big()
total = sum(float(t.sum()) for t in model.state_dict().values())  # read every weight
nbytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
print((status("VmHWM:") - before) / nbytes)
"""


def test_item_12_the_package_loads_its_weights_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Building the model from its package peaks at about one copy of the weights (64 MiB
    here), not two: the layers are built on the meta device and take the loaded tensors."""
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak RSS")
    out = tmp_path / "pkg"
    big = "network big() {\n  input x[2048]\n  x -> linear(2048) * 4\n}\n"
    assert _pkg_compile(capsys, big, out)[0] == 0
    proc = _pkg_python(_PEAK_RSS, str(out))
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) < 1.4, f"peak memory {float(proc.stdout):.2f}x the weights"


# ---- names, ASCII digits, train options, --set (issue 11 items 9, 10, 11, 12)
# The hostile-names corpus (300+ names in every role, compiled and run) is tests/test_names.py.

_ROOT = Path(__file__).resolve().parent.parent


def _cli(*argv: str) -> int:
    from resgraph.cli import main

    return main(list(argv))


@pytest.mark.parametrize(("text", "at", "role"), [
    ("network n() {\n  input x[4]\n  x -> __w: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  x -> self: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  x -> _forward_hooks: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  x -> __init__: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  x -> _modules: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  x -> share_memory: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  x -> _graph: linear(2)\n}\n", (3, 8), "a label"),
    ("network n() {\n  input x[4]\n  h = x -> meta: (linear(2))\n}\n", (3, 12), "a label"),
    ("network super() {\n  input x[4]\n  x -> linear(2)\n}\n", (1, 9), "a network name"),
    ("network slice() {\n  input x[4]\n  x -> linear(2)\n}\n", (1, 9), "a network name"),
    ("network setattr() {\n  input x[4]\n  x -> linear(2)\n}\n", (1, 9), "a network name"),
    ("network n() {\n  input torch[4]\n  torch -> linear(2)\n}\n", (2, 9), "an input name"),
    ("network n() {\n  input self[4]\n  self -> linear(2)\n}\n", (2, 9), "an input name"),
])
def test_item_9_names_that_break_generated_python_are_refused_where_they_stand(
        text: str, at: tuple[int, int], role: str) -> None:
    """Each of these passed ``check``, then died in ``compile`` or in the package (a
    traceback, RecursionError for a class named ``super``); now RG220 points at the name."""
    err = _error(text)
    assert (err.code, err.line, err.column) == ("RG220", *at)
    assert f"cannot be {role}" in err.message


@pytest.mark.parametrize(("text", "char"), [
    ("network n() {\n  input x[4, 8, 8]\n  x -> conv(\uff16\uff14)\n}\n", "\uff16"),
    ("network n() {\n  input x[4]\n  x -> linear(\u0661\u0660)\n}\n", "\u0661"),
    ("network n() {\n  input x[4]\n  x -> linear(1\u0660)\n}\n", "\u0660"),
    ("network n() {\n  input x[\uff14]\n  x -> linear(2)\n}\n", "\uff14"),
    ("let c = \u0968\nnetwork n() {\n  input x[4]\n  x -> linear(c)\n}\n", "\u0968"),
])
def test_item_10_only_ascii_digits_make_numbers(text: str, char: str) -> None:
    """Full-width, Arabic-Indic and Devanagari digits were read as numbers (``conv(６４)``
    made 64 channels); the lexer now stops at the first of them and names it."""
    err = _error(text)
    line = text[:text.index(char)].count("\n") + 1
    column = text.index(char) - text.rfind("\n", 0, text.index(char))
    assert (err.code, err.line, err.column) == ("RG002", line, column)
    assert char in err.message


def test_item_10_set_values_take_only_ascii_digits(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("check", str(_ROOT / "examples" / "resnet18.rg"), "--set",
                "classes=\uff11\uff10") == 1
    assert "error[RG218]" in capsys.readouterr().err


_DIGITS_MLP = "network n() {\n  input x[64]\n  x -> linear(10)\n}\n"


@pytest.mark.parametrize(("options", "named"), [
    (["--lr", "inf"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "1e308"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--seed", "99999999999999999999"], "--seed"),
    (["--seed", "-1"], "--seed"),
    (["--device", "mps"], "--device"),
    (["--device", "cuda:99"], "--device"),
    (["--device", "warp9"], "--device"),
    (["--epochs", "-1"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_item_11_train_options_are_checked_and_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str],
        named: str) -> None:
    """``--lr inf`` trained to 10% and exited 0; ``--lr 1e308``, a 20-digit seed and
    ``--device mps`` ended in tracebacks. Each is now refused before training starts."""
    (tmp_path / "net.rg").write_text(_DIGITS_MLP)
    code = _cli("train", str(tmp_path / "net.rg"), "--no-progress", "--epochs", "1",
                "--device", "cpu", *options)
    out, err = capsys.readouterr()
    assert code == 1, out
    assert err.startswith("resgraph: error[RG7") and named in err, err
    assert "Traceback" not in err and "training" not in out


def test_item_11_a_loss_that_stops_being_finite_ends_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Thirty layers at ``--lr 10`` overflow within a few steps: the run stops there,
    naming the epoch and the step, instead of finishing at 10% with loss nan."""
    (tmp_path / "deep.rg").write_text(
        "network deep() {\n  input x[64]\n  x -> linear(64) * 30 -> linear(10)\n}\n")
    code = _cli("train", str(tmp_path / "deep.rg"), "--no-progress", "--epochs", "2",
                "--lr", "10", "--device", "cpu")
    out, err = capsys.readouterr()
    assert code == 1, out
    assert "error[RG715]" in err and "in epoch 1, step " in err and "lower --lr" in err, err
    assert "test accuracy" not in out


def test_item_11_running_out_of_memory_is_a_located_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A MemoryError during a step (here forced; tests/test_train.py runs a real one under
    a memory limit) is RG701 at the network, with advice, not a traceback."""
    import torch.nn.functional

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", out_of_memory)
    (tmp_path / "net.rg").write_text(_DIGITS_MLP)
    code = _cli("train", str(tmp_path / "net.rg"), "--no-progress", "--epochs", "1",
                "--device", "cpu")
    err = capsys.readouterr().err
    assert code == 1
    assert f"{tmp_path / 'net.rg'}:1:1: error[RG701]: out of memory" in err
    assert "--batch-size" in err and "Traceback" not in err


@pytest.mark.parametrize("value", [
    'classes=10; use "/etc/passwd"',
    "classes=10 network m() { input x[1]\n x -> relu }",
    "classes=10\nlet y = 2",
    "classes=10;",
])
def test_item_12_a_set_value_is_exactly_one_expression(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The text after the value was parsed and silently dropped."""
    assert _cli("check", str(_ROOT / "examples" / "resnet18.rg"), "--set", value) == 1
    err = capsys.readouterr().err
    assert err.startswith("resgraph: error[RG218]: bad --set value for 'classes'"), err
    assert "one expression" in err


# ---- use is confined; errors never leak bytes of other files (issue 11 items 1, 7)

from resgraph.cli import main  # noqa: E402
from resgraph.program import Limits  # noqa: E402

_USE_ROOT = Path(__file__).resolve().parent.parent
_USE_SECRET = "hunter2-s3cr3t-t0k3n"
_USE_NET = "network n() {\n  input x[8]\n  x -> b\n}\n"
"""A network that needs the block ``b`` from a used file."""


def _use_error(path: Path, **kw: object) -> ResgraphError:
    with pytest.raises(ResgraphError) as info:
        resgraph.load(str(path), **kw)  # type: ignore[arg-type]
    return info.value


def _use_check(args: list[str], cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """``python -m resgraph ARGS`` in a fresh process; a hang fails the test at ``timeout``."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(_USE_ROOT)}
    return subprocess.run([sys.executable, "-m", "resgraph", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env={**(env or {}), **base})


@pytest.mark.parametrize("target", ["/proc/self/environ", "/etc/passwd", "/etc/shadow"])
def test_item_1_use_of_a_system_file_is_refused_before_reading(tmp_path: Path,
                                                               target: str) -> None:
    """The error is at the string, names the rule, and quotes only the ``use`` line."""
    main_file = tmp_path / "main.rg"
    main_file.write_text(f'use "{target}"\n' + _USE_NET)
    err = _use_error(main_file)
    assert (err.code, err.line, err.column) == ("RG009", 1, 5)
    assert str(err).splitlines()[1:] == [f'    use "{target}"', "    " + "    ^" + "~" * (
        len(target) + 1)]


def test_item_1_environment_secrets_never_reach_stderr(tmp_path: Path) -> None:
    """``resgraph check`` in a process whose environment holds a secret: neither a direct
    ``use`` of ``/proc/self/environ``, nor a ``.rg`` link to it, nor a ``.rg`` link to a
    file outside the folder shows it."""
    (tmp_path / "env.rg").symlink_to("/proc/self/environ")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.rg"
    outside.write_text(f"let = {_USE_SECRET}\n")
    (tmp_path / "up.rg").symlink_to(outside)
    env = {"RESGRAPH_TEST_SECRET": _USE_SECRET}
    for used, code in (("/proc/self/environ", "RG009"), ("env.rg", "RG009"),
                       ("up.rg", "RG008")):
        (tmp_path / "main.rg").write_text(f'use "{used}"\n' + _USE_NET)
        proc = _use_check(["check", "main.rg"], tmp_path, env)
        assert proc.returncode == 1, proc.stderr
        assert _USE_SECRET not in proc.stderr + proc.stdout, used
        assert f"main.rg:1:5: error[{code}]" in proc.stderr, proc.stderr


def test_item_1_a_rg_file_with_control_bytes_or_bad_utf8_quotes_no_line(tmp_path: Path) -> None:
    """A ``.rg`` file that is not text gives an error that quotes no line of it and shows
    none of its bytes, used or loaded directly; the ``use`` line itself is still quoted."""
    bad = {
        "nul.rg": b"block b() { relu }\nlet a = 1 \x00" + _USE_SECRET.encode() + b"\n",
        "escape.rg": b"# \x1b]0;" + _USE_SECRET.encode() + b"\x07\nblock b() { relu }\n",
        "latin1.rg": b"block b() { relu }\n# caf\xe9 " + _USE_SECRET.encode() + b"\n",
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        err = _use_error(tmp_path / name)
        assert err.code in ("RG002", "RG006"), name
        assert len(str(err).splitlines()) == 1, str(err)
        assert _USE_SECRET not in str(err) and "\x00" not in str(err) and "\x1b" not in str(err)
        (tmp_path / "main.rg").write_text(f'use "{name}"\n' + _USE_NET)
        err = _use_error(tmp_path / "main.rg")
        assert _USE_SECRET not in str(err) and "\x00" not in str(err) and "\x1b" not in str(err)
        assert all(line.startswith(("    use", "    ^")) for line in str(err).splitlines()[1:])
    err = _use_error(tmp_path / "nul.rg")
    assert (err.code, err.line, err.column) == ("RG002", 2, 11)
    assert "U+0000" in err.message
    err = _use_error(tmp_path / "latin1.rg")
    assert err.code == "RG006" and "not UTF-8 text" in err.message


def test_item_1_use_outside_the_folder_needs_use_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file outside the top file's folder is refused at the string with a hint; a
    ``--use-path`` folder (Python: ``use_path=``, or ``Limits(use_path=...)``) allows it."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "lib.rg").write_text("block b() { linear(3) }\n")
    top = tmp_path / "proj" / "main.rg"
    top.write_text('use "../shared/lib.rg"\n' + _USE_NET)
    err = _use_error(top)
    assert (err.code, err.line, err.column) == ("RG008", 1, 5)
    assert "--use-path" in err.message
    assert main(["check", str(top)]) == 1
    assert "error[RG008]" in capsys.readouterr().err
    assert main(["check", str(top), "--use-path", str(tmp_path / "shared")]) == 0
    assert "ok: network n" in capsys.readouterr().out
    for command in ("check", "analyze", "render", "compile", "train"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--use-path DIR" in capsys.readouterr().out, command
    shared = str(tmp_path / "shared")
    assert resgraph.load(str(top), use_path=[shared]).outputs == {"output": (3,)}
    assert resgraph.load(str(top), use_path=Path(shared)).outputs == {"output": (3,)}
    limits = Limits(use_path=(shared,))
    assert resgraph.load(str(top), limits=limits).outputs == {"output": (3,)}
    err = _use_error(top, use_path=[str(tmp_path / "missing")])
    assert err.code == "RG010" and "missing" in err.message
    monkeypatch.chdir(tmp_path / "proj")  # loads(): the root is the current folder
    with pytest.raises(ResgraphError) as info:
        resgraph.loads('use "../shared/lib.rg"\n' + _USE_NET)
    assert info.value.code == "RG008"
    assert resgraph.loads('use "../shared/lib.rg"\n' + _USE_NET,
                          use_path=[shared]).outputs == {"output": (3,)}


def test_item_7_use_resolves_from_the_real_folder_of_the_including_file(tmp_path: Path) -> None:
    """Relative to the including file, however deep; for a file reached through a link,
    relative to the folder of the real file (so each real file means one thing)."""
    (tmp_path / "lib" / "sub").mkdir(parents=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "lib" / "a.rg").write_text('use "sub/b.rg"\n')
    (tmp_path / "lib" / "sub" / "b.rg").write_text('use "../c.rg"\n')
    (tmp_path / "lib" / "c.rg").write_text("block b() { linear(5) }\n")
    (tmp_path / "sub" / "b.rg").write_text("block b() { linear(99) }\n")  # a decoy
    (tmp_path / "c.rg").write_text("block b() { linear(98) }\n")  # a decoy
    top = tmp_path / "main.rg"
    top.write_text('use "lib/a.rg"\n' + _USE_NET)
    assert resgraph.load(str(top)).outputs == {"output": (5,)}
    (tmp_path / "a.rg").symlink_to(tmp_path / "lib" / "a.rg")
    top.write_text('use "a.rg"\n' + _USE_NET)
    assert resgraph.load(str(top)).outputs == {"output": (5,)}


def _use_link_web(folder: Path, files: int = 10, links: int = 4) -> Path:
    """``files`` four-line files, each using the next through ``links`` links to ``.``
    (lets only, as in the issue): 4**9 paths reach the last file, one real file."""
    for k in range(links):
        (folder / f"l{k}").symlink_to(".")
    for i in range(files - 1):
        (folder / f"f{i}.rg").write_text(
            "".join(f'use "l{k}/f{i + 1}.rg"\n' for k in range(links)))
    (folder / f"f{files - 1}.rg").write_text("let w = 4\nlet h = w * 2\nlet d = 3\n"
                                             "let p = [w, h, d]\n")
    top = folder / "main.rg"
    top.write_text('use "f0.rg"\nnetwork n() {\n  input x[h]\n  x -> linear(w)\n}\n')
    return top


def test_item_7_each_real_file_is_parsed_once(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """However many linked paths reach a file (diamonds included), it is parsed once."""
    import resgraph.program as program

    parsed: list[str] = []
    real_parse = program.parse

    def counting_parse(text: str, file: str = "<string>", **kw: int) -> object:
        parsed.append(file)
        assert len(parsed) <= 50, "a file is parsed again for each path that reaches it"
        return real_parse(text, file, **kw)

    monkeypatch.setattr(program, "parse", counting_parse)
    top = _use_link_web(tmp_path)
    assert resgraph.load(str(top)).outputs == {"output": (4,)}
    assert len(parsed) == 11  # main.rg and f0.rg .. f9.rg
    assert len({os.path.realpath(p) for p in parsed}) == 11


def test_item_7_a_web_of_links_checks_within_a_bound(tmp_path: Path) -> None:
    """The issue's shape (10 four-line files, 4 links to ``.``) in a fresh process; 20 s is
    a guard against re-reading per path (4**9 reads), not a speed target."""
    _use_link_web(tmp_path)
    proc = _use_check(["check", "main.rg"], tmp_path)
    assert proc.returncode == 0 and "ok: network n" in proc.stdout, proc.stderr


_USE_RACE = """
import os, sys
import resgraph
real = {"stat": os.stat, "lstat": os.lstat}
swapped = []

def racing(kind):
    def look(path, *args, **kw):
        result = real[kind](path, *args, **kw)
        if str(path).endswith("x.rg") and not swapped:  # checked: now it becomes a FIFO
            swapped.append(kind)
            os.unlink(path)
            os.mkfifo(path)
        return result
    return look

os.stat, os.lstat = racing("stat"), racing("lstat")
try:
    resgraph.load("main.rg")
except resgraph.ResgraphError as err:
    print(err.code, err.message)
"""


def test_item_7_a_file_that_becomes_a_fifo_after_the_check_never_blocks(
        tmp_path: Path) -> None:
    """``x.rg`` is a regular file when first looked at and a FIFO (with no writer) when
    opened: the open must not block, and the open file is refused as not regular."""
    (tmp_path / "x.rg").write_text("block b() { relu }\n")
    (tmp_path / "main.rg").write_text('use "x.rg"\n' + _USE_NET)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(_USE_ROOT)}
    proc = subprocess.run([sys.executable, "-c", _USE_RACE], cwd=tmp_path, text=True, env=env,
                          capture_output=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("RG006 ") and "not a regular file" in proc.stdout
    os.unlink(tmp_path / "x.rg")
    os.mkfifo(tmp_path / "x.rg")
    proc = subprocess.run([sys.executable, "-c", _USE_RACE], cwd=tmp_path, text=True, env=env,
                          capture_output=True, timeout=20)
    assert "RG006" in proc.stdout and "not a regular file" in proc.stdout


# ---- follow-ups: the digit message, one class name per package (issue 11 items 9, 10)


def test_item_10_a_non_ascii_digit_is_named_with_its_code_point() -> None:
    err = _error("network n() {\n  input x[4]\n  x -> linear(١٠)\n}")
    assert (err.code, err.line, err.column) == ("RG002", 3, 15)
    assert "non-ASCII digit '١' (U+0661)" in err.message


def test_item_9_the_package_class_is_the_name_the_compile_log_gives(tmp_path: Path) -> None:
    src = tmp_path / "u.rg"
    src.write_text("network _x() {\n  input x[4]\n  x -> linear(2)\n}\n")
    proc = subprocess.run([sys.executable, "-m", "resgraph", "compile", str(src), "-o",
                           str(tmp_path / "pkg")], capture_output=True, text=True, check=True)
    assert "from pkg import _x_net" in proc.stdout
    assert "\nclass _x_net(" in (tmp_path / "pkg" / "module.py").read_text()


# ---- bounded work: analysis, shape checking, rendering (issue 11 items 3, 5, 6, 8, 12)

_BW_ROOT = Path(__file__).resolve().parent.parent


def _bw_run(argv: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``resgraph ARGV`` in a fresh process of this checkout; ``timeout`` is a guard against
    a hang (a TimeoutExpired fails the test), not a speed target."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_BW_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "resgraph", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("body", "approximate"), [
    ("x -> residual { linear(1) } * 8000", True),
    ("x -> dense(layers=1413) { linear(1) }", True),
])
def test_item_5_analysis_of_huge_path_counts_is_bounded(tmp_path: Path, body: str,
                                                        approximate: bool) -> None:
    """The issue's inputs took over 60 s each; paths, depth and min depth stay exact and
    the distribution is marked approximate (floating point). The dense one (999,691 dense
    edges) is over the default node limit, so it runs with the limit raised."""
    (tmp_path / "n.rg").write_text(f"network n() {{\n  input x[1]\n  {body}\n}}\n")
    proc = _bw_run(["analyze", "n.rg", "--max-nodes", "1000000"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "signal paths    " in proc.stdout and "= 2^" in proc.stdout
    assert ("approximate (floating point" in proc.stdout) == approximate


def test_item_5_the_default_node_limit_bounds_analysis(tmp_path: Path) -> None:
    """The worst case under the default limit of 100,000 nodes (one-op residual units:
    the most paths and edges per node) is analysed; one unit more is refused at once.
    bench/analysis.py times it (about 6 s for check plus analyze on 2 cores)."""
    (tmp_path / "worst.rg").write_text("network n() {\n  input x[1]\n"
                                       "  x -> residual { linear(1) } * 49995\n}\n")
    proc = _bw_run(["analyze", "worst.rg", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    digits = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # the path count has 15,050 digits
    try:
        data = json.loads(proc.stdout)
        assert (data["nodes"], data["depth"], data["paths"]) == (99_991, 49_995, 2**49_995)
    finally:
        sys.set_int_max_str_digits(digits)
    (tmp_path / "over.rg").write_text("network n() {\n  input x[1]\n"
                                      "  x -> residual { linear(1) } * 50000\n}\n")
    proc = _bw_run(["analyze", "over.rg"], tmp_path, timeout=20)
    assert proc.returncode == 1
    assert "over.rg:3:33: error[RG503]: 50,000 copies would give the network about 100,001 " \
           "nodes, over the limit of 100,000 (raise it with --max-nodes)" in proc.stderr


def test_item_5_json_marks_approximate_distributions(tmp_path: Path) -> None:
    (tmp_path / "n.rg").write_text("network n() {\n  input x[1]\n"
                                   "  x -> residual { linear(1) } * 8000\n}\n")
    proc = _bw_run(["analyze", "n.rg", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["paths"] == 2**8000 and (data["depth"], data["min_depth"]) == (8000, 0)
    assert data["path_lengths_approximate"] is True
    for key in ("path_lengths", "unit_path_lengths"):
        shares = data[key]
        assert all(isinstance(v, float) for v in shares.values())
        assert abs(sum(shares.values()) - 1) < 1e-9
        assert shares["4000"] == pytest.approx(0.008920, rel=1e-3)  # C(8000, 4000) / 2^8000


def test_item_5_approximate_distributions_agree_with_exact() -> None:
    """ResNet-1001 (2^333 paths) computed both ways: the same shares to 1e-14, and every
    share above 1e-12 to 0.1%."""
    from resgraph.analyze import analyze

    arch = resgraph.load(str(_BW_ROOT / "examples" / "preact_resnet.rg"), n=111)
    exact, approx = analyze(arch), analyze(arch, budget=0)
    assert exact.path_lengths_exact and not approx.path_lengths_exact
    assert approx.to_dict()["path_lengths_approximate"] is True
    assert (approx.paths, approx.depth, approx.min_depth) == (2**333, 1001, exact.min_depth)
    for units in (False, True):
        want, got = exact.shares(units), approx.shares(units)
        assert set(got) <= set(want)
        assert max(abs(want[k] - got.get(k, 0.0)) for k in want) < 1e-14
        assert all(abs(got[k] - w) <= 1e-3 * w for k, w in want.items() if w > 1e-12)


def _bw_edge_chain(edges: int, copies: int, change: bool) -> str:
    """A relu chain of ``copies`` thousand nodes under ``edges`` skip edges near its top:
    each merges ``x`` in front of a relu, whose shape the following linear(4) resets
    (``change``: a concat makes it 8 wide), or changes nothing (merge=add)."""
    lines = ["network n() {", "  input x[4]", "  a = x -> relu"]
    prev = "a"
    for i in range(edges):
        lines += [f"  b{i} = {prev} -> relu", f"  c{i} = b{i} -> linear(4)"]
        prev = f"c{i}"
    lines.append(f"  z = {prev} -> (relu * 1000) * {copies}")
    merge = "" if change else "(merge=add) "
    lines += [f"  skip {merge}x -> b{i}" for i in range(edges)]
    return "\n".join([*lines, "}"]) + "\n"


def test_item_6_shape_checking_after_edges_is_incremental(tmp_path: Path) -> None:
    """40 edges at the top of a 300,000-node chain: each changes one node's shape. The
    old check re-sorted the whole chain per edge (about 2.5 s each here)."""
    (tmp_path / "grow.rg").write_text(_bw_edge_chain(40, 300, change=True))
    proc = _bw_run(["check", "grow.rg", "--max-nodes", "400000"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ok: network n, 300122 nodes" in proc.stdout
    (tmp_path / "same.rg").write_text(_bw_edge_chain(10, 100, change=False))
    proc = _bw_run(["check", "same.rg", "--max-nodes", "400000"], tmp_path)
    assert proc.returncode == 0 and "100032 nodes" in proc.stdout, proc.stderr
    arch = resgraph.loads(_bw_edge_chain(3, 1, change=True) + """
network m() {
  input x[4]
  a = x -> relu -> relu
  b = x -> linear(6) -> relu
  skip b -> a
  c = a -> relu
  skip x -> c
  skip b -> c
}""", network="m")
    assert arch.outputs == {"c": (20,)}  # b made after a still merges in front of a


def _bw_fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    """Put a ``dot`` running ``script`` (sh) first on PATH; returns its marker file."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text(f"#!/bin/sh\ntouch '{bin_dir}/ran'\n{script}\n")
    (bin_dir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir / "ran"


def _bw_render_error(arch: resgraph.Architecture, path: Path, **options: object
                     ) -> ResgraphError:
    from resgraph.render import render

    with pytest.raises(ResgraphError) as info:
        render(arch, str(path), **options)
    return info.value


def test_item_8_renders_too_large_for_dot_are_refused_before_it_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``(linear(8) -> relu) * 15000 --expand`` ran dot out of 16 GB, a 120k-node chain
    crashed it, 10,000 distinct block calls took 8.8 GB: refused, dot never started."""
    ran = _bw_fake_dot(tmp_path, monkeypatch, "cat > /dev/null\necho '<svg/>'")
    cases = [("x -> (linear(8) -> relu) * 15000", {"collapse": False}),
             ("x -> relu * 100000 -> relu * 20000", {}),
             ("x -> " + " -> ".join(f"b({k})" for k in range(1, 10_001)), {})]
    for i, (chain, options) in enumerate(cases):
        arch = resgraph.loads("block b(k) { linear(k) }\nnetwork n() {\n  input x[8]\n"
                              f"  {chain}\n}}\n", limits=Limits(max_nodes=200_000))
        err = _bw_render_error(arch, tmp_path / f"n{i}.svg", **options)
        assert err.code == "RG605" and "more than dot can lay out" in err.message
        assert ("--collapse" in err.message) == (options.get("collapse") is False)
        assert not (tmp_path / f"n{i}.svg").exists()
    assert "--depth 1" in err.message  # the distinct calls: collapsed already, so less deep
    assert not ran.exists()


def test_item_8_dot_runs_under_a_memory_limit(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """dot's address space is limited (default 4 GiB, ``dot_memory`` in MiB), and its
    own message is reported."""
    _bw_fake_dot(tmp_path, monkeypatch, 'echo "Error: limit $(ulimit -v) KiB" >&2\nexit 3')
    arch = resgraph.loads("network n() {\n  input x[8]\n  x -> linear(4)\n}\n")
    err = _bw_render_error(arch, tmp_path / "n.svg")
    assert err.code == "RG604"
    assert err.message == f"the 'dot' program failed: Error: limit {4096 * 1024} KiB"
    err = _bw_render_error(arch, tmp_path / "n.svg", dot_memory=512)
    assert err.message.endswith(f"limit {512 * 1024} KiB")


def test_item_8_a_crash_of_dot_names_its_signal(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash was reported as 'the dot program failed: ' and nothing else."""
    _bw_fake_dot(tmp_path, monkeypatch, "echo 'out of memory' >&2\nkill -SEGV $$")
    arch = resgraph.loads("network n() {\n  input x[8]\n  x -> residual { linear(8) }\n}\n")
    err = _bw_render_error(arch, tmp_path / "n.svg", collapse=False)
    assert err.code == "RG604"
    assert err.message.startswith("the 'dot' program was killed by SIGSEGV: out of memory "
                                  "(dot may use 4,096 MiB: raise it with --dot-memory")
    assert "--collapse" in err.message and not (tmp_path / "n.svg").exists()


def test_item_8_real_dot_out_of_memory_is_a_located_error(tmp_path: Path) -> None:
    """The real dot, allowed 64 MiB for a layout that needs about 120 MB."""
    from resgraph.render import dot_missing

    if dot_missing():
        pytest.skip("needs Graphviz's dot")
    arch = resgraph.loads("network n() {\n  input x[8]\n  x -> (linear(8) -> relu) * 1000\n}\n")
    err = _bw_render_error(arch, tmp_path / "n.svg", collapse=False, dot_memory=64)
    assert err.code == "RG604" and "--dot-memory" in err.message, err.message
    assert "killed by SIG" in err.message or "memory" in err.message.split("(dot may")[0]


def test_item_12_rg604_suggests_collapse_only_when_it_is_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import resgraph.render

    _bw_fake_dot(tmp_path, monkeypatch, "exec sleep 10")
    monkeypatch.setattr(resgraph.render, "DOT_TIMEOUT", 1)
    arch = resgraph.load(str(_BW_ROOT / "examples" / "resnet18.rg"))
    err = _bw_render_error(arch, tmp_path / "r.svg", collapse=True)
    assert err.code == "RG604" and "did not finish" in err.message
    assert "--collapse" not in err.message and "--depth 1" in err.message
    err = _bw_render_error(arch, tmp_path / "r.svg", collapse=False, depth=1)
    assert "--collapse" in err.message and "--depth 0" in err.message


def test_item_12_control_characters_in_strings_give_valid_diagrams(tmp_path: Path) -> None:
    """A NUL in a string argument (here through a network parameter) made a .dot that dot
    cannot parse, with exit 0."""
    from resgraph.render import dot_missing, render

    text = ('block b(tag) { relu }\nnetwork n(tag="x") {\n  input x[4]\n'
            '  x -> b(tag) -> linear(2)\n}\n')
    arch = resgraph.loads(text, tag="a\x00b\x01c\x7fd\u2028e")
    for fmt in ("dot", "mmd"):
        data = Path(render(arch, str(tmp_path / f"n.{fmt}"))).read_text()
        assert r"a\x00b\x01c\x7fd\u2028e" in data
        assert not any(ord(c) < 32 and c not in "\t\n" for c in data)
    if not dot_missing():
        proc = subprocess.run(["dot", "-Tsvg", str(tmp_path / "n.dot")], capture_output=True)
        assert proc.returncode == 0, proc.stderr
        svg = Path(render(arch, str(tmp_path / "n.svg"))).read_text()
        assert r"a\x00b" in svg


_BW_FULL_DISK = """
import resource, signal, sys
from resgraph.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
sys.exit(main(sys.argv[1:]))
"""


def test_item_3_render_writes_whole_files_or_nothing(tmp_path: Path) -> None:
    """A failed write (a file-size limit stands in for a full disk) keeps the previous
    diagram, and a link at the output path is replaced, never followed."""
    from resgraph.render import render

    out = tmp_path / "net.dot"
    render(resgraph.load(str(_BW_ROOT / "examples" / "resnet18.rg")), str(out))
    before = out.read_bytes()
    assert len(before) > 4096
    env = {**os.environ, "PYTHONPATH": str(_BW_ROOT)}
    proc = subprocess.run([sys.executable, "-c", _BW_FULL_DISK, "render",
                           str(_BW_ROOT / "examples" / "resnet50.rg"), "-o", str(out)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "error[RG602]" in proc.stderr, proc.stderr
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.dot"]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.mmd"
    link.symlink_to(victim)
    render(resgraph.load(str(_BW_ROOT / "examples" / "resnet18.rg")), str(link))
    assert victim.read_text() == "keep me" and not link.is_symlink()
