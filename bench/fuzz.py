"""Mutation fuzzer: mutated example files must give a ``ResgraphError`` or a result, quickly.

Run: ``python bench/fuzz.py --n 5000 --seed 0``. Every example file is mutated in
turn (tokens inserted, deleted, replaced, duplicated or swapped; lines deleted or
duplicated) and each mutant goes through the whole pipeline that exists:
``load`` → ``analyze()`` → ``render(.dot)`` → ``compile(device="meta")`` (with the
parameter count of torch checked against ``arch.num_params``). Any other exception,
a hang, a wrong parameter count or an error placed outside the file is a *crash*;
each kind of crash is reported once with a reproducer minimised by delta debugging
over lines, then tokens. The report ends with the slowest input and its time.

Mutants are loaded with ``--max-nodes 2000`` (see ``FUZZ_MAX_NODES``), so that a
mutant that is simply a much larger legitimate network fails fast with RG503 instead
of taking its honest, size-proportional time. The exit status is 0 when there are no
crashes and the slowest input took under ``--slow`` seconds (default 2), else 1.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import resgraph  # noqa: E402
from bench.fuzz_generators import GENERATORS, SECRET  # noqa: E402
from resgraph import Limits, ResgraphError  # noqa: E402
from resgraph.program import load_program  # noqa: E402

EXAMPLES = ROOT / "examples"
# A mutant may turn `* 3` into `* 30007`: a legitimate network of 10^5 nodes, which loads
# at about 50k nodes/s and compiles at about 5k nodes/s, far over 2 s per input. The fuzzer
# looks for crashes and pathological slowness, so mutants are loaded with a node limit
# that keeps legitimate networks small (the largest example has 708 nodes); larger ones
# then exercise the limit's early failure (RG503) instead.
FUZZ_MAX_NODES = 2_000

TOKEN = re.compile(
    r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"'
    r"|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?"
    r"|[A-Za-z_][A-Za-z0-9_]*|->|\*\*|//|==|!=|<=|>=|.",
    re.S,
)

# Tokens worth inserting: the language's keywords and punctuation, odd numbers and
# strings, characters the lexer rejects, and attempts at running Python.
VOCAB: tuple[str, ...] = (
    "block", "network", "input", "output", "let", "use", "residual", "highway", "dense",
    "skip", "in", "true", "false", "none", "if", "else", "and", "or", "not",
    "(", ")", "[", "]", "{", "}", ",", ":", ";", "=", "->", "*", "**", "/", "//", "%",
    "+", "-", ".", "==", "<", ">=", "\n",
    "0", "1", "-1", "2", "3", "7", "64", "0.5", "1e308", "1e-308", "100000", "1000000",
    "4294967296", "99999999999999999999999", "9" * 80,
    '""', '"x.rg"', '"../examples"', '"/dev/zero"', '"resnet_blocks.rg"', '"\\"',
    "conv", "bn", "relu", "linear", "gap", "flatten", "maxpool", "avgpool", "upsample",
    "embedding", "attention", "posembed", "layernorm", "groupnorm", "dropout", "softmax",
    "identity", "concat", "add", "gate", "pad", "int", "min", "max", "round", "len",
    "channels", "shape", "features", "rank", "out", "x", "shortcut", "project", "layers",
    "merge", "stride", "k", "groups", "dilation", "bias", "auto", "long", "float",
    "`", "$", "@", "!", "?", "\\", "'", "\t", "\x00", "é", "__import__", "eval", "exec",
    # the zoo's ops (issue 12) and their arguments
    "relu6", "hardswish", "hardsigmoid", "adaptiveavgpool", "permute", "reshape", "slice",
    "shuffle", "scale", "ceil", "start", "stop", "end", "dims", "size", "init", "dim",
    "[1, 2, 0]", "[2, 0, 1]", "[0, 0, 1]", "[-1]", "[-1, -1]", "[7, 7]",
    # the zoo's language forms (issue 12)
    "gate", "parallel", "as", "if", "floor", "log", "sqrt", "abs", "sum", "none",
    '"b{i}"', '"b{i}-{j}"', '"{"', '"{}"', '"-x"', "0:", "7:", "as i", "if false",
    "let f(a, b=1) = a + b", "f(1)", "f(1, 2, 3)",
    # the spread of a flat nn.Sequential layout (issue 12)
    "...", "f: (...relu)", "...(conv(4) -> relu) * 2", "...a:", "....", "... ...",
    # the transformer zoo's ops (issue 13) and their arguments
    "rmsnorm", "token", "select", "index", "approx", "tanh", "layout", "kv_heads", "rope",
    "heads", "causal", "fused", "mha", "conv1d", "qkv", "proj", "batched", "param", "10000.0",
)


def tokenize(text: str) -> list[str]:
    """Split source text into tokens, whitespace and comments included (they join back).

    >>> tokenize("x -> conv(64)  # c")
    ['x', ' ', '->', ' ', 'conv', '(', '64', ')', '  ', '# c']
    """
    return TOKEN.findall(text)


def _kind(token: str) -> str:
    if token[:1].isdigit() or token[:1] == "." and token[1:2].isdigit() or token[:1] == "-" \
            and token[1:2].isdigit():
        return "number"
    if token[:1].isalpha() or token[:1] == "_":
        return "name"
    return "string" if token[:1] == '"' else token


def _significant(tokens: Sequence[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if not t.isspace() and not t.startswith("#")]


def _number_like(rng: random.Random, token: str, numbers: list[str]) -> str:
    """Another number: one from the file or the vocabulary, or a nearby or extreme value."""
    choice = rng.random()
    if choice < 0.4 or not token.isdigit():
        return rng.choice(numbers)
    n = int(token)
    return str(rng.choice((0, 1, n - 1, n + 1, 2 * n, n // 2, 10 * n, n * n, 1000 * n + 7)))


def mutate(text: str, rng: random.Random, count: int | None = None) -> tuple[str, list[str]]:
    """Apply 1-3 random mutations; return the mutant and a description of each change.

    About half the mutations keep the token's class (a number for a number, a name for
    a name), so that many mutants parse and reach elaboration, analysis and lowering;
    the others insert, delete, replace, copy or swap tokens and delete or copy lines.
    """
    tokens = tokenize(text)
    words = [t for t in tokens if not t.isspace() and not t.startswith("#")] or ["x"]
    numbers = [w for w in (*words, *VOCAB) if _kind(w) == "number"]
    names = [w for w in (*words, *VOCAB) if _kind(w) == "name"]
    done: list[str] = []
    for _ in range(count or rng.choice((1, 1, 1, 2, 2, 3))):
        sig = _significant(tokens) or [0]
        pick = rng.random()
        if pick < 0.5:  # same class: a number or a name for another
            want = "number" if pick < 0.3 else "name"
            spots = [i for i in sig if _kind(tokens[i]) == want] or sig
            i = rng.choice(spots)
            new = _number_like(rng, tokens[i], numbers) if want == "number" \
                else rng.choice(names)
            done.append(f"replace {tokens[i]!r} by {new!r}")
            tokens[i] = new
            continue
        i = rng.choice(sig)
        new = rng.choice(VOCAB) if rng.random() < 0.5 else rng.choice(words)
        if pick < 0.62:
            done.append(f"delete {tokens[i]!r}")
            tokens[i] = " "
        elif pick < 0.74:
            done.append(f"insert {new!r} before {tokens[i]!r}")
            tokens[i:i] = [new, " "]
        elif pick < 0.86:
            done.append(f"replace {tokens[i]!r} by {new!r}")
            tokens[i] = new
        elif pick < 0.91:
            j = rng.choice(sig)
            a, b = sorted((i, j))
            b = min(b, a + 40)
            k = rng.choice(sig)
            done.append(f"copy tokens {a}..{b} to {k}")
            tokens[k:k] = [" ", *tokens[a:b + 1], " "]
        elif pick < 0.95:
            j = rng.choice(sig)
            done.append(f"swap {tokens[i]!r} and {tokens[j]!r}")
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            lines = "".join(tokens).split("\n")
            n = rng.randrange(len(lines))
            if rng.random() < 0.5:
                done.append(f"delete line {n + 1}")
                del lines[n]
            else:
                done.append(f"duplicate line {n + 1}")
                lines.insert(n, lines[n])
            tokens = tokenize("\n".join(lines))
    return "".join(tokens), done


# ---------------------------------------------------------------- the pipeline


def _exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_stages() -> list[str]:
    """The stages after loading that exist in this checkout."""
    stages = []
    if _exists("resgraph.analyze"):
        stages.append("analyze")
    if _exists("resgraph.render"):
        stages.append("render")
    if _exists("resgraph.lower") and _exists("torch"):
        stages.append("compile")
    return stages


class Hang(BaseException):
    """Raised by the alarm when one input runs too long."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` if the block runs longer than ``seconds`` (main thread, Unix)."""
    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class WrongResult(Exception):
    """A stage finished but its result disagrees with the front end."""


@dataclass
class Outcome:
    """What one input did: ``ok``, an error code, or a crash with its signature."""

    kind: str
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    crash: str = ""
    trace: str = ""
    located: bool = True


def _stage(name: str, arch: Any, workdir: Path) -> None:
    if name == "analyze":
        arch.analyze()
    elif name == "render":
        arch.render(str(workdir / "out.dot"))
    elif name == "compile":
        gm = arch.compile(device="meta")
        params = sum(p.numel() for p in gm.parameters())
        if params != arch.num_params:
            raise WrongResult(f"torch has {params:,} parameters, analysis {arch.num_params:,}")


def _check_error(exc: ResgraphError, files: set[str]) -> str:
    """A problem with a ResgraphError itself (bad code, bad place, unprintable), or ""."""
    text = str(exc)
    if not re.fullmatch(r"RG\d{3}", exc.code):
        return "bad error code"
    if SECRET in text:
        return "error message leaks bytes of a file that is not a resgraph source"
    span = exc.span
    if span is not None and span.file in files and Path(span.file).is_file():
        lines = Path(span.file).read_text(encoding="utf-8", errors="replace").split("\n")
        if not (1 <= span.line <= len(lines) and span.column >= 1):
            return "error placed outside the file"
    return "" if text else "empty error message"


def pick_network(path: Path, limits: Limits | None) -> str | None:
    """For a family file (several networks), one of them, chosen by the mutant's bytes so
    that every network of the family gets tried; None for a file with one network, or one
    that does not load (``resgraph.load`` then reports why)."""
    try:
        text = path.read_text(encoding="utf-8")
        names = list(load_program(text, str(path), limits or Limits()).networks)
    except (ResgraphError, OSError, UnicodeDecodeError):
        return None
    return names[zlib.crc32(text.encode()) % len(names)] if len(names) > 1 else None


def run_pipeline(path: Path, stages: Sequence[str], workdir: Path,
                 hang_after: float = 30.0, limits: Limits | None = None) -> Outcome:
    """Load ``path`` (under ``limits``) and run ``stages`` on it; classify what happened."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    stage, located = "load", True
    try:
        with time_limit(hang_after):
            t = time.perf_counter()
            arch = resgraph.load(str(path), pick_network(path, limits), limits=limits)
            times["load"] = time.perf_counter() - t
            for stage in stages:
                t = time.perf_counter()
                _stage(stage, arch, workdir)
                times[stage] = time.perf_counter() - t
        kind, crash, trace = "ok", "", ""
    except ResgraphError as exc:
        files = {str(p) for p in path.parent.glob("*.rg") if p.is_file()}
        problem = _check_error(exc, files)
        kind = exc.code if not problem else "crash"
        crash = f"{stage}: {exc.code} {problem}" if problem else ""
        trace = f"{exc.span}\n{exc}" if problem else ""
        located = exc.span is not None
    except (Exception, Hang, RecursionError, MemoryError) as exc:
        kind, crash, trace = "crash", _signature(stage, exc), traceback.format_exc()
    times.setdefault(stage, time.perf_counter() - start - sum(times.values()))
    return Outcome(kind, time.perf_counter() - start, times, crash, trace, located)


def _signature(stage: str, exc: BaseException) -> str:
    """Stage, exception type and the innermost resgraph frame: one per distinct bug."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if "resgraph" in frame.filename:
            where = f"{Path(frame.filename).name}:{frame.name}"
    if isinstance(exc, (Hang, WrongResult)):
        where = ""
    return f"{stage}: {type(exc).__name__}" + (f" in {where}" if where else "")


# ---------------------------------------------------------------- minimisation


def ddmin(items: list[str], fails: Callable[[list[str]], bool], budget: float) -> list[str]:
    """Delta debugging (Zeller): a small sublist of ``items`` that still ``fails``.

    >>> ddmin(list("abcdefgh"), lambda xs: "c" in xs and "f" in xs, 10.0)
    ['c', 'f']
    """
    deadline = time.monotonic() + budget
    n = 2
    while len(items) >= 2 and time.monotonic() < deadline:
        size = max(len(items) // n, 1)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        reduced = False
        for k in range(len(chunks)):
            rest = [x for j, c in enumerate(chunks) if j != k for x in c]
            if rest and fails(rest):
                items, n, reduced = rest, max(n - 1, 2), True
                break
            if time.monotonic() >= deadline:
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(n * 2, len(items))
    return items


def _words(text: str) -> list[str]:
    """The tokens of ``text`` without spaces and comments, each prefixed by its line number."""
    out, line = [], 1
    for t in tokenize(text):
        if not t.isspace() and not t.startswith("#"):
            out.append(f"{line}\x00{t}")
        line += t.count("\n")
    return out


def _layout(words: Sequence[str]) -> str:
    """Words back into text: one space between words, the original line breaks kept."""
    lines: dict[int, list[str]] = {}
    for w in words:
        n, _, t = w.partition("\x00")
        lines.setdefault(int(n), []).append(t)
    return "\n".join(" ".join(ts) for _, ts in sorted(lines.items()))


def minimise(text: str, path: Path, stages: Sequence[str], workdir: Path, signature: str,
             budget: float, limits: Limits | None = None) -> str:
    """Shrink a crashing input while it still crashes the same way."""
    original = path.read_text(encoding="utf-8")

    def fails(candidate: str) -> bool:
        path.write_text(candidate, encoding="utf-8")
        out = run_pipeline(path, stages, workdir, hang_after=10.0, limits=limits)
        return out.kind == "crash" and out.crash == signature

    try:
        lines = ddmin(text.split("\n"), lambda ls: fails("\n".join(ls)), budget / 2)
        small = "\n".join(lines)
        words = _words(small)
        if fails(_layout(words)):  # usually spacing does not matter: shrink the words
            return _layout(ddmin(words, lambda ws: fails(_layout(ws)), budget / 2))
        tokens = ddmin(tokenize(small), lambda ts: fails("".join(ts)), budget / 2)
        return "".join(tokens)
    finally:
        path.write_text(original, encoding="utf-8")


# ---------------------------------------------------------------- the run


def entry_points(folder: Path) -> dict[str, Path]:
    """For each example, the file to load: itself, or (for a block library) a file using it."""
    entries: dict[str, Path] = {}
    files = sorted(folder.glob("*.rg"))
    for f in files:
        text = f.read_text(encoding="utf-8")
        if re.search(r"^\s*network\b", text, re.M):
            entries[f.name] = f
            continue
        users = [g for g in files if f'use "{f.name}"' in g.read_text(encoding="utf-8")]
        entries[f.name] = users[0] if users else f
    return entries


@dataclass
class Report:
    """Everything the run found."""

    inputs: int = 0
    outcomes: Counter = field(default_factory=Counter)
    crashes: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    slowest: tuple[float, str, str, dict[str, float], str] = (0.0, "", "", {}, "")
    times: list[float] = field(default_factory=list)
    slow: list[tuple[float, str, str]] = field(default_factory=list)
    unlocated: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)


def fuzz(n: int, seed: int, minimise_budget: float, hang_after: float,
         log: Callable[[str], None], limits: Limits | None = None,
         stages: Sequence[str] | None = None, generated: float = 0.25) -> Report:
    """Run ``n`` inputs under ``limits``: mutants round-robin over the example files, and a
    share ``generated`` of inputs from :data:`fuzz_generators.GENERATORS` in turn."""
    rng = random.Random(seed)
    os.environ[SECRET] = SECRET  # now in /proc/self/environ: no error may ever show it
    stages = available_stages() if stages is None else list(stages)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="resgraph-fuzz-") as tmp:
        work = Path(tmp) / "examples"
        shutil.copytree(EXAMPLES, work)
        originals = {f.name: f.read_text(encoding="utf-8") for f in work.glob("*.rg")}
        entries = {name: work / p.name for name, p in entry_points(work).items()}
        names = sorted(originals)
        for name in names:  # warm up (imports, caches) and check the originals work
            out = run_pipeline(entries[name], stages, Path(tmp), hang_after, limits)
            if out.kind != "ok":
                log(f"  note: unmutated {name} gives {out.kind} {out.crash}")
        start = time.monotonic()
        kinds = sorted(GENERATORS)
        for i in range(n):
            if rng.random() < generated:
                kind = kinds[i % len(kinds)]
                folder = Path(tmp) / "generated" / str(i)
                folder.mkdir(parents=True)
                main, what = GENERATORS[kind](rng, folder)
                out = run_pipeline(main, stages, folder, hang_after, limits)
                _record(report, out, f"#{i} {what}", main.read_text(encoding="utf-8"), kind)
                if out.kind == "crash":
                    log(f"  crash #{i} ({kind}): {out.crash}: {what}")
                    report.crashes.setdefault(out.crash, []).append(
                        (f"#{i} {what}", main.read_text(encoding="utf-8"), out.trace, kind))
                shutil.rmtree(folder, ignore_errors=True)
                continue
            name = names[i % len(names)]
            mutant, changes = mutate(originals[name], rng)
            target = work / name
            target.write_text(mutant, encoding="utf-8")
            out = run_pipeline(entries[name], stages, Path(tmp), hang_after, limits)
            if out.seconds > 0.5 or out.kind == "crash":
                gc.collect()  # so that the next input's time does not include this garbage
            desc = f"{name} #{i}: " + "; ".join(changes)
            _record(report, out, desc, mutant, name)
            if out.kind == "crash":
                seen = report.crashes.setdefault(out.crash, [])
                if not seen:
                    log(f"  crash #{i} ({name}): {out.crash}; minimising ...")
                    small = minimise(mutant, target, stages, Path(tmp), out.crash,
                                     minimise_budget, limits)
                    seen.append((desc, small, out.trace, name))
                else:
                    seen.append((desc, "", "", name))
            target.write_text(originals[name], encoding="utf-8")
            if (i + 1) % 500 == 0:
                log(f"  {i + 1}/{n} inputs, {time.monotonic() - start:.0f} s, "
                    f"{sum(len(v) for v in report.crashes.values())} crashes")
    return report


def _record(report: Report, out: Outcome, desc: str, text: str, source: str) -> None:
    """Count one input's outcome and time in the report (``source``: example or generator)."""
    report.inputs += 1
    report.times.append(out.seconds)
    report.sources[source] += 1
    report.outcomes["ok" if out.kind == "ok" else
                    "crash" if out.kind == "crash" else "ResgraphError"] += 1
    if out.kind not in ("ok", "crash"):
        report.outcomes[out.kind] += 1
        if not out.located:
            report.unlocated[out.kind] += 1
    if out.seconds > report.slowest[0]:
        report.slowest = (out.seconds, desc, text, out.stages, out.kind)
    report.slow = sorted([*report.slow, (out.seconds, desc, out.kind)])[-5:]


def format_report(report: Report, seed: int, stages: Sequence[str], wall: float,
                  slow: float, limits: Limits) -> str:
    """The human-readable summary printed at the end."""
    lines = [f"resgraph fuzz: {report.inputs} inputs, seed {seed}, pipeline: load -> "
             + " -> ".join(stages or ["(load only)"])
             + f"; limits: max_nodes {limits.max_nodes:,}, max_repeat {limits.max_repeat:,}"]
    codes = sorted((k, v) for k, v in report.outcomes.items() if k.startswith("RG"))
    lines.append("inputs by source: " + ", ".join(f"{k} {v}" for k, v in
                                                  sorted(report.sources.items())))
    lines.append(f"outcomes: ok {report.outcomes['ok']}, ResgraphError "
                 f"{report.outcomes['ResgraphError']}, crash {report.outcomes['crash']}")
    lines.append("error codes: " + ", ".join(f"{k} {v}" for k, v in codes))
    unlocated = sorted(report.unlocated.items())
    lines.append("errors without a file position: "
                 + (", ".join(f"{k} {v}" for k, v in unlocated) or "none"))
    total = sum(len(v) for v in report.crashes.values())
    lines.append(f"crashes: {total} ({len(report.crashes)} distinct)")
    for sig, hits in report.crashes.items():
        desc, small, trace, _ = hits[0]
        lines.append(f"--- {sig}: {len(hits)} input(s); first: {desc}")
        lines.append("minimised reproducer:")
        lines.extend("    " + ln for ln in small.split("\n"))
        lines.extend("  | " + ln for ln in trace.strip().split("\n")[-6:])
    secs, desc, _, stage_times, kind = report.slowest
    per = ", ".join(f"{k} {v:.3f}" for k, v in stage_times.items())
    lines.append(f"slowest input: {secs:.3f} s ({desc}) -> {kind}; stages: {per}")
    for secs_i, desc_i, kind_i in reversed(report.slow[:-1]):
        lines.append(f"  next slowest: {secs_i:.3f} s ({desc_i}) -> {kind_i}")
    times = sorted(report.times) or [0.0]
    lines.append(f"time per input: mean {sum(times) / len(times):.3f} s, median "
                 f"{times[len(times) // 2]:.3f} s, p99 {times[int(len(times) * 0.99)]:.3f} s; "
                 f"inputs over {slow:g} s: {sum(t >= slow for t in times)}; wall {wall:.0f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="number of mutated inputs")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--slow", type=float, default=2.0, help="seconds one input may take")
    p.add_argument("--hang", type=float, default=30.0, help="seconds before an input is a hang")
    p.add_argument("--minimise-budget", type=float, default=60.0,
                   help="seconds spent minimising each distinct crash")
    p.add_argument("--generated", type=float, default=0.25,
                   help="share of inputs made by the generators (names, values, paths, use "
                   "graphs) instead of by mutating an example (default 0.25)")
    p.add_argument("--save-slowest", metavar="FILE", help="write the slowest input here")
    p.add_argument("--max-nodes", type=int, default=FUZZ_MAX_NODES,
                   help=f"node limit for the mutants (default {FUZZ_MAX_NODES:,}; the tool's own "
                   f"default is {Limits().max_nodes:,})")
    p.add_argument("--max-repeat", type=int, default=Limits().max_repeat,
                   help="repeat limit for the mutants")
    p.add_argument("--stages", default=",".join(available_stages()),
                   help="stages after loading, comma-separated (default: all that exist: "
                   f"{','.join(available_stages()) or 'none'}); '' for loading only")
    args = p.parse_args(argv)
    limits = Limits(max_nodes=args.max_nodes, max_repeat=args.max_repeat)
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(available_stages())
    if unknown:
        p.error(f"unknown or unavailable stages: {', '.join(sorted(unknown))}")
    print(f"fuzzing {args.n} inputs (seed {args.seed}); stages: load "
          + " ".join(stages), flush=True)
    t = time.monotonic()
    report = fuzz(args.n, args.seed, args.minimise_budget, args.hang,
                  lambda s: print(s, flush=True), limits, stages, args.generated)
    print(format_report(report, args.seed, stages, time.monotonic() - t, args.slow, limits))
    if args.save_slowest:
        Path(args.save_slowest).write_text(report.slowest[2], encoding="utf-8")
    bad = report.crashes or report.slowest[0] >= args.slow
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
