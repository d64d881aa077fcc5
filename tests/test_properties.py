"""Property tests (hypothesis): generated networks work end to end; mutated files fail cleanly.

* Random valid networks (chains of ops, blocks, residual / highway / dense groups,
  repeats, and skip / residual / dense / highway edges, with shapes kept consistent
  by the generator) elaborate, lint, analyse, render to ``.dot`` and compile on the
  meta device, where torch's parameter count equals ``arch.num_params`` and a meta
  forward pass gives the output shape the generator predicted.
* Mutated example files (tokens inserted, deleted, replaced, swapped) raise nothing
  but ``ResgraphError`` from loading, analysis, rendering and compiling, and no stage
  hangs.
* No construct evaluates Python.

Stages that do not exist yet in a checkout (analysis, rendering, lowering) are skipped.
Each property runs at most 200 examples.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resgraph
from resgraph import ResgraphError
from resgraph.cli import main
from resgraph.ir import lint
from resgraph.ops import USER_OPS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HAS_ANALYZE = importlib.util.find_spec("resgraph.analyze") is not None
HAS_RENDER = importlib.util.find_spec("resgraph.render") is not None
HAS_LOWER = importlib.util.find_spec("resgraph.lower") is not None and \
    importlib.util.find_spec("torch") is not None
PROMPT = 30.0
"""Seconds per stage: a hang guard, not a speed test (a mutated zoo file compiles in about
0.5 s alone and took 3.2 s on a loaded 2-core machine; speed is measured in bench/)."""

BOUNDED = settings(max_examples=200, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.function_scoped_fixture])

Shape = tuple[int, ...]

BLOCKS = """
block unit(c, stride=1) {
    residual(shortcut=project) {
        conv1: conv(c, 3, stride=stride) -> bn1: bn -> relu -> conv2: conv(c, 3) -> bn2: bn
    }
    -> relu
}
block transition(ratio=0.5) {
    bn -> relu -> conv(max(1, int(in.channels * ratio)), 1) -> avgpool(2)
}
block mlp(width) { linear(width) -> relu }
"""

# ---------------------------------------------------------------- generated networks


@dataclass
class Labelled:
    """A labelled top-level node: where edges may start and end."""

    name: str
    op: str
    position: int
    shape_in: Shape
    shape_out: Shape


@dataclass
class Net:
    """A generated network: its source and the shapes the generator expects."""

    text: str
    input_shape: Shape
    dtype: str
    output: Shape


def _conv_out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


class _Gen:
    """Draws terms that keep shapes consistent, tracking the shape as it goes."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def pick(self, *options: Any) -> Any:
        return self.draw(st.sampled_from(options))

    def num(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    # feature maps [C, H, W] -------------------------------------------------
    def map_term(self, s: Shape, depth: int, keep: bool, strides: int) -> tuple[str, Shape]:
        """One term on a feature map; ``keep`` keeps the shape, ``strides`` bounds downsampling."""
        c, h, w = s
        kinds = ["act", "bn", "conv", "conv", "dropout", "groupnorm"]
        if depth < 2:
            kinds += ["residual", "highway"]
            if not keep:
                kinds += ["dense", "unit"]
        if not keep and strides and h >= 2:
            kinds += ["pool", "transition"]
        kind = self.pick(*kinds)
        if kind == "act":
            return self.pick("relu", "gelu", "silu", "sigmoid", "tanh", "identity"), s
        if kind == "bn":
            return "bn", s
        if kind == "dropout":
            return f"dropout({self.pick(0.0, 0.1, 0.5)})", s
        if kind == "groupnorm":
            g = self.pick(*[d for d in range(1, c + 1) if c % d == 0])
            return f"groupnorm({g})", s
        if kind == "conv":
            out = c if keep else self.num(1, 12)
            k = self.pick(1, 3) if h >= 3 else 1
            stride = self.pick(1, 2) if (not keep and strides and h >= 2) else 1
            text = f"conv({out}, {k}" + (f", stride={stride})" if stride > 1 else ")")
            return text, (out, _conv_out(h, stride), _conv_out(w, stride))
        if kind == "pool":
            return f"{self.pick('maxpool', 'avgpool')}(2)", (c, h // 2, w // 2)
        if kind == "transition":
            return "transition", (max(1, int(c * 0.5)), h // 2, w // 2)
        if kind == "unit":
            out = self.num(1, 8)
            stride = self.pick(1, 2) if strides and h >= 2 else 1
            n = self.num(1, 3)
            arg = f"unit({out}" + (f", stride={stride})" if stride > 1 else ")")
            size = _conv_out(h, stride), _conv_out(w, stride)
            if n > 1:
                arg = f"{arg} -> unit({out}) * {n - 1}"
            return arg, (out, *size)
        if kind == "highway":
            inner, _ = self.map_chain(s, depth + 1, keep=True, strides=0)
            return f"highway(gate_bias={self.pick(-2, -1, 0)}) {{ {inner} }}", s
        if kind == "dense":  # each layer sees more channels: a channel-agnostic body
            layers, growth = self.num(1, 3), self.num(1, 6)
            inner = self.pick("bn -> relu", "relu", "identity", "dropout(0.1)")
            k = self.pick(1, 3) if h >= 3 else 1
            return f"dense(layers={layers}) {{ {inner} -> conv({growth}, {k}) }}", \
                (c + layers * growth, h, w)
        # residual
        shortcut = "identity" if keep else self.pick("identity", "project", "conv", "pad")
        if shortcut == "identity":
            inner, out = self.map_chain(s, depth + 1, keep=True, strides=0)
        else:
            inner, out = self.map_chain(s, depth + 1, keep=False, strides=1, pools=False)
            if shortcut == "pad" and out[0] < c:
                inner, out = f"{inner} -> conv({c}, 1)", (c, *out[1:])
        drop = self.pick("", ", drop_path=0.1")
        return f"residual(shortcut={shortcut}{drop}) {{ {inner} }}", out

    def map_chain(self, s: Shape, depth: int, keep: bool, strides: int, most: int = 4,
                  pools: bool = True) -> tuple[str, Shape]:
        terms = []
        for _ in range(self.num(1, most)):
            if not pools:  # a residual branch: one downsampling conv at most, no pooling
                t, s2 = self.map_term(s, depth, keep=keep or not strides, strides=0)
                if not keep and strides and self.draw(st.booleans()):
                    out = self.num(1, 12)
                    t, s2 = f"conv({out}, 3, stride=2)", (out, _conv_out(s[1], 2),
                                                         _conv_out(s[2], 2))
                    strides = 0
                elif not keep and s2 == s and self.draw(st.booleans()):
                    out = self.num(1, 12)
                    t, s2 = f"conv({out}, 1)", (out, *s[1:])
            else:
                t, s2 = self.map_term(s, depth, keep, strides)
            terms.append(t)
            s = s2
        return " -> ".join(terms), s

    # vectors [F] -----------------------------------------------------------
    def vec_term(self, s: Shape, depth: int, keep: bool) -> tuple[str, Shape]:
        (f,) = s
        kinds = ["act", "layernorm", "dropout", "linear", "linear"] + (["residual", "highway"]
                                                             if depth < 2 else [])
        if not keep:
            kinds += ["dense", "mlp"]
        kind = self.pick(*kinds)
        if kind == "act":
            return self.pick("relu", "gelu", "tanh", "identity"), s
        if kind == "layernorm":
            return "layernorm", s
        if kind == "dropout":
            return "dropout(0.1)", s
        if kind == "linear":
            out = f if keep else self.num(1, 24)
            return f"linear({out})", (out,)
        if kind == "mlp":
            out = self.num(1, 24)
            return f"mlp({out})", (out,)
        if kind == "dense":
            layers, growth = self.num(1, 3), self.num(1, 6)
            return f"dense(layers={layers}) {{ linear({growth}) -> relu }}", \
                (f + layers * growth,)
        if kind == "highway":
            return f"highway {{ linear({f}) -> relu }}", s
        if keep or self.draw(st.booleans()):
            inner = " -> ".join(self.vec_term(s, depth + 1, True)[0]
                                for _ in range(self.num(1, 3)))
            return f"residual {{ {inner} }}", s
        out = self.num(1, 24)
        return f"residual(shortcut=project) {{ linear({out}) -> relu }}", (out,)


@st.composite
def networks(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Net:
    """A random valid network, with its expected input and output shapes."""
    gen = _Gen(draw)
    mode = gen.pick("map", "map", "vector", "sequence")
    classes = gen.num(1, 12)
    body: list[str] = []
    if mode == "sequence":
        t, d, heads, vocab = gen.num(1, 16), gen.pick(8, 12, 16), gen.pick(1, 2, 4), 50
        n = gen.num(0, 3)
        causal = gen.pick("true", "false")
        layer = (f"(residual {{ layernorm -> attention({heads}, causal={causal}) }} -> "
                 f"residual {{ layernorm -> linear({4 * d}) -> gelu -> linear({d}) }})")
        body.append(f"input tokens[{t}]: long")
        body.append(f"tokens -> embedding({vocab}, {d}) -> posembed -> blocks: {layer} * {n}"
                    f" -> layernorm -> head: linear(classes)")
        text = f"{BLOCKS}\nnetwork gen(classes={classes}) {{\n    " + \
            "\n    ".join(body) + "\n}\n"
        return Net(text, (t,), "long", (t, classes))

    if mode == "map":
        c, size = gen.num(1, 8), gen.pick(4, 5, 8, 16)
        shape: Shape = (c, size, size)
        body.append(f"input x[{c}, {size}, {size}]")
    else:
        shape = (gen.num(1, 24),)
        body.append(f"input x[{shape[0]}]")
    start = shape
    terms: list[str] = ["x"]
    labels: list[Labelled] = []
    for i in range(gen.num(1, 10)):
        if mode == "map":
            term, out = gen.map_term(shape, 0, keep=False, strides=1)
        else:
            term, out = gen.vec_term(shape, 0, keep=False)
        op = term.split("(")[0]
        single = re.fullmatch(r"[a-z_]+(\([^(){}]*\))?", term) is not None
        if single and op in USER_OPS and gen.num(0, 2) > 0:
            name = f"t{len(labels)}"
            labels.append(Labelled(name, op, len(terms), shape, out))
            term = f"{name}: {term}"
        elif "{" not in term and " -> " not in term and out == shape \
                and gen.draw(st.integers(0, 4)) == 0:
            term = f"r{i}: ({term}) * {gen.num(1, 3)}"
        terms.append(term)
        shape = out
    if mode == "map":
        terms += ["gap", "flatten"]
    terms.append("head: linear(classes)")
    body.append(" -> ".join(terms))
    body += _edges(gen, labels)
    text = f"{BLOCKS}\nnetwork gen(classes={classes}) {{\n    " + "\n    ".join(body) + "\n}\n"
    return Net(text, start, "float", (classes,))


def _edges(gen: _Gen, labels: list[Labelled]) -> list[str]:
    """Edge statements between labelled nodes whose shapes fit, at most one per target."""
    out: list[str] = []
    used: set[str] = set()
    for b in labels:
        if b.name in used or gen.num(0, 3) == 0:
            continue
        for a in sorted(labels, key=lambda a: gen.num(0, 9)):
            if a.position >= b.position - 1:
                continue
            kinds = []
            if a.shape_out == b.shape_in:
                kinds += ["residual", "skip(merge=add)", "highway"]
            if b.op in ("conv", "linear") and a.shape_out[1:] == b.shape_in[1:] \
                    and len(a.shape_out) == len(b.shape_in):
                kinds += ["skip", "dense"]  # concat: b's output shape does not change
            if not kinds:
                continue
            kind = gen.pick(*kinds)
            out.append(f"{kind} {a.name} -> {b.name}")
            used.add(b.name)
            break
    return out


def _run_stages(arch: resgraph.Architecture, tmp: Path) -> dict[str, float]:
    """Analyse, render and compile (those that exist), timing each; return the times."""
    times: dict[str, float] = {}
    if HAS_ANALYZE:
        t = time.perf_counter()
        rep = arch.analyze()
        times["analyze"] = time.perf_counter() - t
        assert rep.params == arch.num_params
    if HAS_RENDER:
        t = time.perf_counter()
        arch.render(str(tmp / "net.dot"))
        times["render"] = time.perf_counter() - t
        assert (tmp / "net.dot").read_text().lstrip().startswith(("digraph", "strict digraph"))
    if HAS_LOWER:
        t = time.perf_counter()
        gm = arch.compile(device="meta")
        times["compile"] = time.perf_counter() - t
        assert sum(p.numel() for p in gm.parameters()) == arch.num_params
    return times


@BOUNDED
@given(net=networks())
def test_generated_networks_work_end_to_end(net: Net, tmp_path_factory: Any) -> None:
    tmp = tmp_path_factory.mktemp("gen")
    arch = resgraph.loads(net.text, file="gen.rg")
    assert lint(arch.graph) == []
    assert list(arch.inputs.values()) == [net.input_shape]
    assert list(arch.outputs.values()) == [net.output]
    _run_stages(arch, tmp)
    if HAS_LOWER:
        import torch

        gm = arch.compile(device="meta").eval()
        dtype = torch.long if net.dtype == "long" else torch.float32
        y = gm(torch.empty((2, *net.input_shape), device="meta", dtype=dtype))
        assert tuple(y.shape) == (2, *net.output)


def test_the_generator_makes_every_construct() -> None:
    """The strategy reaches every group, edge kind and repeat (guards against a dull generator)."""
    seen: list[str] = []

    @settings(max_examples=600, deadline=None, derandomize=True, database=None)
    @given(net=networks())
    def collect(net: Net) -> None:
        seen.append(net.text.split("network gen", 1)[1])

    collect()
    text = "\n".join(seen)
    for word in ("residual(shortcut=project)", "residual(shortcut=pad)", "highway", "dense(",
                 "unit(", "transition", "skip t", "skip(merge=add) t", "residual t", "highway t",
                 "dense t",
                 "attention", ") * ", "groupnorm", "mlp(", ": long"):
        assert word in text, word


# ---------------------------------------------------------------- mutated examples

try:
    from bench.fuzz import FUZZ_MAX_NODES, VOCAB, pick_network, tokenize
except ImportError:  # pragma: no cover - bench/ is not shipped in the wheel
    FUZZ_MAX_NODES, VOCAB, tokenize = 2000, (), None  # type: ignore[assignment]
    pick_network = None  # type: ignore[assignment]
# as in bench/fuzz.py: a mutant that is merely a much larger network fails fast (RG503)
FUZZ_LIMITS = resgraph.Limits(max_nodes=FUZZ_MAX_NODES)

EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.rg"))
MUTATION = st.tuples(st.integers(0, 10**6), st.sampled_from(["delete", "insert", "replace",
                                                             "swap"]),
                     st.sampled_from(VOCAB or ("x",)), st.integers(0, 10**6))


def _mutate(text: str, changes: list[tuple[int, str, str, int]]) -> str:
    assert tokenize is not None
    tokens = tokenize(text)
    for pos, op, new, other in changes:
        sig = [i for i, t in enumerate(tokens) if not t.isspace() and not t.startswith("#")]
        if not sig:
            break
        i, j = sig[pos % len(sig)], sig[other % len(sig)]
        if op == "delete":
            tokens[i] = " "
        elif op == "insert":
            tokens[i:i] = [new, " "]
        elif op == "replace":
            tokens[i] = new if other % 2 else tokens[j]
        else:
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of examples/ (mutants overwrite files in it)."""
    folder = tmp_path_factory.mktemp("mutants") / "examples"
    shutil.copytree(EXAMPLES, folder)
    return folder


def _entry(folder: Path, name: str) -> Path:
    """The file to load for example ``name``: itself, or a file that uses the library."""
    if re.search(r"^\s*network\b", (EXAMPLES / name).read_text(), re.M):
        return folder / name
    return next(p for p in sorted(folder.glob("*.rg")) if f'use "{name}"' in p.read_text())


@pytest.mark.skipif(tokenize is None, reason="needs bench/fuzz.py")
@BOUNDED
@given(name=st.sampled_from(EXAMPLE_FILES), changes=st.lists(MUTATION, min_size=1, max_size=3))
def test_mutated_examples_fail_only_with_resgraph_errors(
        example_copy: Path, name: str, changes: list[tuple[int, str, str, int]]) -> None:
    original = (EXAMPLES / name).read_text()
    target = example_copy / name
    target.write_text(_mutate(original, changes))
    try:
        t = time.perf_counter()
        try:
            entry = _entry(example_copy, name)  # a family file: one of its networks
            arch = resgraph.load(str(entry), pick_network(entry, FUZZ_LIMITS),
                                 limits=FUZZ_LIMITS)
        except ResgraphError as exc:
            assert str(exc) and exc.code.startswith("RG")
            return
        finally:
            assert time.perf_counter() - t < PROMPT
        try:
            times = _run_stages(arch, example_copy.parent)
        except ResgraphError as exc:
            assert str(exc) and exc.code.startswith("RG")
            return
        assert all(v < PROMPT for v in times.values()), times
    finally:
        target.write_text(original)


# ---------------------------------------------------------------- no Python, ever

EVIL = [
    'let a = __import__("os").system("touch {marker}")',
    'network n() {{ input x[8]\n x -> linear(__import__("os").system("touch {marker}")) }}',
    'network n() {{ input x[8]\n x -> `touch {marker}` }}',
    'let a = eval("__import__(\\"os\\").system(\\"touch {marker}\\")")',
    'let a = exec("open(\\"{marker}\\", \\"w\\")")',
    'let a = open("{marker}", "w")',
    'let a = "abc".upper()',
    'let a = "".__class__',
    'let a = [].__class__.__bases__',
    'let a = (1).__class__',
    'let a = lambda: 0',
    'let a = f"{{1}}"',
    'import os',
    'from os import system',
    'let a = {{"k": 1}}',
    'let a = [x for x in [1]]',
    "let a = 'single'",
    'let a = $HOME',
    'let a = 1; os.system("touch {marker}")',
    'network n() {{ input x[8]\n x -> linear(in.__class__) }}',
    'network n() {{ input x[8]\n x -> linear(x.__dict__) }}',
    'network n(c=__import__) {{ input x[8]\n x -> linear(c("os")) }}',
    'block b() {{ relu }}\nnetwork n() {{ input x[8]\n x -> b.__call__ }}',
    'let getattr = 1\nlet a = getattr(1, "real")',
]


@pytest.mark.parametrize("template", EVIL)
def test_no_construct_evaluates_python(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = template.format(marker=marker)
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(text + "\nnetwork zz() { input q[4] }\n", network="n"
                       if "network n(" in text else "zz")
    assert info.value.code in ("RG002", "RG003", "RG004", "RG005", "RG302", "RG303", "RG307")
    path = tmp_path / "evil.rg"
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    assert not marker.exists()


def test_no_python_through_set_or_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "n.rg"
    path.write_text("network n(c=4) { input x[8]\n x -> linear(c) }\n")
    for value in (f'__import__("os").system("touch {marker}")', "eval('1')", "`id`",
                  "().__class__"):
        assert main(["check", str(path), "--set", f"c={value}"]) == 1
        assert "RG218" in capsys.readouterr().err
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w')\n")
    (tmp_path / "u.rg").write_text('use "evil.py"\nnetwork n() { input x[8] }\n')
    assert main(["check", str(tmp_path / "u.rg")]) == 1
    assert not marker.exists()
