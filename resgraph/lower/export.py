"""Exports: ``resgraph export FILE --onnx OUT.onnx --pt2 OUT.pt2``.

:func:`to_onnx` writes an ONNX model through ``torch.onnx.export`` (the dynamo exporter,
which needs the ``onnx`` and ``onnxscript`` packages: ``pip install 'resgraph[dev]'`` or
``pip install onnx onnxscript``); :func:`to_pt2` writes a ``torch.export`` program with
``torch.export.save``, read back with ``torch.export.load(path).module()``. Both trace the
compiled module in eval mode (dropout off, batch norms on their running statistics) and
keep the batch dimension of every input dynamic: the files run at any batch size.

These are functions of this module rather than methods of ``Architecture``: the IR never
imports torch (``check``, ``analyze`` and ``render`` run without it), and an export often
wants a module that is not freshly initialised (trained weights), passed as ``module=``.

Writing is atomic: the file is written in a fresh folder beside the target, then renamed
over it, so a failed export leaves the previous file whole. Refused before compiling: a
name without the format's extension or an empty one (RG706), a target that is a folder or
in a folder that does not exist (RG707), and ONNX without ``onnx``/``onnxscript`` (RG708).

>>> import resgraph, tempfile, torch
>>> arch = resgraph.loads("network n() { input x[3, 8, 8]\\n x -> conv(4) -> relu }")
>>> path = to_pt2(arch, tempfile.mkdtemp() + "/n.pt2")
>>> torch.export.load(path).module()(torch.randn(5, 3, 8, 8)).shape  # any batch size
torch.Size([5, 4, 8, 8])
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.lower.build import compile_arch

#: The extension each format's file must have.
EXTENSIONS = {"onnx": ".onnx", "pt2": ".pt2"}
#: The packages the ONNX exporter needs (onnxruntime is only for checking the file).
ONNX_PACKAGES = ("onnx", "onnxscript")
#: Above this many bytes of weights, ONNX keeps them in ``OUT.onnx.data`` beside the model
#: (a protobuf file cannot exceed 2 GiB).
ONNX_INLINE_MAX = 1_800 * 2 ** 20
#: The batch size traced (a size of 1 would be specialised, not kept dynamic).
TRACE_BATCH = 2


def example_inputs(arch: Architecture, batch: int = TRACE_BATCH, *,
                   seed: int | None = None) -> tuple[torch.Tensor, ...]:
    """One tensor per input of ``arch``, in declaration order, with a leading ``batch``.

    Float inputs are N(0, 1); token inputs (``: long``) are zeros, or with a ``seed``
    random ids below the smallest embedding's vocabulary.

    >>> import resgraph
    >>> [t.shape for t in example_inputs(resgraph.load("examples/gpt2.rg", ctx=8), 3)]
    [torch.Size([3, 8])]
    """
    gen = torch.Generator().manual_seed(seed if seed is not None else 0)
    vocab = min((a["args"]["num"] for _, a in arch.graph.nodes(data=True)
                 if a["op"] == "embedding"), default=1)
    out = []
    for nid in arch.graph.graph["inputs"]:
        attrs = arch.graph.nodes[nid]
        shape = (batch, *attrs["shape"])
        if attrs["dtype"] == "long":
            out.append(torch.randint(0, vocab, shape, generator=gen) if seed is not None
                       else torch.zeros(shape, dtype=torch.long))
        else:
            out.append(torch.randn(shape, generator=gen))
    return tuple(out)


def check_output(path: str | os.PathLike[str], kind: str) -> Path:
    """Refuse a bad export target before any work: RG706 for the name, RG707 for the place.

    >>> check_output("net.onnx", "onnx")
    PosixPath('net.onnx')
    >>> try:
    ...     check_output("net.onxx", "onnx")
    ... except ResgraphError as err:
    ...     print(err.code, err.message)
    RG706 cannot export to 'net.onxx': an ONNX file's name ends in .onnx, e.g. --onnx net.onnx
    """
    raw = os.fspath(path)
    ext = EXTENSIONS[kind]
    flag = "--" + kind
    label = "an ONNX file" if kind == "onnx" else "a torch.export file"
    if not raw or raw.endswith(("/", os.sep)) or os.path.basename(raw) == ext:
        raise ResgraphError("RG706", f"cannot export to {raw!r}: give a file name, "
                            f"e.g. {flag} net{ext}")
    if not raw.endswith(ext):
        raise ResgraphError("RG706", f"cannot export to {raw!r}: {label}'s name ends in "
                            f"{ext}, e.g. {flag} net{ext}")
    target = Path(raw)
    if target.is_dir():
        raise _unwritable(raw, "it is a folder; give a file name, e.g. "
                          f"{flag} {os.path.join(raw, 'net' + ext)}")
    folder = target.parent
    if not folder.is_dir():
        raise _unwritable(raw, f"the folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _unwritable(raw, f"the folder '{folder}' is not writable")
    return target


def _unwritable(raw: str, why: str) -> ResgraphError:
    return ResgraphError("RG707", f"cannot write the export to {raw!r}: {why}")


def _need_onnx() -> None:
    """Refuse (RG708) an ONNX export where the exporter's packages are missing."""
    missing = []
    for name in ONNX_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ResgraphError("RG708", f"exporting to ONNX needs {' and '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not installed; install "
                            f"with: pip install {' '.join(ONNX_PACKAGES)}")


@contextlib.contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """Yield a path with ``target``'s name in a fresh folder beside it; on success, rename
    every file written there over its namesake beside ``target`` (side files such as
    ``OUT.onnx.data`` first, ``target`` last). The folder is removed in any case."""
    folder = target.parent
    try:
        stage = Path(tempfile.mkdtemp(dir=folder, prefix=".resgraph-export-"))
    except OSError as exc:
        raise _unwritable(str(target), exc.strerror or str(exc)) from None
    try:
        staged = stage / target.name
        yield staged
        side = sorted(p for p in stage.iterdir() if p.name != target.name)
        for p in [*side, staged]:
            with open(p, "rb") as f:
                os.fsync(f.fileno())
            os.replace(p, folder / p.name)
    except OSError as exc:
        raise _unwritable(str(target), exc.strerror or str(exc)) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _module(arch: Architecture, module: nn.Module | None) -> nn.Module:
    gm = compile_arch(arch, device="cpu") if module is None else module
    return gm.eval()


def _dynamic_batch(arch: Architecture) -> tuple[dict[int, Any], ...]:
    batch = torch.export.Dim("batch", min=1)
    return tuple({0: batch} for _ in arch.graph.graph["inputs"])


def _exported(arch: Architecture, module: nn.Module) -> torch.export.ExportedProgram:
    args = example_inputs(arch)
    with torch.no_grad():
        return torch.export.export(module, args, dynamic_shapes=_dynamic_batch(arch))


def to_pt2(arch: Architecture, path: str | os.PathLike[str], *,
           module: nn.Module | None = None) -> Path:
    """Write ``arch`` as a ``torch.export`` program (``torch.export.save``) to ``path``.

    ``module`` is the compiled module to export (its weights are saved); by default a
    fresh ``arch.compile()``. The batch dimension of every input is dynamic. Load it with
    ``torch.export.load(path).module()``; see the module docstring for an example.
    """
    target = check_output(path, "pt2")
    ep = _exported(arch, _module(arch, module))
    with _staged(target) as staged:
        torch.export.save(ep, staged)
    return target


def to_onnx(arch: Architecture, path: str | os.PathLike[str], *,
            module: nn.Module | None = None) -> Path:
    """Write ``arch`` as an ONNX model to ``path`` (``torch.onnx.export``, dynamo exporter).

    ``module`` is the compiled module to export; by default a fresh ``arch.compile()``.
    Inputs and outputs keep the names of the ``.rg`` file, and their batch dimension is
    dynamic. Weights over 1.8 GiB go to ``path + ".data"`` beside the model (ONNX's
    2 GiB limit); smaller models are one file. Needs ``onnx`` and ``onnxscript`` (RG708).

    >>> import importlib.util, resgraph, tempfile
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> fc: linear(2) }")
    >>> if importlib.util.find_spec("onnxscript") and importlib.util.find_spec("onnx"):
    ...     import onnx
    ...     model = onnx.load(to_onnx(arch, tempfile.mkdtemp() + "/n.onnx"))
    ...     shown = [(i.name, i.type.tensor_type.shape.dim[0].dim_param) for i in model.graph.input]
    ... else:
    ...     shown = [("x", "batch")]
    >>> shown
    [('x', 'batch')]
    """
    target = check_output(path, "onnx")
    _need_onnx()
    module = _module(arch, module)
    weights = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    with _quiet_exporter():
        with torch.no_grad():
            program = torch.onnx.export(
                module, example_inputs(arch), dynamo=True,
                dynamic_shapes=_dynamic_batch(arch), input_names=list(arch.inputs),
                output_names=list(arch.outputs), verbose=False)
        assert program is not None
        with _staged(target) as staged:
            program.save(str(staged), external_data=weights > ONNX_INLINE_MAX)
    return target


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the ONNX exporter's chatter (torchvision's ops skipped, deprecations)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_files(arch: Architecture, *, onnx: str | None = None, pt2: str | None = None,
                 log: Callable[[str], Any] = print) -> list[Path]:
    """``resgraph export``: compile ``arch`` once on the CPU and write each file asked for.

    Every target is checked before compiling (RG706, RG707, RG708); ``log`` receives one
    line per file (its size and the time the export took).

    >>> import resgraph, tempfile
    >>> arch = resgraph.loads("network n() { input x[4]\\n x -> linear(2) }")
    >>> _ = export_files(arch, pt2=tempfile.mkdtemp() + "/n.pt2")  # doctest: +ELLIPSIS
    wrote .../n.pt2 (torch.export, batch dynamic): network n, 10 parameters, ... in ... s
    """
    if onnx is not None:
        check_output(onnx, "onnx")
        _need_onnx()
    if pt2 is not None:
        check_output(pt2, "pt2")
    gm = compile_arch(arch, device="cpu").eval()
    params = sum(p.numel() for p in gm.parameters())
    written = []
    for path, kind, write in ((onnx, "ONNX", to_onnx), (pt2, "torch.export", to_pt2)):
        if path is None:
            continue
        start = time.perf_counter()
        out = write(arch, path, module=gm)
        took = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (out, Path(f"{out}.data")) if p.exists())
        log(f"wrote {out} ({kind}, batch dynamic): network {arch.name}, {params:,} "
            f"parameters, {_size(size)} in {took:.1f} s")
        written.append(out)
    return written


def _size(n: int) -> str:
    """``1536`` → ``'1.5 KiB'``."""
    if n < 1024:
        return f"{n:,} B"
    return f"{n / 1024:,.1f} KiB" if n < 1024 ** 2 else f"{n / 1024 ** 2:,.1f} MiB"
