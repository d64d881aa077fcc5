"""Run folders: what ``resgraph train --out RUN`` writes, ``--resume RUN`` reads and
``resgraph plot RUN`` draws.

A run folder holds:

- ``config.json``: ``{"format": "resgraph-run", "version": 1, "file", "source",
  "sources", "network", "params", "plain", "data", "options"}``: the ``.rg`` file's name
  and text (and the texts of the files it used), the network's parameters, the data spec
  and every training option;
- ``model.safetensors``: the weights of the epoch with the best held-out accuracy (the
  earliest of equals); ``last.safetensors``: the last epoch's;
- ``metrics.jsonl``: one JSON object per epoch: ``epoch``, ``train_loss``,
  ``train_accuracy``, ``test_loss``, ``test_accuracy``, ``lr`` (at the epoch's end),
  ``seconds`` (the epoch's wall time, training and testing), ``images_per_second``
  (training images of all processes per second of training);
- ``checkpoint.pt``: what ``--resume`` needs: weights, optimizer, scheduler, AMP scaler,
  the random generators' states, the epoch and the best accuracy. It holds tensors and
  plain values only and is read with ``torch.load(weights_only=True)``: never unpickled
  freely.

Every file is written to a temporary name and renamed into place, so a run killed while
writing leaves the previous version whole; the checkpoint is written last in each epoch.

>>> import tempfile
>>> run = prepare_out(tempfile.mkdtemp() + "/run")
>>> append_metrics(run, {"epoch": 1, "train_loss": 0.5})
>>> read_metrics(run)
[{'epoch': 1, 'train_loss': 0.5}]
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.lower.data import SPLIT_SEED, Data, load_data
from resgraph.plot import METRICS
from resgraph.plot import read_metrics as read_metrics  # the reader lives beside the plots

RUN_FORMAT = "resgraph-run"
RUN_VERSION = 1
CONFIG = "config.json"
BEST = "model.safetensors"
LAST = "last.safetensors"
CHECKPOINT = "checkpoint.pt"
RUN_FILES = (CONFIG, BEST, LAST, METRICS, CHECKPOINT)
_MAX_CONFIG = 64 * 2 ** 20


def run_config(arch: Architecture, data: str, options: Mapping[str, Any],
               plain: bool = False) -> dict[str, Any]:
    """``config.json`` for a run of ``arch`` on ``data`` with ``options``.

    >>> import resgraph
    >>> c = run_config(resgraph.load("examples/highway_mlp.rg"), "digits", {"epochs": 1})
    >>> c["format"], c["file"], c["network"], c["params"], c["options"]
    ('resgraph-run', 'highway_mlp.rg', 'highway_mlp', {'d': 64, 'layers': 10, 'classes': 10}, \
{'epochs': 1})
    """
    from resgraph.lower.package import _sources

    top, used = _sources(arch)
    return {"format": RUN_FORMAT, "version": RUN_VERSION,
            "file": os.path.basename(arch.file) if arch.file else None,
            "source": top, "sources": used, "network": arch.name,
            "params": dict(arch.hparams), "parameters": arch.num_params, "plain": plain,
            "data": data, "options": dict(options)}


def run_data(config: Mapping[str, Any], input_shape: tuple[int, ...], *,
             spec: str | None = None, hparams: Mapping[str, Any] | None = None) -> Data:
    """The data a run trained and was tested on: its ``data`` spec (or ``spec``, where the
    files moved), its hold-out split (seed :data:`SPLIT_SEED`, its ``holdout``), its
    ``normalize`` and ``resize``, so that a lesion study measures the same held-out images.

    >>> import resgraph
    >>> config = run_config(resgraph.load("examples/highway_mlp.rg"), "digits", {})
    >>> len(run_data(config, (64,)).test)
    360
    """
    options = config.get("options") or {}
    return load_data(spec or str(config.get("data") or "digits"), input_shape,
                     seed=SPLIT_SEED, holdout=float(options.get("holdout", 0.2)),
                     normalize=bool(options.get("normalize", False)),
                     resize=bool(options.get("resize", False)), hparams=hparams)


def _refuse(folder: str | os.PathLike[str], why: str) -> ResgraphError:
    return ResgraphError("RG743", f"run folder '{os.fspath(folder)}': {why}")


def is_run(folder: str | Path) -> bool:
    """Whether ``folder`` holds a run's ``config.json`` (a regular file, format
    ``resgraph-run``).

    >>> import tempfile
    >>> is_run(tempfile.mkdtemp())
    False
    """
    try:
        return read_config(folder).get("format") == RUN_FORMAT
    except ResgraphError:
        return False


def check_out(out: str | os.PathLike[str]) -> None:
    """Refuse (RG743) ``out`` as a new run folder: an empty name, a file or a link, a folder
    that holds a run already (continue it with ``--resume``) or a non-empty folder that is
    not a run. Changes nothing."""
    path = Path(out)
    if not os.fspath(out):
        raise _refuse(out, "the name is empty; give one, e.g. --out runs/first")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise _refuse(out, "it is a file or a link; give a folder, e.g. --out runs/first")
    if path.is_dir():
        if is_run(path):
            raise _refuse(out, "it holds a run already; continue it with --resume "
                          f"{os.fspath(out)}, or give a new folder")
        entries = [e for e in os.listdir(path) if not e.startswith(".")]
        if entries:
            raise _refuse(out, f"the folder is not empty ({len(entries)} "
                          f"entr{'y' if len(entries) == 1 else 'ies'}) and holds no run; "
                          "give a new or empty folder")


def prepare_out(out: str | os.PathLike[str]) -> Path:
    """Create the run folder ``out`` after :func:`check_out`."""
    check_out(out)
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(out, exc.strerror or str(exc)) from None
    return path


def _replace(path: Path, write: Any) -> None:
    """Write through ``write(tmp_path)`` to a temporary file beside ``path``, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~mask)  # the usual mode, not mkstemp's (or safetensors') 0600
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before the rename: a crash leaves the old file or the new
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        raise _refuse(path.parent, f"cannot write {path.name}: {exc.strerror or exc}") \
            from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_config(run: Path, config: Mapping[str, Any]) -> None:
    """Write ``config.json``."""
    text = json.dumps(config, indent=2, default=str) + "\n"
    _replace(run / CONFIG, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_config(run: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's ``config.json``; RG743 where it is missing, not a regular file or not JSON."""
    path = Path(run) / CONFIG
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        raise _refuse(run, f"it holds no {CONFIG}: not a run written by resgraph train "
                      "--out") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_CONFIG:
            raise _refuse(run, f"{CONFIG} is not a regular file of at most 64 MiB")
        try:
            config = json.loads(fh.read())
        except ValueError as exc:
            raise _refuse(run, f"{CONFIG} is not JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        raise _refuse(run, f"{CONFIG} is not a resgraph run's (no \"format\": "
                      f"\"{RUN_FORMAT}\")")
    return config


def save_weights(path: Path, model: nn.Module) -> None:
    """The model's state dict as a safetensors file (never pickled)."""
    from safetensors.torch import save_file

    from resgraph.lower.package import _weight_tensors

    tensors = _weight_tensors(model)
    _replace(path, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))


def append_metrics(run: Path, row: Mapping[str, Any]) -> None:
    """Append one epoch's line to ``metrics.jsonl`` (flushed to disk)."""
    with open(run / METRICS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(dict(row)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def keep_metrics(run: Path, last_epoch: int) -> None:
    """Keep the lines of epochs up to ``last_epoch``: drop those written after the checkpoint
    a resume starts from, and a line cut short by a killed run.

    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> _ = (run / METRICS).write_text('{"epoch": 1}\\n{"epoch": 2}\\n{"epo')
    >>> keep_metrics(run, 1)
    >>> (run / METRICS).read_text()
    '{"epoch": 1}\\n'
    """
    path = run / METRICS
    if not path.exists():
        return

    def epoch(line: str) -> int | None:
        try:
            row = json.loads(line)
        except ValueError:
            return None
        return row.get("epoch") if isinstance(row, dict) else None

    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        number = epoch(line)
        if isinstance(number, int) and number <= last_epoch:
            kept.append(line)
    _replace(path, lambda tmp: Path(tmp).write_text("".join(k + "\n" for k in kept),
                                                    encoding="utf-8"))


def save_checkpoint(run: Path, state: Mapping[str, Any]) -> None:
    """Write ``checkpoint.pt`` (tensors and plain values only)."""
    _replace(run / CHECKPOINT, lambda tmp: torch.save(dict(state), tmp))


def load_checkpoint(run: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's ``checkpoint.pt``, read with ``weights_only=True``; RG743 if unreadable."""
    path = Path(run) / CHECKPOINT
    if not path.is_file() or path.is_symlink():
        raise _refuse(run, f"it holds no {CHECKPOINT} (the run has not finished an epoch); "
                      "start it again with --out")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise _refuse(run, f"{CHECKPOINT} cannot be read: {str(exc).splitlines()[0]}") \
            from None
    if not isinstance(state, dict) or "epoch" not in state or "model" not in state:
        raise _refuse(run, f"{CHECKPOINT} is not a resgraph checkpoint")
    return state
