"""``docs/errors.md`` and the code agree: every error code is documented, every example fails so.

Each section of the catalogue is headed ``## RGnnn · title`` and holds a one-sentence
meaning, example files in ```` ```rg error ```` blocks (saved as ``example.rg``, or as
``file=NAME``), and ```` ```console ```` blocks: ``$ resgraph ...`` and the exact
output on stderr. ``⋯`` in an output stands for text that depends on the machine; a
trailing ``# without NAME`` runs the command as if the Python module ``NAME`` (or the
``dot`` program) were not installed, and ``# with a failing dot`` with a ``dot`` that
fails.

After changing a message, regenerate the outputs with
``python tests/test_error_catalogue.py --update``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from resgraph.cli import main  # noqa: E402

DOC = ROOT / "docs" / "errors.md"
SECTION = re.compile(r"^## (RG\d{3}) · ([^\n]+)\n(.*?)(?=^## |\Z)", re.S | re.M)
RG_BLOCK = re.compile(r"^```rg error(?: file=(\S+))?\n(.*?)^```\n", re.S | re.M)
CONSOLE = re.compile(r"^```console\n\$ ([^\n]*)\n(.*?)^```\n", re.S | re.M)
CODE_IN_SOURCE = re.compile(r'"(RG\d{3})"')
WILDCARD = "⋯"


@dataclass
class Section:
    """One documented code: its title, meaning, example files and commands."""

    code: str
    title: str
    text: str
    files: dict[str, str] = field(default_factory=dict)
    commands: list[tuple[str, str]] = field(default_factory=list)

    @property
    def meaning(self) -> str:
        return self.text.split("```", 1)[0].strip()


def catalogue(text: str | None = None) -> dict[str, Section]:
    """The sections of docs/errors.md by code."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    out: dict[str, Section] = {}
    for m in SECTION.finditer(text):
        sec = Section(m.group(1), m.group(2).strip(), m.group(3))
        for f in RG_BLOCK.finditer(sec.text):
            sec.files[f.group(1) or "example.rg"] = f.group(2)
        sec.commands = [(c.group(1), c.group(2)) for c in CONSOLE.finditer(sec.text)]
        assert sec.code not in out, f"{sec.code} documented twice"
        out[sec.code] = sec
    return out


def codes_in_source() -> dict[str, list[str]]:
    """Every ``"RGnnn"`` string in the package, with the modules that hold it."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "resgraph").rglob("*.py")):
        for code in sorted(set(CODE_IN_SOURCE.findall(path.read_text(encoding="utf-8")))):
            found.setdefault(code, []).append(path.name)
    return found


FAILING_DOT = "#!/bin/sh\necho 'Error: simulated failure' >&2\nexit 1\n"


@contextlib.contextmanager
def _without(names: list[str], workdir: Path, failing_dot: bool = False) -> Iterator[None]:
    """Hide Python modules (and the ``dot`` program, or put a failing one first on PATH)."""
    saved = {n: sys.modules.get(n, _ABSENT) for n in names if n != "dot"}
    old_path = os.environ.get("PATH", "")
    try:
        for n in saved:
            sys.modules[n] = None  # type: ignore[assignment]  # import now fails
        if "dot" in names or failing_dot:
            bin_dir = workdir / "fake-bin"
            bin_dir.mkdir(exist_ok=True)
            os.environ["PATH"] = str(bin_dir)
            if failing_dot:
                (bin_dir / "dot").write_text(FAILING_DOT)
                (bin_dir / "dot").chmod(0o755)
        yield
    finally:
        for n, mod in saved.items():
            if mod is _ABSENT:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = mod  # type: ignore[assignment]
        os.environ["PATH"] = old_path


_ABSENT = object()


def run_example(command: str, files: dict[str, str], workdir: Path) -> tuple[int, str]:
    """Run one documented command in ``workdir``; return its exit code and stderr."""
    line, _, comment = command.partition("#")
    without = comment.strip().split()[1:] if comment.strip().startswith("without") else []
    failing_dot = comment.strip() == "with a failing dot"
    argv = shlex.split(line)
    assert argv[0] == "resgraph", command
    for name, text in files.items():
        (workdir / name).write_text(text, encoding="utf-8")
    if not (workdir / "examples").exists():
        shutil.copytree(ROOT / "examples", workdir / "examples")
    stderr = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(workdir)
        with _without(without, workdir, failing_dot), contextlib.redirect_stderr(stderr), \
                contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv[1:])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(cwd)
    return code, stderr.getvalue()


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected``, where ``⋯`` matches any text on its line."""
    parts = [re.escape(p) for p in expected.strip().split(WILDCARD)]
    return re.fullmatch("[^\n]*?".join(parts), actual.strip()) is not None


# ---------------------------------------------------------------- tests

SECTIONS = catalogue() if DOC.exists() else {}
CASES = [(code, i) for code, sec in SECTIONS.items() for i in range(len(sec.commands))]


def test_catalogue_exists_and_is_ordered() -> None:
    assert DOC.exists()
    codes = list(SECTIONS)
    assert codes == sorted(codes)
    assert len(codes) >= 40


def test_every_code_raised_in_the_source_is_documented() -> None:
    missing = {c: mods for c, mods in codes_in_source().items() if c not in SECTIONS}
    assert not missing, f"undocumented error codes: {missing}"


def test_every_documented_code_exists_in_the_source() -> None:
    stale = sorted(set(SECTIONS) - set(codes_in_source()))
    assert not stale, f"documented codes the tool never raises: {stale}"


@pytest.mark.parametrize("code", list(SECTIONS))
def test_section_has_a_meaning_and_an_example(code: str) -> None:
    sec = SECTIONS[code]
    assert sec.title
    assert sec.meaning.endswith(".") and len(sec.meaning) > 20, sec.meaning
    assert sec.commands, f"{code} has no example"
    for _, output in sec.commands:
        assert re.match(rf"(\S+:\d+:\d+|resgraph): error\[{code}\]: ", output), output


@pytest.mark.parametrize(("code", "index"), CASES, ids=[f"{c}-{i}" for c, i in CASES])
def test_example_produces_its_code(code: str, index: int, tmp_path: Path) -> None:
    sec = SECTIONS[code]
    command, expected = sec.commands[index]
    if "--plot" in command:
        pytest.importorskip("matplotlib", reason="the plot example needs matplotlib")
    status, err = run_example(command, sec.files, tmp_path)
    first = err.strip().split("\n")[0]
    assert status == 1, f"{command}: exit {status}\n{err}"
    assert f"error[{code}]" in first, f"{command}:\n{err}"
    assert re.findall(r"error\[(RG\d{3})\]", err) == [code]
    assert matches(expected, err), f"documented:\n{expected}\nactual:\n{err}"


# ---------------------------------------------------------------- regeneration


def update() -> int:
    """Rewrite the outputs of every console block from real runs (keeps ``⋯`` lines)."""
    text = DOC.read_text(encoding="utf-8")
    out = []
    pos = 0
    for m in SECTION.finditer(text):
        out.append(text[pos:m.start()])
        body = m.group(0)
        files = {f.group(1) or "example.rg": f.group(2) for f in RG_BLOCK.finditer(body)}

        def fill(c: re.Match[str], files: dict[str, str] = files, code: str = m.group(1)) -> str:
            with tempfile.TemporaryDirectory() as tmp:
                status, err = run_example(c.group(1), files, Path(tmp))
            if WILDCARD in c.group(2) and matches(c.group(2), err):
                return c.group(0)
            print(f"{code}: exit {status}: {err.strip().splitlines()[:1]}")
            return f"```console\n$ {c.group(1)}\n{err.rstrip()}\n```\n"

        out.append(CONSOLE.sub(fill, body))
        pos = m.end()
    out.append(text[pos:])
    DOC.write_text("".join(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        sys.exit(update())
    print(__doc__)
