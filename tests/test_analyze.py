"""Analysis (issue 3): exact paths, depth, distributions, params and MACs of the examples.

The acceptance figures are asserted on the shipped examples; a brute-force path
enumeration on small generated networks checks the dynamic programs.
"""

from __future__ import annotations

import dataclasses
import doctest
import glob
import json
import os
import random
import subprocess
import sys
import time
from math import comb
from typing import Any

import networkx as nx
import pytest

import resgraph
from resgraph import analyze as an
from resgraph import report as rp
from resgraph.cli import main
from resgraph.kinds import CONNECTIONS, EDGE_KINDS
from resgraph.program import load_program

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def example(name: str, **params: Any) -> resgraph.Architecture:
    return resgraph.load(os.path.join(EXAMPLES, name), **params)


_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], an.Analysis] = {}


def report(name: str, **params: Any) -> an.Analysis:
    """The analysis of an example (cached: several tests read the same one)."""
    key = (name, tuple(sorted(params.items())))
    if key not in _CACHE:
        _CACHE[key] = example(name, **params).analyze()
    return _CACHE[key]


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resgraph", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- acceptance 1-5


def test_resnet50() -> None:
    rep = report("resnet50.rg")
    assert rep.params == rep.trainable_params == 25_557_032
    assert rep.macs == 4_089_184_256
    assert (rep.depth, rep.min_depth, rep.paths) == (50, 6, 65_536)
    assert rep.inputs == {"x": [3, 224, 224]} and rep.outputs == {"fc": [1000]}


def test_resnet18_and_152() -> None:
    rep = report("resnet18.rg")
    assert (rep.depth, rep.min_depth, rep.paths) == (18, 5, 256)
    assert report("resnet152.rg").depth == 152


def test_densenet121() -> None:
    rep = report("densenet.rg", network="densenet121")
    assert (rep.depth, rep.min_depth, rep.paths) == (121, 5, 2**58)
    assert rep.macs == pytest.approx(2.834e9, rel=0.005)


def test_densenet_bc_100_12() -> None:
    rep = report("densenet_bc.rg", L=100, k=12)
    assert (rep.depth, rep.paths) == (100, 2**48)
    assert rep.macs == pytest.approx(287.9e6, rel=0.005)


def test_cifar_resnet56() -> None:
    rep = report("cifar_resnet.rg", n=9)
    assert (rep.depth, rep.min_depth, rep.paths) == (56, 2, 2**27)
    assert rep.macs == 125_485_696
    assert rep.path_lengths == {str(2 + 2 * k): comb(27, k) for k in range(28)}


def test_preact_resnet1001_fast() -> None:
    arch = example("preact_resnet.rg", n=111)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        rep = arch.analyze()
        best = min(best, time.perf_counter() - start)
    assert (rep.depth, rep.paths) == (1001, 2**333)
    # A guard against a pathological slowdown, not a speed target (about 0.1 s here);
    # bench/analysis.py measures speed as ratios.
    assert best < 3.0, f"analysis of ResNet-1001 took {best:.3f} s"


def test_veit_resnet110() -> None:
    """Veit, Wilber and Belongie (2016): 54 units, lengths Binomial(54, 1/2) in units,
    and paths of 5 to 17 units are 0.454% of all paths."""
    rep = report("cifar_resnet.rg", n=18)
    assert rep.depth == 110 and rep.paths == 2**54
    assert rep.unit_path_lengths == {str(k): comb(54, k) for k in range(55)}
    units = rep.lengths(units=True)
    share = sum(units[k] for k in range(5, 18)) / rep.paths
    assert round(100 * share, 3) == 0.454


# ---------------------------------------------------------------- acceptance 6: every example


def _example_files() -> list[str]:
    """Each example file; each network of a family file as ``file:network``."""
    names = []
    for p in sorted(glob.glob(os.path.join(EXAMPLES, "*.rg"))):
        nets = list(load_program(open(p).read(), p, resgraph.Limits()).networks)
        base = os.path.basename(p)
        names += [f"{base}:{n}" for n in nets] if len(nets) > 1 else [base]
    return names


@pytest.mark.parametrize("name", _example_files())
def test_distribution_invariants(name: str) -> None:
    name, _, network = name.partition(":")
    params = {"network": network} if network else {}
    try:
        rep = report(name, **params)
    except resgraph.ResgraphError as exc:
        if exc.code == "RG216" and "defines no network" in str(exc):
            pytest.skip("a block library")
        raise
    for units in (False, True):
        table = rep.lengths(units)
        assert sum(table.values()) == rep.paths
        assert all(isinstance(v, int) and v > 0 for v in table.values())
    table = rep.lengths()
    assert max(table) == rep.depth and min(table) == rep.min_depth
    assert set(rep.edges) == set(EDGE_KINDS)
    assert sum(rep.edges.values()) == example(name, **params).graph.number_of_edges()
    json.dumps(rep.to_dict())  # JSON-ready


# ---------------------------------------------------------------- brute force on generated nets

C = 4
PIECES = [
    "conv({c}, 3) -> relu",
    "relu",
    "residual {{ conv({c}, 3) -> relu -> conv({c}, 3) }}",
    "residual {{ relu }}",
    "residual(shortcut=conv) {{ conv({c}, 3) }}",
    "residual(shortcut=project) {{ conv({c2}, 3) }} -> conv({c}, 1)",
    "residual(shortcut=pad) {{ conv({c2}, 3) }} -> conv({c}, 1)",
    "highway {{ conv({c}, 3) -> relu }}",
    "dense(layers={layers}) {{ relu -> conv(2, 3) }} -> conv({c}, 1)",
    "residual {{ dense(layers=2) {{ conv(2, 3) }} -> conv({c}, 1) }}",
    "residual {{ residual {{ conv({c}, 3) }} -> conv({c}, 3) }}",
    "highway {{ residual {{ conv({c}, 3) }} }}",
    "(residual {{ conv({c}, 3) }}) * 2",
    "linear_stage",
]
EDGES = ["residual", "residual(shortcut=conv)", "highway", "dense", "skip", "skip(merge=add)"]


def random_network(rng: random.Random) -> str:
    """A small random network of residual/highway/dense pieces, labels and edge statements."""
    two_inputs = rng.random() < 0.2
    lines = ["network g() {", f"  input x[{C}, 6, 6]"]
    if two_inputs:
        lines.append(f"  input y[{C}, 6, 6]")
    lines.append(f"  x -> conv({C}, 3)")
    sources, targets = ["x"], []
    for i in range(rng.randint(1, 5)):
        piece = rng.choice(PIECES)
        if piece == "linear_stage":
            piece = "conv({c}, 1)"
        text = piece.format(c=C, c2=2 * C, layers=rng.randint(1, 3))
        if rng.random() < 0.4:
            lines.append(f"  t{i}: conv({C}, 3)")
            targets.append((f"t{i}", len(sources)))
        lines.append(f"  p{i} = {text}")
        sources.append(f"p{i}")
    edges_into: dict[str, str] = {}
    for target, n_before in targets:
        # a source at least one piece before the target, never its direct input
        candidates = sources[:max(0, n_before - 1)] + (["y"] if two_inputs else [])
        if not candidates or rng.random() < 0.2:
            continue
        kind = rng.choice(EDGES)
        for src in rng.sample(candidates, min(len(candidates), rng.randint(1, 2))):
            if target in edges_into and (edges_into[target] != kind or kind == "highway"):
                continue
            edges_into[target] = kind
            lines.append(f"  {kind} {src} -> {target}")
    lines.append("  fin: relu")
    if rng.random() < 0.3 and len(sources) > 2:
        lines.append(f"  output fin, {rng.choice(sources[1:-1])}")
    lines.append("}")
    return "\n".join(lines)


def brute_force(g: nx.DiGraph) -> tuple[dict[int, int], dict[int, int]]:
    """Enumerate every signal path: (length → count, units → count)."""
    outputs = set(g.graph["outputs"].values())
    lengths: dict[int, int] = {}
    units: dict[int, int] = {}

    def walk(n: int, length: int, unit: int) -> None:
        length += g.nodes[n]["weighted"]
        if n in outputs:
            lengths[length] = lengths.get(length, 0) + 1
            units[unit] = units.get(unit, 0) + 1
        for s in g.successors(n):
            e = g.edges[n, s]
            if e["kind"] != "control":
                walk(s, length, unit + e["unit"])

    for i in g.graph["inputs"]:
        walk(i, 0, 0)
    return lengths, units


def brute_span(g: nx.DiGraph, conn: an.Connection) -> int | None:
    """Longest alternative path of a connection, from all simple paths."""
    by_path = {d["path"]: n for n, d in g.nodes(data=True)}
    src, dst = by_path[conn.source], by_path[conn.target]
    signal = nx.DiGraph([(u, v) for u, v, k in g.edges(data="kind") if k != "control"])
    if src not in signal or dst not in signal:
        return None
    best = None
    for path in nx.all_simple_paths(signal, src, dst):
        last = path[-2]
        if g.edges[last, dst]["kind"] == conn.kind and (
                last == src or _in_shortcut_of(g, last, src)):
            continue  # the connection itself
        span = sum(g.nodes[n]["weighted"] for n in path[1:-1])
        best = span if best is None else max(best, span)
    return best


def _in_shortcut_of(g: nx.DiGraph, n: int, origin: int) -> bool:
    while g.nodes[n]["op"] == "pad" or "downsample" in g.nodes[n]["path"].split("."):
        (n,) = [p for p in g.predecessors(n)]
        if n == origin:
            return True
    return False


@pytest.mark.parametrize("seed", range(60))
def test_dp_agrees_with_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    text = random_network(rng)
    try:
        arch = resgraph.loads(text)
    except resgraph.ResgraphError as exc:  # pragma: no cover - a generator bug
        pytest.fail(f"generated network does not load: {exc}\n{text}")
    rep = arch.analyze()
    if rep.paths > 20_000:
        pytest.skip("too many paths to enumerate")
    lengths, units = brute_force(arch.graph)
    assert rep.paths == sum(lengths.values()), text
    assert rep.lengths() == lengths, text
    assert rep.lengths(units=True) == units, text
    assert (rep.depth, rep.min_depth) == (max(lengths), min(lengths)), text
    for conn in rep.connections:
        assert conn.span == brute_span(arch.graph, conn), (conn, text)
    assert an.count_paths(arch) == rep.paths
    assert (an.depth(arch), an.min_depth(arch)) == (rep.depth, rep.min_depth)
    assert an.path_length_distribution(arch) == lengths
    assert an.path_length_distribution(arch, units=True) == units
    assert an.connections(arch) == rep.connections
    assert an.block_figures(arch) == rep.blocks


def test_generated_networks_cover_every_kind() -> None:
    kinds: set[str] = set()
    for seed in range(60):
        rep = resgraph.loads(random_network(random.Random(seed))).analyze()
        kinds |= {k for k, n in rep.edges.items() if n}
    assert kinds == {"seq", "residual", "skip", "highway", "dense", "control"}


# ---------------------------------------------------------------- connections and blocks


def test_resnet50_connections_and_blocks() -> None:
    rep = report("resnet50.rg")
    assert len(rep.connections) == 16
    assert {c.span for c in rep.connections} == {3}
    assert sum(c.shortcut == "projection" for c in rep.connections) == 4
    assert {c.reach for c in rep.connections} == {"short"}
    first = rep.connections[0]
    assert (first.source, first.target, first.into) == (
        "maxpool_0", "layer1.0.add_0", "layer1.0.relu_2")
    assert [b.path for b in rep.blocks[:2]] == ["layer1.0", "layer1.1"]
    assert {b.paths for b in rep.blocks} == {2} and len(rep.blocks) == 16
    assert rep.blocks[0].call == "bottleneck(64)"
    stem_and_fc = 64 * 3 * 49 + 2 * 64 + 2048 * 1000 + 1000
    assert sum(b.params for b in rep.blocks) == rep.params - stem_and_fc


def test_unet_long_skips() -> None:
    rep = report("unet.rg")
    assert [(c.kind, c.reach, c.span, c.into) for c in rep.connections] == [
        ("skip", "long", 3, "d3"), ("skip", "long", 8, "d2"), ("skip", "long", 13, "d1")]
    assert rep.paths == 4


def test_densenet_blocks_and_dense_edges() -> None:
    rep = report("densenet.rg", network="densenet121")
    assert rep.edges["dense"] == len(rep.connections) == 21 + 78 + 300 + 136
    rows = {b.path: b for b in rep.blocks}
    assert rows["features"].paths == 2**58
    assert rows["features.denseblock3"].paths == 2**24
    assert rows["features.denseblock3"].depth == 48
    assert rows["features.transition1"].paths == 1


def test_highway_gate_is_not_a_signal_path() -> None:
    rep = report("highway_mlp.rg")
    assert rep.paths == 2**10 and rep.edges["control"] == 20
    assert rep.unit_path_lengths == {str(k): comb(10, k) for k in range(11)}
    assert all(b.paths == 2 for b in rep.blocks) and len(rep.blocks) == 10


def test_gpt2_attention_counts_two_layers_and_its_matmuls() -> None:
    rep = report("gpt2.rg")
    assert (rep.depth, rep.min_depth, rep.paths) == (2 + 12 * 4, 2, 2**24)
    t, d, v = 1024, 768, 50257
    per_block = 4 * t * d * d + 2 * t * t * d + 2 * t * d * 4 * d
    assert rep.macs == 12 * per_block + t * d * v


def test_analyze_builds_one_dag_and_one_count_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The public algorithms share their DP: analyze() runs it once for every figure."""
    calls: list[str] = []

    def counted(name: str, of: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return of(*args, **kwargs)
        return call

    for cls in (an.SignalDag, an.PathCounts):
        monkeypatch.setattr(cls, "of", counted(cls.__name__, cls.of))
    rep = an.analyze(example("resnet18.rg"))
    assert rep.paths == 256 and rep.connections and rep.blocks
    assert sorted(calls) == ["PathCounts", "SignalDag"]


def test_repeated_groups_are_one_row_each() -> None:
    """``KIND {...} * n`` lists each copy once: the copy for residual and highway, the
    group's own scope for dense (which always has one)."""
    rep = resgraph.loads("""network n() {
      input x[4, 6, 6]
      x -> dense(layers=2) { conv(2, 3) } * 2
        -> residual { residual { conv(12, 3) } -> conv(12, 3) } * 2 -> highway { conv(12, 3) } * 2
    }""").analyze()
    assert [(b.path, b.kind, b.paths, b.min_depth, b.depth) for b in rep.blocks] == [
        ("dense_0.dense_0", "dense", 4, 0, 2), ("dense_1.dense_0", "dense", 4, 0, 2),
        ("residual_0", "copy", 3, 0, 2), ("residual_1", "copy", 3, 0, 2),
        ("highway_0", "copy", 2, 0, 1), ("highway_1", "copy", 2, 0, 1)]


def test_reach_and_edge_order_come_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    arch = example("unet.rg")
    assert list(an.analyze(arch).edges) == list(EDGE_KINDS)
    monkeypatch.setitem(CONNECTIONS, "skip", dataclasses.replace(CONNECTIONS["skip"],
                                                                 reach="short"))
    assert {c.reach for c in an.connections(arch)} == {"short"}


def test_without_distributions() -> None:
    arch = example("resnet18.rg")
    rep = an.analyze(arch, distributions=False)
    assert rep.paths == 256 and rep.path_lengths == {} and rep.unit_path_lengths == {}


# ---------------------------------------------------------------- formatting and CLI


def test_doctests() -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = doctest.testmod(an, optionflags=doctest.NORMALIZE_WHITESPACE)
        shown = doctest.testmod(rp, optionflags=doctest.NORMALIZE_WHITESPACE)
    finally:
        os.chdir(cwd)
    assert result.failed == 0 and result.attempted > 10
    assert shown.failed == 0 and shown.attempted > 10


def test_summary_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", os.path.join(EXAMPLES, "resnet50.rg"), "--blocks"]) == 0
    out = capsys.readouterr().out
    for text in ("25,557,032", "4.09 G", "4,089,184,256", "50 weighted layers",
                 "6 weighted layers", "65,536", "6.554e4 = 2^16", "path lengths in weighted",
                 "27-29", "layer4.2", "bottleneck(512, stride=2)"):
        assert text in out, text


def test_units_and_huge_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", os.path.join(EXAMPLES, "preact_resnet.rg"), "--set", "n=111",
                 "--units"]) == 0
    out = capsys.readouterr().out
    assert "1.750e100 = 2^333" in out and f"{2**333:,}" in out
    assert "path lengths in units" in out


def test_json_is_exact() -> None:
    proc = run_cli("analyze", "examples/densenet.rg", "--network", "densenet121", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("network", "params", "trainable_params", "macs", "depth", "min_depth", "paths",
                "path_lengths", "nodes", "edges", "inputs", "outputs"):
        assert key in data
    assert data["paths"] == 2**58 and sum(data["path_lengths"].values()) == 2**58
    assert data["inputs"] == {"x": [3, 224, 224]}


def test_analyze_never_imports_torch() -> None:
    code = ("import sys\nfrom resgraph.cli import main\n"
            "rc = main(['analyze', 'examples/resnet50.rg', '--blocks'])\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.strip().endswith("NO-TORCH 0"), proc.stdout + proc.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["--network", "nope"], "no network 'nope'"),
    (["--set", "clases=10"], "has no parameter 'clases'; did you mean 'classes'?"),
    (["--set", "classes"], "expected NAME=VALUE"),
    (["--set", "classes=0"], "'out' must be at least 1, got 0"),
])
def test_bad_options_exit_1(argv: list[str], message: str) -> None:
    proc = run_cli("analyze", "examples/resnet50.rg", *argv)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_plot(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "lengths.png"
    assert main(["analyze", os.path.join(EXAMPLES, "cifar_resnet.rg"), "--units",
                 "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rc = main(["analyze", os.path.join(EXAMPLES, "resnet18.rg"), "--plot",
               str(tmp_path / "x.png")])
    assert rc == 1
    assert "--plot needs matplotlib" in capsys.readouterr().err
