"""Malformed inputs: each gives one precise error (code, line, column, key phrase), never a crash.

The CLI prints the same error as ``FILE:LINE:COL: error[CODE]: ...`` with the source line
and a caret, exits 1 and shows no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import resgraph
from resgraph.cli import main

# name, source, code, line, column, key phrase
CASES = [
    ('missing_paren', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8, 3 -> relu\n}\n',
     'RG004', 3, 18, "missing ')'"),
    ('arrow_between_ops', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8) relu\n}\n',
     'RG005', 3, 16, "expected '->' between two ops"),
    ('missing_brace_eof', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8)\n',
     'RG003', 3, 15, "missing '}'"),
    ('backtick', 'network n() {\n  input x[3, 8, 8]\n  x -> `conv`\n}\n',
     'RG002', 3, 8, "unexpected character '`'"),
    ('single_quote', "use 'a.rg'\n",
     'RG002', 1, 5, 'double quotes'),
    ('unknown_op', 'network n() {\n  input x[3, 8, 8]\n  x -> cnov(8)\n}\n',
     'RG201', 3, 8, "did you mean 'conv'"),
    ('unknown_block', 'block basic(c) { conv(c) }\nnetwork n() {\n  input x[3, 8, 8]\n  x -> basci(8)\n}\n',
     'RG201', 4, 8, "did you mean 'basic'"),
    ('unknown_arg', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8, strid=2)\n}\n',
     'RG202', 3, 16, "did you mean 'stride'"),
    ('missing_arg', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(k=3)\n}\n',
     'RG203', 3, 8, "missing its argument 'out'"),
    ('repeated_arg', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8, out=4)\n}\n',
     'RG203', 3, 16, 'given twice'),
    ('wrong_type', 'network n() {\n  input x[3, 8, 8]\n  x -> dropout(p=true)\n}\n',
     'RG303', 3, 16, 'must be a number'),
    ('non_integer_channels', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8 / 3)\n}\n',
     'RG303', 3, 13, 'non-integer channel count'),
    ('undefined_name', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(width)\n}\n',
     'RG302', 3, 13, "undefined name 'width'"),
    ('duplicate_label', 'network n() {\n  input x[3, 8, 8]\n  x -> a: conv(8) -> a: relu\n}\n',
     'RG204', 3, 22, "duplicate label 'a'"),
    ('node_mid_chain', 'network n() {\n  input x[3, 8, 8]\n  e = x -> conv(8)\n  x -> conv(8) -> e -> relu\n}\n',
     'RG208', 4, 19, 'can only start a chain'),
    ('cycle', 'network n() {\n  input x[3, 8, 8]\n  x -> a: conv(8) -> b: relu -> conv(8)\n  skip b -> a\n}\n',
     'RG214', 4, 3, 'cycle'),
    ('two_merge_kinds', 'network n() {\n  input x[3, 8, 8]\n  x -> a: conv(8) -> b: relu -> conv(8) -> c: relu\n  skip a -> c\n  residual b -> c\n}\n',
     'RG412', 5, 3, 'two merge kinds'),
    ('shape_mismatch_add', 'network n() {\n  input x[3, 8, 8]\n  x -> residual { conv(16) }\n}\n',
     'RG410', 3, 8, 'shortcut=project'),
    ('concat_spatial', 'network n() {\n  input x[3, 8, 8]\n  e = x -> conv(8)\n  e -> maxpool(2) -> d: conv(8)\n  skip e -> d\n}\n',
     'RG411', 5, 3, 'cannot concatenate'),
    ('recursive_block', 'block a(c) { b(c) }\nblock b(c) { a(c) }\nnetwork n() {\n  input x[3, 8, 8]\n  x -> a(4)\n}\n',
     'RG210', 2, 14, 'recursive'),
    ('no_input', 'network n() {\n  let w = 3\n}\n',
     'RG215', 1, 1, 'has no input'),
    ('several_networks', 'network a() { input x[4] }\nnetwork b() { input x[4] }\n',
     'RG216', 2, 1, '--network'),
    ('highway_shape', 'network n() {\n  input x[16]\n  x -> highway { linear(8) }\n}\n',
     'RG410', 3, 8, "keep its input's shape"),
    ('gate_edge_input', 'network n() {\n  input x[3, 8, 8]\n  x -> a: conv(8)\n  skip a -> x\n}\n',
     'RG213', 4, 13, 'is an input'),
    ('word_choice', 'network n() {\n  input x[3, 8, 8]\n  x -> residual(shortcut=projct) { conv(3) }\n}\n',
     'RG303', 3, 17, "did you mean 'project'"),
    ('heads_divide', 'network n() {\n  input t[16]: long\n  t -> embedding(100, 30) -> attention(4)\n}\n',
     'RG404', 3, 30, 'must divide the model width'),
    ('long_input_to_conv', 'network n() {\n  input t[3, 8, 8]: long\n  t -> conv(4)\n}\n',
     'RG406', 3, 8, 'expects float features'),
    ('pool_too_big', 'network n() {\n  input x[3, 4, 4]\n  x -> maxpool(8)\n}\n',
     'RG403', 3, 8, 'leaves nothing'),
    ('expr_too_large', 'let big = 2 ** 10 ** 10\n',
     'RG304', 1, 11, '--max-int-bits'),
    ('division_by_zero', 'network n(d=0) {\n  input x[3, 8, 8]\n  x -> conv(8 // d)\n}\n',
     'RG304', 3, 13, 'division by zero'),
    ('label_equals_in_chain', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8) -> a = relu\n}\n',
     'RG004', 3, 21, "labels use ':'"),
    ('in_in_network', 'network n() {\n  input x[3, 8, 8]\n  in -> conv(8)\n}\n',
     'RG209', 3, 3, 'input of a block'),
    ('skip_group', 'network n() {\n  input x[3, 8, 8]\n  x -> skip { conv(3) }\n}\n',
     'RG211', 3, 8, 'only as an edge statement'),
    ('bad_shape_query', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(x.chanels)\n}\n',
     'RG303', 3, 13, "did you mean 'channels'"),
    ('positional_after_kw', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(k=3, 8)\n}\n',
     'RG203', 3, 18, 'positional argument after a keyword'),
    ('repeat_negative', 'network n() {\n  input x[3, 8, 8]\n  x -> relu * -1\n}\n',
     'RG303', 3, 15, 'at least 0'),
    # the front end's weak messages (issue 10): each names the real mistake where it is
    ('missing_comma', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(16 3)\n}\n',
     'RG004', 3, 16, "missing ',' between arguments"),
    ('missing_comma_keyword', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(16, k=3 stride=2)\n}\n',
     'RG004', 3, 21, "missing ',' between arguments: put one before 'stride'"),
    ('missing_comma_shape', 'network n() {\n  input x[3 8, 8]\n  x -> conv(16)\n}\n',
     'RG004', 2, 13, "missing ',' between dimensions"),
    ('unclosed_block', 'block b(c) {\n  conv(c) -> relu\n\nnetwork n() {\n  input x[3, 8, 8]\n  x -> b(4)\n}\n',
     'RG007', 1, 12, "this '{' is never closed"),
    ('unclosed_network', 'network m() {\n  input x[3, 8, 8]\n  x -> relu\n\nnetwork n() {\n  input x[3, 8, 8]\n  x -> relu\n}\n',
     'RG007', 1, 13, "this '{' is never closed"),
    ('unclosed_group', 'network m() {\n  input x[3, 8, 8]\n  x -> residual {\n    conv(3) -> relu\n  -> relu\n}\nnetwork n() {\n  input x[3, 8, 8]\n}\n',
     'RG007', 3, 17, "this '{' is never closed"),
    ('unclosed_after_let', 'network m() {\n  input x[3]\n  let w = 3\n\nnetwork n() {\n  input x[3]\n}\n',
     'RG007', 1, 13, "this '{' is never closed"),
    ('arrow_before_group', 'network n() {\n  input x[3, 8, 8]\n  x -> relu\n  (relu -> conv(8))\n}\n',
     'RG005', 4, 3, "missing '->' before '('"),
    ('arrow_before_labelled_group', 'network n() {\n  input x[3, 8, 8]\n  x -> relu\n  (a: conv(8) -> relu)\n}\n',
     'RG005', 4, 3, "missing '->' before '('"),
    ('label_true', 'network n() {\n  input x[3, 8, 8]\n  x -> conv(8) -> true: relu\n}\n',
     'RG220', 3, 19, "'true' cannot be a label"),
    ('label_in_after_let', 'block b() {\n  let w = 3\n  in: conv(w)\n}\nnetwork n() {\n  input x[3, 8, 8]\n  x -> b\n}\n',
     'RG220', 3, 3, "'in' cannot be a label"),
    ('assign_none', 'network n() {\n  input x[3, 8, 8]\n  none = x -> conv(8)\n}\n',
     'RG220', 3, 3, "'none' cannot be a label"),
    ('label_at_top_level', 'let w = 3\nblock: conv(8)\n',
     'RG004', 2, 1, "unexpected label 'block:'"),
]


@pytest.mark.parametrize(("name", "text", "code", "line", "column", "phrase"), CASES,
                         ids=[c[0] for c in CASES])
def test_error_location_and_message(name: str, text: str, code: str, line: int, column: int,
                                    phrase: str) -> None:
    with pytest.raises(resgraph.ResgraphError) as info:
        resgraph.loads(text, file=f"{name}.rg")
    err = info.value
    assert (err.code, err.file, err.line, err.column) == (code, f"{name}.rg", line, column)
    assert phrase in err.message


def test_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize(("name", "text", "code", "line", "column", "phrase"), CASES,
                         ids=[c[0] for c in CASES])
def test_cli_prints_caret_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      name: str, text: str, code: str, line: int, column: int,
                                      phrase: str) -> None:
    path = tmp_path / f"{name}.rg"
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    first, source, caret = err.splitlines()[:3]
    assert first.startswith(f"{path}:{line}:{column}: error[{code}]: ")
    assert source.strip() == text.splitlines()[line - 1].strip()
    assert caret.index("^") - 4 == column - 1
    assert "Traceback" not in err


def test_cli_subprocess_has_no_traceback(tmp_path: Path) -> None:
    """A real process: exit code 1, one located error, no Python traceback."""
    path = tmp_path / "bad.rg"
    path.write_text(CASES[0][1])
    proc = subprocess.run([sys.executable, "-m", "resgraph", "check", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{path}:3:18: error[RG004]: missing ')'")
    assert "Traceback" not in proc.stderr


def test_error_inside_block_names_the_instantiation() -> None:
    text = "block b(c) {\n  conv(c) -> residual { conv(c * 2) }\n}\n" \
           "network n() {\n  input x[3, 8, 8]\n  x -> b(4)\n}\n"
    with pytest.raises(resgraph.ResgraphError) as info:
        resgraph.loads(text, file="nested.rg")
    err = info.value
    assert (err.line, err.column) == (2, 14)
    assert any("in block 'b' used here" in note and span is not None and span.line == 6
               for note, span in err.notes)
    assert "nested.rg:6:8: note: in block 'b' used here" in str(err)


def test_bad_network_and_set_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.rg"
    path.write_text("network a(w=4) { input x[w] }\nnetwork b() { input x[4] }\n")
    assert main(["check", str(path), "--network", "c"]) == 1
    assert "no network 'c'" in capsys.readouterr().err
    assert main(["check", str(path), "--network", "a", "--set", "q=3"]) == 1
    assert "has no parameter 'q'" in capsys.readouterr().err
    assert main(["check", str(path), "--network", "a", "--set", "w"]) == 1
    assert "expected NAME=VALUE" in capsys.readouterr().err
    assert main(["check", str(path), "--network", "a", "--set", "w=8"]) == 0
    assert "x [8]" in capsys.readouterr().out


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "does/not/exist.rg"]) == 1
    assert "cannot read 'does/not/exist.rg'" in capsys.readouterr().err


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2


def test_unclosed_brace_notes_where_the_parser_gave_up() -> None:
    text = CASES[[c[0] for c in CASES].index("unclosed_block")][1]
    with pytest.raises(resgraph.ResgraphError) as info:
        resgraph.loads(text, file="open.rg")
    assert [(note.split(" ")[0], str(span)) for note, span in info.value.notes] \
        == [("'network'", "open.rg:4:1")]


def test_unclosed_brace_read_from_indentation() -> None:
    """The '}' at column 1 closes the block, so the residual's '{' is the one left open."""
    text = ("block b(c) {\n  residual {\n    conv(c)\n  -> relu\n}\n"
            "network n() {\n  input x[3, 8, 8]\n  x -> b(3)\n}\n")
    with pytest.raises(resgraph.ResgraphError) as info:
        resgraph.loads(text, file="indent.rg")
    assert (info.value.code, info.value.line, info.value.column) == ("RG007", 2, 12)


def test_group_after_an_op_with_arguments_continues_the_flow() -> None:
    """After `conv(8)` a line starting with '(' is a new statement: no arrow is missing."""
    with_arrow = resgraph.loads("network n() {\n  input x[3, 8, 8]\n  x -> conv(8)\n"
                                "  -> (relu -> conv(8))\n}\n")
    without = resgraph.loads("network n() {\n  input x[3, 8, 8]\n  x -> conv(8)\n"
                             "  (relu -> conv(8))\n}\n")
    assert [d["op"] for _, d in without.graph.nodes(data=True)] == \
        [d["op"] for _, d in with_arrow.graph.nodes(data=True)] == \
        ["input", "conv", "relu", "conv"]


KEYWORD_LABELS = ["block", "network", "use", "input", "output", "let", "residual", "highway",
                  "dense", "skip"]


@pytest.mark.parametrize("word", KEYWORD_LABELS)
@pytest.mark.parametrize("where", ["mid_chain", "statement_start", "after_let", "assign"])
def test_any_word_before_a_colon_is_a_label(word: str, where: str) -> None:
    """One rule: a name followed by ':' (or starting `name = chain`) is a label."""
    line = {"mid_chain": f"x -> conv(8) -> {word}: linear(4)",
            "statement_start": f"x -> conv(8)\n  {word}: linear(4)",
            "after_let": f"x -> conv(8)\n  let w = 4\n  {word}: linear(w)",
            "assign": f"{word} = x -> conv(8) -> linear(4)"}[where]
    arch = resgraph.loads(f"network n() {{\n  input x[3, 8, 8]\n  {line}\n}}\n")
    labelled = [d["op"] for _, d in arch.graph.nodes(data=True) if d.get("path") == word]
    assert labelled == ["linear"]


@pytest.mark.parametrize("word", ["in", "true", "false", "none"])
@pytest.mark.parametrize("where", ["mid_chain", "statement_start", "after_let", "assign"])
def test_value_words_are_refused_as_labels(word: str, where: str) -> None:
    line, column = {"mid_chain": ("  x -> conv(8) -> {}: relu", 19),
                    "statement_start": ("  x -> conv(8)\n  {}: relu", 3),
                    "after_let": ("  x -> conv(8)\n  let w = 4\n  {}: relu", 3),
                    "assign": ("  {} = x -> conv(8)", 3)}[where]
    text = "network n() {\n  input x[3, 8, 8]\n" + line.format(word) + "\n}\n"
    with pytest.raises(resgraph.ResgraphError) as info:
        resgraph.loads(text, file="w.rg")
    err = info.value
    assert (err.code, err.line, err.column) == ("RG220", text.count("\n") - 1, column)
    assert f"'{word}' cannot be a label" in err.message


def test_definitions_still_start_with_their_keywords() -> None:
    text = "let w = 3\nblock block(c) { conv(c) }\nnetwork network() {\n  input x[3, 8, 8]\n" \
           "  block: block(w)\n}\n"
    arch = resgraph.loads(text)
    assert [(d["op"], d["path"]) for _, d in arch.graph.nodes(data=True)] \
        == [("input", "x"), ("conv", "block.conv_0")]
