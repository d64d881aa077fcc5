"""The hostile-names corpus (issue 11, item 9): names that enter generated Python.

Every name of the corpus is used as a label, as a network name and as an input name. In
each role it is either refused at its own line and column, or the network compiles, the
package that ``resgraph compile -o DIR`` writes imports in a fresh interpreter, and a
forward pass runs there (labels name the state_dict keys, input names the arguments of
``forward``). Accepted names are batched: one network holds every accepted label, one
every accepted input, so the whole corpus needs one subprocess.
"""

from __future__ import annotations

import builtins
import json
import keyword
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from torch import fx, nn

import resgraph
from resgraph.cli import main as cli
from resgraph.errors import ResgraphError
from resgraph.ops import OPS

#: Names a hand-written model or its generated code might trip over.
HAND_PICKED = [
    "self", "cls", "torch", "F", "fx", "nn", "np", "math", "os", "sys", "operator", "builtins",
    "inf", "nan", "device", "NoneType", "pytree", "fx_pytree", "_put", "here", "model",
    "module", "main", "x", "y", "data", "input", "output", "forward", "in", "out", "true",
    "false", "none", "network", "block", "use", "let", "residual", "skip", "highway",
    "dense", "weight", "bias", "running_mean",
    "num_batches_tracked", "state", "graph", "code", "meta", "Linear", "Conv2d", "Module",
    "Sequential", "Parameter", "ReLU", "GraphModule", "functional", "init", "utils",
    "_", "_x", "_0", "__", "___", "__x", "__w", "__x_", "x__", "_x_", "__x__", "__init__",
    "__call__", "__class__", "__dict__", "__slots__", "__all__", "__name__", "__file__",
    "__builtins__", "__main__", "_self", "self_", "torch_", "match", "case", "type",
    "A", "T", "l" * 1000, "x" + "_" * 300 + "y",
    # lookalikes: the lexer takes ASCII names only
    "\uff53elf", "\u0441onv", "\u0456nput", "\u0455elf", "\uff58", "x\u200b",
]


def _graph_module_names() -> set[str]:
    gm = fx.GraphModule(nn.Module(), fx.Graph())
    return set(dir(fx.GraphModule)) | set(vars(gm)) | set(dir(gm))


def corpus() -> list[str]:
    """Keywords, builtins, every attribute of nn.Module and GraphModule, op names, and the
    hand-picked names above (connection kinds among them)."""
    names = set(HAND_PICKED) | set(keyword.kwlist) | set(keyword.softkwlist)
    names |= set(dir(builtins)) | set(dir(nn.Module)) | set(vars(nn.Module()))
    names |= _graph_module_names() | set(OPS)
    return sorted(names)


NAMES = corpus()

#: Where each role puts the name; ``{0}`` is the name. The refusal must be at (line, col).
TEMPLATES = {
    "label": ("network n() {{\n  input data0[4]\n  data0 -> {0}: linear(4)\n}}\n", 3, 12),
    "network": ("network {0}() {{\n  input data0[4]\n  data0 -> linear(4)\n}}\n", 1, 9),
    "input": ("network n() {{\n  input {0}[4]\n  linear(4)\n}}\n", 2, 9),
    # a label one level down: the generated code reaches it through its parent
    "nested": ("network n() {{\n  input data0[4]\n  data0 -> outer: ({0}: linear(4))\n}}\n",
               3, 20),
}


def _where(name: str, line: int, column: int) -> tuple[int, int]:
    """Where the lexer stops in ``name`` placed at (line, column): its first non-ASCII
    character, or its start."""
    bad = next((i for i, ch in enumerate(name) if not ch.isascii()), 0)
    return line, column + bad


def _cases() -> Iterator[tuple[str, str]]:
    for role in TEMPLATES:
        for name in NAMES:
            yield role, name


def _split() -> tuple[dict[str, list[str]], list[str]]:
    """Load every (role, name) once: the accepted names by role, and the failures of the
    refusal rule (a refusal elsewhere than at the name, or an unexpected exception)."""
    accepted: dict[str, list[str]] = {role: [] for role in TEMPLATES}
    problems = []
    for role, name in _cases():
        template, line, column = TEMPLATES[role]
        try:
            resgraph.loads(template.format(name), file=f"{role}.rg")
        except ResgraphError as err:
            where = _where(name, line, column)
            if (err.line, err.column) != where or err.code not in ("RG002", "RG004", "RG220"):
                problems.append(f"{role} {name[:40]!r}: refused at {err.line}:{err.column} "
                                f"(expected {where[0]}:{where[1]}): {err.code} {err.message}")
        except Exception as exc:  # noqa: BLE001 - any other exception is the bug looked for
            problems.append(f"{role} {name[:40]!r}: {type(exc).__name__}: {exc}")
        else:
            accepted[role].append(name)
    return accepted, problems


def _label_networks(labels: list[str]) -> str:
    """Two networks: every label on one linear each, and every label on a sub-chain (whose
    members are numbered, ``NAME.0``). ``relu()`` with parentheses is the op even where a
    label ``relu`` exists."""
    single = "".join(f"    -> {name}: linear(4)\n" for name in labels)
    chains = "".join(f"    -> {name}: (linear(4) -> relu())\n" for name in labels)
    return (f"network labels() {{\n  input data0[4]\n  data0\n{single}}}\n"
            f"network chains() {{\n  input data0[4]\n  data0\n{chains}}}\n")


def _input_network(inputs: list[str]) -> str:
    decls = "".join(f"  input {name}[4]\n" for name in inputs)
    chains = "".join(f"  o{i}_ = {name} -> linear(2)\n" for i, name in enumerate(inputs))
    outs = ", ".join(f"o{i}_" for i in range(len(inputs)))
    return f"network inputs() {{\n{decls}{chains}  output {outs}\n}}\n"


def _nested_networks(labels: list[str]) -> str:
    """Every nested label on a linear inside a labelled sub-chain and inside a block
    instance, and on a sub-chain inside a sub-chain."""
    single = "".join(f"      -> {name}: linear(4)\n" for name in labels)
    chains = "".join(f"      -> {name}: (linear(4) -> relu())\n" for name in labels)
    return (f"block every() {{\n  in\n{single}}}\n"
            f"block chains() {{\n  in\n{chains}}}\n"
            f"network nested() {{\n  input data0[4]\n  data0 -> outer: (linear(4)\n{single}"
            f"  ) -> every -> inner: chains\n}}\n")


#: Blocks named like this are named ``<block>_<k>`` when unlabelled: never ``__...``.
BLOCK_NAMES = ["__b", "_", "__init__", "_modules", "forward", "self", "torch", "super"]


def _block_network() -> str:
    blocks = "".join(f"block {name}() {{ linear(4) }}\n" for name in BLOCK_NAMES)
    chain = "".join(f" -> {name}" for name in BLOCK_NAMES)
    return f"{blocks}network blocks() {{\n  input data0[4]\n  data0{chain}\n}}\n"


_RUNNER = textwrap.dedent("""
    import importlib, json, sys
    import torch

    sys.path.insert(0, sys.argv[1])
    out = {}
    for pkg, inputs in json.loads(sys.argv[2]).items():
        mod = importlib.import_module(pkg)
        cls = getattr(mod, mod.__all__[0])
        model = cls()
        args = {name: torch.ones(2, 4) for name in inputs}
        y = model(**args)
        ys = y if isinstance(y, tuple) else (y,)
        out[pkg] = {"class": cls.__name__, "keys": sorted(model.state_dict()),
                    "shapes": [list(t.shape) for t in ys],
                    "finite": all(bool(torch.isfinite(t).all()) for t in ys)}
    print(json.dumps(out))
""")


def _compile(text: str, network: str | None, folder: Path, tmp: Path) -> None:
    src = tmp / f"{folder.name}.rg"
    src.write_text(text, encoding="utf-8")
    argv = ["compile", str(src), "-o", str(folder)] + (["-n", network] if network else [])
    assert cli(argv) == 0, f"compile {folder.name} failed"


@pytest.mark.slow
def test_hostile_names_are_refused_where_they_stand_or_compile_and_run(
        tmp_path: Path) -> None:
    assert len(NAMES) >= 300
    accepted, problems = _split()
    assert not problems, "\n".join(problems[:40])
    # the rule refuses what breaks Python, and keeps the plain names
    assert {"self", "__w", "_forward_hooks", "__init__", "_modules", "share_memory", "graph",
            "code", "recompile", "forward"}.isdisjoint(accepted["label"])
    assert {"super", "slice", "setattr", "torch", "self", "F"}.isdisjoint(accepted["network"])
    assert {"torch", "self", "input", "__x"}.isdisjoint(accepted["input"])
    # one level down, 'self' is a label like any other (BERT's attention.self.query)
    assert set(accepted["nested"]) == set(accepted["label"]) | {"self"}
    for role in TEMPLATES:
        assert {"x", "conv", "relu", "_x", "out"} <= set(accepted[role]), role
    assert "input" in accepted["label"] and "train" in accepted["network"]

    packages: dict[str, list[str]] = {}
    out = tmp_path / "out"
    labels = _label_networks(accepted["label"])
    for net in ("labels", "chains", "blocks"):
        text = _block_network() if net == "blocks" else labels
        _compile(text, net, out / f"pkg_{net}", tmp_path)
        packages[f"pkg_{net}"] = ["data0"]
    _compile(_nested_networks(accepted["nested"]), None, out / "pkg_nested", tmp_path)
    packages["pkg_nested"] = ["data0"]
    _compile(_input_network(accepted["input"]), None, out / "pkg_inputs", tmp_path)
    packages["pkg_inputs"] = accepted["input"]
    networks = {}
    for i, name in enumerate(accepted["network"]):
        _compile(TEMPLATES["network"][0].format(name), None, out / f"pkg_net{i}", tmp_path)
        packages[f"pkg_net{i}"] = ["data0"]
        networks[f"pkg_net{i}"] = name

    env = {**os.environ, "PYTHONPATH": ""}  # the packages must import without resgraph
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(out), json.dumps(packages)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = json.loads(proc.stdout)
    assert set(ran) == set(packages)
    assert all(r["finite"] for r in ran.values())
    assert ran["pkg_labels"]["keys"] == sorted(
        f"{name}.{p}" for name in accepted["label"] for p in ("weight", "bias"))
    assert ran["pkg_chains"]["keys"] == sorted(
        f"{name}.0.{p}" for name in accepted["label"] for p in ("weight", "bias"))
    assert not any(k.startswith("__") for k in ran["pkg_blocks"]["keys"])
    assert ran["pkg_nested"]["keys"] == sorted([
        *(f"{at}.{p}" for name in accepted["nested"]
          for at in (f"outer.{name}", f"every_0.{name}", f"inner.{name}.0")
          for p in ("weight", "bias")), "outer.0.bias", "outer.0.weight"])
    assert ran["pkg_inputs"]["shapes"] == [[2, 2]] * len(accepted["input"])
    for pkg, name in networks.items():
        cls = ran[pkg]["class"]  # package.py appends '_net' to a name it would shadow
        assert cls == name or (cls.startswith(name) and cls.endswith("_net")), (name, cls)
        assert ran[pkg]["shapes"] == [[2, 4]]


def test_stored_module_attributes_cover_the_installed_torch() -> None:
    """The front end keeps nn.Module's and GraphModule's attributes as literals (it never
    imports torch); the installed torch may have none that the literals miss."""
    from resgraph.elaborate.naming import (
        GRAPH_MODULE_ATTRIBUTES,
        NN_MODULE_ATTRIBUTES,
        reserved_reason,
    )

    module = {n for n in set(dir(nn.Module)) | set(vars(nn.Module())) if not n.startswith("__")}
    assert module <= NN_MODULE_ATTRIBUTES, sorted(module - NN_MODULE_ATTRIBUTES)
    graph = {n for n in _graph_module_names() if not n.startswith("__")} - module
    assert graph <= GRAPH_MODULE_ATTRIBUTES, sorted(graph - GRAPH_MODULE_ATTRIBUTES)
    compiled = resgraph.loads("network n() { input x[4]\n x -> fc: linear(2) }").compile()
    for name in {*dir(nn.Module), *vars(nn.Module()), *_graph_module_names(), *vars(compiled)}:
        if name not in ("fc",):
            assert reserved_reason(name, "label") is not None, name


def test_a_name_is_refused_in_the_file_where_it_stands(tmp_path: Path) -> None:
    """The location of a network or input name is found after comments and line breaks."""
    text = "# top\nnetwork  # the name is on the next line\n   super() {\n  input x[4]\n}\n"
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(text, file="c.rg")
    assert (info.value.code, info.value.line, info.value.column) == ("RG220", 3, 4)
    text = "network n() {\n  input\n    torch[4]\n  torch -> relu\n}\n"
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(text, file="c.rg")
    assert (info.value.code, info.value.line, info.value.column) == ("RG220", 3, 5)
    assert "argument of the compiled model's forward()" in info.value.message
