"""Resource limits: each is a prompt, located ``ResgraphError`` naming its value and its flag.

Every limit in :class:`resgraph.Limits` is hit here with its default value (and with a
lowered one where the default would be slow to reach), and each test checks the code,
the line and column, the limit's value and how to raise it, and that the error came
back within two seconds. Deep nesting and huge lines must give errors, not crashes.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import resgraph
from resgraph import Limits, ResgraphError
from resgraph.cli import main

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = (ROOT / "examples" / "resnet_blocks.rg").read_text()
PROMPT = 2.0  # seconds


def fails(run: Callable[[], object], seconds: float = PROMPT) -> ResgraphError:
    """Run ``run``; it must raise a ResgraphError within ``seconds``. Return the error."""
    start = time.perf_counter()
    with pytest.raises(ResgraphError) as info:
        run()
    took = time.perf_counter() - start
    assert took < seconds, f"took {took:.2f} s: {info.value}"
    assert str(info.value)  # printable
    return info.value


def where(err: ResgraphError) -> tuple[str, int | None, int | None]:
    return err.code, err.line, err.column


# ---------------------------------------------------------------- repeat count


def test_repeat_count_default() -> None:
    text = "network n() {\n  input x[8]\n  x -> relu * 200000\n}\n"
    err = fails(lambda: resgraph.loads(text, file="r.rg"))
    assert where(err) == ("RG504", 3, 15)
    assert "200,000" in err.message and "100,000" in err.message
    assert "--max-repeat" in err.message


def test_repeat_count_dense_layers() -> None:
    text = "network n() {\n  input x[8]\n  x -> dense(layers=100001) { linear(2) }\n}\n"
    err = fails(lambda: resgraph.loads(text, file="d.rg"))
    assert where(err) == ("RG504", 3, 8)
    assert "100,000" in err.message and "--max-repeat" in err.message


def test_repeat_count_can_be_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "network n() {\n  input x[8]\n  x -> relu * 12\n}\n"
    err = fails(lambda: resgraph.loads(text, file="r.rg", limits=Limits(max_repeat=10)))
    assert where(err) == ("RG504", 3, 15) and "limit of 10 " in err.message
    assert resgraph.loads(text, limits=Limits(max_repeat=12)).num_params == 0
    path = tmp_path / "r.rg"
    path.write_text(text)
    assert main(["check", str(path), "--max-repeat", "10"]) == 1
    assert f"{path}:3:15: error[RG504]" in capsys.readouterr().err
    assert main(["check", str(path), "--max-repeat", "12"]) == 0


# ---------------------------------------------------------------- node count


def test_node_count_fails_fast_on_nested_repeats() -> None:
    """1,000 × 1,000 × 1,000 relus: refused after the first copies, not after 10^6 nodes."""
    text = ("block b() { relu * 1000 }\nblock c() { b * 1000 }\n"
            "network n() {\n  input x[8]\n  x -> c * 1000\n}\n")
    err = fails(lambda: resgraph.loads(text, file="n.rg"))
    assert err.code == "RG503"
    assert "limit of 100,000" in err.message and "--max-nodes" in err.message
    assert (err.line, err.column) in {(2, 17), (5, 12)}  # the repeat that would overflow


def test_node_count_basic_block_times_100000() -> None:
    """A ResNet bottleneck block (10 nodes) repeated 100,000 times passes 10^6 nodes."""
    text = BLOCKS + "network n() {\n  input x[64, 8, 8]\n  x -> bottleneck(16) * 100000\n}\n"
    line = BLOCKS.count("\n") + 3
    err = fails(lambda: resgraph.loads(text, file="b.rg"))
    assert where(err) == ("RG503", line, 25)
    assert "limit of 100,000" in err.message and "--max-nodes" in err.message


def test_node_count_lowered_limit_and_flag(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    text = "network n() {\n  input x[8]\n  x -> relu -> relu -> relu\n}\n"
    err = fails(lambda: resgraph.loads(text, file="n.rg", limits=Limits(max_nodes=3)))
    assert where(err) == ("RG503", 3, 24) and "3 nodes" in err.message
    path = tmp_path / "n.rg"
    path.write_text(text)
    assert main(["check", str(path), "--max-nodes", "3"]) == 1
    assert "--max-nodes" in capsys.readouterr().err
    assert main(["check", str(path), "--max-nodes", "4"]) == 0


def test_dense_connections_count_against_the_node_limit() -> None:
    text = "network n() {\n  input x[8]\n  x -> dense(layers=20000) { linear(1) }\n}\n"
    err = fails(lambda: resgraph.loads(text, file="d.rg"))
    assert where(err) == ("RG503", 3, 8)
    assert "dense connections" in err.message and "--max-nodes" in err.message


def test_empty_blocks_repeated_count_as_instances() -> None:
    """Copies that add no node still cost time and memory: they count against the limit."""
    text = ("block e() { }\nblock f() { e * 20000 }\n"
            "network n() {\n  input x[8]\n  x -> f * 100000 -> relu\n}\n")
    err = fails(lambda: resgraph.loads(text, file="e.rg"))
    assert err.code == "RG503" and "block instances" in err.message
    assert err.line in (2, 5)


# ---------------------------------------------------------------- nesting depth


def test_block_nesting_depth() -> None:
    defs = "".join(f"block b{i}() {{ b{i + 1} }}\n" for i in range(100))
    text = defs + "block b100() { relu }\nnetwork n() {\n  input x[8]\n  x -> b0\n}\n"
    err = fails(lambda: resgraph.loads(text, file="deep.rg"))
    assert where(err) == ("RG505", 64, 15)  # block b63 uses b64: the 65th level
    assert "64" in err.message and "--max-nesting" in err.message
    shallow = defs.replace("b10() { b11 }", "b10() { relu }")
    ok = shallow + "network n() {\n  input x[8]\n  x -> b0\n}\n"
    assert resgraph.loads(ok).outputs == {"output": (8,)}
    err = fails(lambda: resgraph.loads(ok, limits=Limits(max_nesting=5)))
    assert err.code == "RG505" and "more than 5 deep" in err.message


def test_bracket_nesting_100k_parentheses() -> None:
    text = "let a = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n"
    err = fails(lambda: resgraph.loads(text, file="p.rg"))
    assert where(err) == ("RG505", 1, 9 + 64)
    assert "64" in err.message and "--max-nesting" in err.message


@pytest.mark.parametrize(("name", "opening", "closing"), [
    ("subchains", "(", ")"),
    ("groups", "residual { ", " }"),
    ("lists", "[", "]"),
])
def test_deep_nesting_of_every_bracket(name: str, opening: str, closing: str) -> None:
    inner = "relu" if name != "lists" else "1"
    deep = opening * 10_000 + inner + closing * 10_000
    text = (f"network n() {{\n  input x[8]\n  x -> {deep}\n}}\n" if name != "lists"
            else f"let a = {deep}\n")
    err = fails(lambda: resgraph.loads(text, file=f"{name}.rg"))
    assert err.code == "RG505" and err.line in (1, 3)
    # the network's '{' is the first level; a group's own '{' is 9 characters in
    col = 9 + 64 if name == "lists" else 8 + 63 * len(opening) + opening.index(opening.strip()[-1])
    assert err.column == col


@pytest.mark.parametrize("depth", [500, 5000])
@pytest.mark.parametrize(("opening", "closing"), [("(", ")"), ("residual { ", " }")])
def test_raised_nesting_limit_still_gives_errors(depth: int, opening: str, closing: str) -> None:
    """Past what Python's recursion allows, a raised --max-nesting still ends in RG505."""
    text = "network n() {\n  input x[8]\n  x -> " + opening * depth + "relu" + \
        closing * depth + "\n}\n"
    # a bound against hangs, not a speed test: 5,000 nested groups take about 1 s when quiet
    err = fails(lambda: resgraph.loads(text, limits=Limits(max_nesting=100_000)), seconds=30)
    assert err.code == "RG505" and err.line in (1, 3) and err.column is not None


def test_nesting_within_the_limit_works() -> None:
    text = "network n() {\n  input x[8]\n  x -> " + "residual { " * 30 + "relu" + \
        " }" * 30 + "\n}\n"
    arch = resgraph.loads(text)
    assert arch.outputs == {"output": (8,)}


def test_long_operator_chains_and_unary_chains() -> None:
    """Deep expressions without brackets: a located error, never a RecursionError."""
    for text in ("let a = " + "1 + " * 5000 + "1\n", "let a = " + "-" * 5000 + "1\n",
                 "let a = " + "not " * 5000 + "true\n", "let a = " + "2 ** " * 5000 + "1\n",
                 "let a = " + "false and " * 3000 + "true\n", "let a = 1" + "[0]" * 3000 + "\n"):
        err = fails(lambda t=text: resgraph.loads(t, file="e.rg"))
        assert err.code == "RG306" and err.line == 1 and err.column is not None


# ---------------------------------------------------------------- expression magnitude


@pytest.mark.parametrize(("expr", "column"), [
    ("2 ** 10 ** 10", 9),
    ("10 ** 100000", 9),
    ("(2 ** 200) * (2 ** 200)", 9),
    ("int(1e300)", 9),
    ("9" * 2000, 9),
    ("1e308 * 10", 9),
])
def test_expression_magnitude(expr: str, column: int) -> None:
    text = f"let a = {expr}\nnetwork n() {{ input x[8] }}\n"
    err = fails(lambda: resgraph.loads(text, file="m.rg"))
    assert where(err) == ("RG304", 1, column)
    assert "large" in err.message or "finite" in err.message


def test_int_bits_limit_names_its_flag(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    text = "network n(w=2 ** 300) {\n  input x[8]\n  x -> linear(w // 2 ** 297)\n}\n"
    err = fails(lambda: resgraph.loads(text, file="m.rg"))
    assert where(err) == ("RG304", 1, 13)
    assert "256 bits" in err.message and "--max-int-bits" in err.message
    arch = resgraph.loads(text, limits=Limits(max_int_bits=400))
    assert arch.outputs == {"output": (8,)}
    path = tmp_path / "m.rg"
    path.write_text(text)
    assert main(["check", str(path), "--max-int-bits", "400"]) == 0


def test_tensor_too_large_for_pytorch() -> None:
    err = fails(lambda: resgraph.loads("network n() {\n  input x[8]\n  x -> linear(2 ** 62)\n}"))
    assert where(err) == ("RG303", 3, 15) or err.code == "RG407"
    err = fails(lambda: resgraph.loads("network n() {\n  input x[2 ** 40, 2 ** 40]\n}"))
    assert where(err) == ("RG407", 2, 3)
    err = fails(lambda: resgraph.loads("network n() {\n  input x[3, 8]\n  x -> upsample(1e308)\n}"))
    assert where(err) == ("RG407", 3, 8)


# ---------------------------------------------------------------- file size


def test_file_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.rg"
    path.write_text("network n() {\n  input x[8]\n}\n" + "# padding\n" * 20)
    limits = Limits(max_file_bytes=100)
    err = fails(lambda: resgraph.load(str(path), limits=limits))
    assert where(err) == ("RG001", 1, 1)
    assert "limit of 100" in err.message and "--max-file-bytes" in err.message
    assert main(["check", str(path), "--max-file-bytes", "100"]) == 1
    assert f"{path}:1:1: error[RG001]" in capsys.readouterr().err
    assert main(["check", str(path), "--max-file-bytes", "1000"]) == 0


def test_file_size_limit_of_a_used_file(tmp_path: Path) -> None:
    (tmp_path / "lib.rg").write_text("block b() { relu }\n" + "#" * 500 + "\n")
    main_file = tmp_path / "main.rg"
    main_file.write_text("let w = 8\nuse \"lib.rg\"\nnetwork n() { input x[w] }\n")
    err = fails(lambda: resgraph.load(str(main_file), limits=Limits(max_file_bytes=200)))
    assert where(err) == ("RG001", 2, 1) and err.file == str(main_file)


def test_file_size_limit_of_a_string() -> None:
    err = fails(lambda: resgraph.loads("#" * 1000, limits=Limits(max_file_bytes=999)))
    assert where(err) == ("RG001", 1, 1)


def test_default_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.rg"
    with path.open("w") as fh:
        fh.write("#" * 1_000_001)
    err = fails(lambda: resgraph.load(str(path)))
    assert where(err) == ("RG001", 1, 1) and "1,000,000" in err.message


def test_devices_are_not_read(tmp_path: Path) -> None:
    """``use "/dev/zero"`` would never end: it is refused by name (not a ``.rg`` file in the
    allowed folders), and a FIFO named like a source is refused as not a regular file."""
    text = 'use "/dev/zero"\nnetwork n() { input x[8] }\n'
    err = fails(lambda: resgraph.loads(text, file=str(tmp_path / "z.rg")))
    assert where(err) == ("RG009", 1, 5)
    os.mkfifo(tmp_path / "fifo.rg")
    text = 'use "fifo.rg"\nnetwork n() { input x[8] }\n'
    err = fails(lambda: resgraph.loads(text, file=str(tmp_path / "z.rg")))
    assert where(err) == ("RG006", 1, 1) and "not a regular file" in err.message


@pytest.mark.slow
def test_one_megabyte_single_line() -> None:
    """A 1 MB line (an op chain, a string, a comment): an answer, never a crash.

    Parsing runs at roughly 100k tokens per second, so this takes a few seconds.
    """
    big = Limits(max_file_bytes=2_000_000, max_nodes=200_000)  # defaults: 1 MB, 100,000 nodes
    chain = "network n() { input x[8]; x" + " -> relu" * 125_000 + " }"
    assert len(chain) > 1_000_000
    err = fails(lambda: resgraph.loads(chain, limits=Limits(max_nodes=1000,
                                                            max_file_bytes=2_000_000)),
                seconds=30)
    assert where(err)[:2] == ("RG503", 1)
    assert len(resgraph.loads(chain, limits=big).graph) == 125_001
    string = 'use "' + "a" * 1_000_000 + '.rg"\nnetwork n() { input x[8] }'
    err = fails(lambda: resgraph.loads(string, file="s.rg", limits=big))
    assert where(err) == ("RG006", 1, 1)
    comment = "network n() { input x[8] } #" + "x" * 1_000_000
    assert resgraph.loads(comment, limits=big).outputs == {"x": (8,)}


# ---------------------------------------------------------------- use depth and cycles


def test_use_depth(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i}.rg").write_text(f"# level {i}\nuse \"f{i + 1}.rg\"\n")
    (tmp_path / "f20.rg").write_text("block b() { relu }\n")
    err = fails(lambda: resgraph.load(str(tmp_path / "f0.rg")))
    assert err.code == "RG502" and err.file == str(tmp_path / "f16.rg")
    assert (err.line, err.column) == (2, 1)
    assert "16" in err.message and "--max-use-depth" in err.message
    err = fails(lambda: resgraph.load(str(tmp_path / "f15.rg"), limits=Limits(max_use_depth=2)))
    assert err.code == "RG502" and err.file == str(tmp_path / "f17.rg")


def test_use_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.rg").write_text("use \"b.rg\"\nnetwork n() { input x[8] }\n")
    (tmp_path / "b.rg").write_text("block q() { relu }\n\n  use \"a.rg\"\n")
    err = fails(lambda: resgraph.load(str(tmp_path / "a.rg")))
    assert where(err) == ("RG501", 3, 3) and err.file == str(tmp_path / "b.rg")
    assert "a.rg -> b.rg -> a.rg" in err.message


def test_use_of_itself(tmp_path: Path) -> None:
    (tmp_path / "self.rg").write_text("use \"./self.rg\"\n")
    err = fails(lambda: resgraph.load(str(tmp_path / "self.rg")))
    assert where(err) == ("RG501", 1, 1) and "self.rg -> self.rg" in err.message


def test_diamond_use_is_not_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "base.rg").write_text("block unit() { relu }\n")
    (tmp_path / "l.rg").write_text("use \"base.rg\"\n")
    (tmp_path / "r.rg").write_text("use \"base.rg\"\n")
    (tmp_path / "top.rg").write_text(
        "use \"l.rg\"\nuse \"r.rg\"\nnetwork n() { input x[8]; x -> unit }\n")
    assert resgraph.load(str(tmp_path / "top.rg")).outputs == {"output": (8,)}


# ---------------------------------------------------------------- parameter memory


@pytest.mark.skipif(importlib.util.find_spec("resgraph.lower") is None
                    or importlib.util.find_spec("torch") is None, reason="needs the lowering")
def test_compile_refuses_a_gpt3_sized_model_on_cpu() -> None:
    """175 billion parameters: refused before allocating, with device="meta" suggested."""
    import torch  # imported before timing

    arch = resgraph.load(str(ROOT / "examples" / "gpt2.rg"), d=12288, heads=96, layers=96,
                         ctx=2048)
    assert arch.num_params > 174_000_000_000  # GPT-3: 174.6 billion, head tied
    from resgraph.lower import available_bytes, estimate_bytes

    free = available_bytes(torch.device("cpu"))
    if free is None or free > estimate_bytes(arch):
        pytest.skip("this machine could hold GPT-3's parameters")
    err = fails(lambda: arch.compile(device="cpu"))
    assert err.code == "RG701" and 'device="meta"' in err.message
    assert f"{arch.num_params:,}" in err.message
    gm = arch.compile(device="meta")
    assert sum(p.numel() for p in gm.parameters()) == arch.num_params
