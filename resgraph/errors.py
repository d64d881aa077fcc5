"""User-facing errors: one exception type carrying a source position and a stable code.

Every mistake a user can make in a ``.rg`` file or on the command line raises
:class:`ResgraphError`. Its ``str()`` is the compiler-style report::

    net.rg:3:12: error[RG201]: unknown op 'cnov'; did you mean 'conv'?
        x -> cnov(64)
             ^~~~

Codes are stable and documented in ``docs/errors.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
"""Characters that a resgraph source never holds: C0 controls but tab, newline, carriage
return and form feed, DEL and the C1 controls. A text holding one is never quoted."""


@dataclass(frozen=True)
class Span:
    """A region of source text (1-based lines and columns, end exclusive).

    >>> Span("net.rg", 3, 5, 3, 9).line
    3
    """

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ResgraphError(Exception):
    """A user error with a code, a message and where it happened.

    Attributes ``file``, ``line`` and ``column`` locate the error (``None`` when
    it has no place in a file, e.g. a bad ``--set`` option); ``notes`` are extra
    located lines such as "in block 'basic' instantiated here".

    >>> err = ResgraphError("RG201", "unknown op 'cnov'", Span("a.rg", 1, 6, 1, 10))
    >>> (err.line, err.column, err.code)
    (1, 6, 'RG201')
    """

    def __init__(
        self,
        code: str,
        message: str,
        span: Span | None = None,
        *,
        source: str | None = None,
        notes: Iterable[tuple[str, Span | None]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.source = source
        self.notes = list(notes)

    @property
    def file(self) -> str | None:
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def with_note(self, text: str, span: Span | None) -> ResgraphError:
        """Add a located note (used to name where a block was instantiated)."""
        self.notes.append((text, span))
        return self

    def __str__(self) -> str:
        lines = [_located(self.span, f"error[{self.code}]: {self.message}", self.source)]
        for text, span in self.notes:
            lines.append(_located(span, f"note: {text}", None))
        return "\n".join(lines)


def _located(span: Span | None, text: str, source: str | None) -> str:
    if span is None:
        return f"resgraph: {text}"
    head = f"{span}: {text}"
    line = _source_line(span, source)
    if line is None:
        return head
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    col = span.column - 1
    if col >= 150:  # a long line: show the part around the column
        line, col = "..." + line[col - 100:col + 100], 103
    line = line[:200]
    width = max(1, min(width, len(line) - col))
    caret = " " * col + "^" + "~" * (width - 1)
    return f"{head}\n    {line}\n    {caret}"


class SourceFile(str):
    """A file name that carries its source text, so that every span made with it can quote
    its own lines (two ``loads()`` of different texts, both named ``<string>``, never mix).

    ``quotable`` is false when the text holds a control character (a NUL, an escape
    sequence): no line of such a text is ever printed, since it is not a resgraph source
    and could be anything (``/proc/self/environ`` is NUL-separated).

    >>> f = SourceFile("<string>", "network n() {}")
    >>> f == "<string>", f.text, f.quotable
    (True, 'network n() {}', True)
    >>> SourceFile("env.rg", "KEY=secret\\x00").quotable
    False
    """

    text: str
    quotable: bool

    def __new__(cls, name: str, text: str) -> SourceFile:
        obj = super().__new__(cls, name)
        obj.text = text
        obj.quotable = CONTROL_CHARACTERS.search(text) is None
        return obj

    def __reduce__(self) -> tuple[type[SourceFile], tuple[str, str]]:
        return SourceFile, (str(self), self.text)


def _source_line(span: Span, source: str | None) -> str | None:
    """The line to quote under an error, or None: a span's file quotes only its own text,
    and never a text (or a line) that holds a control character."""
    if source is None and not getattr(span.file, "quotable", True):
        return None
    text = source if source is not None else getattr(span.file, "text", None)
    if text is None:
        return None
    lines = text.splitlines()
    if not 1 <= span.line <= len(lines):
        return None
    line = lines[span.line - 1]
    if CONTROL_CHARACTERS.search(line):
        return None
    return line.expandtabs(1)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for a near miss, else "".

    >>> did_you_mean("cnov", ["conv", "bn"])
    "; did you mean 'conv'?"
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
