"""Readers of the data formats of :func:`resgraph.lower.data.load_data`: ``.npz`` files,
CIFAR-10/100 python folders and image folders, each giving a :class:`Split` of raw
tensors (images ``[N, C, H, W]`` float32 in [0, 1] where the file holds ``uint8``), and
the seeded stratified hold-out split they share.

CIFAR files are pickles; :class:`_SafeUnpickler` builds only dicts, lists, strings,
numbers and numpy arrays from them, so a tampered file is refused (RG741), never run.

>>> tr, te = stratified_split(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.25, 0)
>>> len(tr), len(te)
(7, 3)
"""

from __future__ import annotations

import io
import os
import pickle
import stat
from pathlib import Path
from typing import Any, NamedTuple

import torch

from resgraph.errors import ResgraphError

#: The file extensions read from an image folder.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
#: The held-out folder names of the ``train/`` + ``val/`` layout, in the order looked for.
HELDOUT_FOLDERS = ("val", "test")
_CIFAR10 = tuple(f"data_batch_{i}" for i in range(1, 6))


class Split(NamedTuple):
    """A data set as read: training and held-out tensors, the class count, and what the
    held-out set is ("seeded 20% split", "val/", "x_test", "test_batch"...)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int
    heldout: str


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
    tr, te = stratified_split(y, holdout, seed) if len(y) else (y, y)
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
        return t.float().div_(255.0)
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


def read_npz(path: Path, seed: int, holdout: float) -> Split:
    """``x``, ``y`` (split by ``seed``) or ``x_train``, ``y_train``, ``x_test``, ``y_test``
    from an ``.npz`` file, read without unpickling; classes: the largest label plus one."""
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
        x_tr, y_tr, x_te, y_te, heldout = _split(x, y, seed, holdout, name)
        return Split(x_tr, y_tr, x_te, y_te, int(y.max()) + 1, heldout)
    x_tr, y_tr = _nchw(_pixels(arrays[0], name, "x_train")), _labels(arrays[1], name, "y_train")
    x_te, y_te = _nchw(_pixels(arrays[2], name, "x_test")), _labels(arrays[3], name, "y_test")
    _pair(x_tr, y_tr, name, "x_train")
    _pair(x_te, y_te, name, "x_test")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise ResgraphError("RG741", f"{name}: x_train samples are {list(x_tr.shape[1:])} but "
                            f"x_test samples are {list(x_te.shape[1:])}")
    if len(x_tr) == 0 or len(x_te) == 0:
        raise ResgraphError("RG742", f"{name}: x_train and x_test must each hold samples")
    return Split(x_tr, y_tr, x_te, y_te, max(int(y_tr.max()), int(y_te.max())) + 1, "x_test")


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


def is_cifar(folder: Path) -> bool:
    """Whether ``folder`` holds CIFAR-10 (``test_batch``) or CIFAR-100 (``train``, ``test``)
    python files."""
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


def read_cifar(folder: Path) -> Split:
    """Every ``data_batch_N`` there and ``test_batch`` (CIFAR-10), or ``train`` and ``test``
    with the fine labels (CIFAR-100), as ``[N, 3, 32, 32]`` images."""
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
    return Split(x_tr.float().div_(255.0), y_tr, x_te.float().div_(255.0), y_te, classes,
                 test_file.name)


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
        if not files and is_cifar(Path(entry.path)):
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


def _read_images(files: list[Path], root: Path, label: str, mode: str,
                 resize: tuple[int, int] | None = None) -> torch.Tensor:
    """The images as uint8 ``[N, C, H, W]`` (C = 1 for mode L, 3 for RGB); all one size, or
    resized to ``resize`` (height, width) with antialiased bilinear interpolation."""
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
            if resize is not None and img.size != (resize[1], resize[0]):
                img = img.resize((resize[1], resize[0]), Image.Resampling.BILINEAR)
            if size is None:
                size, first = img.size, shown
            elif img.size != size:
                raise ResgraphError("RG741", f"{shown} is {img.size[0]}×{img.size[1]} but "
                                    f"{first} is {size[0]}×{size[1]}: the images of a "
                                    "data set must have one size: give --resize to fit "
                                    "them to the network's input")
            t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
            arrays.append(t.reshape(img.size[1], img.size[0], -1).permute(2, 0, 1))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise ResgraphError("RG741", f"{shown}: cannot read the image: {exc}") from None
    return torch.stack(arrays)


def read_image_folder(root: Path, label: str, input_shape: tuple[int, ...], seed: int,
                      holdout: float, resize: bool = False) -> Split:
    """``root/CLASS/*.png`` (split by ``seed``) or ``root/train/CLASS/...`` with
    ``root/val/`` (or ``test/``), read as grey images for a network whose input has one
    channel, RGB for others (vectors: RGB where any image has colour); ``resize``: every
    image resized to the input's height and width; ``label`` names ``root`` in messages."""
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
    size = (input_shape[1], input_shape[2]) if resize and len(input_shape) == 3 else None
    mode = "L" if len(input_shape) == 3 and input_shape[0] == 1 else "RGB"
    if len(input_shape) == 1:  # vectors: the images' own channels decide
        mode = _common_mode([f for fs in train_classes.values() for f in fs[:1]])

    def read(classes: dict[str, list[Path]]) -> tuple[torch.Tensor, torch.Tensor]:
        files = [f for n in names for f in classes.get(n, [])]
        y = torch.tensor([i for i, n in enumerate(names) for _ in classes.get(n, [])],
                         dtype=torch.long)
        return _read_images(files, root, label, mode, size).float().div_(255.0), y

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
    return Split(x_tr, y_tr, x_te, y_te, len(names), split)


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
