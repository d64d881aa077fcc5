"""Transformer benchmark: forward time of compiled transformers against their references.

Run from the repository root::

    python bench/transformers.py [--repeats N] [--only vit_b_16 llama] [--threads T] [--profile]

1. ViT-B/16 (``examples/vit.rg``, network ``vit_b_16``), batch 2 at 224×224, against the
   independent reference ``tests/reference/vit.py``;
2. a 2-layer Llama (``examples/llama.rg`` with ``LLAMA``'s sizes: d 512, 8 heads, 4 key/value
   heads, SwiGLU 1376, vocabulary 32,000, context 128), batch 2, against Hugging Face's
   ``LlamaForCausalLM`` built from the matching ``LlamaConfig`` (random weights, nothing
   downloaded; ``transformers`` is a dev extra, imported here only), called with
   ``use_cache=False``.

Each compiled module loads its reference's ``state_dict`` with ``strict=True``, and the two
outputs are compared before timing. Both sides run forward in eval mode without gradients on
the CPU; runs are interleaved, their order alternating, and each figure is the median, so
that drifts of a shared machine hit both sides alike. The ratio is resgraph / reference:
below 1 means resgraph is faster. Target: at most 1.05. ``--profile`` adds the top operators
of each side (``torch.profiler``, CPU time) after the table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder leads sys.path, and "import transformers" would find
# this very file: drop the folder and put the repository root first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import resgraph  # noqa: E402
from bench.lowering import interleaved  # noqa: E402
from tests.reference import vit as ref_vit  # noqa: E402

TARGET = 1.05
VIT_BATCH = 2
LLAMA: dict[str, int] = dict(vocab=32000, ctx=128, d=512, layers=2, heads=8, kv_heads=4,
                             ffn=1376)
"""The 2-layer Llama's parameters (``--set`` values of examples/llama.rg)."""
LLAMA_BATCH = 2

Case = tuple[nn.Module, nn.Module, Callable[[nn.Module], Any], Callable[[nn.Module], Any], str]
"""(resgraph module, reference, call ours, call theirs, description)."""


def vit_case() -> Case:
    """The compiled ViT-B/16 and tests/reference/vit.py, weights shared."""
    torch.manual_seed(0)
    theirs = ref_vit.vit_b_16(1000, 224).eval()
    ours = resgraph.load(str(ROOT / "examples" / "vit.rg"), network="vit_b_16").compile().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(VIT_BATCH, 3, 224, 224)
    return (ours, theirs, lambda m: m(x), lambda m: m(x),
            f"ViT-B/16, batch {VIT_BATCH}, 224², vs tests/reference/vit.py")


def llama_case() -> Case:
    """The compiled 2-layer Llama and Hugging Face's LlamaForCausalLM, weights shared."""
    try:
        import transformers as tf
    except ImportError:
        raise SystemExit("the Llama comparison needs transformers: pip install -e '.[dev]'") \
            from None
    tf.logging.set_verbosity_error()
    s = LLAMA
    torch.manual_seed(0)
    theirs = tf.LlamaForCausalLM(tf.LlamaConfig(
        vocab_size=s["vocab"], max_position_embeddings=s["ctx"], hidden_size=s["d"],
        num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
        num_key_value_heads=s["kv_heads"], intermediate_size=s["ffn"], rms_norm_eps=1e-6,
        rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)).eval()
    ours = resgraph.load(str(ROOT / "examples" / "llama.rg"), **s).compile().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ids = torch.randint(0, s["vocab"], (LLAMA_BATCH, s["ctx"]),
                        generator=torch.Generator().manual_seed(2))
    attn = getattr(theirs.config, "_attn_implementation", "?")
    return (ours, theirs, lambda m: m(ids), lambda m: m(input_ids=ids, use_cache=False).logits,
            f"Llama {s['layers']} layers d {s['d']}, batch {LLAMA_BATCH}×{s['ctx']}, "
            f"vs HF LlamaForCausalLM ({attn})")


CASES: dict[str, Callable[[], Case]] = {"vit_b_16": vit_case, "llama": llama_case}


def check_equal(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """The largest difference relative to the reference's largest magnitude (must be < 1e-4)."""
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    err = float((ours - theirs).abs().max() / theirs.abs().max())
    assert err < 1e-4, f"outputs differ: {err:.2e} relative"
    return err


def profile(name: str, fn: Callable[[], Any], rows: int) -> None:
    """The ``rows`` operators of most CPU time in three runs of ``fn``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            fn()
    print(f"\n{name}: top {rows} operators by self CPU time (3 runs)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def bench(name: str, repeats: int, rows: int) -> str:
    """One row: both forward times and their ratio (outputs checked equal first)."""
    ours, theirs, call_ours, call_theirs, what = CASES[name]()

    def forward(model: nn.Module, call: Callable[[nn.Module], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with torch.no_grad():
                return call(model)
        return run

    f_ours, f_theirs = forward(ours, call_ours), forward(theirs, call_theirs)
    err = check_equal(f_ours(), f_theirs())  # also the warm-up
    f_ours(), f_theirs()
    t_ours, t_ref = interleaved(f_ours, f_theirs, repeats)
    ratio = t_ours / t_ref
    mark = "ok" if ratio <= TARGET else "OVER"
    if rows:
        profile(f"{name} resgraph", f_ours, rows)
        profile(f"{name} reference", f_theirs, rows)
    return (f"  {what}\n  {name:<10} resgraph {t_ours * 1e3:8.1f} ms   reference "
            f"{t_ref * 1e3:8.1f} ms   ratio {ratio:5.3f}  {mark}   (outputs within {err:.0e})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="runs per side (default 9)")
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="cases (default: all)")
    parser.add_argument("--profile", type=int, nargs="?", const=15, default=0, metavar="ROWS",
                        help="print each side's top operators (default 15 rows)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads, median of "
          f"{args.repeats} interleaved runs; target ratio <= {TARGET:g}")
    for name in CASES:
        if args.only and name not in args.only:
            continue
        print(bench(name, args.repeats, args.profile), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
