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
from resgraph.lower.data import SPLIT_SEED, Data, augment, load_data
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
    resize: bool = False

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
          resize: bool = False, plain: bool = False) -> dict[str, Any]:
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
                   amp, compile, crop_pad, flip, normalize, holdout, resize)
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


@dataclass
class _Loop:
    """What one process trains with: the module (and its compiled / DDP wrappers), the data
    loader, the optimizer, the schedule and the AMP scaler, and where the run stands."""

    arch: Architecture
    opts: Options
    dev: torch.device
    rank: int
    world: int
    model: nn.Module
    net: nn.Module
    sampler: DistributedSampler[Any]
    loader: DataLoader[Any]
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    factor: Callable[[int], float]
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    steps: int
    epoch: int = 1  #: the next epoch to train
    step: int = 0  #: steps done
    best: float = -1.0
    best_epoch: int = 0

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint (:func:`_save_epoch`)."""
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise ResgraphError("RG743", f"the checkpoint's weights do not fit network "
                                f"'{self.arch.name}': {str(exc).splitlines()[0]}") from None
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        if self.dev.type == "cuda" and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.epoch, self.step = int(state["epoch"]) + 1, int(state["step"])
        for group, base in zip(self.opt.param_groups, self.sched.base_lrs):
            group["lr"] = base * self.factor(self.step)  # the same, or the stretched schedule
        self.best, self.best_epoch = float(state["best_accuracy"]), int(state["best_epoch"])

    def header(self, data: Data, plain: bool) -> str:
        """The first line: what trains on what, and how."""
        o, extras = self.opts, [describe_schedule(self.opts.schedule, self.opts.warmup)]
        if self.amp_dtype is not None:
            extras.append(f"{_dtype_name(self.amp_dtype)} autocast"
                          + (" + grad scaler" if self.scaler.is_enabled() else ""))
        if o.compile:
            extras.append("torch.compile")
        if o.crop_pad or o.flip:
            extras.append(" + ".join(([f"crop pad {o.crop_pad}"] if o.crop_pad else [])
                                     + (["flip"] if o.flip else [])))
        name = "Adam" if o.optimizer == "adam" else "SGD"
        wd = f", weight decay {o.weight_decay:g}" if o.weight_decay else ""
        return (f"training {self.arch.name}{' (plain)' if plain else ''} "
                f"({self.arch.num_params:,} parameters) on {data.describe()}; "
                f"{_count(o.epochs, 'epoch')}, batch {o.batch_size}"
                + (" per process" if self.world > 1 else "")
                + f", {name} lr {o.learning_rate:g}{wd}, {', '.join(extras)}, {self.dev}"
                + (f", DDP × {self.world}" if self.world > 1 else ""))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        try:
            with torch.autocast(self.dev.type, dtype=self.amp_dtype or torch.bfloat16,
                                enabled=self.amp_dtype is not None):
                return self.net(x)
        except Exception as exc:
            if self.opts.compile and type(exc).__module__.startswith(("torch._dynamo",
                                                                      "torch._inductor")):
                raise ResgraphError("RG744", "torch.compile failed: "
                                    f"{str(exc).strip().splitlines()[0][:300]}; train without "
                                    "--compile") from None
            raise

    def train_epoch(self, progress: bool, step_losses: list[float]) -> torch.Tensor:
        """One epoch (or up to the last step); (loss sum, correct, count) over all ranks."""
        from tqdm.auto import tqdm

        o, epoch = self.opts, self.epoch
        self.sampler.set_epoch(epoch)  # the order is a function of (seed, epoch)
        self.net.train()
        totals = torch.zeros(3, dtype=torch.float64)
        bar = tqdm(self.loader, desc=f"epoch {epoch}/{o.epochs}", leave=False, unit="batch",
                   disable=None if progress and self.rank == 0 else True)
        for batch, (x, y) in enumerate(bar, 1):
            if o.crop_pad > 0 or o.flip:
                gen = torch.Generator().manual_seed(_seed_of(o.seed, epoch, batch, self.rank))
                x = augment(x, gen, o.crop_pad, o.flip)
            x, y = x.to(self.dev, non_blocking=True), y.to(self.dev, non_blocking=True)
            logits = self._logits(x)
            loss = F.cross_entropy(logits.float(), y)
            value = float(loss.detach())
            _check_loss(value, self.world, self.dev, epoch, batch, self.step + 1,
                        o.learning_rate, DEFAULT_LRS.get(o.optimizer, DEFAULT_LR))
            self.opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
            self.sched.step()
            step_losses.append(value)
            totals += torch.tensor([value * len(y), float((logits.argmax(1) == y).sum()),
                                    len(y)], dtype=torch.float64)
            bar.set_postfix(loss=f"{value:.4f}")
            self.step += 1
            if self.step >= self.steps:
                break
        bar.close()
        if self.world > 1:
            reduced = totals.to(self.dev)
            dist.all_reduce(reduced)
            totals = reduced.cpu()
        return totals


def _dtype_name(dtype: torch.dtype | None) -> str | None:
    return str(dtype).replace("torch.", "") if dtype is not None else None


def _build(arch: Architecture, opts: Options, train_set: TensorDataset, dev: torch.device,
           rank: int, world: int, max_steps: int | None) -> _Loop:
    """The module, its wrappers, the loader, optimizer, schedule and scaler, seeded."""
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
    loader = DataLoader(train_set, batch_size=opts.batch_size, sampler=sampler,
                        drop_last=len(sampler) % opts.batch_size == 1)  # a batch of 1 breaks BN
    steps = opts.epochs * len(loader)
    steps = steps if max_steps is None else min(max_steps, steps)
    opt = make_optimizer(opts.optimizer, model.parameters(), opts.learning_rate,
                         opts.weight_decay)
    factor = lr_factor(opts.schedule, steps, round(opts.warmup * len(loader)))
    amp_dtype = _amp_dtype(opts.amp, dev)
    return _Loop(arch, opts, dev, rank, world, model, net, sampler, loader, opt,
                 torch.optim.lr_scheduler.LambdaLR(opt, factor), factor,
                 torch.amp.GradScaler(dev.type, enabled=amp_dtype == torch.float16), amp_dtype,
                 steps)


def _train(arch: Architecture, opts: Options, shape: tuple[int, ...], dev: torch.device,
           rank: int, world: int, progress: bool, data: str, max_steps: int | None,
           log: Callable[[str], Any], out: str | os.PathLike[str] | None,
           state: dict[str, Any] | None, config: dict[str, Any] | None,
           plain: bool) -> dict[str, Any]:
    say = log if rank == 0 else (lambda s: None)
    try:
        import tqdm  # noqa: F401
    except ImportError:
        raise ResgraphError("RG714", "the progress bar needs tqdm: pip install "
                            "'resgraph[train]' (or pass --no-progress)") from None
    loaded = load_data(data, shape, seed=SPLIT_SEED, hparams=arch.hparams,
                       holdout=opts.holdout, normalize=opts.normalize, resize=opts.resize)
    check_classes(arch, loaded)
    loop = _build(arch, opts, loaded.train, dev, rank, world, max_steps)
    if state is not None:
        loop.restore(state)
    _check_same_data(out, config, loaded)
    run_dir = _open_run(out, state is not None, loop, arch, data, plain, loaded)
    say(loop.header(loaded, plain))
    if state is not None:
        say(f"resuming {out} after epoch {loop.epoch - 1} (step {loop.step}, best test "
            f"accuracy {loop.best:.2%} in epoch {loop.best_epoch})")
    if config is not None and config.get("options", {}).get("world_size", world) != world:
        say(f"note: the run had {config['options']['world_size']} processes, this one {world}:"
            " the data order differs from an uninterrupted run")
    result: dict[str, Any] = {"train_losses": [], "train_accuracies": [], "test_accuracies": [],
                              "test_losses": [], "lrs": [], "step_losses": [],
                              "world_size": world, "model": loop.model,
                              "out": Path(out) if out is not None else None}
    threads = torch.get_num_threads()
    if dev.type == "cpu" and _batch_macs(arch, opts.batch_size) < SMALL_BATCH_MACS:
        torch.set_num_threads(1)  # tiny ops: one thread is fastest, and robust to busy cores
    start = time.perf_counter()
    try:
        while loop.epoch <= opts.epochs and loop.step < loop.steps:
            epoch, epoch_start = loop.epoch, time.perf_counter()
            totals = loop.train_epoch(progress, result["step_losses"])
            train_seconds = time.perf_counter() - epoch_start
            test_loss, test_acc = evaluate(loop.model, loaded.test, dev, amp=loop.amp_dtype)
            row = {"epoch": epoch, "train_loss": float(totals[0] / totals[2]),
                   "train_accuracy": float(totals[1] / totals[2]), "test_loss": test_loss,
                   "test_accuracy": test_acc, "lr": float(loop.opt.param_groups[0]["lr"])}
            for key, name in (("train_losses", "train_loss"), ("train_accuracies",
                              "train_accuracy"), ("test_accuracies", "test_accuracy"),
                              ("test_losses", "test_loss"), ("lrs", "lr")):
                result[key].append(row[name])
            improved = test_acc > loop.best
            if improved:
                loop.best, loop.best_epoch = test_acc, epoch
            if run_dir is not None:
                row["seconds"] = round(time.perf_counter() - epoch_start, 4)
                row["images_per_second"] = round(float(totals[2]) / train_seconds, 1)
                _save_epoch(run_dir, loop, improved, row)
            loop.epoch += 1
            say(f"epoch {epoch:>3}/{opts.epochs}  loss {row['train_loss']:.4f}  train acc "
                f"{row['train_accuracy']:6.2%}  test acc {test_acc:6.2%}  lr {row['lr']:.3g}  "
                f"({time.perf_counter() - start:.1f} s)")
    except (MemoryError, RuntimeError) as exc:
        if _out_of_memory(exc):
            raise _memory_error(arch, f"in epoch {loop.epoch}, step {loop.step + 1}, "
                                "training", opts.batch_size) from None
        raise
    finally:
        torch.set_num_threads(threads)
    if not result["test_accuracies"]:
        raise ResgraphError("RG743", f"run folder '{out}' has finished its {opts.epochs} "
                            "epochs; give a larger --epochs to train it further")
    result["seconds"] = time.perf_counter() - start
    result["test_accuracy"] = result["test_accuracies"][-1]
    result["best_accuracy"], result["best_epoch"] = loop.best, loop.best_epoch
    say(f"test accuracy {result['test_accuracy']:.2%} on {len(loaded.test)} images after "
        f"{_count(loop.epoch - 1, 'epoch')} ({result['seconds']:.1f} s)"
        + (f"; best {loop.best:.2%} (epoch {loop.best_epoch}); run in {out}"
           if out is not None else ""))
    return result


def _data_shape(data: Data) -> str:
    """What must not change on resume: the counts, shapes and classes (not the folder name)."""
    return data.describe().split(": ", 1)[-1]


def _check_same_data(out: str | os.PathLike[str] | None, config: dict[str, Any] | None,
                     data: Data) -> None:
    """RG743 where a resumed run would train on other data than it started with."""
    saved = (config or {}).get("data_shape")
    if saved is not None and saved != _data_shape(data):
        raise ResgraphError("RG743", f"run folder '{os.fspath(out or '')}' trained on "
                            f"{saved}, but --data {data.name} gives {_data_shape(data)}; give "
                            "the run's data")


def _open_run(out: str | os.PathLike[str] | None, resuming: bool, loop: _Loop,
              arch: Architecture, data: str, plain: bool, loaded: Data) -> Path | None:
    """The run folder rank 0 writes to: created with its config, or (resuming) its metrics
    cut back to the checkpoint's epoch. None on other ranks and without ``out``."""
    if out is None:
        return None
    if loop.world > 1:
        dist.barrier()  # every rank has checked the folder before rank 0 writes to it
    if loop.rank != 0:
        return None
    if resuming:
        runs.keep_metrics(Path(out), loop.epoch - 1)
        return Path(out)
    options = {**asdict(loop.opts), "lr": loop.opts.learning_rate, "world_size": loop.world,
               "amp_dtype": _dtype_name(loop.amp_dtype)}
    run_dir = runs.prepare_out(out)
    config = runs.run_config(arch, data, options, plain)
    config["data_shape"] = _data_shape(loaded)
    runs.write_config(run_dir, config)
    return run_dir


def _save_epoch(run_dir: Path, loop: _Loop, improved: bool, metrics: dict[str, Any]) -> None:
    """The epoch's files: last (and best) weights, its metrics line, then the checkpoint."""
    runs.save_weights(run_dir / runs.LAST, loop.model)
    if improved:
        runs.save_weights(run_dir / runs.BEST, loop.model)
    runs.append_metrics(run_dir, metrics)
    runs.save_checkpoint(run_dir, {
        "epoch": loop.epoch, "step": loop.step, "best_accuracy": loop.best,
        "best_epoch": loop.best_epoch,
        "model": {k: v.detach().cpu() for k, v in loop.model.state_dict().items()},
        "optimizer": loop.opt.state_dict(), "scheduler": loop.sched.state_dict(),
        "scaler": loop.scaler.state_dict() if loop.scaler.is_enabled() else {},
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if loop.dev.type == "cuda" else []})
