"""resgraph: an architecture compiler and visualiser for residual, skip, highway and dense nets.

>>> import resgraph
>>> arch = resgraph.loads('''
... network tiny(classes=10) {
...     input x[3, 32, 32]
...     x -> conv(16) -> bn -> relu -> residual { conv(16) -> bn -> relu -> conv(16) -> bn }
...       -> gap -> flatten -> linear(classes)
... }''')
>>> arch.outputs
{'output': (10,)}
"""

from resgraph.api import load, loads
from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.program import Limits

__all__ = ["Architecture", "Limits", "ResgraphError", "load", "loads"]
__version__ = "0.1.0"
