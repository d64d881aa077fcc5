"""``resgraph export FILE --onnx OUT.onnx --pt2 OUT.pt2``: exchange formats."""

from __future__ import annotations

import argparse

ORDER = 50
HELP = "write an ONNX model and/or a torch.export .pt2 file"
FILE = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--onnx", metavar="OUT.onnx",
                   help="write an ONNX model (needs onnx and onnxscript)")
    p.add_argument("--pt2", metavar="OUT.pt2", help="write a torch.export program")


def usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options, beyond what argparse checks."""
    if args.onnx is None and args.pt2 is None:
        return "export: give --onnx OUT.onnx, --pt2 OUT.pt2 or both"
    return None


def run(args: argparse.Namespace) -> int:
    from resgraph.cli import load_from_args
    from resgraph.lower.export import export_files

    export_files(load_from_args(args), onnx=args.onnx, pt2=args.pt2)
    return 0
