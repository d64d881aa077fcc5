"""The expression language: a small, safe evaluator over the AST (never Python's eval).

Values are ints, floats, bools, strings, ``None``, lists, and :class:`NodeRef`
(a node in scope, for shape queries like ``in.channels``).

>>> from resgraph.parse import parse
>>> expr = parse("let a = [2, 3][1] * 4 if 1 < 2 else 0", "e.rg").items[0].value
>>> evaluate(expr, Scope({}))
12
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resgraph import ast
from resgraph.errors import ResgraphError, Span

DEFAULT_INT_BITS = 256
"""The default bound on an integer's size in expressions (``Limits.max_int_bits``)."""
MAX_LIST = 10_000
MAX_NESTING = 200


@dataclass(frozen=True)
class NodeRef:
    """A node named in an expression; its shape answers ``.channels``, ``.shape``, ..."""

    name: str
    node: int
    shape: tuple[int, ...]


class Word(str):
    """A bare option word such as ``project`` or ``bilinear``."""


@dataclass(frozen=True)
class UserFunction:
    """``let f(a, b=1) = expr``: called by name, evaluated in the lets of its file."""

    defn: ast.Function
    values: dict[str, Any]

    def __repr__(self) -> str:
        return f"<function {self.defn.name}>"


BUILTIN_FUNCTIONS = ("int", "min", "max", "round", "len", "ceil", "floor", "log", "sqrt",
                     "abs", "sum")
"""The built-in expression functions; ``let f(...) = expr`` defines more."""


class Scope:
    """Names visible to an expression: a dict plus an optional parent and node lookup."""

    def __init__(self, values: dict[str, Any], parent: Scope | None = None,
                 nodes: Callable[[str], NodeRef | None] | None = None) -> None:
        self.values = values
        self.parent = parent
        self.nodes = nodes

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            if scope.nodes is not None:
                ref = scope.nodes(name)
                if ref is not None:
                    return ref
            scope = scope.parent
        raise KeyError(name)


_MISSING = object()


def evaluate(expr: ast.Expr, scope: Scope, *, word_ok: bool = False,
             max_int_bits: int = DEFAULT_INT_BITS) -> Any:
    """Evaluate an expression. ``word_ok`` lets an unbound bare name stand for itself."""
    if word_ok and isinstance(expr, ast.Var):
        try:
            return scope.lookup(expr.name)
        except KeyError:
            return Word(expr.name)
    ev = _Eval(scope, max_int_bits)
    if word_ok and isinstance(expr, ast.Cond):  # `act=hardswish if big else relu`
        branch = expr.then if ev.truth(ev.run(expr.cond, 1), expr.cond) else expr.other
        return evaluate(branch, scope, word_ok=True, max_int_bits=max_int_bits)
    return ev.run(expr, 0)


def type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, Word):
        return "word"
    if isinstance(v, NodeRef):
        return "node"
    if isinstance(v, UserFunction):
        return "function"
    return {int: "int", float: "float", str: "string", list: "list",
            type(None): "none"}.get(type(v), type(v).__name__)


def show(v: Any, digits: int | None = None) -> str:
    """A value as the language writes it; ``digits`` rounds floats to that many significant
    digits (for titles, where ``0.037500000000000006`` should read ``0.0375``).

    >>> show([0.1 * 3, 2], digits=12), show(0.1 * 3)
    ('[0.3, 2]', '0.30000000000000004')
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, Word):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(show(x, digits) for x in v) + "]"
    if isinstance(v, NodeRef):
        return v.name
    if isinstance(v, UserFunction):
        return v.defn.name
    if isinstance(v, float):
        return repr(v) if digits is None or not math.isfinite(v) else repr(float(f"{v:.{digits}g}"))
    return str(v)


class _Eval:
    def __init__(self, scope: Scope, max_int_bits: int) -> None:
        self.scope = scope
        self.max_bits = max_int_bits
        self.active: list[str] = []

    def err(self, msg: str, span: Span, code: str = "RG301") -> ResgraphError:
        return ResgraphError(code, msg, span)

    def run(self, e: ast.Expr, depth: int) -> Any:
        if depth > MAX_NESTING:
            raise self.err(f"expression nested more than {MAX_NESTING} levels deep", e.span,
                           "RG306")
        d = depth + 1
        if isinstance(e, ast.Literal):
            return self.check(e.value, e.span)
        if isinstance(e, ast.Var):
            try:
                return self.scope.lookup(e.name)
            except KeyError:
                raise self.err(f"undefined name '{e.name}'", e.span, "RG302") from None
        if isinstance(e, ast.ListExpr):
            if len(e.items) > MAX_LIST:
                raise self.err(f"list longer than {MAX_LIST}", e.span, "RG305")
            return [self.run(x, d) for x in e.items]
        if isinstance(e, ast.Index):
            return self.index(self.run(e.target, d), self.run(e.index, d), e)
        if isinstance(e, ast.Attr):
            return self.attr(self.run(e.target, d), e)
        if isinstance(e, ast.FuncCall):
            return self.call(e, [self.run(a, d) for a in e.args], d)
        if isinstance(e, ast.Cond):
            return self.run(e.then, d) if self.truth(self.run(e.cond, d), e.cond) \
                else self.run(e.other, d)
        if isinstance(e, ast.UnaryOp):
            v = self.run(e.operand, d)
            if e.op == "not":
                return not self.truth(v, e.operand)
            self.number(v, e.operand, e.op)
            return -v if e.op == "-" else +v
        if isinstance(e, ast.BinOp):
            if e.op == "and":
                left = self.run(e.left, d)
                return self.truth(self.run(e.right, d), e.right) if self.truth(left, e.left) \
                    else False
            if e.op == "or":
                left = self.run(e.left, d)
                return True if self.truth(left, e.left) else self.truth(self.run(e.right, d),
                                                                         e.right)
            return self.binop(e, self.run(e.left, d), self.run(e.right, d))
        raise self.err("unsupported expression", e.span)  # pragma: no cover

    def truth(self, v: Any, e: ast.Expr) -> bool:
        if not isinstance(v, (bool, int, float)) and v is not None:
            raise self.err(f"expected a condition, got a {type_name(v)}", e.span, "RG303")
        return bool(v)

    def number(self, v: Any, e: ast.Expr, op: str) -> None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.err(f"'{op}' needs numbers, got a {type_name(v)} ({show(v)})", e.span,
                           "RG303")

    def check(self, v: Any, span: Span) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > self.max_bits:
            raise self.err(f"number too large (over {self.max_bits} bits); raise it with "
                           "--max-int-bits or limits=Limits(max_int_bits=...)", span, "RG304")
        if isinstance(v, float) and not math.isfinite(v):
            raise self.err("result is not a finite number", span, "RG304")
        return v

    def binop(self, e: ast.BinOp, a: Any, b: Any) -> Any:
        op = e.op
        if op in ("==", "!="):
            same = (a == b) and type_name(a) == type_name(b) or (
                isinstance(a, (int, float)) and isinstance(b, (int, float))
                and not isinstance(a, bool) and not isinstance(b, bool) and a == b)
            return same if op == "==" else not same
        if op == "+" and isinstance(a, list) and isinstance(b, list):
            if len(a) + len(b) > MAX_LIST:
                raise self.err(f"list longer than {MAX_LIST}", e.span, "RG305")
            return a + b
        if op == "+" and isinstance(a, str) and isinstance(b, str) and not (
                isinstance(a, Word) or isinstance(b, Word)):
            if len(a) + len(b) > MAX_LIST:
                raise self.err(f"string longer than {MAX_LIST}", e.span, "RG305")
            return a + b
        self.number(a, e.left, op)
        self.number(b, e.right, op)
        if op in ("<", ">", "<=", ">="):
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if op in ("/", "//", "%") and b == 0:
            raise self.err("division by zero", e.span, "RG304")
        if op == "**":
            return self.check(self.power(a, b, e), e.span)
        try:
            r = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                 "/": lambda: a / b, "//": lambda: a // b, "%": lambda: a % b}[op]()
        except OverflowError:
            raise self.err("result is too large", e.span, "RG304") from None
        return self.check(r, e.span)

    def power(self, a: Any, b: Any, e: ast.BinOp) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            if b < 0:
                if a == 0:
                    raise self.err("division by zero", e.span, "RG304")
                return self.check(float(a), e.span) ** b
            if abs(a) > 1 and b * math.log2(abs(a)) > self.max_bits:
                raise self.err(f"number too large ({a} ** {b} has over {self.max_bits} bits); "
                               "raise it with --max-int-bits or limits=Limits(max_int_bits=...)",
                               e.span, "RG304")
            return a ** b
        try:
            r = float(a) ** float(b)
        except (OverflowError, ZeroDivisionError):
            raise self.err("result is too large or undefined", e.span, "RG304") from None
        if isinstance(r, complex):
            raise self.err("result is not a real number", e.span, "RG304")
        return r

    def index(self, target: Any, i: Any, e: ast.Index) -> Any:
        if isinstance(target, NodeRef):
            target = list(target.shape)
        if not isinstance(target, list):
            raise self.err(f"cannot index a {type_name(target)}", e.target.span, "RG303")
        if isinstance(i, bool) or not isinstance(i, int):
            raise self.err(f"list index must be an int, got a {type_name(i)}", e.index.span,
                           "RG303")
        if not -len(target) <= i < len(target):
            raise self.err(f"index {i} out of range for a list of {len(target)}",
                           e.index.span, "RG303")
        return target[i]

    def attr(self, target: Any, e: ast.Attr) -> Any:
        if not isinstance(target, NodeRef):
            raise self.err(f"'.{e.name}' needs a node (like in.channels), got a "
                           f"{type_name(target)}", e.span, "RG303")
        shape = target.shape
        if e.name == "shape":
            return list(shape)
        if e.name == "channels":
            return shape[0] if shape else 1
        if e.name == "features":
            return shape[-1] if shape else 1
        if e.name == "rank":
            return len(shape)
        if e.name in ("length", "tokens"):
            return shape[0]
        from resgraph.errors import did_you_mean
        names = ("shape", "channels", "features", "rank", "length")
        raise self.err(f"unknown shape query '.{e.name}' (use .shape, .channels, .features "
                       f"or .rank){did_you_mean(e.name, names)}", e.span, "RG303")

    def call(self, e: ast.FuncCall, args: list[Any], depth: int) -> Any:
        name = e.name
        if name not in BUILTIN_FUNCTIONS:
            return self.user_call(e, args, depth)
        if name in ("ceil", "floor", "sqrt", "abs", "log"):
            return self.math(e, args)
        if name == "sum":
            if len(args) == 1 and isinstance(args[0], list):
                args = args[0]
            for a in args:
                self.number(a, e, name)
            return self.check(sum(args), e.span)
        if name in ("min", "max"):
            if len(args) == 1 and isinstance(args[0], list):
                args = args[0]
            if not args:
                raise self.err(f"{name}() needs at least one value", e.span, "RG303")
            for a in args:
                self.number(a, e, name)
            return min(args) if name == "min" else max(args)
        if name in ("int", "round"):
            if len(args) != 1:
                raise self.err(f"{name}() takes one value", e.span, "RG303")
            self.number(args[0], e, name)
            return self.check(int(args[0]) if name == "int" else int(round(args[0])), e.span)
        if name == "len":
            if len(args) != 1 or not isinstance(args[0], list):
                raise self.err("len() takes one list", e.span, "RG303")
            return len(args[0])
        raise AssertionError(name)  # pragma: no cover

    def math(self, e: ast.FuncCall, args: list[Any]) -> Any:
        """``ceil floor sqrt abs`` of one number, ``log(x)`` or ``log(x, base)``."""
        name = e.name
        most = 2 if name == "log" else 1
        if not 1 <= len(args) <= most:
            raise self.err(f"{name}() takes {'one or two values' if most == 2 else 'one value'}",
                           e.span, "RG303")
        for a in args:
            self.number(a, e, name)
        x = args[0]
        if name == "abs":
            return abs(x)
        if name in ("ceil", "floor"):
            return self.check(math.ceil(x) if name == "ceil" else math.floor(x), e.span)
        if x < 0 or (name == "log" and x == 0):
            raise self.err(f"{name}({show(x)}) is not a real number", e.span, "RG304")
        if name == "sqrt":
            return math.sqrt(x)
        base = args[1] if len(args) == 2 else None
        if base is not None and (base <= 0 or base == 1):
            raise self.err(f"log base must be positive and not 1, got {show(base)}", e.span,
                           "RG304")
        return math.log(x) if base is None else math.log(x) / math.log(base)

    def user_call(self, e: ast.FuncCall, args: list[Any], depth: int) -> Any:
        """A call of ``let f(a, b=1) = expr``: positional arguments, defaults, no recursion."""
        from resgraph.errors import did_you_mean
        name = e.name
        try:
            fn = self.scope.lookup(name)
        except KeyError:
            raise self.err(f"unknown function '{name}' (functions: "
                           f"{', '.join(BUILTIN_FUNCTIONS)}, and `let {name}(x) = ...` defines "
                           f"one){did_you_mean(name, BUILTIN_FUNCTIONS)}", e.span,
                           "RG307") from None
        if not isinstance(fn, UserFunction):
            raise self.err(f"'{name}' is {show(fn)} here, not a function", e.span, "RG307")
        defn = fn.defn
        if name in self.active:
            cycle = " -> ".join([*self.active[self.active.index(name):], name])
            raise self.err(f"function '{name}' calls itself ({cycle}); functions cannot be "
                           "recursive", e.span, "RG309")
        params = defn.params
        if len(args) > len(params):
            raise self.err(f"{name}() takes at most {len(params)} argument"
                           f"{'s' if len(params) != 1 else ''}, got {len(args)}", e.span,
                           "RG310")
        bound: dict[str, Any] = {}
        outer = self.scope
        self.scope = Scope(bound, Scope(fn.values))
        self.active.append(name)
        try:
            for i, p in enumerate(params):
                if i < len(args):
                    bound[p.name] = args[i]
                elif p.default is not None:
                    bound[p.name] = self.run(p.default, depth + 1)
                else:
                    raise self.err(f"{name}() is missing its argument '{p.name}'", e.span,
                                   "RG310")
            return self.run(defn.body, depth + 1)
        finally:
            self.active.pop()
            self.scope = outer
