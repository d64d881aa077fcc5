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

import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from resgraph.errors import ResgraphError
from resgraph.lower.data_formats import (
    IMAGE_EXTENSIONS,
    is_cifar,
    read_cifar,
    read_image_folder,
    read_npz,
    stratified_split,
)

__all__ = ["IMAGE_EXTENSIONS", "SPLIT_SEED", "Data", "augment", "load_data", "normalized",
           "stratified_split"]

#: The seed of the hold-out split ``resgraph train`` uses, whatever its ``--seed``: runs with
#: different seeds (and lesion studies of them) are tested on the same images.
SPLIT_SEED = 0

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
              hparams: Mapping[str, Any] | None = None, normalize: bool = False,
              resize: bool = False) -> Data:
    """Load ``spec`` (see the module docstring) shaped for a network whose input is
    ``input_shape``.

    ``seed`` and ``holdout`` (the held-out fraction) make the split where the data do not
    come with one; the digits always use their fixed split. ``normalize`` subtracts the
    training images' mean and divides by their standard deviation, per channel (vectors:
    over all values), from both sets. ``resize`` fits images of other heights and widths
    to the network's (antialiased bilinear; image folders may then mix sizes). ``hparams``
    (the network's parameters) only improve the hint of a shape mismatch. Errors: RG740
    (no such data),
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
    data = _load(spec, input_shape, seed, holdout, hparams, resize)
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
    std, mean = torch.std_mean(x, dim=dims, correction=0)  # float32, no float64 copy
    std = torch.where(std > 0, std, torch.ones_like(std))
    view = (1, -1, 1, 1) if x.dim() == 4 else (1,) * x.dim()

    def scale(t: torch.Tensor) -> torch.Tensor:
        return (t - mean.view(view)).div_(std.view(view))

    return Data(data.name, TensorDataset(scale(x), data.train.tensors[1]),
                TensorDataset(scale(data.test.tensors[0]), data.test.tensors[1]), data.classes,
                data.heldout, ([round(float(m), 6) for m in mean.flatten()],
                               [round(float(s), 6) for s in std.flatten()]))


def _load(spec: str, input_shape: tuple[int, ...], seed: int, holdout: float,
          hparams: Mapping[str, Any] | None, resize: bool) -> Data:
    if spec == "digits":
        return _digits(input_shape, hparams, resize)
    path = Path(spec)
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        raise ResgraphError("RG740", f"--data {spec}: no such file or folder; give digits, "
                            "an image folder, a .npz file or a CIFAR-10/100 python folder") \
            from None
    if stat.S_ISDIR(info.st_mode):
        read = read_cifar(path) if is_cifar(path) else \
            read_image_folder(path, spec.rstrip("/") or spec, input_shape, seed, holdout,
                              resize)
    elif path.suffix.lower() == ".npz" and stat.S_ISREG(info.st_mode):
        read = read_npz(path, seed, holdout)
    else:
        raise ResgraphError("RG740", f"--data {spec}: not a data set resgraph reads; give "
                            "digits, an image folder, a .npz file or a CIFAR-10/100 python "
                            "folder")
    name = path.name or os.path.basename(os.path.abspath(spec))
    x_tr = _fit(read.x_train, input_shape, name, hparams, resize)
    x_te = _fit(read.x_test, input_shape, name, hparams, resize)
    return Data(name, TensorDataset(x_tr, read.y_train), TensorDataset(x_te, read.y_test),
                read.classes, read.heldout)


# ---------------------------------------------------------------- shapes


def _fit(x: torch.Tensor, input_shape: tuple[int, ...], name: str,
         hparams: Mapping[str, Any] | None, resize: bool = False) -> torch.Tensor:
    """``x`` (``[N, *natural]``) as ``[N, *input_shape]``: as it is, flattened for a vector
    input, resized (``resize``: images with the input's channels), or RG711.

    >>> _fit(torch.ones(2, 1, 8, 8), (1, 16, 16), "ones", None, resize=True).shape
    torch.Size([2, 1, 16, 16])
    """
    natural = tuple(x.shape[1:])
    if natural == tuple(input_shape):
        return x
    if len(input_shape) == 1 and math.prod(natural) == input_shape[0]:
        return x.reshape(len(x), -1)
    if resize and x.dim() == 4 and len(input_shape) == 3 and natural[0] == input_shape[0]:
        return torch.nn.functional.interpolate(x, size=input_shape[1:], mode="bilinear",
                                               antialias=True, align_corners=False)
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
    ways = [" ".join(sets)] if sets else []
    if len(natural) == 3 and len(want) == 3 and natural[0] == want[0]:
        ways.append("--resize")  # the channels agree: the images can be resized
    shown = ", ".join(str(d) for d in natural)
    ways.append(f"declare `input x[{shown}]`")
    fix = f"try {', '.join(ways[:-1])}, or {ways[-1]}" if len(ways) > 1 else ways[0]
    return ResgraphError("RG711", f"the data are {list(natural)} ({name}) but the network "
                         f"takes {list(want)}: {fix}")


# ---------------------------------------------------------------- digits


def _digits(input_shape: tuple[int, ...], hparams: Mapping[str, Any] | None,
            resize: bool = False) -> Data:
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
    x = _fit(x, input_shape, "digits", hparams, resize)
    idx_train, idx_test = train_test_split(range(len(y)), test_size=0.2, random_state=0,
                                           stratify=data.target)
    return Data("digits", TensorDataset(x[idx_train], y[idx_train]),
                TensorDataset(x[idx_test], y[idx_test]), 10)


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
