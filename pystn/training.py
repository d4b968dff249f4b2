"""The one training loop for every model: checkpoints, resume, logging, progress bar.

A model plugs in with two callables:

* ``batch_fn(step) -> batch``: the batch for a global step. It must depend on
  ``step`` (and the seed) only, so a resumed run sees exactly the batches an
  uninterrupted run would have seen.
* ``loss_fn(model, batch, step) -> (loss, terms)``: the scalar loss to
  minimise and a dict of floats to log (each loss term, capacities, ...).

Randomness inside a step (dropout, reparameterisation, Gumbel noise) is seeded
with ``seed + step``, so resuming from ``checkpoints/step_<N>.pt`` gives the
same weights as never stopping (on the same device). A checkpoint is resumed
only by the same run: each one records a digest of the settings, the model
config and ``TrainConfig.inputs`` (a fingerprint of the input files, see
:func:`files_fingerprint`); when a rule re-runs because its inputs or settings
changed, stale checkpoints are discarded instead of being trained on.

Writes into ``out_dir``: ``config.json`` (resolved settings),
``train_log.jsonl`` (one JSON line per logging step), ``checkpoints/step_<N>.pt``
and ``final.pt``; all through temporary names. With ``ema_decay`` > 0, ``final.pt``
holds the moving average of the weights (:class:`WeightAverage`), and each
checkpoint carries the average so far, so a resumed run ends on the same average.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from pystn.device import autocast, grad_scaler, resolve_device, use_amp
from pystn.io import DataError, atomic_path, write_json


@dataclass
class TrainConfig:
    """Optimisation settings shared by every model (the ``train:`` block of a track's config)."""

    steps: int = 1000
    lr: float = 1e-3
    optimizer: str = "adam"  # adam | adamw | sgd
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 0  # linear warm-up, then constant (or cosine, below)
    schedule: str = "constant"  # constant | cosine
    anneal_fraction: float = 0.0  # the last fraction of the steps: the lr falls linearly to 0
    ema_decay: float = 0.0  # > 0: final.pt holds an exponential moving average of the weights (WeightAverage)
    grad_clip: float | None = 1.0
    log_every: int = 10
    ckpt_every: int = 200
    keep_checkpoints: int = 2
    val_every: int = 0  # 0: no validation during training
    seed: int = 1234
    device: str = "auto"
    precision: str = "fp32"  # fp32 | amp (CUDA only)
    extra: dict = field(default_factory=dict)  # model-specific settings recorded in config.json
    inputs: str = ""  # fingerprint of the input files (files_fingerprint), set by the training step

    def __post_init__(self):
        if not 0.0 <= self.anneal_fraction <= 1.0:
            raise ValueError(f"train.anneal_fraction must lie in [0, 1]; got {self.anneal_fraction}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise KeyError(f"unknown training settings {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        if "betas" in known:
            known["betas"] = tuple(known["betas"])
        return cls(**known)


def train_config(settings: dict, input_paths, extra: dict | None = None) -> TrainConfig:
    """The ``train:`` block of a step's params, tied to its input files (see :func:`files_fingerprint`)
    and to the step's other settings (``extra``: batch size, loss weights, ...; part of the run digest)."""
    cfg = TrainConfig.from_dict(settings)
    cfg.inputs = files_fingerprint(input_paths)
    cfg.extra = dict(extra or {})
    return cfg


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.betas[0], weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer '{cfg.optimizer}' (adam | adamw | sgd)")


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of the base lr at ``step`` (0-based): linear warm-up, then constant or cosine,
    times a linear anneal to 0 over the last ``anneal_fraction`` of the steps."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    factor = 1.0
    if cfg.schedule == "cosine":
        span = max(1, cfg.steps - cfg.warmup_steps)
        factor = 0.5 * (1 + math.cos(math.pi * min(1.0, (step - cfg.warmup_steps) / span)))
    anneal = round(cfg.anneal_fraction * cfg.steps)
    if anneal > 0 and step >= cfg.steps - anneal:
        factor *= (cfg.steps - step) / anneal
    return factor


def files_fingerprint(paths) -> str:
    """Digest of the paths, sizes and mtimes of the input files (directories walked recursively).

    Snakemake decides reruns from the same mtimes, so a retrained input changes the fingerprint.
    """
    h = hashlib.sha1()
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"training input '{root}' does not exist")
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for f in files:
            st = f.stat()
            h.update(f"{f}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def run_digest(cfg: TrainConfig, model_config: dict | None) -> str:
    """What makes two runs the same run: every setting, the model config and the input fingerprint."""
    blob = json.dumps({"train": asdict(cfg), "model": model_config or {}}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()


def checkpoint_paths(out_dir: Path) -> list[tuple[int, Path]]:
    """Existing ``checkpoints/step_<N>.pt`` sorted by N."""
    found = []
    for p in (out_dir / "checkpoints").glob("step_*.pt"):
        m = re.fullmatch(r"step_(\d+)\.pt", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


class WeightAverage:
    """Exponential moving average of a model's state (parameters and buffers), the weights
    final.pt holds when ``TrainConfig.ema_decay`` > 0: θ̄ ← d θ̄ + (1 − d) θ after every step,
    with d = min(ema_decay, (1 + step) / (10 + step)) so that the first steps' weights fade fast.
    Integer buffers (BatchNorm's step count) are copied, not averaged."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = self.decay_at(step)
        for k, v in model.state_dict().items():
            avg = self.shadow[k]
            if avg.is_floating_point():
                avg.mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                avg.copy_(v)

    def state_dict(self) -> dict:
        return self.shadow

    def load_state_dict(self, state: dict) -> None:
        for k, avg in self.shadow.items():
            avg.copy_(state[k])


def save_checkpoint(out_dir: Path, step: int, model, optimizer, scaler, keep: int, digest: str = "",
                    average: WeightAverage | None = None) -> Path:
    path = out_dir / "checkpoints" / f"step_{step}.pt"
    state = {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scaler": scaler.state_dict(), "run_digest": digest}
    if average is not None:
        state["average"] = average.state_dict()
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    for _, old in checkpoint_paths(out_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def resume(out_dir: Path, model, optimizer, scaler, device, digest: str = "",
           average: WeightAverage | None = None) -> int:
    """Load the newest checkpoint of this run (same ``digest``) if any; return the steps already done.

    Checkpoints of another run (changed settings or inputs) are deleted, with a message.
    """
    ckpts = checkpoint_paths(out_dir)
    if not ckpts:
        return 0
    step, path = ckpts[-1]
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("run_digest", "") != digest:
        print(f"{out_dir}: checkpoints are from a run with other settings or inputs; training afresh",
              file=sys.stderr)
        for _, old in ckpts:
            old.unlink(missing_ok=True)
        return 0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    if average is not None:
        average.load_state_dict(state["average"])
    return int(state["step"])


def truncate_log(log_path: Path, done: int) -> None:
    """Drop log lines past the resumed step so the log reads as one uninterrupted run."""
    if not log_path.exists():
        return
    keep = []
    for line in log_path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= done:
                keep.append(line)
        except (json.JSONDecodeError, KeyError):  # a line cut short by a kill
            continue
    with atomic_path(log_path) as tmp:
        tmp.write_text("".join(line + "\n" for line in keep))


def train(model: torch.nn.Module, batch_fn: Callable[[int], Any],
          loss_fn: Callable[[torch.nn.Module, Any, int], tuple[torch.Tensor, dict]],
          out_dir: str | Path, cfg: TrainConfig, *, model_config: dict | None = None,
          val_fn: Callable[[torch.nn.Module, int], dict] | None = None,
          progress: bool = True) -> torch.nn.Module:
    """Train ``model`` for ``cfg.steps`` steps into ``out_dir`` (resuming if checkpoints exist).

    ``model_config`` (the constructor settings) is stored in ``final.pt`` so
    the model can be rebuilt by :func:`load_model`. Returns the trained model
    in eval mode.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    amp = use_amp(cfg.precision, device)
    model.to(device)
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], cfg)
    scaler = grad_scaler(amp)
    write_json(out_dir / "config.json", {"train": asdict(cfg), "model": model_config or {},
                                         "device": str(device), "amp": amp})
    digest = run_digest(cfg, model_config)
    average = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    done = resume(out_dir, model, optimizer, scaler, device, digest, average)
    log_path = out_dir / "train_log.jsonl"
    truncate_log(log_path, done)
    bar = tqdm(total=cfg.steps, initial=done, desc=f"train {out_dir.name}", disable=not progress,
               mininterval=2.0, dynamic_ncols=True)
    started = time.time()
    for step in range(done, cfg.steps):
        terms = train_step(model, optimizer, scaler, batch_fn, loss_fn, step, cfg, device, amp)
        if average is not None:
            average.update(model, step)
        if val_fn and cfg.val_every and (step + 1) % cfg.val_every == 0:
            model.eval()
            with torch.no_grad():
                terms.update({f"val_{k}": float(v) for k, v in val_fn(model, step + 1).items()})
            model.train()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            append_log(log_path, {"step": step + 1, "lr": optimizer.param_groups[0]["lr"],
                                  "elapsed_s": round(time.time() - started, 3), **terms})
            bar.set_postfix(loss=f"{terms['loss']:.3g}")
        if (step + 1) % cfg.ckpt_every == 0 and step + 1 < cfg.steps:
            save_checkpoint(out_dir, step + 1, model, optimizer, scaler, cfg.keep_checkpoints, digest, average)
        bar.update(1)
    bar.close()
    if average is not None:
        model.load_state_dict(average.state_dict())
    save_final(out_dir / "final.pt", model, model_config, cfg.steps)
    return model.eval()


def train_step(model, optimizer, scaler, batch_fn, loss_fn, step, cfg, device, amp) -> dict:
    """One optimisation step at global ``step``; returns the logged terms (with 'loss')."""
    torch.manual_seed(cfg.seed + step)
    for group in optimizer.param_groups:
        group["lr"] = cfg.lr * lr_factor(step, cfg)
    model.train()
    batch = to_device(batch_fn(step), device)
    with autocast(amp, device):
        loss, terms = loss_fn(model, batch, step)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()} at step {step + 1}; terms: {terms}")
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if cfg.grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return {"loss": float(loss.detach()), **{k: float(v) for k, v in terms.items()}}


def to_device(batch, device):
    """Move tensors inside nested tuples / lists / dicts to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def append_log(log_path: Path, record: dict) -> None:
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def save_final(path: Path, model, model_config: dict | None, step: int) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "model_config": model_config or {}, "step": step}, tmp)


def read_final(path: str | Path, device: str = "cpu") -> dict:
    """The {'model', 'model_config', 'step'} that :func:`save_final` wrote to ``path``; a missing
    file is a FileNotFoundError that says to run its training rule."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no trained model at '{path}': run its training rule first")
    return torch.load(path, map_location=device, weights_only=True)


def load_model(path: str | Path, build: Callable[[dict], torch.nn.Module], device: str = "cpu"):
    """Rebuild a model saved by :func:`train` from ``final.pt`` (``build(model_config) -> module``)."""
    state = read_final(path, device)
    model = build(state["model_config"])
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def init_weights(model: torch.nn.Module, path: str | Path, model_config: dict, fresh: tuple[str, ...] = (),
                 fresh_keys: tuple[str, ...] = ()) -> None:
    """Start ``model`` from the weights of another run's ``final.pt`` (a fine-tune), except the child
    modules named in ``fresh`` (e.g. ``('prosody',)``), which keep ``model``'s own new initialisation.
    The saved model config must equal ``model_config`` outside ``fresh_keys`` (settings that shape
    only the fresh modules): a DataError names the file and the keys that differ; a KeyError an
    unknown module."""
    children = dict(model.named_children())
    unknown = [name for name in fresh if name not in children]
    if unknown:
        raise KeyError(f"cannot start {unknown} afresh: the model's modules are {sorted(children)}")
    state = read_final(path)
    saved = state.get("model_config", {})
    differ = sorted(k for k in set(saved) | set(model_config)
                    if saved.get(k) != model_config.get(k) and k not in fresh_keys)
    if differ:
        raise DataError(f"'{path}' was trained with another model config (keys {differ}: "
                        f"{ {k: saved.get(k) for k in differ} } there, { {k: model_config.get(k) for k in differ} } "
                        f"here); a fine-tune keeps the architecture")
    kept = {k: v for k, v in state["model"].items() if k.split(".", 1)[0] not in fresh}
    model.load_state_dict(kept, strict=not fresh)


def read_train_log(out_dir: str | Path) -> list[dict]:
    path = Path(out_dir) / "train_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]
