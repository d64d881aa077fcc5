"""``resgraph train --data``: every format from small generated files, one epoch each; the
shape check's message; refusals of malformed files (never unpickled freely); augmentation."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import resgraph
from resgraph.cli import main as resgraph_cli
from resgraph.errors import ResgraphError
from resgraph.lower.data import augment, load_data, stratified_split
from resgraph.lower.train import train

ROOT = Path(__file__).resolve().parent.parent
DIGITS_RESNET = ROOT / "examples" / "digits_resnet.rg"
#: A tiny convolutional net whose input is set by parameters, like examples/vit.rg's.
TINY = ("network tiny(classes=10, channels=3, size=32) {\n"
        "    input x[channels, size, size]\n"
        "    x -> conv(4, 3, stride=2) -> relu -> gap -> flatten -> linear(classes)\n}\n")


def quiet(_: str) -> None:
    pass


def _cifar_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small data set in each format (40 8×8 grey images of 4 classes, CIFAR 32×32)."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    y = np.arange(40) % 4
    np.savez(root / "xy.npz", x=x, y=y)
    np.savez(root / "split.npz", x_train=x[:30, :, :, None], y_train=y[:30],
             x_test=x[30:, :, :, None], y_test=y[30:])  # NHWC, as Keras writes them
    for i in range(40):
        name = f"class{y[i]}"
        for folder in (root / "folder" / name,
                       root / "tv" / ("train" if i < 28 else "val") / name):
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x[i]).save(folder / f"{i:02}.png")
    c10 = root / "cifar10"
    c10.mkdir()
    for i in range(1, 6):  # pickled as the official files are: protocol 2, bytes keys
        with open(c10 / f"data_batch_{i}", "wb") as fh:
            pickle.dump({b"batch_label": b"training batch", b"data": _cifar_rows(rng, 8),
                         b"labels": rng.integers(0, 10, 8).tolist()}, fh, protocol=2)
    with open(c10 / "test_batch", "wb") as fh:
        pickle.dump({b"data": _cifar_rows(rng, 10), b"labels": list(range(10))}, fh, protocol=2)
    c100 = root / "cifar100"
    c100.mkdir()
    for name, n in (("train", 30), ("test", 10)):
        with open(c100 / name, "wb") as fh:
            pickle.dump({"data": _cifar_rows(rng, n), "fine_labels": list(range(0, 3 * n, 3)),
                         "coarse_labels": [0] * n}, fh)
    return root


# (spec, network file, --set values, train count, test count, classes, held-out)
FORMATS = [
    ("digits", None, {}, 1437, 360, 10, ""),
    ("xy.npz", None, {}, 32, 8, 4, "seeded 20% split"),
    ("split.npz", None, {}, 30, 10, 4, "x_test"),
    ("folder", None, {}, 32, 8, 4, "seeded 20% split"),
    ("tv", None, {}, 28, 12, 4, "val/"),
    ("cifar10", TINY, {}, 40, 10, 10, "test_batch"),
    ("cifar100", TINY, {"classes": 100}, 30, 10, 100, "test"),
]


@pytest.mark.parametrize(("spec", "net", "sets", "n_train", "n_test", "classes", "heldout"),
                         FORMATS, ids=[f[0] for f in FORMATS])
def test_one_epoch_on_each_format(data_dir: Path, spec: str, net: str | None,
                                  sets: dict[str, int], n_train: int, n_test: int,
                                  classes: int, heldout: str) -> None:
    arch = resgraph.loads(net, **sets) if net else \
        resgraph.load(str(DIGITS_RESNET), width=4)
    where = spec if spec == "digits" else str(data_dir / spec)
    lines: list[str] = []
    result = train(arch, epochs=1, batch_size=16, data=where, progress=False,
                   log=lines.append, max_steps=None if spec != "digits" else 5)
    assert len(result["train_losses"]) == 1 and 0.0 <= result["test_accuracy"] <= 1.0
    split = f" ({heldout})" if heldout else ""
    shape = list(next(iter(arch.inputs.values())))
    assert (f"{Path(spec).name}: {n_train:,} train / {n_test:,} test{split} samples {shape}, "
            f"{classes} classes") in lines[0]


def test_pixels_and_labels_are_the_files(data_dir: Path) -> None:
    """Each loader gives the files' own pixels (scaled to [0, 1]) and labels."""
    x = np.load(data_dir / "xy.npz")["x"]
    npz = load_data(str(data_dir / "split.npz"), (1, 8, 8))
    assert torch.equal(npz.train.tensors[0][:, 0], torch.from_numpy(x[:30]).float() / 255)
    folder = load_data(str(data_dir / "tv"), (64,))  # flattened for a vector input
    assert torch.equal(folder.test.tensors[0][0], torch.from_numpy(x[28]).flatten() / 255)
    assert folder.test.tensors[1][:3].tolist() == [0, 0, 0]  # class0: images 28, 32, 36
    with open(data_dir / "cifar10" / "test_batch", "rb") as fh:
        row = pickle.load(fh, encoding="bytes")[b"data"][3]
    cifar = load_data(str(data_dir / "cifar10"), (3, 32, 32))
    assert torch.equal(cifar.test.tensors[0][3, 1, 0, :5],  # green plane, first row
                       torch.from_numpy(row[1024:1029].copy()).float() / 255)
    assert cifar.test.tensors[1].tolist() == list(range(10))
    rgb = load_data(str(data_dir / "folder"), (3, 8, 8))  # grey images as RGB for a 3-channel net
    assert torch.equal(rgb.train.tensors[0][:, 0], rgb.train.tensors[0][:, 2])


def test_the_holdout_split_is_stratified_and_seeded() -> None:
    y = torch.arange(50) % 5
    tr, te = stratified_split(y, 0.2, seed=3)
    assert y[te].bincount().tolist() == [2] * 5 and len(tr) == 40
    assert torch.equal(te, stratified_split(y, 0.2, seed=3)[1])
    assert not torch.equal(te, stratified_split(y, 0.2, seed=4)[1])


def test_a_shape_mismatch_says_both_shapes_and_the_set_to_try(data_dir: Path) -> None:
    arch = resgraph.loads(TINY, channels=1, size=8)
    with pytest.raises(ResgraphError) as err:
        train(arch, epochs=1, data=str(data_dir / "cifar10"), progress=False, log=quiet)
    assert err.value.code == "RG711"
    assert err.value.message == ("the data are [3, 32, 32] (cifar10) but the network takes "
                                 "[1, 8, 8]: try --set channels=3 --set size=32, or declare "
                                 "`input x[3, 32, 32]`")
    with pytest.raises(ResgraphError, match=r"the data are \[1, 8, 8\] \(digits\) but the "
                       r"network takes \[3, 32, 32\]: declare `input x\[1, 8, 8\]`$"):
        load_data("digits", (3, 32, 32))


def test_cifar_files_are_never_unpickled_freely(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.mkdir, (str(tmp_path / "pwned"),))

    (tmp_path / "c").mkdir()
    for name in ("data_batch_1", "test_batch"):
        with open(tmp_path / "c" / name, "wb") as fh:
            pickle.dump({b"data": Evil(), b"labels": [0]}, fh, protocol=2)
    with pytest.raises(ResgraphError, match=r"RG741.*c/data_batch_1: not a CIFAR batch in the "
                       r"python format: it refers to posix.mkdir"):
        load_data(str(tmp_path / "c"), (3, 32, 32))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("arrays", "code", "message"), [
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.arange(3)}, "RG741",
     "bad.npz: x has 4 samples but 3 labels"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.array([0, 1, -1, 0])}, "RG741",
     "bad.npz: y holds the negative label -1; labels are 0 .. classes - 1"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.array([0.0, 1, 1, 0])}, "RG741",
     "bad.npz: y must be a 1-D array of integer class labels, got torch.float64 [4]"),
    ({"images": np.zeros((4, 8, 8))}, "RG741",
     "bad.npz: expected arrays x and y, or x_train, y_train, x_test and y_test; found images"),
    ({"x": np.array([None] * 4, dtype=object), "y": np.arange(4)}, "RG741",
     "bad.npz: cannot read it: it holds object arrays, which would need unpickling"),
    ({"x": np.zeros((2, 8, 8), np.uint8), "y": np.arange(2)}, "RG742",
     "bad.npz: 2 samples are too few to hold out 20% for testing"),
], ids=["lengths", "negative", "float-labels", "keys", "objects", "too-few"])
def test_malformed_npz_files_are_refused(tmp_path: Path, arrays: dict[str, np.ndarray],
                                         code: str, message: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(ResgraphError) as err:
        load_data(str(tmp_path / "bad.npz"), (1, 8, 8))
    assert err.value.code == code and err.value.message.startswith(message), err.value.message


def test_image_folders_of_mixed_sizes_or_missing_classes_are_refused(tmp_path: Path) -> None:
    for cls, size in (("a", 8), ("b", 9)):
        (tmp_path / "mixed" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (size, size)).save(tmp_path / "mixed" / cls / f"{i}.png")
    with pytest.raises(ResgraphError, match=r"RG741.*/mixed/b/0.png is 9×9 but "
                       r"\S*/mixed/a/0.png is 8×8: the images of a data set must have one size"):
        load_data(str(tmp_path / "mixed"), (1, 8, 8))
    for split, cls in (("train", "a"), ("val", "a"), ("val", "z")):
        (tmp_path / "tv" / split / cls).mkdir(parents=True)
        Image.new("L", (8, 8)).save(tmp_path / "tv" / split / cls / "0.png")
    with pytest.raises(ResgraphError, match="RG742.*tv/val: class 'z' has no images in train/"):
        load_data(str(tmp_path / "tv"), (1, 8, 8))


def test_augmentation_crops_flips_and_is_a_function_of_its_seed() -> None:
    x = torch.rand(64, 3, 8, 8)
    a = augment(x, torch.Generator().manual_seed(7), crop_pad=2, flip=True)
    b = augment(x, torch.Generator().manual_seed(7), crop_pad=2, flip=True)
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    flipped = augment(x, torch.Generator().manual_seed(0), flip=True)
    same = [bool(torch.equal(flipped[i], x[i])) for i in range(64)]
    mirrored = [bool(torch.equal(flipped[i], x[i].flip(2))) for i in range(64)]
    assert all(s != m for s, m in zip(same, mirrored)) and 16 < sum(mirrored) < 48
    shifted = augment(torch.ones(64, 1, 8, 8), torch.Generator().manual_seed(0), crop_pad=2)
    zeros = (shifted == 0).flatten(1).sum(1)  # the padding that came into view
    assert int(zeros.min()) == 0 and int(zeros.max()) == 64 - 36  # shifted by 0 .. (2, 2)


def test_normalize_and_holdout(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = load_data(str(data_dir / "cifar10"), (3, 32, 32), normalize=True)
    x = data.train.tensors[0].double()
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-6
    assert (x.std(dim=(0, 2, 3), correction=0) - 1).abs().max() < 1e-6
    raw = load_data(str(data_dir / "cifar10"), (3, 32, 32))
    mean, std = data.normalization or ([], [])
    assert torch.allclose(data.test.tensors[0][:, 1],
                          (raw.test.tensors[0][:, 1] - mean[1]) / std[1], atol=1e-4)  # 6 digits
    tiny = str(data_dir / "tiny.rg")
    Path(tiny).write_text(TINY)
    assert resgraph_cli(["train", tiny, "--set", "channels=1", "--set", "size=8", "--set",
                         "classes=4", "--data", str(data_dir / "xy.npz"), "--holdout", "0.5",
                         "--normalize", "--epochs", "1", "--no-progress"]) == 0
    assert ("xy.npz: 20 train / 20 test (seeded 50% split) samples [1, 8, 8], 4 classes, "
            "normalised per channel;") in capsys.readouterr().out
    with pytest.raises(ResgraphError, match="--holdout must be a fraction between 0 and 1, "
                       "got 1.0"):
        load_data("digits", (64,), holdout=1.0)


def test_the_folder_above_a_cifar_folder_is_named_in_the_error(data_dir: Path) -> None:
    with pytest.raises(ResgraphError, match=f"RG740.*{data_dir} is no image folder, but "
                       f"{data_dir}/cifar10 is a CIFAR folder: give --data {data_dir}/cifar10"):
        load_data(str(data_dir), (3, 32, 32))


def test_resize_fits_images_of_other_sizes(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ResgraphError, match=r"RG711.*the data are \[1, 8, 8\] \(xy.npz\) but "
                       r"the network takes \[1, 16, 16\]: try --set size=8, --resize, or "
                       r"declare `input x\[1, 8, 8\]`$"):
        load_data(str(data_dir / "xy.npz"), (1, 16, 16), hparams={"channels": 1, "size": 16})
    big = load_data(str(data_dir / "xy.npz"), (1, 16, 16), resize=True)
    small = load_data(str(data_dir / "xy.npz"), (1, 8, 8))
    assert big.train.tensors[0].shape[1:] == (1, 16, 16)
    assert torch.allclose(big.train.tensors[0].mean(dim=(2, 3)),  # bilinear keeps the mean
                          small.train.tensors[0].mean(dim=(2, 3)), atol=0.02)
    for cls, size in (("a", 8), ("b", 12)):  # an image folder of mixed sizes
        (tmp_path / "mixed" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (size, size), color=40 * i).save(tmp_path / "mixed" / cls / f"{i}.png")
    mixed = load_data(str(tmp_path / "mixed"), (1, 10, 10), resize=True)
    assert mixed.train.tensors[0].shape[1:] == (1, 10, 10) and len(mixed.train) == 4
    pixels = torch.cat([mixed.train.tensors[0], mixed.test.tensors[0]]).flatten()
    assert sorted({round(float(v), 4) for v in pixels}) == \
        [0.0, round(40 / 255, 4), round(80 / 255, 4)]  # uniform images stay uniform
