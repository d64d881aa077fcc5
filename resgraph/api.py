"""The public entry points :func:`load` and :func:`loads`.

>>> arch = loads("network n() { input x[4]\\n x -> linear(2) }")
>>> arch.num_params
10
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from typing import Any

from resgraph.elaborate import elaborate
from resgraph.errors import ResgraphError, Span, did_you_mean
from resgraph.ir import Architecture
from resgraph.program import Limits, Program, check_limits, load_program, read_file
from resgraph.util import no_gc

UsePath = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
"""One folder, or several, that ``use`` may read from besides the top file's folder."""


def load(path: str, network: str | None = None, *, limits: Limits | None = None,
         use_path: UsePath | None = None, **params: Any) -> Architecture:
    """Load ``path`` and elaborate one network; ``params`` override network parameters.

    ``use`` statements may read ``.rg`` files under the folder of ``path``, and under the
    folders of ``use_path`` (added to ``limits.use_path``); anything else is refused.
    """
    limits = _with_use_path(limits, use_path)
    check_limits(limits)
    text = read_file(path, limits)
    with no_gc():
        return build(load_program(text, path, limits), network, params, limits)


def loads(text: str, network: str | None = None, *, file: str = "<string>",
          limits: Limits | None = None, use_path: UsePath | None = None,
          **params: Any) -> Architecture:
    """Like :func:`load`, from a string named ``file``: ``use`` paths are relative to the
    folder of ``file``, which is the current directory for the default ``<string>``, and
    confined to that folder and ``use_path``."""
    limits = _with_use_path(limits, use_path)
    with no_gc():
        return build(load_program(text, file, limits), network, params, limits)


def _with_use_path(limits: Limits | None, use_path: UsePath | None) -> Limits:
    """``limits`` (or the defaults) with the folders of ``use_path`` added.

    >>> _with_use_path(Limits(use_path=["a"]), "b").use_path
    ('a', 'b')
    """
    limits = limits or Limits()
    if use_path is None:
        return limits
    extra = Limits(use_path=use_path).use_path  # type: ignore[arg-type]  # normalised there
    if not isinstance(extra, tuple):
        return dataclasses.replace(limits, use_path=extra)  # check_limits says what is wrong
    return dataclasses.replace(limits, use_path=(*limits.use_path, *extra))


def pick_network(prog: Program, network: str | None) -> str:
    """The network to build: the one asked for, or the file's only network."""
    names = list(prog.networks)
    if network is not None:
        if network not in prog.networks:
            raise ResgraphError("RG216", f"no network '{network}' in {prog.file}; it defines "
                                f"{', '.join(names) or 'no network'}"
                                f"{did_you_mean(network, names)}")
        return network
    if not names:
        raise ResgraphError("RG216", f"{prog.file} defines no network (only blocks and lets)",
                            Span(prog.file, 1, 1, 1, 1))
    if len(names) > 1:
        second = prog.networks[names[1]]
        raise ResgraphError("RG216", f"{prog.file} defines several networks "
                            f"({', '.join(names)}); choose one with --network NAME "
                            "(Python: network=...)", second.span)
    return names[0]


def build(prog: Program, network: str | None, params: dict[str, Any],
          limits: Limits) -> Architecture:
    """Elaborate one network of a loaded program (what :func:`load` does after reading).

    >>> from resgraph.program import load_program
    >>> prog = load_program("network n(k=2) { input x[4]\\n x -> linear(k) }", "n.rg", Limits())
    >>> build(prog, None, {"k": 3}, Limits()).outputs
    {'output': (3,)}
    """
    name = pick_network(prog, network)
    defn = prog.networks[name]
    known = [p.name for p in defn.params]
    for key in params:
        if key not in known:
            raise ResgraphError("RG217", f"network '{name}' has no parameter '{key}'"
                                f"{did_you_mean(key, known)} (parameters: "
                                f"{', '.join(known) or 'none'})")
    return elaborate(prog, defn, params, limits)
