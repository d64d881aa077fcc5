"""``resgraph train FILE``: train the compiled network on a data set."""

from __future__ import annotations

import argparse

ORDER = 60
HELP = "train on a built-in data set (digits)"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="digits", metavar="SPEC",
                   help="digits, an image folder (root/CLASS/*.png, or root/train/ + "
                   "root/val/), FILE.npz (x, y or x_train, y_train, x_test, y_test) or a "
                   "CIFAR-10/100 python folder (default: digits)")
    p.add_argument("--epochs", type=int, default=10, metavar="N")
    p.add_argument("--batch-size", type=int, default=64, metavar="B")
    p.add_argument("--lr", type=float, default=None, metavar="LR",
                   help="learning rate (default: 1e-3 for Adam)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--device", default=None, metavar="D", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import load_from_args
    from resgraph.lower.train import train

    train(load_from_args(args), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
          seed=args.seed, device=args.device, progress=not args.no_progress, data=args.data)
    return 0
