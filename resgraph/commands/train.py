"""``resgraph train FILE``: train the compiled network on a data set, optionally into a run
folder (``--out``) that ``--resume`` continues and ``resgraph plot`` draws."""

from __future__ import annotations

import argparse

ORDER = 60
HELP = "train on the digits, an image folder, an .npz file or CIFAR-10/100"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", default="digits", metavar="SPEC",
                   help="digits, an image folder (root/CLASS/*.png, or root/train/ + "
                   "root/val/), FILE.npz (x, y or x_train, y_train, x_test, y_test) or a "
                   "CIFAR-10/100 python folder (default: digits)")
    g.add_argument("--holdout", type=float, default=0.2, metavar="F",
                   help="the fraction held out for testing where the data have no test "
                   "split: a stratified split drawn with seed 0 (default: 0.2)")
    g.add_argument("--normalize", action="store_true", help="subtract the training images' "
                   "mean and divide by their std, per channel (default: off, pixels in [0, 1])")
    g.add_argument("--resize", action="store_true", help="resize images of another height "
                   "and width to the network's input (antialiased bilinear) (default: off)")
    g.add_argument("--crop-pad", type=int, default=0, metavar="N",
                   help="augment: random crop after zero-padding N pixels (default: 0, off)")
    g.add_argument("--flip", action="store_true",
                   help="augment: random horizontal flip (default: off)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, default=10, metavar="N", help="(default: 10)")
    g.add_argument("--batch-size", type=int, default=64, metavar="B",
                   help="per process under torchrun (default: 64)")
    g.add_argument("--optimizer", default="adam", choices=("adam", "sgd"),
                   help="Adam, or SGD with momentum 0.9 (default: adam)")
    g.add_argument("--lr", type=float, default=None, metavar="LR",
                   help="learning rate (default: 0.001 for adam, 0.1 for sgd)")
    g.add_argument("--weight-decay", type=float, default=0.0, metavar="WD",
                   help="L2 weight decay (default: 0)")
    g.add_argument("--schedule", default="cosine", choices=("cosine", "step", "constant"),
                   help="learning rate per step: cosine to 0, step (x0.1 at 50%% and 75%%) or "
                   "constant (default: cosine)")
    g.add_argument("--warmup", type=float, default=0.0, metavar="EPOCHS",
                   help="linear warmup, in epochs (default: 0)")
    g.add_argument("--seed", type=int, default=0, metavar="S",
                   help="initialisation, shuffling and augmentation (default: 0)")
    g = p.add_argument_group("run")
    g.add_argument("--out", metavar="DIR", help="write config.json, model.safetensors (best), "
                   "last.safetensors, metrics.jsonl and checkpoint.pt there (default: none)")
    g.add_argument("--resume", metavar="DIR", help="continue the run in DIR with its options "
                   "(default: none)")
    g.add_argument("--plain", action="store_true", help="train the network without its "
                   "residual and highway connections (default: off)")
    g.add_argument("--device", default=None, metavar="D",
                   help="cpu, cuda, cuda:1 ... (default: cuda if available, else cpu)")
    g.add_argument("--amp", action="store_true", help="mixed precision: bf16 autocast (fp16 "
                   "with a grad scaler on GPUs without bf16) (default: off)")
    g.add_argument("--compile", action="store_true",
                   help="train torch.compile(model) (default: off)")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress bar (default: a bar on a terminal)")


def usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options, beyond what argparse checks."""
    if args.out is not None and args.resume is not None:
        return "train: --resume DIR writes to DIR; give --out or --resume, not both"
    return None


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import load_from_args
    from resgraph.lower.train import train

    train(load_from_args(args), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
          seed=args.seed, device=args.device, progress=not args.no_progress, data=args.data,
          out=args.out, resume=args.resume, optimizer=args.optimizer,
          weight_decay=args.weight_decay, schedule=args.schedule, warmup=args.warmup,
          amp=args.amp, compile=args.compile, crop_pad=args.crop_pad, flip=args.flip,
          normalize=args.normalize, holdout=args.holdout, resize=args.resize,
          plain=args.plain)
    return 0
