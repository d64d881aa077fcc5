"""Regenerate the built-in op table of docs/language.md from the registry ``resgraph.ops.OPS``.

The table sits between two marker comments in docs/language.md; everything between
them is rewritten. Names, argument lists and defaults come from the registry (every op
that is not ``internal``), and so does the one-line meaning of each row
(``OpSpec.meaning`` of the row's first op). ``tests/test_docs.py`` fails when the page
and the registry disagree.

    .venv/bin/python scripts/make_op_table.py          # rewrite the table in place
    .venv/bin/python scripts/make_op_table.py --check  # exit 1 if it is stale

>>> signature(OPS["maxpool"])
'maxpool(k, stride=k, pad=0, ceil=false)'
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from resgraph.ops import OPS, REQUIRED, ArgSpec, OpSpec  # noqa: E402

DOC = ROOT / "docs" / "language.md"
BEGIN = "<!-- op table: generated from resgraph.ops.OPS by scripts/make_op_table.py -->"
END = "<!-- end of op table -->"

#: Ops shown on one row (same arguments, one meaning); the first one names the signature.
ROWS_OF_SEVERAL: tuple[tuple[str, ...], ...] = (
    ("relu", "silu", "sigmoid", "tanh", "relu6", "hardswish", "hardsigmoid", "identity"),
    ("maxpool", "avgpool"),
)

class _Ref:
    """Stands for another argument when a computed default is probed (``stride=k``)."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Probe(Mapping[str, _Ref]):
    """Every argument name maps to a :class:`_Ref` of itself."""

    def __getitem__(self, name: str) -> _Ref:
        return _Ref(name)

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def shown_default(arg: ArgSpec) -> str:
    """A default as the language writes it; a computed one is ``auto`` or the argument it copies.

    >>> shown_default(OPS["bn"].args[0]), shown_default(OPS["conv"].args[3])
    ('1e-5', 'auto')
    """
    value = arg.default
    if callable(value):
        try:
            value = value(_Probe())
        except TypeError:  # arithmetic on the probe: computed from several arguments
            return "auto"
        return value.name if isinstance(value, _Ref) else "auto"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).replace("e-0", "e-").replace("e+0", "e+")
    return str(value)


def signature(spec: OpSpec) -> str:
    """``name(required, name=default, ...)``, or the bare name for an op without arguments."""
    parts = [a.name if a.default is REQUIRED else f"{a.name}={shown_default(a)}"
             for a in spec.args]
    return f"{spec.name}({', '.join(parts)})" if parts else spec.name


def rows(ops: Mapping[str, OpSpec]) -> list[tuple[str, ...]]:
    """The user ops in registry order, grouped as :data:`ROWS_OF_SEVERAL` says."""
    grouped = {name: row for row in ROWS_OF_SEVERAL for name in row}
    out: list[tuple[str, ...]] = []
    for name, spec in ops.items():
        if spec.internal:
            continue
        row = grouped.get(name, (name,))
        if row not in out:
            out.append(row)
    return out


def op_table(ops: Mapping[str, OpSpec] = OPS) -> str:
    """The markdown table; raises ValueError for an op with no meaning or a row that differs.

    >>> op_table().splitlines()[3]
    '| bn | `bn(eps=1e-5, momentum=0.1)` | BatchNormNd (BatchNorm1d also on vectors `[C]`) |'
    """
    lines = ["| op | signature | PyTorch meaning |", "|---|---|---|"]
    for row in rows(ops):
        missing = [name for name in row if name not in ops or ops[name].internal]
        if missing:
            raise ValueError(f"ROWS_OF_SEVERAL names {missing}, not user ops of the registry")
        if not ops[row[0]].meaning:
            raise ValueError(f"op '{row[0]}' has no meaning: give its OpSpec a meaning= in "
                             "resgraph/ops.py")
        shapes = {tuple(signature(ops[n]).partition("(")[1:]) for n in row}
        if len(shapes) > 1:
            raise ValueError(f"ops {list(row)} share a row but not their arguments")
        first = ops[row[0]]
        shown = "no args" if len(row) > 1 and not first.args else f"`{signature(first)}`"
        lines.append(f"| {' '.join(row)} | {shown} | {ops[row[0]].meaning} |")
    return "\n".join(lines) + "\n"


def render(doc: str, ops: Mapping[str, OpSpec] = OPS) -> str:
    """``doc`` with the text between the markers replaced by :func:`op_table`."""
    head, begin, rest = doc.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"docs/language.md lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n\n{op_table(ops)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the table, or with ``--check`` report whether it is current (exit 1 if not)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    old = DOC.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), "docs/language.md", "generated"))
            return 1
        return 0
    if new != old:
        DOC.write_text(new, encoding="utf-8")
        print("docs/language.md: op table regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
