"""Training data from a spec string: :func:`load_data` (``resgraph train --data SPEC``).

``SPEC`` is one of:

- ``digits``: the 1,797 8×8 handwritten digits of scikit-learn, split 80/20 (stratified,
  always the same split);
- a folder in the ImageFolder layout: ``root/<class>/*.png|jpg|jpeg|bmp`` (a seeded,
  stratified hold-out split), or ``root/train/<class>/...`` with ``root/val/<class>/...``
  (or ``test/``) as the held-out set. Classes are the sorted folder names;
- ``FILE.npz`` with arrays ``x`` and ``y`` (a seeded, stratified hold-out split) or
  ``x_train``, ``y_train``, ``x_test``, ``y_test``; ``x`` holds images ``[N, H, W]``,
  ``[N, C, H, W]`` or ``[N, H, W, C]``, or vectors ``[N, D]``; ``uint8`` pixels are scaled
  to [0, 1], floats are taken as they are. It is read without unpickling
  (``allow_pickle=False``);
- a CIFAR-10 folder in the official python format (``data_batch_1`` ... ``data_batch_5``
  and ``test_batch``) or a CIFAR-100 one (``train`` and ``test``, the fine labels). These
  files are pickles; they are read with an unpickler that builds only dicts, lists,
  strings, numbers and numpy arrays, so a tampered file cannot run code.

Images become float32 ``[C, H, W]`` in [0, 1] (NCHW batches); a network whose input is a
vector ``[D]`` gets them flattened when ``D`` = C·H·W. Image folders are converted to the
network's channel count (1: grayscale, 3: RGB). Where the data do not fit the network's
declared input, RG711 says both shapes and suggests a ``--set`` of the network's
parameters that looks like it sets the input (``channels``, ``size``...).

:func:`augment` is the training-time augmentation (random crop with zero padding,
horizontal flip): a pure function of its seed, so that a resumed run draws the same crops.

>>> data = load_data("digits", (64,))
>>> data.describe()
'digits: 1,437 train / 360 test samples [64], 10 classes'
"""

from __future__ import annotations

import io
import math
import os
import pickle
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from resgraph.errors import ResgraphError

#: The file extensions read from an image folder.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
#: The held-out folder names of the ``train/`` + ``val/`` layout, in the order looked for.
HELDOUT_FOLDERS = ("val", "test")
_CIFAR10 = tuple(f"data_batch_{i}" for i in range(1, 6))
#: Hyperparameter names that set an input's channels / its image size (for the hint).
_CHANNEL_NAMES = ("channels", "in_channels", "in_chans", "in_ch", "input_channels", "c")
_SIZE_NAMES = ("size", "image_size", "img_size", "input_size", "resolution", "res")


@dataclass
class Data:
    """A training set and its held-out set, shaped for one network's input.

    >>> x, y = torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])
    >>> Data("toy", TensorDataset(x, y), TensorDataset(x[:2], y[:2]), 2).describe()
    'toy: 4 train / 2 test samples [2], 2 classes'
    """

    name: str
    train: TensorDataset
    test: TensorDataset
    classes: int
    #: What the held-out set is: "seeded 20% split", "val/", "test_batch"... ("": fixed)
    heldout: str = ""
    #: (mean, std) per channel subtracted and divided where ``normalize``; None: raw [0, 1]
    normalization: tuple[list[float], list[float]] | None = None

    def describe(self) -> str:
        """One line for the run header."""
        shape = list(self.train.tensors[0].shape[1:])
        split = f" ({self.heldout})" if self.heldout else ""
        norm = ", normalised per channel" if self.normalization else ""
        return (f"{self.name}: {len(self.train):,} train / {len(self.test):,} test{split} "
                f"samples {shape}, {self.classes} classes{norm}")


def load_data(spec: str, input_shape: tuple[int, ...], *, seed: int = 0, holdout: float = 0.2,
              hparams: Mapping[str, Any] | None = None, normalize: bool = False) -> Data:
    """Load ``spec`` (see the module docstring) shaped for a network whose input is
    ``input_shape``.

    ``seed`` and ``holdout`` (the held-out fraction) make the split where the data do not
    come with one; the digits always use their fixed split. ``normalize`` subtracts the
    training images' mean and divides by their standard deviation, per channel (vectors:
    over all values), from both sets. ``hparams`` (the network's parameters) only improve
    the hint of a shape mismatch. Errors: RG740 (no such data),
    RG741 (a file that cannot be read as data), RG742 (too few samples or an empty class),
    RG711 (the data do not fit ``input_shape``).

    >>> try:
    ...     load_data("digits", (3, 32, 32), hparams={"channels": 3, "size": 32})
    ... except ResgraphError as err:
    ...     print(err.code, err.message)
    RG711 the data are [1, 8, 8] (digits) but the network takes [3, 32, 32]: try \
--set channels=1 --set size=8, or declare `input x[1, 8, 8]`
    """
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) \
            or not 0.0 < holdout < 1.0:
        raise ResgraphError("RG713", f"--holdout must be a fraction between 0 and 1, got "
                            f"{holdout!r}")
    data = _load(spec, input_shape, seed, holdout, hparams)
    return normalized(data) if normalize else data


def normalized(data: Data) -> Data:
    """``data`` with its training images' per-channel mean subtracted and divided by their
    standard deviation (a channel that is constant is only shifted).

    >>> x = torch.tensor([[[[0.0, 0.0]]], [[[2.0, 2.0]]]])  # 2 images [1, 1, 2]
    >>> d = normalized(Data("d", TensorDataset(x, torch.tensor([0, 1])),
    ...                     TensorDataset(x, torch.tensor([0, 1])), 2))
    >>> d.normalization, d.train.tensors[0].flatten().tolist()
    (([1.0], [1.0]), [-1.0, -1.0, 1.0, 1.0])
    """
    x = data.train.tensors[0]
    dims = [d for d in range(x.dim()) if d != 1] if x.dim() == 4 else list(range(x.dim()))
    mean = x.mean(dim=dims, dtype=torch.float64)
    std = x.double().std(dim=dims, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    view = (1, -1, 1, 1) if x.dim() == 4 else (1,) * x.dim()

    def scale(t: torch.Tensor) -> torch.Tensor:
        return ((t.double() - mean.view(view)) / std.view(view)).float()

    return Data(data.name, TensorDataset(scale(x), data.train.tensors[1]),
                TensorDataset(scale(data.test.tensors[0]), data.test.tensors[1]), data.classes,
                data.heldout, ([round(float(m), 6) for m in mean.flatten()],
                               [round(float(s), 6) for s in std.flatten()]))


def _load(spec: str, input_shape: tuple[int, ...], seed: int, holdout: float,
          hparams: Mapping[str, Any] | None) -> Data:
    if spec == "digits":
        return _digits(input_shape, hparams)
    path = Path(spec)
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        raise ResgraphError("RG740", f"--data {spec}: no such file or folder; give digits, "
                            "an image folder, a .npz file or a CIFAR-10/100 python folder") \
            from None
    if stat.S_ISDIR(info.st_mode):
        if _is_cifar(path):
            x_tr, y_tr, x_te, y_te, classes, heldout = _cifar(path)
        else:
            return _image_folder(path, spec.rstrip("/") or spec, input_shape, seed, holdout,
                                 hparams)
    elif path.suffix.lower() == ".npz" and stat.S_ISREG(info.st_mode):
        x_tr, y_tr, x_te, y_te, heldout = _npz(path, seed, holdout)
        classes = int(max(int(y_tr.max()), int(y_te.max()))) + 1
    else:
        raise ResgraphError("RG740", f"--data {spec}: not a data set resgraph reads; give "
                            "digits, an image folder, a .npz file or a CIFAR-10/100 python "
                            "folder")
    name = path.name or os.path.basename(os.path.abspath(spec))
    x_tr = _fit(x_tr, input_shape, name, hparams)
    x_te = _fit(x_te, input_shape, name, hparams)
    return Data(name, TensorDataset(x_tr, y_tr), TensorDataset(x_te, y_te), classes, heldout)


# ---------------------------------------------------------------- shapes


def _fit(x: torch.Tensor, input_shape: tuple[int, ...], name: str,
         hparams: Mapping[str, Any] | None) -> torch.Tensor:
    """``x`` (``[N, *natural]``) as ``[N, *input_shape]``: as it is, flattened for a vector
    input, or RG711."""
    natural = tuple(x.shape[1:])
    if natural == tuple(input_shape):
        return x
    if len(input_shape) == 1 and math.prod(natural) == input_shape[0]:
        return x.reshape(len(x), -1)
    raise _mismatch(natural, input_shape, name, hparams)


def _mismatch(natural: tuple[int, ...], want: tuple[int, ...], name: str,
              hparams: Mapping[str, Any] | None) -> ResgraphError:
    """RG711: both shapes, and the ``--set`` that looks like it fits the network to the data."""
    sets: list[str] = []
    params = dict(hparams or {})
    if len(natural) == 3 and len(want) == 3:
        roles = [(0, _CHANNEL_NAMES)]
        if natural[1] == natural[2] and want[1] == want[2]:
            roles.append((1, _SIZE_NAMES))
        for dim, names in roles:
            if natural[dim] == want[dim]:
                continue
            key = next((k for k in names if params.get(k) == want[dim]
                        and not isinstance(params.get(k), bool)), None)
            if key is not None:
                sets.append(f"--set {key}={natural[dim]}")
    shown = ", ".join(str(d) for d in natural)
    fix = f"declare `input x[{shown}]`"
    return ResgraphError("RG711", f"the data are {list(natural)} ({name}) but the network "
                         f"takes {list(want)}: " + (f"try {' '.join(sets)}, or {fix}" if sets
                                                    else fix))


# ---------------------------------------------------------------- digits


def _digits(input_shape: tuple[int, ...], hparams: Mapping[str, Any] | None) -> Data:
    try:
        import sklearn  # noqa: F401  (first: a hidden top-level package must fail here)
        from sklearn.datasets import load_digits as sk_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ResgraphError("RG714", "the digits data needs scikit-learn: "
                            "pip install 'resgraph[train]'") from None
    data = sk_digits()
    y = torch.tensor(data.target, dtype=torch.long)
    x = torch.tensor(data.data, dtype=torch.float32).reshape(len(y), 1, 8, 8) / 16.0
    x = _fit(x, input_shape, "digits", hparams)
    idx_train, idx_test = train_test_split(range(len(y)), test_size=0.2, random_state=0,
                                           stratify=data.target)
    return Data("digits", TensorDataset(x[idx_train], y[idx_train]),
                TensorDataset(x[idx_test], y[idx_test]), 10)


# ---------------------------------------------------------------- splits and checks


def stratified_split(y: torch.Tensor, holdout: float, seed: int) -> tuple[torch.Tensor,
                                                                          torch.Tensor]:
    """Indices (train, test) holding out ``holdout`` of each class (rounded; at least one
    sample of every class with two or more), shuffled by ``seed``; both sorted.

    >>> tr, te = stratified_split(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.25, 0)
    >>> len(tr), len(te), sorted(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])[te].tolist())
    (7, 3, [0, 1, 1])
    """
    gen = torch.Generator().manual_seed(seed)
    train_idx: list[torch.Tensor] = []
    test_idx: list[torch.Tensor] = []
    for label in torch.unique(y).tolist():
        idx = torch.nonzero(y == label).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_test = min(max(round(len(idx) * holdout), 1), len(idx) - 1) if len(idx) > 1 else 0
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    return torch.cat(train_idx).sort().values, torch.cat(test_idx).sort().values


def _split(x: torch.Tensor, y: torch.Tensor, seed: int, holdout: float,
           name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    tr, te = stratified_split(y, holdout, seed)
    if len(te) == 0 or len(tr) == 0:
        raise ResgraphError("RG742", f"{name}: {len(y)} samples are too few to hold out "
                            f"{holdout:.0%} for testing (every class with one sample stays "
                            "in training); give more samples or a held-out set")
    return x[tr], y[tr], x[te], y[te], f"seeded {holdout:.0%} split"


def _labels(y: Any, name: str, what: str) -> torch.Tensor:
    """``y`` as int64 labels ``[N]``; RG741 unless they are non-negative integers."""
    t = torch.as_tensor(y)
    if t.dim() != 1 or t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise ResgraphError("RG741", f"{name}: {what} must be a 1-D array of integer class "
                            f"labels, got {t.dtype} {list(t.shape)}")
    t = t.long()
    if len(t) and int(t.min()) < 0:
        raise ResgraphError("RG741", f"{name}: {what} holds the negative label {int(t.min())}; "
                            "labels are 0 .. classes - 1")
    return t


def _pixels(x: Any, name: str, what: str) -> torch.Tensor:
    """``x`` as float32: ``uint8`` scaled to [0, 1], floats as they are (finite)."""
    t = torch.as_tensor(x)
    if t.dtype == torch.uint8:
        return t.float() / 255.0
    if t.dtype == torch.bool:
        return t.float()
    if not t.dtype.is_floating_point:
        raise ResgraphError("RG741", f"{name}: {what} is {t.dtype}; give uint8 pixels "
                            "(scaled to [0, 1]) or floats")
    t = t.float()
    if not bool(torch.isfinite(t).all()):
        raise ResgraphError("RG741", f"{name}: {what} holds NaN or infinite values")
    return t


def _pair(x: torch.Tensor, y: torch.Tensor, name: str, what: str) -> None:
    if len(x) != len(y):
        raise ResgraphError("RG741", f"{name}: {what} has {len(x)} samples but "
                            f"{len(y)} labels")
    if x.dim() < 2:
        raise ResgraphError("RG741", f"{name}: {what} must be [N, ...] samples, got "
                            f"{list(x.shape)}")


def _nchw(x: torch.Tensor) -> torch.Tensor:
    """Images as ``[N, C, H, W]``: ``[N, H, W]`` gains a channel, ``[N, H, W, C]`` (C of 1,
    3 or 4 last, not first) is permuted; other shapes are kept."""
    if x.dim() == 3:
        return x.unsqueeze(1)
    if x.dim() == 4 and x.shape[3] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        return x.permute(0, 3, 1, 2).contiguous()
    return x


# ---------------------------------------------------------------- .npz


def _npz(path: Path, seed: int, holdout: float) -> tuple[torch.Tensor, torch.Tensor,
                                                         torch.Tensor, torch.Tensor, str]:
    import numpy as np

    name = path.name
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise ResgraphError("RG741", f"{name}: not an .npz archive (a zip of .npy "
                                    "arrays, as numpy.savez writes)")
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            if {"x_train", "y_train", "x_test", "y_test"} <= keys:
                arrays = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
                split = None
            elif {"x", "y"} <= keys:
                arrays = [npz["x"], npz["y"]]
                split = "x"
            else:
                raise ResgraphError("RG741", f"{name}: expected arrays x and y, or x_train, "
                                    f"y_train, x_test and y_test; found "
                                    f"{', '.join(sorted(keys)) or 'none'}")
    except ResgraphError:
        raise
    except ValueError as exc:  # object arrays (they would need unpickling)
        why = "it holds object arrays, which would need unpickling" if "pickle" in str(exc) \
            else str(exc)
        raise ResgraphError("RG741", f"{name}: cannot read it: {why}") from None
    except (OSError, EOFError, KeyError) as exc:
        raise ResgraphError("RG741", f"{name}: cannot read it as an .npz archive: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    if split is not None:
        x, y = _nchw(_pixels(arrays[0], name, "x")), _labels(arrays[1], name, "y")
        _pair(x, y, name, "x")
        return _split(x, y, seed, holdout, name)
    x_tr, y_tr = _nchw(_pixels(arrays[0], name, "x_train")), _labels(arrays[1], name, "y_train")
    x_te, y_te = _nchw(_pixels(arrays[2], name, "x_test")), _labels(arrays[3], name, "y_test")
    _pair(x_tr, y_tr, name, "x_train")
    _pair(x_te, y_te, name, "x_test")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise ResgraphError("RG741", f"{name}: x_train samples are {list(x_tr.shape[1:])} but "
                            f"x_test samples are {list(x_te.shape[1:])}")
    if len(x_tr) == 0 or len(x_te) == 0:
        raise ResgraphError("RG742", f"{name}: x_train and x_test must each hold samples")
    return x_tr, y_tr, x_te, y_te, "x_test"


# ---------------------------------------------------------------- CIFAR


class _SafeUnpickler(pickle.Unpickler):
    """Builds plain containers and numpy arrays only: any other global is refused."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray",
                                                           "_reconstruct"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR file "
                                     "never holds")


def _is_cifar(folder: Path) -> bool:
    return (folder / "test_batch").is_file() or (
        (folder / "train").is_file() and (folder / "test").is_file())


def _read_pickle(path: Path) -> dict[bytes, Any]:
    """One CIFAR batch file: a regular file (not a link) in the folder, safely unpickled."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ResgraphError("RG741", f"{path.parent.name}/{path.name}: cannot read it: "
                            f"{exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ResgraphError("RG741", f"{path.parent.name}/{path.name}: not a regular file")
        raw = fh.read()
    try:
        obj = _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any malformed pickle is a bad file
        raise ResgraphError("RG741", f"{path.parent.name}/{path.name}: not a CIFAR batch in "
                            f"the python format: {exc}") from None
    if not isinstance(obj, dict):
        raise ResgraphError("RG741", f"{path.parent.name}/{path.name}: not a CIFAR batch (a "
                            f"{type(obj).__name__}, not a dict)")
    return {k.encode() if isinstance(k, str) else k: v for k, v in obj.items()}


def _cifar_batch(path: Path, label_key: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    import numpy as np

    where = f"{path.parent.name}/{path.name}"
    batch = _read_pickle(path)
    if b"data" not in batch or label_key not in batch:
        raise ResgraphError("RG741", f"{where}: a CIFAR batch holds {b'data'!r} and "
                            f"{label_key!r}; found {', '.join(map(repr, batch))}")
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        shown = f"{data.dtype} {list(data.shape)}" if isinstance(data, np.ndarray) \
            else type(data).__name__
        raise ResgraphError("RG741", f"{where}: data must be uint8 [N, 3072] (32×32 RGB "
                            f"rows), got {shown}")
    try:
        labels = np.asarray(batch[label_key])
    except (TypeError, ValueError):
        labels = np.asarray([])
    if labels.dtype.kind not in "iu":
        raise ResgraphError("RG741", f"{where}: the {label_key.decode()} must be integers")
    y = _labels(labels.astype(np.int64), where, label_key.decode())
    x = torch.from_numpy(data.copy()).reshape(-1, 3, 32, 32)
    _pair(x, y, where, "data")
    return x, y


def _cifar(folder: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int,
                                  str]:
    if (folder / "test_batch").is_file():
        label, classes = b"labels", 10
        train_files = [folder / f for f in _CIFAR10 if (folder / f).exists()]
        test_file = folder / "test_batch"
        if not train_files:
            raise ResgraphError("RG742", f"{folder.name}: a CIFAR-10 folder holds "
                                "data_batch_1 .. data_batch_5; none is there")
    else:
        label, classes = b"fine_labels", 100
        train_files, test_file = [folder / "train"], folder / "test"
    parts = [_cifar_batch(f, label) for f in train_files]
    x_te, y_te = _cifar_batch(test_file, label)
    x_tr, y_tr = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    top = max(int(y_tr.max()) if len(y_tr) else 0, int(y_te.max()) if len(y_te) else 0)
    if top >= classes:
        raise ResgraphError("RG741", f"{folder.name}: label {top} is out of range for "
                            f"CIFAR-{classes} (0 .. {classes - 1})")
    if len(x_tr) == 0 or len(x_te) == 0:
        raise ResgraphError("RG742", f"{folder.name}: the training and test batches must "
                            "each hold images")
    return x_tr.float() / 255.0, y_tr, x_te.float() / 255.0, y_te, classes, test_file.name


# ---------------------------------------------------------------- image folders


def _class_folders(root: Path, label: str) -> dict[str, list[Path]]:
    """Class name → its image files (sorted), for every visible sub-folder of ``root``
    (``label`` names it in messages)."""
    out: dict[str, list[Path]] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        files = sorted(Path(entry.path) / f.name for f in os.scandir(entry.path)
                       if f.is_file() and not f.name.startswith(".")
                       and os.path.splitext(f.name)[1].lower() in IMAGE_EXTENSIONS)
        if not files and _is_cifar(Path(entry.path)):
            raise ResgraphError("RG740", f"{label} is no image folder, but {label}/{entry.name} "
                                f"is a CIFAR folder: give --data {label}/{entry.name}")
        if not files:
            raise ResgraphError("RG742", f"{label}/{entry.name}: the class folder holds no "
                                f"images ({', '.join(IMAGE_EXTENSIONS)})")
        out[entry.name] = files
    if not out:
        raise ResgraphError("RG740", f"{label}: neither an image folder (one sub-folder "
                            "of images per class, or train/ and val/) nor a CIFAR python "
                            "folder (data_batch_1 .. 5 and test_batch, or train and test)")
    return out


def _read_images(files: list[Path], root: Path, label: str, mode: str) -> torch.Tensor:
    """The images as uint8 ``[N, C, H, W]`` (C = 1 for mode L, 3 for RGB); all one size."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ResgraphError("RG714", "image folders need pillow: pip install "
                            "'resgraph[train]'") from None
    arrays: list[torch.Tensor] = []
    size: tuple[int, int] | None = None
    first = ""
    for f in files:
        shown = os.path.join(label, os.path.relpath(f, root))
        try:
            with Image.open(f) as opened:
                img = opened.convert(mode)
            if size is None:
                size, first = img.size, shown
            elif img.size != size:
                raise ResgraphError("RG741", f"{shown} is {img.size[0]}×{img.size[1]} but "
                                    f"{first} is {size[0]}×{size[1]}: the images of a "
                                    "data set must have one size; resize them")
            t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
            arrays.append(t.reshape(img.size[1], img.size[0], -1).permute(2, 0, 1))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise ResgraphError("RG741", f"{shown}: cannot read the image: {exc}") from None
    return torch.stack(arrays)


def _image_folder(root: Path, label: str, input_shape: tuple[int, ...], seed: int,
                  holdout: float, hparams: Mapping[str, Any] | None) -> Data:
    heldout = next((h for h in HELDOUT_FOLDERS if (root / h).is_dir()), None)
    if (root / "train").is_dir() and heldout is not None:
        train_classes = _class_folders(root / "train", f"{label}/train")
        test_classes = _class_folders(root / heldout, f"{label}/{heldout}")
        extra = sorted(set(test_classes) - set(train_classes))
        if extra:
            raise ResgraphError("RG742", f"{label}/{heldout}: class '{extra[0]}' has no "
                                "images in train/")
    else:
        train_classes, test_classes, heldout = _class_folders(root, label), {}, None
    names = sorted(train_classes)
    mode = "L" if len(input_shape) == 3 and input_shape[0] == 1 else "RGB"
    if len(input_shape) == 1:  # vectors: the images' own channels decide
        mode = _common_mode([f for fs in train_classes.values() for f in fs[:1]])

    def read(classes: dict[str, list[Path]]) -> tuple[torch.Tensor, torch.Tensor]:
        files = [f for n in names for f in classes.get(n, [])]
        y = torch.tensor([i for i, n in enumerate(names) for _ in classes.get(n, [])],
                         dtype=torch.long)
        return _read_images(files, root, label, mode).float() / 255.0, y

    x, y = read(train_classes)
    if heldout is None:
        x_tr, y_tr, x_te, y_te, split = _split(x, y, seed, holdout, label)
    else:
        (x_te, y_te), split = read(test_classes), f"{heldout}/"
        if x_te.shape[1:] != x.shape[1:]:
            raise ResgraphError("RG741", f"{label}: {heldout}/ images are "
                                f"{list(x_te.shape[2:])} but train/ images are "
                                f"{list(x.shape[2:])}")
        x_tr, y_tr = x, y
    name = root.name or os.path.basename(os.path.abspath(root))
    x_tr, x_te = (_fit(t, input_shape, name, hparams) for t in (x_tr, x_te))
    return Data(name, TensorDataset(x_tr, y_tr), TensorDataset(x_te, y_te), len(names),
                split)


def _common_mode(files: list[Path]) -> str:
    from PIL import Image

    for f in files:
        try:
            with Image.open(f) as img:
                if img.mode not in ("L", "1", "I", "F", "LA", "I;16"):
                    return "RGB"
        except OSError:
            continue  # reported when read
    return "L"


# ---------------------------------------------------------------- augmentation


def augment(x: torch.Tensor, generator: torch.Generator, crop_pad: int = 0,
            flip: bool = False) -> torch.Tensor:
    """A training batch ``[B, C, H, W]`` randomly cropped after zero-padding by ``crop_pad``
    on each side, and flipped left-right with probability 1/2, draws from ``generator``.

    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> augment(x, torch.Generator().manual_seed(0), flip=True)[0, 0, 0].tolist()
    [3.0, 2.0, 1.0, 0.0]
    >>> augment(x, torch.Generator().manual_seed(1), crop_pad=1).shape
    torch.Size([1, 1, 4, 4])
    """
    if x.dim() != 4 or (crop_pad == 0 and not flip):
        return x
    b, c, h, w = x.shape
    if crop_pad > 0:
        padded = torch.nn.functional.pad(x, (crop_pad,) * 4)
        dy = torch.randint(0, 2 * crop_pad + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * crop_pad + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
        x = padded[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None],
                   rows, cols]
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x
