"""Training a compiled network: :func:`train`, ``resgraph train``.

The data come from :func:`resgraph.lower.data.load_data` (the digits, an image folder, an
``.npz`` file or a CIFAR python folder); the loss is cross-entropy; the optimizer Adam
(lr 1e-3) or SGD with momentum 0.9 (lr 0.1); the learning rate follows a schedule that
changes after every step (:mod:`resgraph.lower.schedule`: cosine, step or constant, after
an optional linear warmup counted in epochs). Each epoch prints the training loss and
accuracy and the held-out accuracy. On the CPU, networks that need fewer than
``SMALL_BATCH_MACS`` multiply-accumulates per batch train on one thread (their ops are too
small to gain from more); torch's setting is restored afterwards.

``out`` writes a run folder (:mod:`resgraph.lower.runs`: config, best and last weights,
``metrics.jsonl``, a checkpoint); ``resume`` continues one exactly: the shuffling and the
augmentation of epoch ``e`` are functions of ``(seed, e)``, and the checkpoint holds the
optimizer, the scheduler and the random generators, so that a resumed run reaches the
same weights as an uninterrupted one (bitwise on the CPU). ``amp`` runs the forward pass
under autocast (bf16 on the CPU and on GPUs that support it, else fp16 with a gradient
scaler); ``compile`` trains ``torch.compile(model)``.

Under ``torchrun --nproc_per_node N`` (``RANK`` / ``WORLD_SIZE`` set) the model is
wrapped in DistributedDataParallel (gloo on CPU, nccl on CUDA), each process reads its
share of the data through a DistributedSampler (``batch_size`` is per process), and rank
0 alone prints and writes the run folder.

>>> import resgraph
>>> arch = resgraph.load("examples/highway_mlp.rg")
>>> result = train(arch, epochs=1, progress=False, log=lambda s: None)
>>> 0.0 <= result["test_accuracy"] <= 1.0
True
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from resgraph.errors import ResgraphError
from resgraph.ir import Architecture
from resgraph.lower import runs
from resgraph.lower.build import compile_arch
from resgraph.lower.data import augment, load_data
from resgraph.lower.schedule import DEFAULT_LRS, describe_schedule, lr_factor, make_optimizer
from resgraph.lower.train_checks import (
    DEFAULT_LR,
    MAX_LR,
    MAX_SEED,
    TRAIN_DEVICES,
    _check_loss,
    _memory_error,
    _out_of_memory,
    check_classes,
    check_more_options,
    check_network,
    check_options,
    pick_device,
)

__all__ = ["DEFAULT_LR", "MAX_LR", "MAX_SEED", "TRAIN_DEVICES", "Options", "accuracy",
           "check_network", "check_options", "evaluate", "load_digits", "pick_device", "train"]

#: Below this many multiply-accumulates per batch, CPU training runs on one thread.
SMALL_BATCH_MACS = 500_000_000


@dataclass
class Options:
    """Every option of a training run, with its default (``config.json``'s ``options``)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None  #: None: the optimizer's default (:data:`DEFAULT_LRS`)
    seed: int = 0
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup: float = 0.0  #: epochs
    amp: bool = False
    compile: bool = False
    crop_pad: int = 0
    flip: bool = False
    normalize: bool = False
    holdout: float = 0.2  #: the held-out fraction where the data have no test split

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LRS.get(self.optimizer, DEFAULT_LR)

    def check(self, max_steps: int | None = None) -> None:
        check_options(self.epochs, self.batch_size, self.lr, self.seed, max_steps)
        check_more_options(self.optimizer, self.schedule, self.warmup, self.weight_decay,
                           self.crop_pad)


def load_digits(input_shape: tuple[int, ...]) -> tuple[TensorDataset, TensorDataset]:
    """The digits train and test sets (1,437 / 360 samples) shaped for ``input_shape``.

    >>> train_set, test_set = load_digits((1, 8, 8))
    >>> len(train_set), len(test_set), tuple(train_set[0][0].shape)
    (1437, 360, (1, 8, 8))
    """
    data = load_data("digits", input_shape)
    return data.train, data.test


def _batch_macs(arch: Architecture, batch_size: int) -> int:
    return batch_size * sum(d["macs"] for _, d in arch.graph.nodes(data=True))


def _distributed(device: torch.device) -> tuple[int, int, bool]:
    """(rank, world size, whether we started the process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), True


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _seed_of(*parts: int) -> int:
    """A generator seed that is a function of ``parts`` (seed, epoch, batch, rank)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") % MAX_SEED


def _amp_dtype(amp: bool, device: torch.device) -> torch.dtype | None:
    if not amp:
        return None
    if device.type == "cpu" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


@torch.no_grad()
def evaluate(model: nn.Module, data: TensorDataset, device: torch.device,
             batch_size: int = 512, amp: torch.dtype | None = None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on ``data``, in eval mode.

    >>> import resgraph
    >>> m = resgraph.load("examples/highway_mlp.rg").compile()
    >>> loss, acc = evaluate(m, load_digits((64,))[1], torch.device("cpu"))
    >>> loss > 0 and 0.0 <= acc <= 1.0
    True
    """
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    x_all, y_all = data.tensors
    for i in range(0, len(y_all), batch_size):
        x, y = x_all[i:i + batch_size].to(device), y_all[i:i + batch_size].to(device)
        with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            logits = model(x)
        loss += float(F.cross_entropy(logits.float(), y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    model.train(was_training)
    return loss / len(y_all), correct / len(y_all)


def accuracy(model: nn.Module, data: TensorDataset, device: torch.device,
             batch_size: int = 512) -> float:
    """Fraction of ``data`` that ``model`` classifies correctly (in eval mode).

    >>> import resgraph
    >>> m = resgraph.load("examples/highway_mlp.rg").compile()
    >>> 0.0 <= accuracy(m, load_digits((64,))[1], torch.device("cpu")) <= 1.0
    True
    """
    return evaluate(model, data, device, batch_size)[1]


def _resume_options(run: str, given: Options, config: dict[str, Any]) -> Options:
    """The run's saved options; RG743 for a given option that differs from them and from its
    default (``epochs`` may grow: the schedule then stretches over the new total)."""
    saved = Options(**{k: v for k, v in config.get("options", {}).items()
                       if k in Options.__dataclass_fields__})
    defaults = Options()
    for key in Options.__dataclass_fields__:
        value = getattr(given, key)
        if value != getattr(defaults, key) and value != getattr(saved, key):
            if key == "epochs" and value > saved.epochs:
                saved.epochs = value
                continue
            flag = "--" + key.replace("_", "-")
            raise ResgraphError("RG743", f"run folder '{run}': {flag} {value} differs from the "
                                f"run's {getattr(saved, key)}; a resumed run keeps its options "
                                "(only --epochs may grow)")
    return saved


def _check_same_network(run: str, arch: Architecture, config: dict[str, Any]) -> None:
    """RG743 unless ``arch`` is the network the run trained (name, parameters, source)."""
    mine = runs.run_config(arch, "", {})
    for key, what in (("network", "network"), ("params", "parameters"),
                      ("source", "source text")):
        if json.loads(json.dumps(mine[key], default=str)) != config.get(key):
            raise ResgraphError("RG743", f"run folder '{run}' trained another network: its "
                                f"{what} differ{'s' if key != 'params' else ''} from "
                                f"{arch.file or 'this network'}'s (give the file and --set "
                                "values the run started with)")


def train(arch: Architecture, epochs: int = 10, batch_size: int = 64, lr: float | None = None,
          seed: int = 0, device: Any = None, progress: bool = True, data: str = "digits",
          max_steps: int | None = None, log: Callable[[str], Any] = print, *,
          out: str | os.PathLike[str] | None = None, resume: str | os.PathLike[str] | None = None,
          optimizer: str = "adam", weight_decay: float = 0.0, schedule: str = "cosine",
          warmup: float = 0.0, amp: bool = False, compile: bool = False, crop_pad: int = 0,
          flip: bool = False, normalize: bool = False, holdout: float = 0.2,
          plain: bool = False) -> dict[str, Any]:
    """Train ``arch`` on ``data``; return the figures and the trained model.

    The options are those of ``resgraph train`` (see the README's *Training* section).
    Keys: ``test_accuracy`` (final, 0..1), per epoch ``test_accuracies``, ``test_losses``,
    ``train_losses``, ``train_accuracies`` and ``lrs``, ``step_losses`` (this process's
    batches), ``best_accuracy`` and ``best_epoch``, ``seconds``, ``world_size``, ``out``
    (the run folder or None) and ``model`` (the compiled module, unwrapped, with the last
    weights). ``max_steps`` stops early (a quick test). ``seed`` seeds the initialisation,
    the shuffling and the augmentation. ``plain`` trains ``resgraph.transform.plain(arch)``.
    ``resume`` continues the run folder ``resume`` (writing to it) with its saved options; an
    option given with a value other than its default and the saved one is refused, except
    a larger ``epochs``. Runs under DDP when a process group is initialised or
    ``WORLD_SIZE`` > 1; ``log`` prints on rank 0 only.

    >>> import resgraph
    >>> r = train(resgraph.load("examples/digits_resnet.rg"), epochs=1, max_steps=3,
    ...           progress=False, log=lambda s: None)
    >>> len(r["step_losses"])
    3
    """
    opts = Options(epochs, batch_size, lr, seed, optimizer, weight_decay, schedule, warmup,
                   amp, compile, crop_pad, flip, normalize, holdout)
    opts.check(max_steps)
    config: dict[str, Any] | None = None
    if resume is not None:
        config = runs.read_config(resume)
        opts = _resume_options(os.fspath(resume), opts, config)
        if plain and not config.get("plain"):
            raise ResgraphError("RG743", f"run folder '{os.fspath(resume)}' trained the "
                                "network as written; resume it without --plain")
        plain = bool(config.get("plain"))
        data = data if data != "digits" else str(config.get("data", data))
        out = resume
    if plain:
        from resgraph.transform import plain as make_plain

        arch = make_plain(arch)
    if config is not None:
        _check_same_network(os.fspath(resume or ""), arch, config)
    shape = check_network(arch)
    dev = pick_device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if out is not None and resume is None:
        runs.check_out(out)
    state = runs.load_checkpoint(resume) if resume is not None else None
    rank, world, owned = _distributed(dev)
    try:
        return _train(arch, opts, shape, dev, rank, world, progress, data, max_steps, log,
                      out, state, config, plain)
    finally:
        if owned:
            dist.destroy_process_group()


def _train(arch: Architecture, opts: Options, shape: tuple[int, ...], dev: torch.device,
           rank: int, world: int, progress: bool, data: str, max_steps: int | None,
           log: Callable[[str], Any], out: str | os.PathLike[str] | None,
           state: dict[str, Any] | None, config: dict[str, Any] | None,
           plain: bool) -> dict[str, Any]:
    say = log if rank == 0 else (lambda s: None)
    try:
        import tqdm as _tqdm  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        raise ResgraphError("RG714", "the progress bar needs tqdm: pip install "
                            "'resgraph[train]' (or pass --no-progress)") from None
    loaded = load_data(data, shape, hparams=arch.hparams, holdout=opts.holdout,
                       normalize=opts.normalize)
    check_classes(arch, loaded)
    train_set, test_set = loaded.train, loaded.test
    torch.manual_seed(opts.seed)
    try:
        model = compile_arch(arch, device=dev)
    except (MemoryError, RuntimeError) as exc:
        if _out_of_memory(exc):
            raise _memory_error(arch, "building", opts.batch_size) from None
        raise
    run_model: nn.Module = model
    if opts.compile:
        try:
            run_model = torch.compile(model)  # type: ignore[assignment]
        except Exception as exc:  # noqa: BLE001 - e.g. no torch._dynamo on this platform
            raise ResgraphError("RG744", f"torch.compile is not available here: {exc}; train "
                                "without --compile") from None
    net: nn.Module = run_model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            run_model, device_ids=[dev.index] if dev.type == "cuda" else None)
    sampler: DistributedSampler[Any] = DistributedSampler(train_set, world, rank, shuffle=True,
                                                          seed=opts.seed)
    per_rank = len(sampler)
    loader = DataLoader(train_set, batch_size=opts.batch_size, sampler=sampler,
                        drop_last=per_rank % opts.batch_size == 1)  # a batch of 1 breaks BN
    per_epoch = len(loader)
    steps = opts.epochs * per_epoch if max_steps is None else \
        min(max_steps, opts.epochs * per_epoch)
    base_lr = opts.learning_rate
    opt = make_optimizer(opts.optimizer, model.parameters(), base_lr, opts.weight_decay)
    factor = lr_factor(opts.schedule, steps, round(opts.warmup * per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    amp_dtype = _amp_dtype(opts.amp, dev)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp_dtype == torch.float16)
    first_epoch, step, best, best_epoch = 1, 0, -1.0, 0
    if state is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise ResgraphError("RG743", f"the checkpoint's weights do not fit network "
                                f"'{arch.name}': {str(exc).splitlines()[0]}") from None
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        if dev.type == "cuda" and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        first_epoch, step = int(state["epoch"]) + 1, int(state["step"])
        for group, base in zip(opt.param_groups, sched.base_lrs):
            group["lr"] = base * factor(step)  # the same value, or on the stretched schedule
        best, best_epoch = float(state["best_accuracy"]), int(state["best_epoch"])
    run_dir: Path | None = None
    options = {**asdict(opts), "lr": base_lr, "world_size": world,
               "amp_dtype": str(amp_dtype).replace("torch.", "") if amp_dtype else None}
    if out is not None and world > 1:
        dist.barrier()  # every rank has checked the folder before rank 0 writes to it
    if out is not None and rank == 0:
        run_dir = Path(out)
        if state is None:
            run_dir = runs.prepare_out(out)
            runs.write_config(run_dir, runs.run_config(arch, data, options, plain))
        else:
            runs.keep_metrics(run_dir, first_epoch - 1)
    extras = [describe_schedule(opts.schedule, opts.warmup)]
    if amp_dtype is not None:
        extras.append(f"{options['amp_dtype']} autocast" + (" + grad scaler" if scaler.is_enabled()
                                                       else ""))
    if opts.compile:
        extras.append("torch.compile")
    if opts.crop_pad or opts.flip:
        extras.append(" + ".join(([f"crop pad {opts.crop_pad}"] if opts.crop_pad else [])
                                 + (["flip"] if opts.flip else [])))
    wd = f", weight decay {opts.weight_decay:g}" if opts.weight_decay else ""
    say(f"training {arch.name}{' (plain)' if plain else ''} ({arch.num_params:,} parameters) "
        f"on {loaded.describe()}; {_count(opts.epochs, 'epoch')}, batch {opts.batch_size}"
        + (" per process" if world > 1 else "")
        + f", {opts.optimizer.capitalize() if opts.optimizer == 'adam' else 'SGD'} lr "
        f"{base_lr:g}{wd}, {', '.join(extras)}, {dev}"
        + (f", DDP × {world}" if world > 1 else ""))
    if state is not None:
        say(f"resuming {out} after epoch {first_epoch - 1} (step {step}, best test accuracy "
            f"{best:.2%} in epoch {best_epoch})")
    if config is not None and config.get("options", {}).get("world_size", world) != world:
        say(f"note: the run had {config['options']['world_size']} processes, this one {world}:"
            " the data order differs from an uninterrupted run")
    result: dict[str, Any] = {"train_losses": [], "train_accuracies": [], "test_accuracies": [],
                              "test_losses": [], "lrs": [], "step_losses": [],
                              "world_size": world, "model": model,
                              "out": Path(out) if out is not None else None}
    threads = torch.get_num_threads()
    if dev.type == "cpu" and _batch_macs(arch, opts.batch_size) < SMALL_BATCH_MACS:
        torch.set_num_threads(1)  # tiny ops: one thread is fastest, and robust to busy cores
    augmenting = opts.crop_pad > 0 or opts.flip
    start, epoch = time.perf_counter(), first_epoch
    try:
        for epoch in range(first_epoch, opts.epochs + 1):
            if step >= steps:
                break
            sampler.set_epoch(epoch)
            net.train()
            epoch_start = time.perf_counter()
            totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
            bar = tqdm(loader, desc=f"epoch {epoch}/{opts.epochs}", leave=False, unit="batch",
                       disable=None if progress and rank == 0 else True)
            for batch, (x, y) in enumerate(bar, 1):
                if augmenting:
                    gen = torch.Generator().manual_seed(_seed_of(opts.seed, epoch, batch, rank))
                    x = augment(x, gen, opts.crop_pad, opts.flip)
                x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
                try:
                    with torch.autocast(dev.type, dtype=amp_dtype or torch.bfloat16,
                                        enabled=amp_dtype is not None):
                        logits = net(x)
                except Exception as exc:
                    if opts.compile and type(exc).__module__.startswith(
                            ("torch._dynamo", "torch._inductor")):
                        raise ResgraphError("RG744", "torch.compile failed: "
                                            f"{str(exc).strip().splitlines()[0][:300]}; train "
                                            "without --compile") from None
                    raise
                loss = F.cross_entropy(logits.float(), y)
                value = float(loss.detach())
                _check_loss(value, world, dev, epoch, batch, step + 1, base_lr,
                            DEFAULT_LRS.get(opts.optimizer, DEFAULT_LR))
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
                result["step_losses"].append(value)
                totals += torch.tensor([value * len(y), float((logits.argmax(1) == y).sum()),
                                        len(y)], dtype=torch.float64)
                bar.set_postfix(loss=f"{value:.4f}")
                step += 1
                if step >= steps:
                    break
            bar.close()
            train_seconds = time.perf_counter() - epoch_start
            if world > 1:
                reduced = totals.to(dev)
                dist.all_reduce(reduced)
                totals = reduced.cpu()
            test_loss, test_acc = evaluate(model, test_set, dev, amp=amp_dtype)
            loss_avg, train_acc = float(totals[0] / totals[2]), float(totals[1] / totals[2])
            lr_now = float(opt.param_groups[0]["lr"])
            for key, value in (("train_losses", loss_avg), ("train_accuracies", train_acc),
                               ("test_accuracies", test_acc), ("test_losses", test_loss),
                               ("lrs", lr_now)):
                result[key].append(value)
            improved = test_acc > best
            if improved:
                best, best_epoch = test_acc, epoch
            if run_dir is not None:
                _save_epoch(run_dir, model, opt, sched, scaler, dev, epoch, step, best,
                            best_epoch, improved, {
                                "epoch": epoch, "train_loss": loss_avg,
                                "train_accuracy": train_acc, "test_loss": test_loss,
                                "test_accuracy": test_acc, "lr": lr_now,
                                "seconds": round(time.perf_counter() - epoch_start, 4),
                                "images_per_second": round(float(totals[2]) / train_seconds,
                                                           1)})
            say(f"epoch {epoch:>3}/{opts.epochs}  loss {loss_avg:.4f}  train acc "
                f"{train_acc:6.2%}  test acc {test_acc:6.2%}  lr {lr_now:.3g}  "
                f"({time.perf_counter() - start:.1f} s)")
    except (MemoryError, RuntimeError) as exc:
        if _out_of_memory(exc):
            raise _memory_error(arch, f"in epoch {epoch}, step {step + 1}, training",
                                opts.batch_size) from None
        raise
    finally:
        torch.set_num_threads(threads)
    if not result["test_accuracies"]:
        raise ResgraphError("RG743", f"run folder '{out}' has finished its {opts.epochs} "
                            "epochs; give a larger --epochs to train it further")
    result["seconds"] = time.perf_counter() - start
    result["test_accuracy"] = result["test_accuracies"][-1]
    result["best_accuracy"], result["best_epoch"] = best, best_epoch
    say(f"test accuracy {result['test_accuracy']:.2%} on {len(test_set)} images after "
        f"{_count(epoch, 'epoch')} ({result['seconds']:.1f} s)"
        + (f"; best {best:.2%} (epoch {best_epoch}); run in {out}" if out is not None else ""))
    return result


def _save_epoch(run_dir: Path, model: nn.Module, opt: torch.optim.Optimizer,
                sched: torch.optim.lr_scheduler.LRScheduler, scaler: torch.amp.GradScaler,
                dev: torch.device, epoch: int, step: int, best: float, best_epoch: int,
                improved: bool, metrics: dict[str, Any]) -> None:
    """The epoch's files: last (and best) weights, its metrics line, then the checkpoint."""
    runs.save_weights(run_dir / runs.LAST, model)
    if improved:
        runs.save_weights(run_dir / runs.BEST, model)
    runs.append_metrics(run_dir, metrics)
    runs.save_checkpoint(run_dir, {
        "epoch": epoch, "step": step, "best_accuracy": best, "best_epoch": best_epoch,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else {},
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if dev.type == "cuda" else []})
