"""Naming rules: which labels are allowed, and how every node and scope gets its module path.

Module paths come from the labels and block instances around a node (docs/language.md):
a label names its module; members of a labelled sub-chain or repeat are numbered
``0, 1, ...`` like ``nn.Sequential``; an unlabelled node is ``<op>_<k>`` within its
scope (``k`` counting from 0 per op); some internal scopes prefer a fixed name when
it is free (a projection shortcut is ``downsample``, as in torchvision).

Labels, network names and input names become Python, so :func:`check_name` refuses the
ones that would break the generated code (:func:`reserved_reason`: keywords, ``__x``,
``self``; for labels and inputs the attributes of ``nn.Module`` and ``GraphModule``, for
network and input names the builtins and ``torch``, ``F``, ...); an automatic name never
starts with ``__`` (:func:`auto_base`).

>>> from resgraph.errors import Span
>>> t = NameTable()
>>> root = t.new_scope(None, "network", "n", "n", ("n",), Span("f", 1, 1), None, None)
>>> t.add_node(root.scope, 0, None, None, "relu")
>>> t.add_node(root.scope, 1, "fc", None, "linear")
>>> paths = {}
>>> t.assign(lambda n, p: paths.__setitem__(n, p))
>>> paths
{0: 'relu_0', 1: 'fc'}
"""

from __future__ import annotations

import builtins
import dataclasses
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from resgraph.errors import ResgraphError, Span
from resgraph.ir import ScopeInfo, ScopeKind
from resgraph.kinds import CONNECTIONS

NameRole = Literal["label", "network", "input"]
"""Where a name enters generated Python: a label names a module attribute (and the state_dict
keys under it), a network name the generated class, an input name an argument of forward()."""

#: Names the generated Python imports: what a compiled GraphModule's code or a written
#: package's module.py refers to (``torch``, ``torch.nn.functional as F``, fx's built-in
#: globals ``inf``, ``nan``, ``device``, ...).
GENERATED_CODE_NAMES = frozenset({
    "torch", "F", "nn", "fx", "math", "os", "operator", "inf", "nan", "device", "NoneType",
    "fx_pytree", "pytree"})

#: Python's builtins (``super``, ``slice``, ``setattr``, ``input``, ...), dunders aside.
BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("__"))

#: ``dir(torch.nn.Module)`` and the attributes ``nn.Module()`` sets, without the dunders (every
#: name starting with ``__`` is refused anyway). Stored, so that the front end never imports
#: torch; ``tests/test_names.py`` checks that the installed torch has no attribute missing here.
NN_MODULE_ATTRIBUTES = frozenset({
    "T_destination", "_apply", "_backward_hooks", "_backward_pre_hooks", "_buffers",
    "_call_impl", "_compiled_call_impl", "_forward_hooks", "_forward_hooks_always_called",
    "_forward_hooks_with_kwargs", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
    "_get_backward_hooks", "_get_backward_pre_hooks", "_get_name", "_is_full_backward_hook",
    "_load_from_state_dict", "_load_state_dict_post_hooks", "_load_state_dict_pre_hooks",
    "_maybe_warn_non_full_backward_hook", "_modules", "_named_members",
    "_non_persistent_buffers_set", "_parameters", "_register_load_state_dict_pre_hook",
    "_register_state_dict_hook", "_replicate_for_data_parallel", "_save_to_state_dict",
    "_slow_forward", "_state_dict_hooks", "_state_dict_pre_hooks", "_version",
    "_wrapped_call_impl", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad"})

#: What ``torch.fx.GraphModule`` (the compiled model) adds to :data:`NN_MODULE_ATTRIBUTES`.
GRAPH_MODULE_ATTRIBUTES = frozenset({
    "_boxed_call", "_code", "_create_node_hooks", "_deepcopy_hooks", "_deepcopy_init",
    "_erase_node_hooks", "_graph", "_lineno_map", "_prologue_start",
    "_recompile_submodules", "_register_create_node_hook", "_register_deepcopy_hook",
    "_register_erase_node_hook", "_register_replace_node_hook", "_replace_hooks",
    "_set_replace_hook", "_tracer_cls", "_tracer_extras", "_unregister_create_node_hook",
    "_unregister_deepcopy_hook", "_unregister_erase_node_hook",
    "_unregister_replace_node_hook", "_wrapped_call", "add_submodule", "code",
    "delete_all_unused_submodules", "delete_submodule", "graph", "meta", "print_readable",
    "recompile", "shape_env", "to_folder"})

#: Words the lexer reads as keywords where a chain starts: an input of that name could never
#: be used (labels may still be these words: ``block: conv(8)``).
CHAIN_KEYWORDS = frozenset({"block", "network", "use", "let", "input", "output", *CONNECTIONS})

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LABEL_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
"""What a label may be: besides names, integers (``0``, nn.Sequential's members) and names
with '-' (``block1-0``, RegNet's), which the compiled module reaches with ``getattr``."""
_ROLES: dict[str, str] = {
    "label": "a label: it names a module attribute of the compiled model",
    "network": "a network name: it names the class of the compiled model",
    "input": "an input name: it names an argument of the compiled model's forward() and "
             "the input's node",
}


def reserved_reason(name: str, role: NameRole, nested: bool = False) -> str | None:
    """Why ``name`` may not be a ``role`` name in generated Python, or None when it may.

    The one rule for every name that becomes Python. No name is a Python keyword, starts
    with ``__`` (dunders, and names Python mangles inside a class) or is ``self``. A label
    becomes a module attribute, so it is no attribute of ``torch.nn.Module`` or
    ``torch.fx.GraphModule`` (``train``, ``_modules``, ``graph``); builtins are fine there.
    A network name (a class) becomes a Python variable, so it is no builtin (``super``,
    ``slice``) and no name the generated code imports (``torch``, ``F``, ``nn``, ...);
    module attributes are fine there. An input name is both, an argument of ``forward``
    and the label of the input's node, and no keyword that starts a statement (``input``,
    ``residual``, ...), since a chain has to start from it. A ``nested`` label (one whose
    module path has a level above it, ``attention.self``: inside a block instance or a
    labelled group or sub-chain) may be ``self``: the generated code reaches it through
    its parent (BERT's ``attention.self.query``), never as a name of its own.

    >>> reserved_reason("conv1", "label") is None, reserved_reason("_x", "input") is None
    (True, True)
    >>> reserved_reason("eval", "label"), reserved_reason("eval", "network")
    ('an attribute of torch.nn.Module', 'a Python builtin')
    >>> reserved_reason("input", "label") is None, reserved_reason("train", "network") is None
    (True, True)
    >>> reserved_reason("eval", "input")
    'an attribute of torch.nn.Module and a Python builtin'

    >>> reserved_reason("__w", "label")
    "a name starting with '__' (Python treats these specially inside a class)"
    """
    if role == "label" and not _IDENTIFIER.fullmatch(name) and LABEL_PATTERN.fullmatch(name):
        return None  # `0`, `block1-0`: no Python name, so no Python word either
    if not _IDENTIFIER.fullmatch(name):
        return "not an ASCII identifier"
    if name.startswith("__"):
        return "a name starting with '__' (Python treats these specially inside a class)"
    reasons = []
    if keyword.iskeyword(name):
        reasons.append("a Python keyword")
    if name == "self" and not (role == "label" and nested):
        reasons.append("the name of the model inside its own methods" + (
            " (a label one level down may be 'self': `attention: (self: ...)`)"
            if role == "label" else ""))
    if role in ("label", "input"):
        if name in NN_MODULE_ATTRIBUTES:
            reasons.append("an attribute of torch.nn.Module")
        elif name in GRAPH_MODULE_ATTRIBUTES:
            reasons.append("an attribute of torch.fx.GraphModule")
    if role == "input" and name in CHAIN_KEYWORDS:
        reasons.append("a resgraph keyword (no chain could start from it)")
    if role in ("network", "input"):
        if name in BUILTIN_NAMES:
            reasons.append("a Python builtin")
        if name in GENERATED_CODE_NAMES:
            reasons.append("a name the generated code imports")
    return " and ".join(reasons) or None


def suggest_name(name: str, role: NameRole) -> str:
    """A free ``role`` name close to ``name``, for error messages.

    >>> [suggest_name(n, "label") for n in ("eval", "__init__", "__")]
    ['eval_', 'init', 'name']
    """
    base = name.strip("_") if name.startswith("__") else name + "_"
    base = base or "name"
    while reserved_reason(base, role) is not None:
        base += "_"
    return base


def check_name(name: str, role: NameRole, span: Span, nested: bool = False) -> None:
    """Refuse (RG220, located at ``span``) a ``role`` name that may not enter generated Python.

    >>> check_name("conv1", "label", Span("f.rg", 1, 1))
    >>> try:
    ...     check_name("super", "network", Span("f.rg", 1, 9))
    ... except ResgraphError as err:
    ...     print(err.code, err.line, err.column, err.message)
    RG220 1 9 'super' cannot be a network name: it names the class of the compiled model, \
and 'super' is a Python builtin; choose another name (e.g. 'super_')
    """
    reason = reserved_reason(name, role, nested)
    if reason is not None:
        raise ResgraphError("RG220", f"'{name}' cannot be {_ROLES[role]}, and '{name}' is "
                            f"{reason}; choose another name (e.g. "
                            f"'{suggest_name(name, role)}')", span)


def check_label(name: str, span: Span, nested: bool = False) -> None:
    """Refuse a label that cannot name a node and its module (:func:`check_name`);
    ``nested``: its module path has a level above it.

    >>> check_label("conv1", Span("f.rg", 1, 1))
    >>> try:
    ...     check_label("forward", Span("f.rg", 2, 5))
    ... except ResgraphError as err:
    ...     print(err.code, err.line, err.column)
    RG220 2 5
    """
    check_name(name, "label", span, nested)


_KEYWORD_THEN_GAP = re.compile(r"[A-Za-z_]+(?:[ \t\f\r\n]+|#[^\n]*)*")


def name_span(span: Span, name: str) -> Span:
    """The span of ``name`` in a statement that starts with a keyword (``network NAME``,
    ``input NAME``), found in the source text that ``span.file`` carries; ``span`` itself
    when the text is not at hand.

    >>> from resgraph.errors import SourceFile
    >>> f = SourceFile("f.rg", "block b() { relu }\\nnetwork  # n\\n  net() {}")
    >>> name_span(Span(f, 2, 1), "net")
    Span(file='f.rg', line=3, column=3, end_line=3, end_column=6)
    """
    text = getattr(span.file, "text", None)
    if text is None:
        return span
    start = 0
    for _ in range(span.line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return span
    gap = _KEYWORD_THEN_GAP.match(text, start + span.column - 1)
    if gap is None or not text.startswith(name, gap.end()):
        return span
    at = gap.end()
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    return Span(span.file, line, column, line, column + len(name))


def auto_base(base: str) -> str:
    """The stem of an automatic name ``<stem>_<k>``: ``base`` (an op, a group kind or a block
    name) without the leading underscores that would make the name start with ``__``.

    >>> auto_base("conv"), auto_base("_b"), auto_base("__b"), auto_base("_")
    ('conv', '_b', 'b', 'block')
    """
    if base.startswith("__") or base == "_":
        return base.lstrip("_") or "block"
    return base


@dataclass
class Entry:
    """A named thing (node or scope) inside a naming scope, named when elaboration ends."""

    kind: Literal["node", "scope"]
    ref: int
    label: str | None
    index: int | None
    base: str
    preferred: str | None = None


@dataclass
class Naming:
    """Where new nodes go: a scope, the chain of scopes above it (for the node attribute
    ``scope``), and a member counter inside numbered groups.

    ``taken`` is the scope's explicit names so far (labels and numbers, each with where it
    was given): a member number skips every one of them, so ``("{j + 1}": conv) * 2 as j``
    after a numbered member leaves the next member ``3``, not a second ``1``. ``spread`` is
    set inside a spread term (``...stage(64, 2)``): every node made there takes the next
    number of ``scope`` (the enclosing numbered scope) and no scope is a naming level, so
    the chain holds scopes that name nothing."""

    scope: int
    chain: tuple[int, ...]
    counter: list[int] | None = None
    taken: dict[str, Span | None] | None = None
    spread: Span | None = None
    """Inside a spread term: where its ``...`` is (for notes); None elsewhere."""

    def slot(self) -> int | None:
        """The next member number in a numbered group (skipping the names already taken
        there), or None outside one."""
        if self.counter is None:
            return None
        n = self.counter[0]
        while self.taken is not None and str(n) in self.taken:
            n += 1
        self.counter[0] = n + 1
        return n

    def member(self) -> int | None:
        """The number of a new member scope (a block instance, group or copy) in a numbered
        group; None inside a spread, where the scope names nothing and its nodes take the
        numbers."""
        return None if self.spread is not None else self.slot()


class NameTable:
    """The scopes of one network and the named entries in each, in creation order.

    An explicit name (a label or a member number) is claimed in its scope when its node or
    scope is made; a second claim of the same name is RG224 there, with a note at the first,
    so two modules never share a path (the later one would overwrite the earlier)."""

    def __init__(self) -> None:
        self.scopes: dict[int, ScopeInfo] = {}
        self.entries: dict[int, list[Entry]] = {}
        self.taken: dict[int, dict[str, Span | None]] = {}
        self.numbers: dict[int, list[int]] = {}
        """Flat scope (a spread block instance) → the member numbers its nodes took."""

    def new_scope(self, nm: Naming | None, kind: ScopeKind, name: str, call: str,
                  key: tuple[Any, ...], span: Span, label: str | None, index: int | None,
                  preferred: str | None = None, numbered: bool = False) -> Naming:
        """Open a scope inside ``nm`` (None for the network itself).

        Inside a spread (``nm.spread``) the scope is structure only (a cluster in the
        diagram, a row in the block table): it takes no name and no number, and what is
        made in it is named in ``nm.scope``, numbered by ``nm``'s counter."""
        sid = len(self.scopes)
        if nm is not None and nm.spread is not None:
            self.scopes[sid] = ScopeInfo(sid, kind, name, call, key, nm.chain[-1], span)
            self.numbers[sid] = []
            return dataclasses.replace(nm, chain=(*nm.chain, sid))
        parent = nm.scope if nm is not None else None
        self.scopes[sid] = ScopeInfo(sid, kind, name, call, key, parent, span)
        self.entries[sid] = []
        self.taken[sid] = {}
        inner = Naming(sid, (sid,) if nm is None else (*nm.chain, sid),
                       [0] if numbered else None, self.taken[sid])
        if nm is not None:
            if index is not None:
                self.claim(nm.scope, str(index), span)
            self.entries[nm.scope].append(Entry("scope", sid, label, index, name, preferred))
        return inner

    def spread(self, nm: Naming, at: Span) -> Naming:
        """The naming inside a spread term (``...`` at ``at``): nodes take ``nm``'s numbers,
        scopes name nothing."""
        return nm if nm.spread is not None else dataclasses.replace(nm, spread=at)

    def claim(self, scope: int, name: str, span: Span | None) -> None:
        """Take the explicit name ``name`` (a label, or a member number) in ``scope``: RG224
        when an earlier entry has it. Labels are claimed where their term is elaborated,
        before the node or scope they name; numbers where that is made."""
        taken = self.taken[scope]
        if name not in taken:
            taken[name] = span
            return
        if span is not None and span == taken[name]:
            raise ResgraphError("RG224", f"the label {name!r} would name every copy of this "
                                "repeat (two modules cannot share a path); make it read the "
                                "copy's index, e.g. `(\"b{i}\": conv(8)) * n as i`", span)
        if name.isdigit():
            why = (f"the member number {name} is already taken here (noted below): members "
                   "of a labelled sub-chain or repeat are numbered 0, 1, ... in order, each "
                   "number skipping the names given before it; drop this label or choose a "
                   "number no other member takes")
        else:
            why = (f"'{name}' already names a module here (noted below), and two modules "
                   "cannot share a path; choose another label (a label that names each "
                   "copy of a repeat must read the index, e.g. \"b{i}\")")
        first = f"member {name} is this one" if name.isdigit() else f"'{name}' first given here"
        raise ResgraphError("RG224", why, span, notes=[(first, taken[name])])

    def add_node(self, nm: Naming | int, nid: int, label: str | None, index: int | None,
                 base: str, preferred: str | None = None, span: Span | None = None) -> None:
        """Register node ``nid`` for naming in ``nm``'s scope (or in scope ``nm``); inside a
        spread it takes the next member number instead."""
        if isinstance(nm, Naming) and nm.spread is not None:
            label, index = None, nm.slot()
            assert index is not None
            for sid in nm.chain:
                if sid in self.numbers:
                    self.numbers[sid].append(index)
        scope = nm.scope if isinstance(nm, Naming) else nm
        if index is not None:
            self.claim(scope, str(index), span)
        self.entries[scope].append(Entry("node", nid, label, index, base, preferred))

    def label_node(self, scope: int, nid: int, label: str, span: Span | None = None) -> bool:
        """``name = chain``: the label also names the last node's module, when that node is
        an unlabelled, unnumbered node of this scope (not a block instance's output)."""
        for entry in self.entries[scope]:
            if entry.kind == "node" and entry.ref == nid:
                if entry.label is None and entry.index is None:
                    self.claim(scope, label, span)
                    entry.label = label
                    return True
                return False
        return False

    def assign(self, set_node_path: Callable[[int, str], None]) -> None:
        """Give every scope and node its dotted module path (labels, indices, auto names)."""
        for sid, info in self.scopes.items():
            if sid in self.numbers:
                continue
            entries = self.entries[sid]
            taken = {e.label for e in entries if e.label} | {
                str(e.index) for e in entries if e.index is not None}
            counters: dict[str, int] = {}
            for e in entries:
                if e.label:
                    name = e.label
                elif e.index is not None:
                    name = str(e.index)
                elif e.preferred and e.preferred not in taken:
                    name = e.preferred
                else:
                    base = auto_base(e.base)
                    k = counters.get(base, 0)
                    while f"{base}_{k}" in taken:
                        k += 1
                    name = f"{base}_{k}"
                    counters[base] = k + 1
                taken.add(name)
                path = f"{info.path}.{name}" if info.path else name
                if e.kind == "scope":
                    self.scopes[e.ref].path = path
                else:
                    set_node_path(e.ref, path)
        for sid, numbers in self.numbers.items():  # a spread's scope shows what it covers
            info = self.scopes[sid]
            above = info.parent
            while above is not None and above in self.numbers:
                above = self.scopes[above].parent
            base = self.scopes[above].path if above is not None else ""
            span = f"{min(numbers)}-{max(numbers)}" if numbers else info.name
            info.path = f"{base}.{span}" if base else span
