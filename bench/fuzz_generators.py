"""Generators of hostile inputs for ``bench/fuzz.py``: names, paths, ``use`` graphs, values.

Mutating the examples rarely reaches the edges a user or a service meets: a label that is
an nn.Module attribute, a ``use`` of ``/proc/self/environ``, files that ``use`` each other
through symbolic links, an ``eps`` of ``-0.0``. Each generator writes a small set of files
into a fresh folder (symbolic links and FIFOs included) and returns the file to load and a
description. The fuzzer runs them through the whole pipeline like its mutants; a secret in
the environment must never appear in an error message.

>>> import random, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> main, what = names(random.Random(1), folder)
>>> main.name, what.startswith("names:")
('main.rg', True)
"""

from __future__ import annotations

import keyword
import os
import random
from collections.abc import Callable
from pathlib import Path

SECRET = "RESGRAPH_FUZZ_SECRET_7f3a9c"
"""Put in the environment (so in /proc/self/environ) by the fuzzer; never in an error."""

NAMES: tuple[str, ...] = (
    *keyword.kwlist, "self", "torch", "nn", "F", "fx", "super", "slice", "setattr", "getattr",
    "print", "eval", "exec", "__import__", "object", "type", "id", "len", "list", "dict",
    "__init__", "__call__", "__dict__", "__class__", "__w", "_w", "_", "__", "___",
    "_modules", "_parameters", "_buffers", "_forward_hooks", "_backward_hooks",
    "forward", "training", "graph", "code", "recompile", "to", "cuda", "cpu", "half", "float",
    "double", "eval", "train", "state_dict", "load_state_dict", "share_memory", "apply",
    "modules", "children", "parameters", "buffers", "register_buffer", "add_module",
    "zero_grad", "requires_grad_", "extra_repr", "dump_patches", "call_super_init",
    "input", "output", "block", "network", "use", "let", "residual", "skip", "dense",
    "highway", "in", "true", "false", "none", "conv", "relu", "linear", "bn", "add",
    "concat", "gate", "x", "y", "out", "main", "net", "Net", "NET", "a" * 200, "x1", "é",
    "resgraph", "os", "sys", "builtins", "math", "inf", "nan", "Module", "GraphModule",
    "parallel", "as", "ceil", "floor", "log", "sqrt", "abs", "sum",  # issue 12
)
"""Names that have broken generated code or module paths, or could."""

VALUES: tuple[str, ...] = (
    "0", "-0", "-0.0", "0.0", "1", "-1", "0.5", "1.0", "0.999999", "1e-308", "1e308", "1e-45",
    "2 ** 31", "2 ** 63", "2 ** 63 - 1", "2 ** 64", "-(2 ** 63)", "10 ** 30", "1 / 3",
    "true", "false", "none", '""', '"x"', "[]", "[0]", "[1, 2]", "[2, 2, 2]", "[-1, 1]",
    "1 // 0", "1 % 0", "0 ** -1", "(-8) ** 0.5", "7.5", "3",
)
"""Numeric and other values for op arguments: zero, signs, extremes, wrong types."""

CALLS: tuple[str, ...] = (
    "conv(V)", "conv(8, k=V)", "conv(8, stride=V)", "conv(8, pad=V)", "conv(8, dilation=V)",
    "conv(8, groups=V)", "bn(eps=V)", "bn(momentum=V)", "groupnorm(V)", "groupnorm(2, eps=V)",
    "layernorm(eps=V)", "dropout(V)", "maxpool(V)", "avgpool(2, stride=V)", "upsample(V)",
    "linear(V)", "softmax(V)", "residual(drop_path=V) { relu }", "highway(gate_bias=V) { relu }",
    "dense(layers=V) { conv(4) }", "relu * V",
    # the zoo's ops (issue 12)
    "maxpool(3, stride=2, ceil=V)", "avgpool(3, stride=2, pad=1, ceil=V)", "adaptiveavgpool(V)",
    "permute(V)", "reshape(V)", "flatten(V)", "flatten(1, V)", "slice(V, 2)", "slice(0, V)",
    "slice(0, 2, dim=V)", "shuffle(V)", "layernorm(dim=V)", "scale(V)", "scale(dim=V)",
    "relu6 -> hardswish -> hardsigmoid * V",
    # the zoo's language forms (issue 12)
    "conv(4) * 2 as i -> conv(V if i == 0 else 4)", "conv(4) if V", "relu * V as i",
    '"b{V}": conv(4)', '("b{i}-{V}": conv(4)) * 2 as i', "V: conv(4)",
    "dense(layers=2) as i { conv(V) }", 'dense(layers=V) as i { "layer{i + 1}": conv(4) }',
    "residual(shortcut=V) { relu }", "residual(shortcut=identity if V else none) { relu }",
    "gate { gap -> conv(V, 1) -> sigmoid }", "gate { conv(4, 1) -> sigmoid * V }",
    "parallel { conv(V, 1); conv(4, 3) }", "parallel(merge=V) { conv(4); relu }",
    "parallel { maxpool(V); conv(4) }", "conv(ceil(V)) -> conv(floor(V)) -> conv(abs(V))",
    "conv(int(sqrt(V)) + 1) -> linear(int(log(V, 2)) + sum([V]))",
    # the spread of a flat nn.Sequential layout (issue 12)
    "f: (...(conv(V) -> relu) * 2 -> ...maxpool(2))", "f: (...relu * V as i)",
    "f: (conv(4) -> ...(conv(4) -> relu) if V)", "...conv(V)",
    "f: (...residual { conv(V) })", 'f: (...("b{V}": conv(4)))',
    # the transformer zoo's ops (issue 13)
    "attention(V)", "attention(2, layout=V)", "attention(4, layout=proj, kv_heads=V)",
    "attention(2, rope=V)", "attention(2, causal=V, bias=V)", "rmsnorm(V)", "gelu(approx=V)",
    "linear(V, layout=conv1d)", "token(V)", "posembed(layout=V)", "select(V)",
    "select(0, dim=V)", "token -> select(V)", "flatten(1) -> permute([1, 0]) -> token(V)",
    # weight tying and the product of branches (issue 13)
    "f: linear(V) -> linear(4, tied=f)", "f: linear(4) -> linear(V, bias=false, tied=f)",
    "linear(4, tied=V)", "parallel(merge=mul) { linear(V); linear(4) -> sigmoid }",
    # Swin's window ops (issue 13)
    "permute([1, 2, 0]) -> wattention(V)", "permute([1, 2, 0]) -> wattention(2, window=V)",
    "permute([1, 2, 0]) -> wattention(2, window=3, shift=V)",
    "permute([1, 2, 0]) -> wattention(2, version=V)", "permute([1, 2, 0]) -> patchmerge(V)",
    # MaxViT's partition attention (issue 13)
    "permute([1, 2, 0]) -> pattention(V)", "permute([1, 2, 0]) -> pattention(2, size=V)",
    "permute([1, 2, 0]) -> pattention(2, size=2, mode=V)",
)
"""Calls with a slot ``V`` for a value."""

Generator = Callable[[random.Random, Path], tuple[Path, str]]


def names(rng: random.Random, folder: Path) -> tuple[Path, str]:
    """A network whose name, input name and labels are hostile names."""
    net, inp, a, b = (rng.choice(NAMES) for _ in range(4))
    text = (f"network {net}() {{\n    input {inp}[3, 8, 8]\n"
            f"    {inp} -> {a}: conv(4) -> relu -> {b}: conv(4) -> gap -> flatten\n}}\n")
    main = folder / "main.rg"
    main.write_text(text, encoding="utf-8")
    return main, f"names: network {net!r}, input {inp!r}, labels {a!r}, {b!r}"


def values(rng: random.Random, folder: Path) -> tuple[Path, str]:
    """A network with one op argument set to an extreme or ill-typed value."""
    call = rng.choice(CALLS).replace("V", rng.choice(VALUES))
    shape = rng.choice(("[4, 8, 8]", "[8]", "[4, 16]"))
    text = f"network n() {{\n    input x{shape}\n    x -> {call}\n}}\n"
    main = folder / "main.rg"
    main.write_text(text, encoding="utf-8")
    return main, f"values: {call} on {shape}"


HOSTILE_PATHS: tuple[str, ...] = (
    "/proc/self/environ", "/etc/passwd", "/etc/shadow", "/dev/zero", "/dev/null", "/",
    "..", "../..", ".", "", "fifo.rg", "link/link/link/a.rg", "../outside.rg", "a.rg\\x00",
    "missing.rg", "folder.rg", "notes.txt",
)
"""``use`` paths that name special files, folders, other trees or odd strings."""


def paths(rng: random.Random, folder: Path) -> tuple[Path, str]:
    """A network that ``use``s a hostile path."""
    _furnish(folder)
    target = rng.choice(HOSTILE_PATHS)
    main = folder / "main.rg"
    main.write_text(f'use "{target}"\nnetwork n() {{\n    input x[8]\n    x -> linear(2)\n}}\n',
                    encoding="utf-8")
    return main, f"paths: use {target!r}"


def use_graphs(rng: random.Random, folder: Path) -> tuple[Path, str]:
    """Files that ``use`` each other (cycles, diamonds) through links to the folder itself."""
    _furnish(folder)
    count = rng.randint(2, 10)
    prefixes = ["", "link/", "link/link/", "other/", "./"]
    uses: dict[int, list[int]] = {}
    cyclic = rng.random() < 0.2  # mostly diamonds (each file used along many paths)
    for i in range(count):
        pool = range(count) if cyclic else range(i + 1, count)
        uses[i] = rng.sample(pool, rng.randint(0, min(3, len(pool))))
        lines = [f'use "{rng.choice(prefixes)}f{j}.rg"' for j in uses[i]]
        lines.append(f"let v{i} = {i}")
        lines.append(f"block b{i}(c) {{ conv(c) -> relu }}")
        (folder / f"f{i}.rg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    main = folder / "main.rg"
    main.write_text('use "f0.rg"\nnetwork n() {\n    input x[3, 8, 8]\n    x -> b0(4)\n}\n',
                    encoding="utf-8")
    return main, f"use graphs: {count} files{' (cyclic)' if cyclic else ''}, uses {uses}"


def _furnish(folder: Path) -> None:
    """Links to the folder itself and to its parent, a FIFO, a folder named like a file,
    a non-resgraph file and a file outside the folder, each as a ``use`` target."""
    for name, to in (("link", "."), ("other", ".."), ("up.rg", "../outside.rg")):
        if not os.path.lexists(folder / name):
            os.symlink(to, folder / name)
    if not (folder / "fifo.rg").exists():
        os.mkfifo(folder / "fifo.rg")
    (folder / "folder.rg").mkdir(exist_ok=True)
    (folder / "notes.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    (folder.parent / "outside.rg").write_text(f"let = {SECRET}\n", encoding="utf-8")


GENERATORS: dict[str, Generator] = {
    "names": names, "values": values, "paths": paths, "use graphs": use_graphs,
}
"""Every generator by name; the fuzzer draws one of them for a share of its inputs."""
