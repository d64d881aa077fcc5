"""The source of a package's ``module.py``: one class per distinct block structure.

:func:`network_source` turns a compiled ``GraphModule`` (with its block modules, see
:mod:`resgraph.lower.blocks`) into Python that reads like hand-written PyTorch:

- every block module becomes an instance of a generated class; block instances whose
  code is the same but for numbers (channel counts, strides) share one class, and the
  numbers that differ become its constructor arguments, named after the block's own
  parameters where the values match them (``Basic(c)``), else after the argument they
  feed (``in_channels``);
- a block that only calls its numbered children in turn is an ``nn.Sequential``, a plain
  container of numbered layers an ``nn.Sequential`` (called whole) or ``nn.ModuleList``;
- ``__init__`` assigns submodules as attributes (``self.conv1 = nn.Conv2d(c, c, 3, ...)``)
  with only the arguments that differ from torch's defaults;
- ``forward`` names its values; a value read once, by the next step of a chain, is
  overwritten (``x = self.bn1(x)``), as hand-written code does;
- only the imports and resgraph helper classes (:data:`~resgraph.lower.torch_ops.
  PACKAGE_CLASSES`) that the code uses are written.

``state_dict`` keys (and their order) are the compiled module's. Each constructor call is
checked when it is written: the class built from it must have the original's parameter
shapes and ``extra_repr``.

>>> import resgraph
>>> gm = resgraph.load("examples/resnet18.rg").compile(device="meta")
>>> code = network_source(gm, "resnet18")
>>> [line for line in code.splitlines() if line.startswith("class ")]
['class Basic(nn.Module):', 'class BasicDownsample(nn.Module):', 'class resnet18(torch.nn.Module):']
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from resgraph.lower.torch_ops import PACKAGE_CLASSES

#: Names a local variable, parameter or class of the generated code never takes.
_GLOBALS = {"torch", "nn", "F", "math", "os", "contextlib", "inspect", "operator", "self",
            "weights", "_WEIGHTS", "_META", "_building", "_load_weights", "_module", "super"}
_RESERVED = set(dir(builtins)) | set(keyword.kwlist) | set(keyword.softkwlist) | _GLOBALS

_SLOT = "\x00"      # \x00i\x00: the value of slot i
_OPT = "\x02"       # \x02i\x02: ", name=value" of slot i, or nothing where it is the default
_CLS = "\x01"       # \x01k\x01: the name of the class with key k

_TUPLE_ARGS = {"kernel_size", "stride", "padding", "dilation", "output_padding",
               "normalized_shape"}
_SKIP_ARGS = {"device", "dtype", "factory_kwargs"}
_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
          operator.floordiv: "//", operator.matmul: "@", operator.pow: "**",
          operator.mod: "%"}
_INPLACE = {operator.iadd: "+=", operator.isub: "-=", operator.imul: "*=",
            operator.itruediv: "/="}


def _snake_bias(m: nn.Module) -> bool:
    return any(n.endswith("bias") and p is not None for n, p in m.named_parameters())


#: Constructor arguments that are not attributes of the same name.
_GETTERS: dict[str, Callable[[Any], Any]] = {
    "RMSNorm.d": lambda m: m.weight.shape[0],
    "SelfAttention.kv_heads": lambda m: None if m.kv_heads == m.heads else m.kv_heads,
    "SelfAttention.bias": _snake_bias,
}


@dataclass
class _Slot:
    value: Any
    hint: str                   # a name for it, should it become a constructor argument
    default: Any = None         # for an optional keyword argument: torch's default
    kw: str | None = None       # for an optional keyword argument: its name
    forward: bool = False       # read in forward (then kept as an attribute)


class _Slots:
    """The numbers of one module's code, in the order they appear in its template."""

    def __init__(self) -> None:
        self.items: list[_Slot] = []

    def lit(self, value: Any, hint: str, forward: bool = False) -> str:
        self.items.append(_Slot(value, hint, forward=forward))
        return f"{_SLOT}{len(self.items) - 1}{_SLOT}"

    def opt(self, kw: str, value: Any, default: Any, hint: str) -> str:
        self.items.append(_Slot(value, hint, default, kw))
        return f"{_OPT}{len(self.items) - 1}{_OPT}"


@dataclass
class _Class:
    """A generated class: its structure and, once finished, its arguments and code."""

    key: int
    template: str
    block: str                  # the block name it is named after
    children: list[str]         # its direct children's names
    name: str = ""
    positional: list[str] = field(default_factory=list)   # the block's own parameters
    keywords: list[str] = field(default_factory=list)     # other numbers that differ
    code: str = ""              # the body, class placeholders still in


def literal(value: Any) -> str:
    """Python source for a constant of an fx graph or a constructor argument.

    >>> literal((1, 2.5, None)), literal(float("inf")), literal(torch.float16)
    ('(1, 2.5, None)', 'float("inf")', 'torch.float16')
    """
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, torch.device):
        return f"torch.device({str(value)!r})"
    if isinstance(value, torch.memory_format):
        return str(value)
    if isinstance(value, slice):
        return f"slice({literal(value.start)}, {literal(value.stop)}, {literal(value.step)})"
    if value is Ellipsis:
        return "..."
    raise TypeError(f"cannot write the constant {value!r} as source")


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if not isinstance(a, float) or not math.isnan(a) \
        else isinstance(b, float) and math.isnan(b)


def _ident(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name.isascii()


class _Namer:
    """Unique local names, never a reserved one."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)

    def __call__(self, base: str) -> str:
        base = re.sub(r"\W", "_", base.encode("ascii", "ignore").decode() or "v") or "v"
        if base[0].isdigit():
            base = "v" + base
        name = base if base not in _RESERVED else base + "_"
        k = 1
        while name in self.taken or name in _RESERVED:
            name = f"{base}_{k}"
            k += 1
        self.taken.add(name)
        return name


# ---------------------------------------------------------------- constructors


def _leaf_args(m: nn.Module) -> list[tuple[str, Any, Any]]:
    """``(name, value, default)`` for each constructor argument of the leaf module ``m``
    (``default`` is ``inspect.Parameter.empty`` for a required one)."""
    cls = type(m)
    out = []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in _SKIP_ARGS \
                or p.name.startswith("_"):
            continue
        getter = _GETTERS.get(f"{cls.__name__}.{p.name}")
        if getter is not None:
            value = getter(m)
        elif p.name == "bias" and isinstance(getattr(m, "bias", 0), (torch.Tensor, type(None))):
            value = m.bias is not None
        elif hasattr(m, p.name):
            value = getattr(m, p.name)
        else:
            raise TypeError(f"cannot write {cls.__qualname__} as source: its argument "
                            f"{p.name!r} is not an attribute")
        if p.name in _TUPLE_ARGS and isinstance(value, tuple) and value \
                and all(v == value[0] for v in value):
            value = value[0]
        out.append((p.name, value, p.default))
    return out


_CHECKED: dict[tuple[type, str], None] = {}


def _check_rebuilds(m: nn.Module, args: list[tuple[str, Any, Any]]) -> None:
    """The module built from ``args`` (on the meta device) has ``m``'s parameter and buffer
    shapes and its ``extra_repr``, or TypeError: a constructor that reads wrong is an error
    here, never a package that loads different weights."""
    key = (type(m), repr([(n, v) for n, v, _ in args]))
    if key in _CHECKED:
        return
    kwargs = {n: v for n, v, _ in args}
    with torch.device("meta"):
        rebuilt = type(m)(**kwargs)
    shapes = [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
    again = [(k, tuple(v.shape)) for k, v in rebuilt.state_dict().items()]
    if shapes != again or rebuilt.extra_repr() != m.extra_repr():
        raise TypeError(f"cannot write {type(m).__qualname__} as source: {kwargs} rebuilds "
                        f"{rebuilt.extra_repr()!r}, not {m.extra_repr()!r}")
    _CHECKED[key] = None


def _class_expr(cls: type) -> str:
    if cls in PACKAGE_CLASSES:
        return cls.__name__
    if getattr(nn, cls.__name__, None) is cls:
        return f"nn.{cls.__name__}"
    raise TypeError(f"cannot write {cls.__qualname__} as source")


def _leaf(m: nn.Module, slots: _Slots, child: str) -> str:
    """``nn.Conv2d(64, 128, 3, stride=2, ...)`` with its numbers as slots."""
    args = _leaf_args(m)
    _check_rebuilds(m, args)
    parts: list[str] = []
    opts: list[str] = []
    for name, value, default in args:
        hint = f"{child}_{name}".lstrip("_")
        if default is inspect.Parameter.empty:
            parts.append(slots.lit(value, name if not opts else hint))
        else:
            opts.append(slots.opt(name, value, default, name))
    return f"{_class_expr(type(m))}(" + _OPEN + _SEP.join(parts) + "".join(opts) + _CLOSE + ")"


# ---------------------------------------------------------------- module trees


@dataclass
class _Tree:
    """What a generated class needs to know about its module tree."""

    kinds: dict[str, str]          # container path -> Sequential / ModuleList / ModuleDict / Module
    chains: dict[str, list[fx.Node]]  # container path called whole -> the nodes it replaces


def _numbered(mod: nn.Module) -> list[str] | None:
    keys = list(mod._modules)
    if keys and all(k.isdigit() for k in keys):
        return keys
    return None


def _is_chain(graph: fx.Graph, prefix: str, keys: list[str]) -> list[fx.Node] | None:
    """The call nodes when ``graph`` calls ``prefix+0``, ``prefix+1``, ... each once, each
    on the one before it (which nothing else reads): an ``nn.Sequential``'s forward."""
    if keys != [str(i) for i in range(len(keys))]:
        return None
    calls: dict[str, list[fx.Node]] = {}
    for n in graph.nodes:
        if n.op in ("call_module", "get_attr") and isinstance(n.target, str) and \
                (n.target + ".").startswith(prefix) and n.target != prefix.rstrip("."):
            calls.setdefault(n.target, []).append(n)
    wanted = [prefix + k for k in keys]
    if set(calls) != set(wanted) or any(len(v) != 1 for v in calls.values()):
        return None
    nodes = [calls[w][0] for w in wanted]
    for a, b in zip(nodes, nodes[1:]):
        if b.op != "call_module" or b.args != (a,) or b.kwargs or len(a.users) != 1:
            return None
    if nodes[0].op != "call_module" or nodes[0].kwargs:
        return None
    return nodes


#: Activations that a sequential block may hold as modules: function -> (class, keywords).
_ACTIVATIONS: dict[Any, tuple[str, tuple[str, ...]]] = {
    torch.nn.functional.relu: ("nn.ReLU", ("inplace",)),
    torch.nn.functional.relu6: ("nn.ReLU6", ("inplace",)),
    torch.nn.functional.gelu: ("nn.GELU", ("approximate",)),
    torch.nn.functional.silu: ("nn.SiLU", ("inplace",)),
    torch.nn.functional.hardswish: ("nn.Hardswish", ("inplace",)),
    torch.nn.functional.hardsigmoid: ("nn.Hardsigmoid", ("inplace",)),
    torch.sigmoid: ("nn.Sigmoid", ()),
    torch.tanh: ("nn.Tanh", ()),
}


def _sequential(gm: fx.GraphModule) -> list[str | fx.Node] | None:
    """The items of ``gm`` as an ``nn.Sequential``, or None: ``gm`` calls its numbered
    children ``0, 1, ...`` in turn on its one input, and each number that is not a child
    is an activation on the running value (torchvision's MLP: Linear, GELU, Dropout, ...),
    which the Sequential holds as a parameterless module. Items are child names, or the
    activation's node."""
    if gm._parameters or gm._buffers or not gm._modules or \
            not all(k.isdigit() for k in gm._modules):
        return None
    nodes = list(gm.graph.nodes)
    if len(nodes) < 3 or nodes[0].op != "placeholder" or nodes[-1].op != "output" \
            or any(n.op == "placeholder" for n in nodes[1:]):
        return None
    prev = nodes[0]
    items: list[str | fx.Node] = []
    for pos, n in enumerate(nodes[1:-1]):
        if len(prev.users) != 1 or not n.args or n.args[0] is not prev:
            return None
        if n.op == "call_module" and n.target == str(pos) and len(n.args) == 1 \
                and not n.kwargs:
            items.append(str(pos))
        elif n.op == "call_function" and n.target in _ACTIVATIONS and len(n.args) == 1 \
                and str(pos) not in gm._modules \
                and set(n.kwargs) <= set(_ACTIVATIONS[n.target][1]):
            items.append(n)
        else:
            return None
        prev = n
    if nodes[-1].args[0] is not prev or len(items) != len(nodes) - 2 or \
            sorted(int(k) for k in gm._modules) != [int(i) for i in items
                                                    if isinstance(i, str)]:
        return None
    return items


# ---------------------------------------------------------------- the generator


class _Generator:
    """Two passes over the block modules: first every block's *structure* (its code with
    the numbers left out) picks its class; then each class, inner ones first, learns which
    numbers differ between its instances: those become its constructor arguments."""

    def __init__(self, root: fx.GraphModule, hparams: Mapping[str, Mapping[str, Any]]) -> None:
        self.root = root
        self.hparams = hparams
        self.paths = {id(m): p for p, m in root.named_modules(remove_duplicate=False)
                      if isinstance(m, fx.GraphModule)}
        self.keys: dict[str, int] = {}        # structure -> key
        self.key_of: dict[int, int] = {}      # id(block) -> key
        self.classes: dict[int, _Class] = {}
        self.members: dict[int, list[fx.GraphModule]] = {}
        self.args: dict[int, dict[str, Any]] = {}  # id(block) -> its constructor arguments
        self.final = False
        self.tree = _Tree({}, {})
        self.helpers: set[type] = set()
        self.uses: set[str] = set()  # "F", "math", "operator", "_module", "import torch.x"

    def key(self, gm: fx.GraphModule) -> int:
        """Pass 1: the class key of block ``gm``."""
        if id(gm) not in self.key_of:
            text, _ = self.template(gm)
            key = self.keys.setdefault(text, len(self.keys))
            if key not in self.classes:
                self.classes[key] = _Class(key, text, _block_name(gm), list(gm._modules))
                self.members[key] = []
            self.members[key].append(gm)
            self.key_of[id(gm)] = key
        return self.key_of[id(gm)]

    def template(self, gm: fx.GraphModule) -> tuple[str, list[_Slot]]:
        """The code of ``gm``'s class (``__init__`` body, a \x03 line, ``forward``) with
        its numbers as slots, and their values for this instance."""
        slots = _Slots()
        tree = _Tree({}, {})
        init = self._build_lines(gm, "", slots, tree, gm.graph)
        fwd = self._forward_lines(gm, slots, tree, self.paths.get(id(gm), ""))
        self.tree = tree
        return "\n".join(init) + "\n\x03\n" + "\n".join(fwd), slots.items

    def _build_lines(self, mod: nn.Module, prefix: str, slots: _Slots, tree: _Tree,
                     graph: fx.Graph) -> list[str]:
        """``self.a = ...`` lines building ``mod``'s parameters and children."""
        lines: list[str] = []
        for name, p in mod._parameters.items():
            if p is None:
                continue
            target = _attr_target(tree, prefix + name)
            lines.append(self._set(target, self._param(p, slots, prefix + name),
                                   "register_parameter", prefix, name, tree))
        if mod._buffers:
            raise TypeError(f"cannot write the buffers of {prefix or 'the network'} "
                            "as source")
        for name, child in mod._modules.items():
            if child is None:
                continue
            path = prefix + name
            if type(child) is nn.Module and _numbered(child) is None:  # a plain container
                tree.kinds[path] = "Module"
                lines.append(self._set(_attr_target(tree, path), "nn.Module()", "add_module",
                                       prefix, name, tree))
                lines += self._build_lines(child, path + ".", slots, tree, graph)
                continue
            expr = self._expr(child, path, slots, tree, graph)
            lines.append(self._set(_attr_target(tree, path), expr, "add_module", prefix,
                                   name, tree))
        return lines

    def _set(self, target: str | None, expr: str, method: str, prefix: str, name: str,
             tree: _Tree) -> str:
        if target is not None:
            return f"{target} = {expr}"
        owner = _access(tree, prefix.rstrip(".")) if prefix else "self"
        return f"{owner}.{method}({name!r}, {expr})"

    def _expr(self, mod: nn.Module, path: str, slots: _Slots, tree: _Tree,
              graph: fx.Graph) -> str:
        """An expression that builds ``mod`` (at ``path`` in the class being described)."""
        if isinstance(mod, fx.GraphModule):
            seq = _sequential(mod)
            if seq is not None:
                tree.kinds[path] = "Sequential"
                sub = _Tree({}, {})
                items = [self._expr(mod._modules[i], i, slots, sub, mod.graph)  # type: ignore[arg-type]
                         if isinstance(i, str) else _activation(i) for i in seq]
                return _container("nn.Sequential", items, slots)
            key = self.key(mod)
            if not self.final:
                return f"{_CLS}{key}{_CLS}()"
            cls = self.classes[key]
            values = self.args[id(mod)]
            pos = [slots.lit(values[p], p) for p in cls.positional]
            kws = [f"{p}={slots.lit(values[p], p)}" for p in cls.keywords]
            return f"{_CLS}{key}{_CLS}(" + _OPEN + _SEP.join(pos + kws) + _CLOSE + ")"
        keys = _numbered(mod)
        if type(mod) is nn.Module and keys is not None:
            chain = _is_chain(graph, path + ".", keys)
            items = [self._expr(c, f"{path}.{k}", slots, tree, graph)
                     for k, c in mod._modules.items() if c is not None]
            if mod._parameters or mod._buffers:
                raise TypeError(f"cannot write the parameters of container {path} as source")
            if chain is not None:
                tree.kinds[path] = "Sequential"
                tree.chains[path] = chain
                return _container("nn.Sequential", items, slots)
            if keys == [str(i) for i in range(len(keys))]:
                tree.kinds[path] = "ModuleList"
                return _container("nn.ModuleList", items, slots, brackets=True)
            tree.kinds[path] = "ModuleDict"
            return "nn.ModuleDict({" + ", ".join(f"{k!r}: {e}" for k, e in zip(keys, items)) \
                + "})"
        if type(mod) is nn.Module:  # a plain container inside a numbered one
            self.uses.add("_module")
            parts = []
            for k, c in mod._modules.items():
                if c is not None:
                    parts.append(f"({k!r}, {self._expr(c, f'{path}.{k}', slots, tree, graph)})")
            if mod._parameters or mod._buffers:
                raise TypeError(f"cannot write the parameters of container {path} as source")
            return "_module(" + ", ".join(parts) + ")"
        if type(mod) in PACKAGE_CLASSES:
            self.helpers.add(type(mod))
        return _leaf(mod, slots, path.replace(".", "_"))

    def _param(self, p: torch.Tensor, slots: _Slots, path: str) -> str:
        hint = path.replace(".", "_")
        shape = "(" + ", ".join(slots.lit(int(d), f"{hint}_dim{i}")
                                for i, d in enumerate(p.shape)) + ("," if p.dim() == 1 else "") \
            + ")"
        flat = p.detach().reshape(-1)
        if p.device.type != "meta" and flat.numel() and bool((flat == flat[0]).all()):
            v = float(flat[0])
            value = "torch.zeros" if v == 0 else "torch.ones" if v == 1 else None
            made = f"{value}{shape}" if value else \
                f"torch.full({shape}, {slots.lit(v, hint + '_init')})"
        else:  # resgraph's learned embeddings start as N(0, 0.02)
            made = f"torch.empty{shape}.normal_(std=0.02)"
        grad = "" if p.requires_grad else ", requires_grad=False"
        return f"nn.Parameter({made}{grad})"

    # ---- forward

    def _forward_lines(self, gm: fx.GraphModule, slots: _Slots, tree: _Tree,
                       path: str) -> list[str]:
        graph = gm.graph
        prefix = path.replace(".", "_") + "_" if path else ""
        skip = {n for nodes in tree.chains.values() for n in nodes[:-1]}
        whole = {nodes[-1]: p for p, nodes in tree.chains.items()}
        order = [n for n in graph.nodes if n not in skip]
        names: dict[fx.Node, str] = {}
        namer = _Namer()
        places = [n for n in order if n.op == "placeholder"]
        for i, n in enumerate(places):
            if path:  # a block: its inputs are x (x1, x2, ... for more)
                names[n] = namer("x" if i == 0 else f"x{i}")
            else:
                names[n] = str(n.target)
                namer.taken.add(str(n.target))
        # a value read last by the next step of its chain is overwritten by it
        last_use: dict[fx.Node, fx.Node] = {}
        src_of = {n: tree.chains[whole[n]][0] if n in whole else n for n in order}
        for n in order:
            for a in src_of[n].all_input_nodes:
                last_use[a] = n
        chain_of: dict[fx.Node, fx.Node] = {}  # node -> the head of its chain
        last_of: dict[fx.Node, fx.Node] = {}  # head -> the last node of its chain
        length: dict[fx.Node, int] = {}
        for n in order:
            if n.op in ("placeholder", "output", "get_attr"):
                continue
            first = _first_input(n, src_of[n])
            if first is not None and first.op != "get_attr" and \
                    (last_use.get(first) is n or n.target in _INPLACE):
                head = chain_of.get(first, first)
                chain_of[n] = head
                length[head] = length.get(head, 1) + 1
                last_of[head] = n
        lines = ["def forward(self, " + ", ".join(names[n] for n in places) + "):"]
        if not path and any(names[n] in _RESERVED for n in places):
            # an input named like a global the code reads (F, float): forward hands over
            # to a body whose arguments have safe names
            given = ", ".join(names[n] for n in places)
            for n in places:
                names[n] = namer(f"{names[n]}_")
            lines += [f"    return self._resgraph_forward({given})", "",
                      "def _resgraph_forward(self, " + ", ".join(names[n] for n in places)
                      + "):"]
        heads: dict[fx.Node, str] = {n: names[n] for n in places}

        def base_of(n: fx.Node) -> str:
            base = str(n.name)
            base = base[len(prefix):] if prefix and base.startswith(prefix) else base
            return re.sub(r"_0$", "", base) or "v"

        def name_of(n: fx.Node) -> str:
            if n in names:
                return names[n]
            if n.op == "get_attr":
                return _access(tree, str(n.target))
            raise KeyError(n.name)  # pragma: no cover

        def arg(v: Any, hint: str) -> str:
            if isinstance(v, fx.Node):
                return name_of(v)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return slots.lit(v, hint, forward=True)
            if isinstance(v, (tuple, list)) and any(isinstance(x, fx.Node) or
                                                    (isinstance(x, (int, float)) and
                                                     not isinstance(x, bool)) for x in v):
                inner = ", ".join(arg(x, f"{hint}_{i}") for i, x in enumerate(v))
                if isinstance(v, list):  # torch.cat's inputs: wrapped where long
                    return "[" + _OPEN + _SEP.join(arg(x, f"{hint}_{i}")
                                                   for i, x in enumerate(v)) + _CLOSE + "]"
                return f"({inner},)" if len(v) == 1 else f"({inner})"
            if isinstance(v, (float,)) or v is None or isinstance(v, (bool, str)):
                return literal(v)
            return literal(v)

        for n in order:
            if n.op == "placeholder":
                continue
            base = hint = base_of(n)
            src = tree.chains[whole[n]][0] if n in whole else n
            args = [arg(a, f"{hint}_{i}") for i, a in enumerate(src.args)]
            kwargs = [f"{k}={arg(v, f'{hint}_{k}')}" for k, v in src.kwargs.items()]
            if n.op == "output":
                lines.append(f"    return {arg(n.args[0], 'out')}")
                continue
            if n.op == "get_attr":
                continue
            if n.op == "call_function" and n.target in _INPLACE:
                target = arg(n.args[0], hint)
                names[n] = target
                lines.append(f"    {target} {_INPLACE[n.target]} {args[1]}")
                continue
            if n in whole:
                call = f"{_access(tree, whole[n])}({', '.join(args)})"
            else:
                call = self._call(n, args, kwargs, tree)
            start = chain_of.get(n)
            if start is not None and start in heads:
                name = heads[start]
            else:
                own = start if start is not None else n
                # a chain is "out", unless it ends in a layer whose value lives on (a
                # DenseNet layer's output, read by every later concat): that layer's name
                end = last_of.get(own, own)
                name = namer(base if length.get(own, 1) == 1 else base_of(end)
                             if end.op == "call_module" and len(end.users) > 1 else "out")
                heads[own] = name
            names[n] = name
            lines.append(f"    {name} = {call}")
        return ["    " + line if line else "" for line in lines]

    def _call(self, n: fx.Node, args: list[str], kwargs: list[str], tree: _Tree) -> str:
        every = ", ".join(args + kwargs)
        if n.op == "call_module":
            return f"{_access(tree, str(n.target))}({every})"
        if n.op == "call_method":
            return f"{args[0]}.{n.target}({', '.join(args[1:] + kwargs)})"
        fn = n.target
        if fn in _INFIX and len(args) == 2 and not kwargs:
            return f"{args[0]} {_INFIX[fn]} {args[1]}"
        if fn is operator.neg:
            return f"-{args[0]}"
        if fn is operator.getitem and not kwargs:
            return f"{args[0]}[{_index(n.args[1], args[1])}]"
        if fn is getattr and len(args) == 2 and isinstance(n.args[1], str) \
                and _ident(n.args[1]):
            return f"{args[0]}.{n.args[1]}"
        return f"{self._function(fn)}({every})"

    def _function(self, fn: Any) -> str:
        name = getattr(fn, "__name__", "")
        if getattr(torch.nn.functional, name, None) is fn:
            self.uses.add("F")
            return f"F.{name}"
        if getattr(torch, name, None) is fn:
            return f"torch.{name}"
        if getattr(builtins, name, None) is fn:
            return name
        if getattr(math, name, None) is fn:
            self.uses.add("math")
            return f"math.{name}"
        if getattr(operator, name, None) is fn:
            self.uses.add("operator")
            return f"operator.{name}"
        mod = getattr(fn, "__module__", "") or ""
        if mod.startswith("torch.") and _resolves(mod, name, fn):
            self.uses.add(f"import {mod}")
            return f"{mod}.{name}"
        raise TypeError(f"cannot write the function {fn!r} as source")


def _activation(node: fx.Node) -> str:
    cls, _ = _ACTIVATIONS[node.target]
    return f"{cls}(" + ", ".join(f"{k}={literal(v)}" for k, v in node.kwargs.items()) + ")"


def _resolves(mod: str, name: str, fn: Any) -> bool:
    import importlib

    try:
        return getattr(importlib.import_module(mod), name, None) is fn
    except ImportError:  # pragma: no cover
        return False


def _first_input(n: fx.Node, src: fx.Node) -> fx.Node | None:
    """The value ``n`` works on (its first argument), whose variable it may take over."""
    if n.op == "output" or not src.args or not isinstance(src.args[0], fx.Node):
        return None
    return src.args[0]


def _index(value: Any, text: str) -> str:
    """``x[:, 0]`` rather than ``x[(slice(None, None, None), 0)]``."""
    def one(v: Any, t: str) -> str:
        if isinstance(v, slice):
            parts = ["" if x is None else literal(x) for x in (v.start, v.stop, v.step)]
            return ":".join(parts[:2]) + (f":{parts[2]}" if v.step is not None else "")
        if v is Ellipsis:
            return "..."
        return t
    if isinstance(value, tuple) and value and not any(isinstance(v, fx.Node) for v in value) \
            and text.startswith("("):
        items = _split_top(text[1:-1].rstrip(","))
        if len(items) == len(value):
            return ", ".join(one(v, t) for v, t in zip(value, items))
    return one(value, text)


def _split_top(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _container(ctor: str, items: list[str], slots: _Slots, brackets: bool = False) -> str:
    """``nn.Sequential(a, b)``; ``nn.Sequential(*(a for _ in range(n)))`` for n copies of
    one layer that has no numbers of its own. Items are joined with wrap marks (see
    :func:`_wrap`)."""
    if len(items) >= 3 and len(set(items)) == 1 and _SLOT not in items[0] \
            and _OPT not in items[0]:
        one = items[0]
        body = f"[{one} for _ in range({len(items)})]" if brackets \
            else f"*({one} for _ in range({len(items)}))"
        return f"{ctor}({body})"
    inner = _OPEN + _SEP.join(items) + _CLOSE
    return f"{ctor}([{inner}])" if brackets else f"{ctor}({inner})"


_OPEN, _SEP, _CLOSE = "\x06", "\x05", "\x07"


def _wrap(line: str, width: int = 99) -> str:
    """Resolve the wrap marks of a rendered line: the items of the outermost container on
    lines of their own where the line is longer than ``width``.

    >>> print(_wrap("x = f(\x06a\x05b\x07)"))
    x = f(a, b)
    >>> print(_wrap("    x = f(\x06" + "a" * 50 + "\x05" + "b" * 50 + "\x07)"))
        x = f(
            aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,
            bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,
        )
    """
    def flat(text: str) -> str:
        return text.replace(_OPEN, "").replace(_SEP, ", ").replace(_CLOSE, "")

    if len(flat(line)) <= width or _OPEN not in line:
        return flat(line)
    start = line.index(_OPEN)
    depth, end, cuts = 0, start, []
    for i in range(start, len(line)):
        ch = line[i]
        if ch == _OPEN:
            depth += 1
        elif ch == _CLOSE:
            depth -= 1
            if depth == 0:
                end = i
                break
        elif ch == _SEP and depth == 1:
            cuts.append(i)
    indent = len(line) - len(line.lstrip(" "))
    pad = " " * (indent + 4)
    bounds = [start, *cuts, end]
    items = [line[a + 1:b] for a, b in zip(bounds, bounds[1:])]
    head, tail = line[:start], line[end + 1:]
    body = "".join(_wrap(pad + item + ",", width) + "\n" for item in items)
    return head + "\n" + body + " " * indent + _wrap(tail.lstrip(" "), width)


def _attr_target(tree: _Tree, path: str) -> str | None:
    parent, _, leaf = path.rpartition(".")
    if not _ident(leaf) or leaf in ("self",):
        return None
    return f"{_access(tree, parent) if parent else 'self'}.{leaf}"


def _access(tree: _Tree, path: str) -> str:
    """``self.layer1[0].conv1`` for ``layer1.0.conv1``."""
    out = "self"
    done = ""
    for part in path.split("."):
        kind = tree.kinds.get(done)
        if kind in ("Sequential", "ModuleList") and part.isdigit():
            out += f"[{part}]"
        elif kind == "ModuleDict":
            out += f"[{part!r}]"
        elif _ident(part):
            out += f".{part}"
        else:
            out = f"getattr({out}, {part!r})"
        done = f"{done}.{part}" if done else part
    return out


def _block_name(gm: fx.GraphModule) -> str:
    return type(gm).__name__


# ---------------------------------------------------------------- pass 2: arguments


def _parse(text: Any) -> Any:
    """A block parameter's value as the scope key records it (text) → a number if it is one."""
    if not isinstance(text, str):
        return text
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def _finish(gen: _Generator, cls: _Class, indent: int = 8) -> None:
    """Choose ``cls``'s constructor arguments (the slots whose values differ between its
    instances) and render its body with them."""
    members = gen.members[cls.key]
    runs = [gen.template(m) for m in members]
    text = runs[0][0]
    if any(t != text for t, _ in runs):  # pragma: no cover - structure decides the text
        raise AssertionError(f"instances of {cls.block} do not share their code")
    values = [r[1] for r in runs]
    slots = values[0]
    count = len(members)
    hp = [{k: _parse(v) for k, v in gen.hparams.get(gen.paths.get(id(m), ""), {}).items()}
          for m in members]
    names = list(hp[0]) if all(list(h) == list(hp[0]) for h in hp) else []
    vary: dict[tuple[Any, ...], list[int]] = {}
    for i in range(len(slots)):
        row = tuple(v[i].value for v in values)
        if count > 1 and not all(_same(c, row[0]) for c in row):
            vary.setdefault(tuple((type(c).__name__, repr(c)) for c in row), []).append(i)
    exprs: dict[int, str] = {}
    taken = set(cls.children) | _RESERVED
    args: dict[str, list[Any]] = {}
    for _, idxs in vary.items():
        column = [v[idxs[0]].value for v in values]
        expr = None
        for h in names:
            hv = [h_[h] for h_ in hp]
            safe = h if h not in _RESERVED else h + "_"
            if all(_same(a, b) for a, b in zip(column, hv)):
                expr = safe
            elif all(isinstance(a, int) and not isinstance(a, bool) and isinstance(b, int)
                     and not isinstance(b, bool) and b != 0 for a, b in zip(column, hv)):
                ks = {a // b if a % b == 0 else None for a, b in zip(column, hv)}
                if len(ks) == 1 and (k := ks.pop()) is not None and k >= 2:
                    expr = f"{safe} * {k}"
            if expr is not None:
                args.setdefault(safe, hv)
                break
        if expr is None:  # a descriptive name, never one of the block's own
            hint = slots[idxs[0]].hint or "arg"
            expr = _Namer(taken | set(args) | {h if h not in _RESERVED else h + "_"
                                               for h in names})(hint)
            args[expr] = column
        for i in idxs:
            exprs[i] = expr
    cls.positional = [a for a in (h if h not in _RESERVED else h + "_" for h in names)
                      if a in args]
    cls.keywords = [a for a in args if a not in cls.positional]
    for j, m in enumerate(members):
        gen.args[id(m)] = {a: args[a][j] for a in args}
    attrs: dict[str, str] = {}
    init_lines, fwd_lines = text.split("\n\x03\n")

    def sub(part: str, forward: bool) -> str:
        def one(match: re.Match[str]) -> str:
            mark, i = match.group(1), int(match.group(2))
            slot = slots[i]
            if i in exprs:
                expr = exprs[i]
                if forward:
                    base = expr.split(" ")[0]
                    attr = base if base not in dir(nn.Module) and base not in cls.children \
                        else base + "_"
                    attrs[base] = attr
                    expr = expr.replace(base, f"self.{attr}", 1)
            else:
                expr = literal(slot.value)
            if mark == _OPT:
                if i not in exprs and _same(slot.value, slot.default):
                    return ""
                return f"{_SEP}{slot.kw}={expr}"
            return expr
        return re.sub(f"([{_SLOT}{_OPT}])(\\d+)[{_SLOT}{_OPT}]", one, part)

    init = sub(init_lines, False).replace(_OPEN + _SEP, _OPEN)  # no positional one before
    init = re.sub(f"{_CLS}(\\d+){_CLS}", lambda m: gen.classes[int(m.group(1))].name, init)
    fwd = sub(fwd_lines, True)
    keep = [f"        self.{attr} = {base}" for base, attr in attrs.items()]
    body = [wrapped[indent - 8:] for line in init.split("\n") if line
            for wrapped in _wrap(" " * indent + line).split("\n")]
    cls.code = "\n".join(keep + body) + "\n\n" + _wrap_all(fwd)


def _wrap_all(text: str) -> str:
    return "\n".join(_wrap(line) for line in text.split("\n"))


def block_hparams(arch: Any) -> dict[str, dict[str, str]]:
    """Each block instance's path → its parameters as the call gave them (source text),
    from ``arch.scopes``: ``{"layer1.0": {"c": "64", "stride": "1"}, ...}``."""
    out: dict[str, dict[str, str]] = {}
    for scope in arch.scopes.values():
        key = scope.key
        if scope.kind == "block" and scope.path and len(key) == 2 \
                and isinstance(key[1], tuple):
            out[scope.path] = {str(k): v for k, v in key[1]}
    return out


def _camel(name: str) -> str:
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Block"
    return text if not text[0].isdigit() else "Block" + text


def _name_classes(classes: list[_Class], taken: set[str]) -> None:
    """``Basic``, then ``BasicDownsample`` for another structure of the same block (named
    after a child the first lacks), else ``Basic2``."""
    first: dict[str, _Class] = {}
    reserved = set(taken)
    # of the structures of one block, the one with the fewest children takes the plain name
    for cls in sorted(classes, key=lambda c: len(c.children)):
        base = _camel(cls.block)
        if base in _RESERVED or base in reserved or hasattr(nn, base):
            base += "Block"
        name = base
        if base in first:
            extra = [c for c in cls.children if c not in first[base].children]
            name = base + _camel(extra[0]) if extra else base
        k = 2
        stem = name
        while name in taken or name in _RESERVED:
            name = f"{stem}{k}"
            k += 1
        first.setdefault(base, cls)
        cls.name = name
        taken.add(name)


# ---------------------------------------------------------------- the whole network


@dataclass
class Source:
    """The generated classes (blocks, then the network) and what they need."""

    code: str
    uses: set[str]              # "F", "math", "operator", "_module", "import torch.x"
    helpers: list[type]         # resgraph's own module classes to copy in, in table order


_ROOT_INIT = '''    def __init__(self, weights=_WEIGHTS):
        # weights: a .safetensors file (by default the one beside this file), or None for
        # fresh initial weights
        super().__init__()
        with _building(weights):
'''


def generate(gm: fx.GraphModule, name: str,
             hparams: Mapping[str, Mapping[str, Any]] | None = None) -> Source:
    """The classes of ``gm``'s package: one per distinct block structure, then the network
    class ``name`` (whose ``__init__`` takes ``weights``). ``hparams`` maps a block
    module's path to its block parameters (``{"layer1.0": {"c": "64", "stride": "1"}}``),
    so that constructor arguments are named after them.

    >>> import resgraph
    >>> gm = resgraph.loads("network n() { input x[4]\\n x -> fc: linear(2) }").compile()
    >>> print(generate(gm, "n").code.split("\\n\\n")[-1].rstrip())
        def forward(self, x):
            x = self.fc(x)
            return x
    """
    gen = _Generator(gm, hparams or {})
    gen.template(gm)  # pass 1: every block's class
    gen.final = True
    classes = [gen.classes[k] for k in sorted(gen.classes)]
    _name_classes(classes, {name, *(c.__name__ for c in PACKAGE_CLASSES)})
    for cls in classes:
        _finish(gen, cls)
    root = _Class(-1, "", name, list(gm._modules), name=name)
    gen.members[-1] = [gm]
    _finish(gen, root, indent=12)
    tree = gen.tree

    out = []
    for cls in classes:
        init, fwd = cls.code.split("\n\n", 1)
        params = ", ".join(["self", *cls.positional, *cls.keywords])
        out.append(f"class {cls.name}(nn.Module):\n    def __init__({params}):\n"
                   f"        super().__init__()\n{init}\n\n{fwd}\n")
    init, fwd = root.code.split("\n\n", 1)
    init = "\n".join("    " + line for line in init.split("\n")) if init.strip() \
        else "            pass"
    after = []
    first: dict[int, str] = {}
    for path, p in gm.named_parameters(remove_duplicate=False):
        if id(p) in first:
            after.append(f"        {_access(tree, path)} = {_access(tree, first[id(p)])}")
        else:
            first[id(p)] = path
    if any(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last)
           and not p.is_contiguous() for p in gm.parameters()):
        after.append("        self.to(memory_format=torch.channels_last)")
    root_text = (f"class {name}(torch.nn.Module):\n{_ROOT_INIT}{init}\n"
                 "        if weights is not None:\n            _load_weights(self, weights)\n"
                 + "".join(line + "\n" for line in after) + f"\n{fwd}\n")
    out.append(root_text)
    helpers = [c for c in PACKAGE_CLASSES if c in gen.helpers]
    return Source("\n\n".join(out), gen.uses, helpers)


def network_source(gm: fx.GraphModule, name: str,
                   hparams: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The text of :func:`generate`'s classes."""
    return generate(gm, name, hparams).code
