"""One module per ``resgraph`` subcommand, each owning its options and its hand-over.

A command module defines ``ORDER`` (its place in ``resgraph --help``), ``HELP`` (the
one-line help), ``FILE`` (whether it takes the common FILE/--network/--set/limit options of
:func:`resgraph.cli.common_options`), ``add_arguments(parser)`` and ``run(args) -> int``.
It imports its stage (and torch) only inside ``run``, so that ``resgraph check`` and
``resgraph --help`` start fast. Adding a command is adding a module here.

>>> [m.__name__.rsplit(".", 1)[1] for m in command_modules()][:3]
['check', 'analyze', 'render']
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def command_modules() -> list[ModuleType]:
    """Every command module of this package, in ``ORDER``."""
    mods = [importlib.import_module(f"{__name__}.{info.name}")
            for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    return sorted(mods, key=lambda m: m.ORDER)
