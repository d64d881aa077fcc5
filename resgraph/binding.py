"""Binding call arguments: positional and keyword matching, defaults, and type checks.

Shared by op calls, group and edge options, block instances and network parameters.

>>> from resgraph.ops import OPS
>>> from resgraph.parse import parse
>>> call = parse("network n() { input x[4]\\n x -> conv(8, stride=2) }", "b.rg")
>>> args = call.items[0].body[1].chain.terms[1].atom.args
>>> bound = bind_args("conv", OPS["conv"].args, args, Scope({}), call.items[0].span, 256)
>>> bound["out"], bound["stride"], bound["pad"]
(8, 2, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from resgraph import ast
from resgraph.errors import ResgraphError, Span, did_you_mean
from resgraph.evaluate import Scope, Word, evaluate, show, type_name
from resgraph.ops import REQUIRED, ArgSpec
from resgraph.program import Limits, Program

MAX_INT = 2**63  # int arguments must fit PyTorch's int64


def match_args(what: str, names: Sequence[str], args: Iterable[ast.Arg], env: Scope,
               max_int_bits: int, usage: str = "") -> tuple[dict[str, Any], dict[str, Span]]:
    """Evaluate ``args`` and match them to ``names`` as Python does (values, their spans)."""
    values: dict[str, Any] = {}
    spans: dict[str, Span] = {}
    positional_done = False
    for i, arg in enumerate(args):
        if arg.name is None:
            if positional_done:
                raise ResgraphError("RG203", "positional argument after a keyword argument",
                                    arg.span)
            if i >= len(names):
                raise ResgraphError("RG203", f"{what} takes at most {len(names)} positional "
                                    f"argument{'s' if len(names) != 1 else ''}{usage}", arg.span)
            key = names[i]
        else:
            positional_done = True
            key = arg.name
            if key not in names:
                raise ResgraphError("RG202", f"{what} has no argument '{key}'"
                                    f"{did_you_mean(key, names)}{usage}", arg.span)
            if key in values:
                raise ResgraphError("RG203", f"argument '{key}' of {what} is given twice",
                                    arg.span)
        values[key] = evaluate(arg.value, env, word_ok=True, max_int_bits=max_int_bits)
        spans[key] = arg.span
    return values, spans


def bind_args(what: str, specs: Sequence[ArgSpec], args: Iterable[ast.Arg], env: Scope,
              span: Span, max_int_bits: int) -> dict[str, Any]:
    """Bind call arguments to an op's or group's signature, with type checks and defaults."""
    usage = f" ({signature(what, specs)})"
    values, spans = match_args(what, [s.name for s in specs], args, env, max_int_bits, usage)
    for spec in specs:
        if spec.name in values and callable(spec.default) and values[spec.name] == "auto" \
                and isinstance(values[spec.name], Word):
            del values[spec.name]  # `pad=auto`, also through a parameter: the computed default
        if spec.name in values:
            values[spec.name] = check_type(what, spec, values[spec.name], spans[spec.name])
        elif spec.default is REQUIRED:
            raise ResgraphError("RG203", f"{what} is missing its argument '{spec.name}'{usage}",
                                span)
    for spec in specs:
        if spec.name not in values:
            values[spec.name] = spec.default(values) if callable(spec.default) else spec.default
    return values


def bind_params(defn: ast.Definition, given: dict[str, Any], program: Program, limits: Limits,
                span: Span) -> dict[str, Any]:
    """Complete a block's or network's parameters from ``given`` and the defaults."""
    values: dict[str, Any] = {}
    env = Scope(values, Scope(program.values))
    for p in defn.params:
        if p.name in given:
            v = given[p.name]
            if isinstance(v, int) and v.bit_length() > limits.max_int_bits:
                raise ResgraphError("RG304", f"{defn.kind} '{defn.name}': parameter '{p.name}' "
                                    f"is over {limits.max_int_bits} bits; raise it with "
                                    "--max-int-bits or limits=Limits(max_int_bits=...)", span)
            values[p.name] = v
        elif p.default is not None:
            values[p.name] = evaluate(p.default, env, word_ok=True,
                                      max_int_bits=limits.max_int_bits)
        else:
            raise ResgraphError("RG203", f"{defn.kind} '{defn.name}' is missing its argument "
                                f"'{p.name}'", span)
    return values


def signature(what: str, specs: Sequence[ArgSpec]) -> str:
    parts = [s.name if s.default is REQUIRED else f"{s.name}={default_text(s.default)}"
             for s in specs]
    return f"{what}({', '.join(parts)})"


def default_text(default: Any) -> str:
    if callable(default):
        return "auto"
    return show(Word(default) if isinstance(default, str) else default)


def call_text(what: str, args: dict[str, Any], specs: Sequence[ArgSpec]) -> str:
    shown = [f"{s.name}={show(args[s.name])}" for s in specs
             if s.default is REQUIRED or args[s.name] != s.default]
    return f"{what}({', '.join(shown)})" if shown else what


def positional_shown(c: ast.Call, values: dict[str, Any], defn: ast.Definition) -> list[Any]:
    given = {a.name for a in c.args or [] if a.name}
    n_pos = sum(1 for a in c.args or [] if a.name is None)
    shown = [values[p.name] for p in defn.params[:n_pos]]
    shown += [_KwShow(p.name, values[p.name]) for p in defn.params if p.name in given]
    return shown


class _KwShow(Word):
    def __new__(cls, name: str, value: Any) -> _KwShow:
        return super().__new__(cls, f"{name}={show(value)}")


_KIND_TEXT = {"int": "an int", "float": "a number", "bool": "true or false",
              "ints": "an int or a list of ints"}


def check_type(what: str, spec: ArgSpec, v: Any, span: Span) -> Any:
    t = spec.type
    if isinstance(v, Word) and t not in ("word", "bias", "any"):
        if v == "auto":
            default = "" if spec.default is REQUIRED else \
                f" (or leave it out for its default, {default_text(spec.default)})"
            raise ResgraphError("RG303", f"{what}: '{spec.name}' has no automatic value; "
                                f"give {_KIND_TEXT.get(t, 'a value')}{default}", span)
        raise ResgraphError("RG302", f"undefined name '{v}'", span)
    if t == "int":
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            kind = "channel count" if spec.name in ("out", "dim", "channels") else "value"
            if isinstance(v, float):
                raise ResgraphError("RG303", f"{what}: non-integer {kind} {v:g} for "
                                    f"'{spec.name}' (use // or int(...))", span)
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be an int, got a "
                                f"{type_name(v)} ({show(v)})", span)
    elif t == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be a number, got a "
                                f"{type_name(v)} ({show(v)})", span)
        v = float(v)
    elif t == "bool":
        if not isinstance(v, bool):
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be true or false, got "
                                f"{show(v)}", span)
    elif t == "bias":
        if not isinstance(v, bool) and v != "auto":
            raise ResgraphError("RG303", f"{what}: 'bias' must be true, false or auto, got "
                                f"{show(v)}", span)
    elif t == "word":
        if v is None and "none" in spec.choices:  # `shortcut=none`
            v = Word("none")
        if not isinstance(v, str) or v not in spec.choices:
            choices = ", ".join(spec.choices)
            hint = did_you_mean(str(v), spec.choices) if isinstance(v, str) else ""
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be one of {choices}; got "
                                f"{show(v)}{hint}", span)
        v = str(v)
    elif t == "ints":
        items = v if isinstance(v, list) else [v]
        fixed = []
        for item in items:
            if isinstance(item, float) and item.is_integer():
                item = int(item)
            if isinstance(item, bool) or not isinstance(item, int):
                raise ResgraphError("RG303", f"{what}: '{spec.name}' must be an int or a list "
                                    f"of ints, got {show(v)}", span)
            fixed.append(item)
        if not fixed:
            raise ResgraphError("RG303", f"{what}: '{spec.name}' is an empty list", span)
        v = fixed if isinstance(v, list) else fixed[0]
    for item in v if isinstance(v, list) else [v]:
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be a finite number, got "
                                f"{show(item)}", span)
        if spec.minimum is not None and (item <= spec.minimum if spec.open_min
                                         else item < spec.minimum):
            least = "greater than" if spec.open_min else "at least"
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be {least} "
                                f"{spec.minimum:g}, got {show(item)}", span)
        if spec.maximum is not None and (item >= spec.maximum if spec.open_max
                                         else item > spec.maximum):
            most = "less than" if spec.open_max else "at most"
            raise ResgraphError("RG303", f"{what}: '{spec.name}' must be {most} "
                                f"{spec.maximum:g}, got {show(item)}", span)
        if isinstance(item, int) and item >= MAX_INT:
            raise ResgraphError("RG303", f"{what}: '{spec.name}' is {item:,}, too large for "
                                "PyTorch (at most 2**63 - 1)", span)
    return v
