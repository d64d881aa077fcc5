"""The language models of the transformer zoo (issue 13): gpt2, bert and llama against
Hugging Face ``transformers`` (a dev extra, the oracle; never a runtime dependency).

- For each network, several non-default parameter sets (llama also with grouped-query
  attention, kv_heads < heads): the Hugging Face model is built from a matching config
  with random weights (nothing is downloaded), every parameter randomised (HF starts norms
  at 1/0 and biases at 0, which would hide a wrong affine or bias), dropout off. Then:
  the same state_dict keys and shapes, a strict load of HF's state_dict into the compiled
  module, equal outputs in eval within 1e-4 relative (BERT: both outputs, with token
  types), and the analysis' parameter count equal to HF's.
- At the defaults, the analysis alone (no weights) gives the published counts: GPT-2
  small 124,439,808 (tied head), BERT-base 109,482,240, Llama-2-7B 6,738,415,616.

The HF tests skip when ``transformers`` is missing; CI installs the dev extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import resgraph

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# (network, published parameter count at the defaults)
PUBLISHED: list[tuple[str, int]] = [
    ("gpt2", 124_439_808),
    ("bert", 109_482_240),
    ("llama", 6_738_415_616),
]

# Small, non-default parameter sets (heads divide d; llama's head size is even for rope).
SETS: dict[str, list[dict[str, int]]] = {
    "gpt2": [dict(vocab=100, ctx=16, d=64, layers=2, heads=4),
             dict(vocab=57, ctx=12, d=48, layers=3, heads=6)],
    "bert": [dict(vocab=100, ctx=16, d=64, layers=2, heads=4, ffn=128, types=2),
             dict(vocab=61, ctx=10, d=48, layers=3, heads=3, ffn=96, types=3)],
    "llama": [dict(vocab=100, ctx=16, d=64, layers=2, heads=4, kv_heads=4, ffn=128),
              dict(vocab=71, ctx=12, d=96, layers=2, heads=6, kv_heads=2, ffn=160),
              dict(vocab=50, ctx=8, d=32, layers=1, heads=4, kv_heads=1, ffn=80)],
}


def load(name: str, **sets: int) -> resgraph.Architecture:
    return resgraph.load(str(EXAMPLES / f"{name}.rg"), **sets)


def hf_model(name: str, s: dict[str, int]) -> torch.nn.Module:
    """The Hugging Face model matching ``name`` at parameter set ``s``, dropout off, eval."""
    tf = pytest.importorskip("transformers")
    tf.logging.set_verbosity_error()
    if name == "gpt2":
        model = tf.GPT2LMHeadModel(tf.GPT2Config(
            vocab_size=s["vocab"], n_positions=s["ctx"], n_embd=s["d"], n_layer=s["layers"],
            n_head=s["heads"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            bos_token_id=0, eos_token_id=0))
    elif name == "bert":
        model = tf.BertModel(tf.BertConfig(
            vocab_size=s["vocab"], max_position_embeddings=s["ctx"], hidden_size=s["d"],
            num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
            intermediate_size=s["ffn"], type_vocab_size=s["types"], hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0))
    else:
        model = tf.LlamaForCausalLM(tf.LlamaConfig(
            vocab_size=s["vocab"], max_position_embeddings=s["ctx"], hidden_size=s["d"],
            num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
            num_key_value_heads=s["kv_heads"], intermediate_size=s["ffn"],
            rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0))
    return model.eval()


def randomise(model: torch.nn.Module, seed: int = 1) -> None:
    """Every parameter random: norm weights in [0.5, 1.5), everything else N(0, 0.1²)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied weight is listed once
            if "norm" in name.lower() and name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


def inputs(name: str, s: dict[str, int], batch: int = 2) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    x = {"input_ids": torch.randint(0, s["vocab"], (batch, s["ctx"]), generator=gen)}
    if name == "bert":
        x["token_type_ids"] = torch.randint(0, s["types"], (batch, s["ctx"]), generator=gen)
    return x


def close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    """Equal within 1e-4 of the reference's largest magnitude, which is not tiny."""
    assert ours.shape == ref.shape
    scale = ref.abs().max().item()
    assert scale > 1e-2
    assert (ours - ref).abs().max().item() <= 1e-4 * scale


CASES = [pytest.param(name, s, id=f"{name}-{i}")
         for name, sets in SETS.items() for i, s in enumerate(sets)]


@pytest.mark.parametrize(("name", "s"), CASES)
def test_matches_hugging_face(name: str, s: dict[str, int]) -> None:
    torch.manual_seed(0)
    theirs = hf_model(name, s)
    randomise(theirs)
    arch = load(name, **s)
    gm = arch.compile().eval()
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in gm.state_dict().items()} == want
    gm.load_state_dict(theirs.state_dict(), strict=True)
    x = inputs(name, s)
    with torch.no_grad():
        out = theirs(**x)
        ours = gm(*x.values())
    if name == "bert":
        assert isinstance(ours, tuple) and len(ours) == 2
        close(ours[0], out.last_hidden_state)
        close(ours[1], out.pooler_output)
    else:
        close(ours, out.logits)


@pytest.mark.parametrize(("name", "s"), [
    pytest.param(name, s, id=f"{name}-{i}")
    for name, sets in SETS.items() for i, s in enumerate(sets)])
def test_parameter_count_is_hugging_faces(name: str, s: dict[str, int]) -> None:
    """The analysis counts what HF's model holds (a tied weight once), without compiling."""
    theirs = hf_model(name, s)
    assert load(name, **s).analyze(distributions=False).params == \
        sum(p.numel() for p in theirs.parameters())


def test_gpt2_head_shares_the_token_embedding() -> None:
    """One parameter behind both keys, counted once, as GPT2LMHeadModel's."""
    arch = load("gpt2", **SETS["gpt2"][0])
    gm = arch.compile()
    assert gm.get_parameter("lm_head.weight") is gm.get_parameter("transformer.wte.weight")
    assert set(gm.state_dict()) >= {"lm_head.weight", "transformer.wte.weight"}
    assert sum(p.numel() for p in gm.parameters()) == arch.num_params


def test_signatures() -> None:
    """The issue's inputs and outputs, at a small size (the forms above do not matter)."""
    pytest.importorskip("torch")
    for name, _ in PUBLISHED:
        s = SETS[name][0]
        arch = load(name, **s)
        if name == "bert":  # token ids and token types; last hidden state and pooled
            assert list(arch.inputs.items()) == [("tokens", (s["ctx"],)),
                                                 ("token_types", (s["ctx"],))]
            assert all(arch.graph.nodes[n]["dtype"] == "long"
                       for n in arch.graph.graph["inputs"])
            assert list(arch.outputs.values()) == [(s["ctx"], s["d"]), (s["d"],)]
            continue
        assert list(arch.inputs.values()) == [(s["ctx"],)]
        assert list(arch.outputs.values()) == [(s["ctx"], s["vocab"])]


@pytest.mark.parametrize(("name", "params"),
                         [pytest.param(n, p, id=n) for n, p in PUBLISHED])
def test_published_parameter_counts(name: str, params: int) -> None:
    assert load(name).analyze(distributions=False).params == params


def test_llama_7b_analyze_allocates_no_weights() -> None:
    """``resgraph analyze`` alone reports Llama-2-7B's count and never imports torch.
    Loading plus analysing takes about 0.4 s (bench/transformers.py measures it); the bound
    here only guards against a pathological slowdown."""
    code = """if True:
        import sys, time
        import resgraph
        from resgraph.cli import main
        rc = main(["analyze", sys.argv[1]])
        assert "torch" not in sys.modules, "analyze imported torch"
        times = []
        for _ in range(3):
            start = time.perf_counter()
            resgraph.load(sys.argv[1]).analyze()
            times.append(time.perf_counter() - start)
        print(f"seconds {min(times):.3f}")
        sys.exit(rc)
    """
    run = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "llama.rg")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "6,738,415,616" in run.stdout
    assert float(run.stdout.rsplit("seconds ", 1)[1]) < 10.0, run.stdout


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_llama_has_two_signal_paths_per_residual(layers: int) -> None:
    """Issue 13: a transformer of L blocks has 2^(2L) signal paths. SwiGLU's gate branch
    (silu(gate_proj)) gates the signal through up_proj: a control path, as in gate { }."""
    from resgraph.analyze import analyze

    rep = analyze(load("llama", vocab=50, ctx=8, d=16, layers=layers, heads=2, kv_heads=2,
                       ffn=24))
    assert rep.paths == 2 ** (2 * layers)
    # embedding, then per layer attention (2), up_proj and down_proj, then the head
    assert (rep.depth, rep.min_depth) == (4 * layers + 2, 2)
