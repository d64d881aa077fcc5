"""Load a Python file as a module: the repository's scripts, and the packages that
``resgraph compile`` writes (their ``module.py``), without putting them on ``sys.path``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_module(name: str, path: Path) -> ModuleType:
    """The module that the file ``path`` defines, named ``name``.

    >>> load_module("loading_copy", Path(__file__)).load_module.__name__
    'load_module'
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
