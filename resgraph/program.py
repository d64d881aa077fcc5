"""Loading: a file and the files it ``use``s become one :class:`Program` (lets, blocks, networks).

>>> prog = load_program('let w = 8\\nnetwork n() { input x[w] }', "p.rg", Limits())
>>> prog.values["w"], sorted(prog.networks)
(8, ['n'])

``use`` is confined: it reads only regular files whose names end in ``.rg``, under the
folder of the top file or a ``use_path`` folder, each real file once (see
:func:`load_program`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from resgraph import ast
from resgraph.errors import ResgraphError, Span
from resgraph.evaluate import BUILTIN_FUNCTIONS, DEFAULT_INT_BITS, Scope, UserFunction, evaluate
from resgraph.ops import OPS
from resgraph.parse import parse
from resgraph.util import os_reason

RESERVED_BLOCK_NAMES = frozenset(OPS) | frozenset(BUILTIN_FUNCTIONS)

SOURCE_SUFFIX = ".rg"
"""The only files ``use`` reads: their names, and the names of their real paths, end so."""

@dataclass(frozen=True)
class Limits:
    """Resource limits; each error that hits one says how to raise it.

    ``use_path`` names further folders that ``use`` may read from, besides the folder of
    the top file (a list or a single folder is accepted, and kept as a tuple).

    >>> Limits(max_nodes=10).max_nodes
    10
    >>> Limits(use_path=["lib"]).use_path
    ('lib',)
    """

    max_repeat: int = 100_000
    max_nodes: int = 100_000
    max_nesting: int = 64
    max_int_bits: int = DEFAULT_INT_BITS
    max_file_bytes: int = 1_000_000
    max_use_depth: int = 16
    use_path: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        folders: Any = self.use_path
        if isinstance(folders, (str, os.PathLike)):
            folders = (folders,)
        if isinstance(folders, Iterable):
            folders = tuple(os.fspath(f) if isinstance(f, os.PathLike) else f for f in folders)
        object.__setattr__(self, "use_path", folders)


INT_BITS_CEILING = 8192  # larger ints could not even be printed (Python's 4,300-digit limit)

NUMBER_LIMITS = tuple(name for name in Limits.__dataclass_fields__ if name != "use_path")
"""The limits that are whole numbers (every field of :class:`Limits` but ``use_path``)."""


def check_limits(limits: Limits) -> None:
    """Refuse negative limits, integer limits too large for the tool to handle, and
    ``use_path`` entries that are not folders."""
    for name in NUMBER_LIMITS:
        value = getattr(limits, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ResgraphError("RG219", f"--{name.replace('_', '-')} must be a whole number "
                                f">= 0, got {value!r}")
    if not 1 <= limits.max_int_bits <= INT_BITS_CEILING:
        raise ResgraphError("RG219", f"--max-int-bits must be between 1 and {INT_BITS_CEILING:,}, "
                            f"got {limits.max_int_bits:,}")
    if not isinstance(limits.use_path, tuple):
        raise ResgraphError("RG010", f"use_path must be a list of folders, got "
                            f"{limits.use_path!r}")
    for folder in limits.use_path:
        if not isinstance(folder, str) or not folder or not os.path.isdir(folder):
            raise ResgraphError("RG010", f"--use-path {_shown(folder)!r} is not a folder")


@dataclass
class Program:
    """Everything a file defines, its ``use``d files included."""

    file: str
    values: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, ast.Definition] = field(default_factory=dict)
    networks: dict[str, ast.Definition] = field(default_factory=dict)
    let_spans: dict[str, Span] = field(default_factory=dict)


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
"""Never block on opening (a FIFO with no writer), never become the controlling terminal."""


def read_file(path: str, limits: Limits, span: Span | None = None) -> str:
    """Read a source file, turning OS errors and oversize files into ResgraphErrors.

    The file is opened first and the open descriptor checked (``fstat``), so only a
    regular file is read, never a device or a pipe that could block or never end, even
    if the path changes in between; and never more than ``limits.max_file_bytes`` of it.

    >>> try:
    ...     read_file("/dev/zero", Limits())
    ... except ResgraphError as err:
    ...     print(err.message)
    cannot read '/dev/zero': not a regular file
    """
    return _read(path, limits, span)[0]


def _read(path: str, limits: Limits, span: Span | None, follow: bool = True,
          name: str | None = None) -> tuple[str, tuple[int, int]]:
    """The text of a regular file and its ``(st_dev, st_ino)``; ``follow=False`` refuses a
    link as the last part of ``path``; errors call the file ``name`` (``path`` if None)."""
    shown = _shown(path if name is None else name)
    flags = _OPEN_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ResgraphError("RG006", f"cannot read '{shown}': {os_reason(exc)}", span) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ResgraphError("RG006", f"cannot read '{shown}': not a regular file", span)
        data = b""
        if info.st_size <= limits.max_file_bytes:  # a larger one is refused unread
            data = _read_fd(fd, limits.max_file_bytes + 1)
    except OSError as exc:  # EIO, EISDIR on odd file systems
        raise ResgraphError("RG006", f"cannot read '{shown}': {exc.strerror or exc}", span) \
            from None
    finally:
        os.close(fd)
    if info.st_size > limits.max_file_bytes or len(data) > limits.max_file_bytes:
        size = max(info.st_size, len(data))
        raise ResgraphError("RG001", f"'{shown}' is {size:,} bytes, over the limit of "
                            f"{limits.max_file_bytes:,} (raise it with --max-file-bytes "
                            "or limits=Limits(max_file_bytes=...))",
                            span or Span(path, 1, 1, 1, 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # the message names the offset, never the bytes
        raise ResgraphError("RG006", f"cannot read '{shown}': not UTF-8 text (byte "
                            f"{exc.start + 1:,} is not valid)", span) from None
    return text, (info.st_dev, info.st_ino)


def _read_fd(fd: int, most: int) -> bytes:
    """Up to ``most`` bytes from an open file, to its end.

    >>> r, w = os.pipe()
    >>> os.write(w, b"abc")
    3
    >>> os.close(w)
    >>> _read_fd(r, 2), _read_fd(r, 5)
    (b'ab', b'c')
    >>> os.close(r)
    """
    chunks: list[bytes] = []
    left = most
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _shown(path: object, most: int = 200) -> str:
    """A path as an error message shows it: at most ``most`` characters.

    >>> _shown("a" * 300)[-10:]
    'aaa...aaaa'
    """
    text = str(path)
    return text if len(text) <= most else text[:most // 2] + "..." + text[-most // 2 + 3:]


def _real(path: str) -> str:
    """``os.path.realpath``, or the absolute path when it cannot be resolved."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def use_roots(file: str, limits: Limits) -> tuple[str, ...]:
    """The real folders that ``use`` may read under, for a top file named ``file``: its
    folder (the current folder for a string named ``<string>``) and ``limits.use_path``.

    >>> use_roots("lib/net.rg", Limits(use_path=["/"])) == (os.path.realpath("lib"), "/")
    True
    """
    roots = [os.path.dirname(_real(file)), *(_real(f) for f in limits.use_path)]
    return tuple(dict.fromkeys(roots))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def load_program(text: str, file: str, limits: Limits) -> Program:
    """Parse ``text`` (the top file, named ``file``) and everything it uses into a Program.

    ``use "PATH"`` is confined. PATH is relative to the real folder of the file that says
    it (links followed), and must end in ``.rg``, as must its real path (RG009). The real
    path must lie under :func:`use_roots` (RG008). The file is opened without blocking
    and read only if the open descriptor is a regular file (RG006). Each real file is
    read and parsed once, however many paths (links, ``..``) reach it: a diamond or a
    web of links costs one parse per file.

    >>> try:
    ...     load_program('use "/etc/passwd"', "p.rg", Limits())
    ... except ResgraphError as err:
    ...     print(str(err).replace("; ", ";\\n"))
    p.rg:1:5: error[RG009]: 'use' reads only resgraph files, whose names end in '.rg';
    '/etc/passwd' does not
        use "/etc/passwd"
            ^~~~~~~~~~~~~
    """
    check_limits(limits)
    return _Loader(limits, use_roots(file, limits)).program(text, file, _real(file), ())


class _Loader:
    """One load: the limits, the allowed roots, and every file read so far by real path
    and by ``(st_dev, st_ino)`` (hard links)."""

    def __init__(self, limits: Limits, roots: tuple[str, ...]) -> None:
        self.limits = limits
        self.roots = roots
        self.by_path: dict[str, Program] = {}
        self.by_inode: dict[tuple[int, int], Program] = {}

    def program(self, text: str, file: str, real: str, stack: tuple[str, ...]) -> Program:
        """Load one file, ``text`` named ``file`` at the real path ``real``."""
        module = parse(text, file, max_bytes=self.limits.max_file_bytes,
                       max_nesting=self.limits.max_nesting)
        prog = Program(file)
        stack = (*stack, real)
        for item in module.items:
            if isinstance(item, ast.Use):
                self.use(prog, item, file, stack)
            elif isinstance(item, ast.Let):
                _let(prog, item, self.limits)
            elif isinstance(item, ast.Function):
                _function(prog, item)
            else:
                _define(prog, item)
        _check_recursion(prog)
        return prog

    def use(self, prog: Program, item: ast.Use, file: str, stack: tuple[str, ...]) -> None:
        """Bring in the blocks and lets of the file a ``use`` names."""
        limits = self.limits
        target = self.resolve(item, os.path.dirname(stack[-1]))
        if target in stack:
            chain = " -> ".join(os.path.basename(p) for p in (*stack, target))
            raise ResgraphError("RG501", f"'use' cycle: {chain}", item.span)
        if len(stack) > limits.max_use_depth:
            raise ResgraphError("RG502", f"'use' nested more than {limits.max_use_depth} files "
                                "deep (raise it with --max-use-depth)", item.span)
        sub = self.by_path.get(target)
        if sub is None:
            path = _name_for(file, item.path, target)
            text, inode = _read(target, limits, item.span, follow=False, name=path)
            sub = self.by_inode.get(inode)
            if sub is None:
                sub = self.program(text, path, target, stack)
                self.by_inode[inode] = sub
            self.by_path[target] = sub
        for name, defn in sub.blocks.items():
            _add_block(prog, name, defn)
        for name, value in sub.values.items():
            prog.values.setdefault(name, value)
            prog.let_spans.setdefault(name, sub.let_spans[name])

    def resolve(self, item: ast.Use, folder: str) -> str:
        """The real path a ``use`` names from the real ``folder`` of its file, once it is
        known to be a ``.rg`` file under an allowed root; nothing is opened."""
        written = item.path
        if not written.endswith(SOURCE_SUFFIX):
            raise ResgraphError("RG009", "'use' reads only resgraph files, whose names end in "
                                f"'{SOURCE_SUFFIX}'; '{_shown(written)}' does not",
                                _string_span(item))
        target = _real(os.path.join(folder, written))
        if not target.endswith(SOURCE_SUFFIX):
            raise ResgraphError("RG009", f"'{_shown(written)}' leads to '{_shown(target)}', "
                                f"which is not a resgraph file (its name does not end in "
                                f"'{SOURCE_SUFFIX}')", _string_span(item))
        if not any(_inside(target, root) for root in self.roots):
            leads = "" if target == written else f" leads to '{_shown(target)}', which"
            raise ResgraphError("RG008", f"'{_shown(written)}'{leads} is outside the folders that "
                                f"'use' may read ({', '.join(map(_shown, self.roots))}); pass "
                                "--use-path DIR to allow another (Python: use_path=[DIR])",
                                _string_span(item))
        return target


def _name_for(file: str, written: str, target: str) -> str:
    """What errors call a used file: ``written`` joined to the folder of the file ``file``
    that says ``use``, unless links make that another file; then ``target`` (relative to
    the current folder when it lies inside it).

    >>> _name_for("lib/net.rg", "../common.rg", os.path.realpath("common.rg"))
    'common.rg'
    """
    path = os.path.normpath(os.path.join(os.path.dirname(file), written))
    if _real(path) == target:
        return path
    here = os.path.relpath(target)
    return target if here.startswith(os.pardir) else here


def _string_span(item: ast.Use) -> Span:
    """The span of the string that ends a ``use`` statement (the statement's if the
    source text is not at hand)."""
    span = item.span
    text = getattr(span.file, "text", None)
    if text is None:
        return span
    lines = text.splitlines()
    close = span.end_column - 2  # 0-based index of the closing quote
    if not 1 <= span.end_line <= len(lines):
        return span
    line = lines[span.end_line - 1]
    if not 0 < close < len(line) or line[close] != '"':
        return span
    start = close - 1
    while start >= 0:
        if line[start] == '"':
            before = start - 1
            while before >= 0 and line[before] == "\\":  # each backslash is looked at once
                before -= 1
            if (start - 1 - before) % 2 == 0:  # an unescaped quote opens the string
                return Span(span.file, span.end_line, start + 1, span.end_line, span.end_column)
            start = before + 1
        start -= 1
    return span


def _let(prog: Program, item: ast.Let, limits: Limits) -> None:
    if item.name in prog.values:
        raise ResgraphError("RG205", f"'{item.name}' is already defined", item.span,
                            notes=[("first defined here", prog.let_spans[item.name])])
    prog.values[item.name] = evaluate(item.value, Scope(prog.values),
                                      max_int_bits=limits.max_int_bits)
    prog.let_spans[item.name] = item.span


def _function(prog: Program, item: ast.Function) -> None:
    """``let f(a, b=1) = expr``: a function in the namespace of the lets."""
    if item.name in BUILTIN_FUNCTIONS:
        raise ResgraphError("RG311", f"function '{item.name}' would hide the built-in "
                            f"function '{item.name}'; choose another name", item.name_span)
    if item.name in prog.values:
        raise ResgraphError("RG205", f"'{item.name}' is already defined", item.span,
                            notes=[("first defined here", prog.let_spans[item.name])])
    _unique_params(item.params, f"function '{item.name}'")
    prog.values[item.name] = UserFunction(item, prog.values)
    prog.let_spans[item.name] = item.span


def _calls(expr: Any) -> list[ast.FuncCall]:
    """Every function call inside an expression (iteratively: expressions may be deep)."""
    found: list[ast.FuncCall] = []
    todo = [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, ast.FuncCall):
            found.append(e)
        if isinstance(e, list):
            todo.extend(e)
        elif hasattr(e, "__dataclass_fields__") and not isinstance(e, Span):
            todo.extend(getattr(e, f) for f in e.__dataclass_fields__ if f != "span")
    return found


def _check_recursion(prog: Program) -> None:
    """Refuse a function that calls itself, directly or through others (RG309), where it is
    defined, whether or not anything calls it."""
    funcs = {name: v.defn for name, v in prog.values.items() if isinstance(v, UserFunction)}
    calls = {name: [c for c in _calls([d.body, *(p.default for p in d.params)])
                    if c.name in funcs] for name, d in funcs.items()}
    done: set[str] = set()
    for start in funcs:
        if start in done:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path: set[str] = set()
        while stack:
            name, i = stack.pop()
            if i == 0:
                path.append(name)
                on_path.add(name)
            if i < len(calls[name]):
                stack.append((name, i + 1))
                callee = calls[name][i].name
                if callee in on_path:
                    cycle = " -> ".join([*path[path.index(callee):], callee])
                    raise ResgraphError("RG309", f"function '{callee}' calls itself ({cycle}); "
                                        "functions cannot be recursive: write the steps out, "
                                        "or pass the value in as an argument",
                                        calls[name][i].span,
                                        notes=[(f"'{callee}' is defined here",
                                                funcs[callee].name_span)])
                if callee not in done:
                    stack.append((callee, 0))
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)


def _unique_params(params: Iterable[Any], owner: str) -> None:
    """Refuse a parameter named twice in one definition (RG205), at the second."""
    seen: dict[str, Span] = {}
    for param in params:
        if param.name in seen:
            raise ResgraphError("RG205", f"parameter '{param.name}' of {owner} is defined "
                                "twice", param.span,
                                notes=[("first defined here", seen[param.name])])
        seen[param.name] = param.span


def _define(prog: Program, item: ast.Definition) -> None:
    _unique_params(item.params, f"{item.kind} '{item.name}'")
    if item.kind == "block":
        _add_block(prog, item.name, item)
        return
    if item.name in prog.networks:
        raise ResgraphError("RG205", f"network '{item.name}' is defined twice", item.span,
                            notes=[("first defined here", prog.networks[item.name].span)])
    prog.networks[item.name] = item


def _add_block(prog: Program, name: str, defn: ast.Definition) -> None:
    if name in RESERVED_BLOCK_NAMES:
        raise ResgraphError("RG206", f"block '{name}' would hide the built-in op or function "
                            f"'{name}'; choose another name", defn.span)
    old = prog.blocks.get(name)
    if old is not None and old is not defn:
        raise ResgraphError("RG205", f"block '{name}' is defined twice", defn.span,
                            notes=[("first defined here", old.span)])
    prog.blocks[name] = defn
