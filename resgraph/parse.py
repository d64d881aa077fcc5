"""Text → AST: the lark LALR parser, a transformer to dataclasses, and friendly syntax errors.

>>> mod = parse("network n() { input x[4]\\n x -> linear(2) }", "n.rg")
>>> [type(s).__name__ for s in mod.items[0].body]
['Input', 'ChainStmt']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

from lark import Lark, Token, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.visitors import Transformer_NonRecursive

from resgraph import ast
from resgraph.errors import CONTROL_CHARACTERS, ResgraphError, SourceFile, Span
from resgraph.kinds import CONNECTIONS

MAX_FILE_BYTES = 1_000_000
MAX_NESTING = 64
MAX_LITERAL_DIGITS = 1000


KINDS_SLOT = "@CONNECTION_KINDS@"
"""Where the grammar's connection keywords go: the names of the kind registry."""


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    text = resources.files("resgraph").joinpath("grammar/resgraph.lark").read_text()
    text = text.replace(KINDS_SLOT, "|".join(CONNECTIONS))
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                cache=False, start=["start", "expr"])


def parse(text: str, file: str = "<string>", *, max_bytes: int = MAX_FILE_BYTES,
          max_nesting: int = MAX_NESTING) -> ast.Module:
    """Parse resgraph source text into an :class:`ast.Module`; raise ResgraphError on bad syntax."""
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    file = SourceFile(file, text)
    if len(text) > max_bytes:
        raise ResgraphError(
            "RG001", f"file is {len(text):,} bytes, over the limit of {max_bytes:,} "
            "(raise it with --max-file-bytes or limits=Limits(max_file_bytes=...))",
            Span(file, 1, 1, 1, 2))
    _check_plain_text(text, file)
    _check_nesting(text, file, max_nesting)
    try:
        tree = _parser().parse(text, start="start")
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, file) from None
    try:
        items = _ToAst(file).transform(tree)
        module = ast.Module(file, items.children if hasattr(items, "children") else items)
        _check_statement_breaks(module, text)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ResgraphError):
            raise exc.orig_exc from None
        raise
    except RecursionError:  # only when --max-nesting was raised far above its default
        depth, line, col = max(_bracket_depths(text), default=(0, 1, 1))
        raise ResgraphError("RG505", f"brackets nested {depth:,} deep are more than resgraph can "
                            "handle; lower --max-nesting", Span(file, line, col, line, col + 1)) \
            from None
    return module


# ---------------------------------------------------------------- tree → AST


_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[()\[\]{}]|\n')


def _bracket_depths(text: str) -> Iterator[tuple[int, int, int]]:
    """(depth, line, column) of every opening bracket outside strings and comments."""
    depth, line, line_start = 0, 1, 0
    for m in _BRACKETS.finditer(text):
        c = m.group()[0]
        if c == "\n":
            line, line_start = line + 1, m.end()
        elif c in "([{":
            depth += 1
            yield depth, line, m.start() - line_start + 1
        elif c in ")]}":
            depth = max(depth - 1, 0)


def _check_plain_text(text: str, file: str) -> None:
    """Refuse a control character anywhere, comments and strings included (RG002).

    Such a text is not a resgraph source (a binary file, ``/proc/self/environ``, terminal
    escape sequences): the error says where the character is, but quotes no line of it.

    >>> try:  # a terminal escape sequence in a comment
    ...     parse("let a = 1\\n# \\x1b[2J", "t.rg")
    ... except ResgraphError as err:
    ...     print(err.code, (err.line, err.column), len(str(err).splitlines()), "line")
    RG002 (2, 3) 1 line
    """
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return
    pos = found.start()
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    raise ResgraphError("RG002", f"control character U+{ord(found.group()):04X}; a resgraph file "
                        "is plain text (no control characters, not even in comments and "
                        "strings)", Span(file, line, col, line, col + 1))


def _check_nesting(text: str, file: str, limit: int) -> None:
    """Refuse brackets nested deeper than ``limit`` before parsing (later stages recurse)."""
    if sum(text.count(c) for c in "([{") <= limit:
        return
    for depth, line, col in _bracket_depths(text):
        if depth > limit:
            raise ResgraphError("RG505", f"brackets nested more than {limit} deep (raise it "
                                "with --max-nesting or limits=Limits(max_nesting=...))",
                                Span(file, line, col, line, col + 1))


def _span(file: str, meta: Any) -> Span:
    if getattr(meta, "empty", True) and not hasattr(meta, "line"):
        return Span(file, 1, 1, 1, 1)
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(file: str, tok: Token) -> Span:
    line, column = tok.line or 1, tok.column or 1
    return Span(file, line, column, tok.end_line or line, tok.end_column or column + len(tok))


_UNESCAPE = re.compile(r"\\(.)")


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Builds AST dataclasses, one method per grammar rule (iteratively: deep trees are fine)."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _s(self, meta: Any) -> Span:
        return _span(self.file, meta)

    def start(self, meta: Any, items: list) -> list:
        return [i for i in items if i is not None]

    def use_stmt(self, meta: Any, c: list) -> ast.Use:
        return ast.Use(_string(c[0]), self._s(meta))

    def let_stmt(self, meta: Any, c: list) -> ast.Let:
        return ast.Let(str(c[0]), c[1], self._s(meta))

    def fn_stmt(self, meta: Any, c: list) -> ast.Function:
        return ast.Function(str(c[0]), c[1] or [], c[2], self._s(meta),
                            _tok_span(self.file, c[0]))

    def _definition(self, kind: str, meta: Any, c: list) -> ast.Definition:
        return ast.Definition(kind, str(c[0]), c[1] or [], c[2], self._s(meta), self.file)

    def block_def(self, meta: Any, c: list) -> ast.Definition:
        return self._definition("block", meta, c)

    def network_def(self, meta: Any, c: list) -> ast.Definition:
        return self._definition("network", meta, c)

    def params(self, meta: Any, c: list) -> list:
        return [p for p in c if p is not None]

    def param(self, meta: Any, c: list) -> ast.Param:
        return ast.Param(str(c[0]), c[1], self._s(meta))

    def body(self, meta: Any, c: list) -> list:
        return [s for s in c if s is not None]

    def input_stmt(self, meta: Any, c: list) -> ast.Input:
        dtype = c[2]
        return ast.Input(str(c[0]), c[1] or [], str(dtype) if dtype is not None else None,
                         self._s(meta), _tok_span(self.file, dtype) if dtype is not None else None)

    def output_stmt(self, meta: Any, c: list) -> ast.Output:
        return ast.Output([(str(t), _tok_span(self.file, t)) for t in c], self._s(meta))

    def assign_stmt(self, meta: Any, c: list) -> ast.Assign:
        _check_label_word(c[0], self.file)
        return ast.Assign(str(c[0]), c[1], self._s(meta))

    def edge_stmt(self, meta: Any, c: list) -> ast.Edge:
        (kind, args, _), src, dst = c
        return ast.Edge(kind, args, str(src), _tok_span(self.file, src), str(dst),
                        _tok_span(self.file, dst), self._s(meta))

    def chain_stmt(self, meta: Any, c: list) -> ast.ChainStmt:
        return ast.ChainStmt(c[0], self._s(meta))

    def endpoint(self, meta: Any, c: list) -> Token:
        return c[0]

    def chain(self, meta: Any, c: list) -> ast.Chain:
        return ast.Chain(list(c), self._s(meta))

    def term(self, meta: Any, c: list) -> ast.Term:
        spread, label, atom, repeat, var, cond = c
        template = None
        if label is not None:
            if label.type == "LABEL":
                _check_label_word(label, self.file)
            elif label.type == "STRLABEL":
                template = _template(label, self.file)
        return ast.Term(str(label) if label is not None else None, atom, repeat, self._s(meta),
                        _tok_span(self.file, label) if label is not None else None,
                        template, str(var) if var is not None else None,
                        _tok_span(self.file, var) if var is not None else None, cond,
                        _tok_span(self.file, spread) if spread is not None else None)

    def label(self, meta: Any, c: list) -> Token:
        return c[0]

    def call(self, meta: Any, c: list) -> ast.Call:
        name, args = c
        return ast.Call(str(name), args, self._s(meta), _tok_span(self.file, name))

    def call_args(self, meta: Any, c: list) -> list:
        return c[0] or []

    def inref(self, meta: Any, c: list) -> ast.InRef:
        return ast.InRef(self._s(meta))

    def subchain(self, meta: Any, c: list) -> ast.SubChain:
        return ast.SubChain(c[0], self._s(meta))

    def group(self, meta: Any, c: list) -> ast.Group:
        (kind, args, kspan), var, body = c
        return ast.Group(kind, args, body, self._s(meta), kspan,
                         str(var) if var is not None else None,
                         _tok_span(self.file, var) if var is not None else None)

    def conn(self, meta: Any, c: list) -> tuple:
        return str(c[0]), c[1] or [], _tok_span(self.file, c[0])

    def args(self, meta: Any, c: list) -> list:
        return [a for a in c if a is not None]

    def arg(self, meta: Any, c: list) -> ast.Arg:
        return ast.Arg(None, c[0], self._s(meta))

    def kwarg(self, meta: Any, c: list) -> ast.Arg:
        return ast.Arg(str(c[0]), c[1], self._s(meta))

    def exprs(self, meta: Any, c: list) -> list:
        return [e for e in c if e is not None]

    # expressions
    def cond(self, meta: Any, c: list) -> ast.Cond:
        return ast.Cond(c[0], c[1], c[2], self._s(meta))

    def or_(self, meta: Any, c: list) -> ast.BinOp:
        return ast.BinOp("or", c[0], c[1], self._s(meta))

    def and_(self, meta: Any, c: list) -> ast.BinOp:
        return ast.BinOp("and", c[0], c[1], self._s(meta))

    def not_(self, meta: Any, c: list) -> ast.UnaryOp:
        return ast.UnaryOp("not", c[0], self._s(meta))

    def compare(self, meta: Any, c: list) -> ast.BinOp:
        return ast.BinOp(str(c[1]), c[0], c[2], self._s(meta))

    def binop(self, meta: Any, c: list) -> ast.BinOp:
        return ast.BinOp(str(c[1]), c[0], c[2], self._s(meta))

    def unop(self, meta: Any, c: list) -> ast.UnaryOp:
        return ast.UnaryOp(str(c[0]), c[1], self._s(meta))

    def pow(self, meta: Any, c: list) -> ast.BinOp:
        return ast.BinOp("**", c[0], c[2], self._s(meta))

    def index(self, meta: Any, c: list) -> ast.Index:
        return ast.Index(c[0], c[1], self._s(meta))

    def attr(self, meta: Any, c: list) -> ast.Attr:
        return ast.Attr(c[0], str(c[1]), self._s(meta))

    def number(self, meta: Any, c: list) -> ast.Literal:
        text = str(c[0])
        if len(text) > MAX_LITERAL_DIGITS:
            raise ResgraphError("RG304", f"number literal with {len(text):,} characters is too "
                                "large", self._s(meta))
        is_float = any(ch in text for ch in ".eE")
        return ast.Literal(float(text) if is_float else int(text), self._s(meta))

    def string(self, meta: Any, c: list) -> ast.Literal:
        return ast.Literal(_string(c[0]), self._s(meta))

    def true(self, meta: Any, c: list) -> ast.Literal:
        return ast.Literal(True, self._s(meta))

    def false(self, meta: Any, c: list) -> ast.Literal:
        return ast.Literal(False, self._s(meta))

    def none(self, meta: Any, c: list) -> ast.Literal:
        return ast.Literal(None, self._s(meta))

    def var(self, meta: Any, c: list) -> ast.Var:
        return ast.Var(str(c[0]), self._s(meta))

    def fcall(self, meta: Any, c: list) -> ast.FuncCall:
        return ast.FuncCall(str(c[0]), c[1] or [], self._s(meta))

    def list(self, meta: Any, c: list) -> ast.ListExpr:
        return ast.ListExpr(c[0] or [], self._s(meta))


def _string(tok: Token) -> str:
    return _UNESCAPE.sub(r"\1", str(tok)[1:-1])


_TEMPLATE_PART = re.compile(r"\{([^{}]*)\}")


def _template(tok: Token, file: str) -> list[str | ast.Expr]:
    """The parts of a label template ``"block{s}-{i}"``: text and expressions, in order.

    Each ``{expr}`` is parsed as an expression located where it stands in the file.

    >>> mod = parse('network n() { input x[4]\\n x -> "fc{1 + 1}": linear(2) }', "t.rg")
    >>> parts = mod.items[0].body[1].chain.terms[1].template
    >>> parts[0], type(parts[1]).__name__, parts[1].span.column
    ('fc', 'BinOp', 11)
    """
    raw = str(tok)[1:-1]
    line, col = tok.line or 1, (tok.column or 1) + 1
    parts: list[str | ast.Expr] = []
    at = 0
    for m in _TEMPLATE_PART.finditer(raw):
        if m.start() > at:
            parts.append(_UNESCAPE.sub(r"\1", raw[at:m.start()]))
        inner = m.group(1)
        where = Span(file, line, col + m.start(), line, col + m.end())
        if not inner.strip():
            raise ResgraphError("RG221", "empty '{}' in a label template; put an expression "
                                "inside, e.g. \"block{i}\"", where)
        padded = "\n" * (line - 1) + " " * (col + m.start(1) - 1) + inner
        try:
            tree = _parser().parse(padded, start="expr")
            expr = _ToAst(file).transform(tree)
        except UnexpectedInput as exc:
            raise _syntax_error(exc, padded, file) from None
        except VisitError as exc:
            if isinstance(exc.orig_exc, ResgraphError):
                raise exc.orig_exc from None
            raise
        parts.append(expr)
        at = m.end()
    rest = raw[at:]
    if "{" in rest or "}" in rest:
        brace = at + max(rest.find("{"), rest.find("}"))
        raise ResgraphError("RG221", "unmatched brace in a label template; write "
                            "\"name{expr}\"", Span(file, line, col + brace, line,
                                                  col + brace + 1))
    if rest:
        parts.append(_UNESCAPE.sub(r"\1", rest))
    return parts


#: Words that stand for values wherever an expression may start; no label may be one.
VALUE_WORDS = ("in", "true", "false", "none")


def _check_label_word(tok: Token, file: str) -> None:
    """Refuse a label (``name:`` or ``name = chain``) that is a value word.

    Any other word followed by ':' is a label, keywords included (``block: conv(8)``).

    >>> try:
    ...     parse("network n() {\\n  input x[4]\\n  x -> none: linear(2)\\n}", "v.rg")
    ... except ResgraphError as err:
    ...     print(err.code, err.line, err.column)
    RG220 3 8
    """
    if str(tok) in VALUE_WORDS:
        raise ResgraphError("RG220", f"'{tok}' cannot be a label: in, true, false and none "
                            f"stand for values; choose another name (e.g. '{tok}_')",
                            _tok_span(file, tok))


# ---------------------------------------------------------------- syntax errors

_TOKEN_NAMES = {
    "RPAR": "')'", "LPAR": "'('", "RBRACE": "'}'", "LBRACE": "'{'", "RSQB": "']'",
    "LSQB": "'['", "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "NAME": "a name",
    "NUMBER": "a number", "STRING": "a string", "_ARROW": "'->'", "SEMICOLON": "';'",
    "_BLOCK": "'block'", "_NETWORK": "'network'", "_LET": "'let'", "_USE": "'use'",
    "STAR": "'*'", "DOT": "'.'", "IN": "'in'", "CONN": "a connection kind",
}
#: A name before ':' or '=' is lexed as these; messages call them names.
_NAME_LIKE = ("LABEL", "TARGET")
#: Tokens that can start an argument, a list item or a parameter.
_ARG_START = frozenset({"NUMBER", "STRING", "NAME", "LABEL", "TARGET", "IN", "LSQB", "TRUE",
                        "FALSE", "NONE", "NOT"})
#: A line that starts a top-level definition: inside an open body it means a '}' is missing.
_DEFINITION_LINE = re.compile(r'^[ \t]*(?:(block|network)[ \t]+[A-Za-z_]\w*[ \t]*\(|(use)[ \t]+")',
                              re.M)


def _describe(tok: Token | None) -> str:
    if tok is None or tok.type == "$END":
        return "end of file"
    text = str(tok)
    return f"'{text}'" if len(text) <= 40 else f"'{text[:37]}...'"


def _syntax_error(exc: UnexpectedInput, text: str, file: str) -> ResgraphError:
    line, col = getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos] if pos is not None and pos < len(text) else "?"
        if ch.isdigit() and not ch.isascii():
            return ResgraphError("RG002", f"non-ASCII digit {ch!r} (U+{ord(ch):04X}); numbers "
                                 "use the digits 0-9", Span(file, line, col, line, col + 1))
        hint = " (strings use double quotes; no Python is evaluated)" if ch == "'" else ""
        return ResgraphError("RG002", f"unexpected character {ch!r}{hint}",
                             Span(file, line, col, line, col + 1))
    tok = getattr(exc, "token", None)
    expected = set(getattr(exc, "expected", set()) or getattr(exc, "accepts", set()) or ())
    if isinstance(exc, UnexpectedEOF) or (tok is not None and tok.type == "$END"):
        line, col = _end_position(text)
        return ResgraphError("RG003", f"unexpected end of file; {_missing(expected)}",
                             Span(file, line, col, line, col + 1))
    assert isinstance(exc, UnexpectedToken)
    found = _structural_error(exc, text, file)
    if found is not None:
        return found
    tok = exc.token
    if tok.type in _NAME_LIKE:
        tok = Token.new_borrow_pos("NAME", str(tok), tok)
    return ResgraphError("RG004", _message_for(tok, expected), _tok_span(file, tok))


def _structural_error(exc: UnexpectedToken, text: str, file: str) -> ResgraphError | None:
    """The mistakes a token-level message misplaces, read from the parser's stack.

    An unclosed '{' (a definition starts inside a body), a missing '->' before a '(' that
    therefore reads as a bare op's arguments, a missing ',' between arguments, and a
    label or assignment outside any body.
    """
    parser = getattr(exc, "interactive_parser", None)
    if parser is None:
        return None
    stack: list[Any] = list(parser.parser_state.value_stack)
    accepts = set(parser.accepts())
    tok = exc.token
    opens = [i for i, v in enumerate(stack)
             if isinstance(v, Token) and v.type in ("LPAR", "LSQB", "LBRACE")]
    braces = [stack[i] for i in opens if stack[i].type == "LBRACE"]
    error = _unclosed_brace(text, file, braces[-1], tok) if braces else None
    if error is None and opens and stack[opens[-1]].type != "LBRACE":
        error = _missing_arrow(text, file, stack, opens[-1], tok) \
            or _missing_comma(file, stack, opens[-1], tok, accepts)
    if error is not None or not {"_BLOCK", "_NETWORK"} <= accepts:
        return error
    if tok.type == "LABEL":  # at top level
        return ResgraphError("RG004", f"unexpected label '{tok}:'; a label names a term of a "
                             "chain inside a block or network body", _tok_span(file, tok))
    if tok.type == "TARGET":
        return ResgraphError("RG004", f"unexpected '{tok} ='; `name = chain` belongs in a "
                             "block or network body, and a top-level constant is "
                             f"`let {tok} = value`", _tok_span(file, tok))
    return None


def _missing_comma(file: str, stack: list[Any], bracket: int, tok: Token,
                   accepts: set[str]) -> ResgraphError | None:
    """RG004 when the bracket ``stack[bracket]`` could take a ',' but gets a new item."""
    if tok.type not in _ARG_START or "COMMA" not in accepts:
        return None
    what = _items(stack, bracket)
    hint = ""
    top, under = stack[-1], stack[-2] if len(stack) > 1 else None
    if what in ("arguments", "parameters") and tok.type != "TARGET" \
            and isinstance(top, Token) and top.type == "NAME" \
            and isinstance(under, Token) and under.type in ("LPAR", "COMMA"):
        hint = f" (or '=' after '{top}' to give it a value)"  # `stride 2`
    return ResgraphError("RG004", f"missing ',' between {what}: put one before "
                         f"{_describe(tok)}{hint}", _tok_span(file, tok))


def _items(stack: list[Any], i: int) -> str:
    """What the bracket ``stack[i]`` holds, for "missing ',' between ..."."""
    before = [v.type if isinstance(v, Token) else "" for v in stack[max(i - 2, 0):i]]
    if stack[i].type == "LSQB":
        return "dimensions" if before[:1] == ["INPUT"] else "list items"
    return "parameters" if before[:1] in (["_BLOCK"], ["_NETWORK"]) else "arguments"


def _unclosed_brace(text: str, file: str, brace: Token, tok: Token) -> ResgraphError | None:
    """RG007 when a definition (or ``use``) line starts while ``brace``'s body is open."""
    end = text.find("\n", tok.end_pos or 0)  # the header may go on after the token
    header = _DEFINITION_LINE.search(text, brace.end_pos or 0, end if end >= 0 else len(text))
    if header is None:
        return None
    word = header.group(1) or header.group(2)
    line = text.count("\n", 0, header.start()) + 1
    col = header.start(1 if header.group(1) else 2) - text.rfind("\n", 0, header.start(0) + 1)
    opened = _innermost_unclosed(text, header.start())
    if opened is None:
        opened = (brace.line or 1, brace.column or 1)
    return ResgraphError(
        "RG007", "this '{' is never closed", Span(file, *opened, opened[0], opened[1] + 1),
        notes=[(f"'{word}' starts a new {'statement' if word == 'use' else 'definition'} "
                "here, so a '}' is missing above it",
                Span(file, line, col, line, col + len(word)))])


def _innermost_unclosed(text: str, stop: int) -> tuple[int, int] | None:
    """Line and column of the '{' left open at ``stop``, reading indentation as intent.

    A '}' that begins its line closes the open '{' whose line is indented like it; the
    braces opened inside that one are the unclosed ones (the first such, innermost).

    >>> _innermost_unclosed("block b() {\\n  residual {\\n    relu\\n}\\nnetwork", 30)
    (2, 12)
    """
    stack: list[tuple[int, int, int]] = []  # (indent, line, column)
    unclosed: tuple[int, int] | None = None
    line, line_start = 1, 0
    for m in _BRACKETS.finditer(text, 0, stop):
        c = m.group()[0]
        if c == "\n":
            line, line_start = line + 1, m.end()
            continue
        prefix = text[line_start:m.start()]
        indent = len(prefix.expandtabs()) - len(prefix.expandtabs().lstrip())
        if c == "{":
            stack.append((indent, line, m.start() - line_start + 1))
        elif c == "}" and stack:
            match = len(stack) - 1
            if not prefix.strip() and stack[-1][0] != indent:
                match = next((j for j in range(len(stack) - 1, -1, -1)
                              if stack[j][0] == indent), match)
            if unclosed is None and match < len(stack) - 1:
                unclosed = stack[-1][1:]
            del stack[match:]
    if unclosed is not None:
        return unclosed
    return stack[-1][1:] if stack else None


def _missing_arrow(text: str, file: str, stack: list[Any], lpar: int,
                   tok: Token) -> ResgraphError | None:
    """RG005 when a line that starts with '(' after a bare op holds a chain.

    `x -> relu` NEWLINE `(a -> b)` reads as `relu(a -> b)`; the '(' is the place to show.
    """
    name, paren = stack[lpar - 1] if lpar else None, stack[lpar]
    if not isinstance(name, Token) or name.type != "NAME" or paren.line == name.end_line \
            or text[text.rfind("\n", 0, paren.start_pos) + 1:paren.start_pos].strip():
        return None
    inside = text[paren.end_pos:tok.start_pos]
    if "," in inside or not re.match(r"\s*(?:[A-Za-z_(])", inside):
        return None
    top = stack[-1]
    split_arrow = (tok.type == "COMPARE" and str(tok).startswith(">")
                   and isinstance(top, Token) and str(top) == "-" and top.end_pos == tok.start_pos)
    if tok.type not in ("_ARROW", "COLON", "LBRACE") and not split_arrow:
        return None
    return ResgraphError(
        "RG005", f"missing '->' before '(': after the bare op '{name}' a '(' reads as its "
        "arguments; write '-> (' to continue the chain", _tok_span(file, paren))


def _missing(expected: set[str]) -> str:
    for closing in ("RBRACE", "RPAR", "RSQB"):
        if closing in expected:
            return f"missing {_TOKEN_NAMES[closing]}"
    return "the file stops in the middle of a statement"


def _message_for(tok: Token, expected: set[str]) -> str:
    got = _describe(tok)
    if "RPAR" in expected and tok.type not in ("COMMA",):
        if tok.type in ("LBRACE", "RBRACE", "_ARROW", "NAME", "CONN", "IN"):
            return f"missing ')' before {got}"
    if "RSQB" in expected and tok.type in ("RPAR", "RBRACE", "_ARROW"):
        return f"missing ']' before {got}"
    if tok.type == "_ARROW":
        return "'->' must follow an op, a block, a group or a node name"
    if tok.type == "EQUAL" and "EQUAL" not in expected:
        return "unexpected '='; labels use ':' inside a chain (`name: op`), " \
               "and `name = chain` only starts a statement"
    if tok.type == "LBRACE":
        return "unexpected '{'; only block, network, residual, highway and dense open a body"
    if tok.type == "RBRACE" and "RBRACE" not in expected:
        return "unexpected '}'; there is no open '{' here"
    if tok.type in ("NUMBER", "STRING") and ("NAME" in expected or "LPAR" in expected):
        return f"unexpected {got}; expected an op, a block or a node name"
    names = sorted(_TOKEN_NAMES.get(e, repr(e.lower()) if e.isupper() else f"'{e}'")
                   for e in expected - set(_NAME_LIKE) if not e.startswith("__") or e == "_ARROW")
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f"unexpected {got}; expected {shown}" if shown else f"unexpected {got}"


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, max(col, 1)


def _check_statement_breaks(module: ast.Module, text: str) -> None:
    """Two chains on one line with no ';' between them almost always lack a '->'."""
    lines = text.splitlines()
    for item in module.items:
        if not isinstance(item, ast.Definition):
            continue
        _check_body(item.body, lines, module.file)


def _check_body(body: list, lines: list[str], file: str) -> None:
    for prev, stmt in zip(body, body[1:]):
        for chain in _chains(prev):
            _check_body_terms(chain, lines, file)
        if not isinstance(stmt, ast.ChainStmt):
            continue
        first = stmt.chain.terms[0]
        if first.label is not None or not isinstance(first.atom, ast.Call):
            continue
        if prev.span.end_line != stmt.span.line:
            continue
        between = lines[stmt.span.line - 1][prev.span.end_column - 1:stmt.span.column - 1]
        if ";" not in between:
            raise ResgraphError("RG005", "expected '->' between two ops "
                                "(or ';' to start a new statement)",
                                Span(file, stmt.span.line, stmt.span.column, stmt.span.line,
                                     first.atom.name_span.end_column))
    if body:
        for chain in _chains(body[-1]):
            _check_body_terms(chain, lines, file)


def _chains(stmt: Any) -> list[ast.Chain]:
    if isinstance(stmt, (ast.ChainStmt, ast.Assign)):
        return [stmt.chain]
    return []


def _check_body_terms(chain: ast.Chain, lines: list[str], file: str) -> None:
    for term in chain.terms:
        atom = term.atom
        if isinstance(atom, ast.Group):
            _check_body(atom.body, lines, file)
        elif isinstance(atom, ast.SubChain):
            _check_body_terms(atom.chain, lines, file)
