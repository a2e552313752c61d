"""One supervised trainer for every network that is fitted to targets.

AlphaZero's update, behaviour cloning and the league's supervised start all call :func:`fit`:

    >>> import numpy as np, torch
    >>> from rlkit.nn import MLP
    >>> x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    >>> data = {"x": x, "y": 3 * x - 1}
    >>> model = MLP(1, (), 1, generator=torch.Generator().manual_seed(0))
    >>> def loss_fn(model, batch):
    ...     loss = mse(model(batch["x"]), batch["y"])
    ...     return loss, {}
    >>> config = TrainerConfig(epochs=200, batch_size=16, optimizer="sgd:lr=0.1,momentum=0.9")
    >>> result = fit(model, loss_fn, data, config, progress=False)
    >>> layer = model.layers[0]
    >>> round(layer.weight.item(), 3), round(layer.bias.item(), 3)
    (3.0, -1.0)

What one epoch does, in order (each piece is the textbook one; citations at the code):

1. A permutation of the training rows from the run's seeded generator; minibatches of
   ``batch_size`` rows (the last one may be smaller).
2. Per minibatch: ``x`` is z-scored with the training split's mean and standard deviation
   (``standardize``) and Gaussian noise of std ``input_noise`` is added (Bishop 1995,
   "Training with noise is equivalent to Tikhonov regularization"); ``loss_fn(model, batch)``
   runs the forward pass; the L2 penalty ``l2 * Σ w²`` over the *weights* (parameters with two
   or more dimensions: linear and convolution kernels; not biases, norm scales or ReZero's α)
   is added; the gradient's global norm is clipped to ``grad_clip``; the learning rate of the
   step is set by the schedule; the optimiser steps; then the L1 penalty ``l1 * Σ |w|`` is
   applied as a proximal step (soft threshold) on the same weights,
   ``w ← sign(w) · max(|w| - lr · l1, 0)`` (ISTA: Daubechies, Defrise & De Mol 2004; Beck &
   Teboulle 2009; Parikh & Boyd 2014, "Proximal Algorithms", §6.5.2). A plain subgradient
   step ``l1 · sign(w)`` makes weights oscillate around zero and never reach it; the proximal
   step sets every weight whose magnitude falls below ``lr · l1`` to exactly zero. (With
   adaptive optimisers, Adam etc., ``lr`` is the nominal step size: the threshold is then a
   heuristic, but the zeros are still exact.)
3. The validation loss (eval mode, no noise, no penalty), one metrics row, and a checkpoint.
   With a validation set, the weights of the best validation loss are kept; ``early_stopping``
   stops after that many epochs without improvement (Prechelt 1998, "Early stopping - but
   when?"). After :func:`fit` the model holds the best weights (by validation loss; without a
   validation set, the last ones).

Optimisers are torch's, named by spec (defaults are torch's):

    ``sgd:lr=0.01,momentum=0,nesterov=false``   (Polyak 1964 momentum; Nesterov 1983, in the
                                                form of Sutskever et al. 2013)
    ``rmsprop:lr=0.01,alpha=0.99,eps=1e-8,momentum=0,centered=false``   (Tieleman & Hinton 2012)
    ``adam:lr=1e-3,beta1=0.9,beta2=0.999,eps=1e-8``   (Kingma & Ba 2015)
    ``adamw:lr=1e-3,...,weight_decay=0.01``          (decoupled decay, Loshchilov & Hutter 2019)
    ``rprop:lr=0.01,eta_minus=0.5,eta_plus=1.2,step_min=1e-6,step_max=50``
                                                (Riedmiller & Braun 1993; full batch only: the
                                                sign of a minibatch gradient is noise)

Learning-rate schedules multiply each group's base ``lr`` by a factor of the step count:

    ``constant``                  1
    ``step:every=N,gamma=G``      ``G ** (epoch // N)`` (``every`` counts epochs)
    ``cosine[:warmup=W,min=M]``   linear warm-up over W steps, then ``M + (1 - M) * (1 +
                                  cos(π t / T)) / 2`` over the remaining T steps (Loshchilov &
                                  Hutter 2017, SGDR, without restarts)
    ``warmup:steps=W``            ``min(1, (step + 1) / W)`` (Goyal et al. 2017)

Randomness and resume. The permutation, the input noise and dropout (which draws from torch's
global generator) all come from ``seed``: dropout runs inside ``torch.random.fork_rng`` seeded
from it, so the caller's global stream is untouched. Same seed → same weights, byte for byte,
on CPU. ``run_dir/trainer.pt`` is written after every epoch (and on Ctrl-C, at the next batch
boundary) with the model, the best weights, the optimiser state (all ``param_groups``), the
schedule's step, every generator's state, the partial epoch and the history, so ``resume=True``
continues exactly where the run stopped and ends with the same weights as an uninterrupted
run.

This module imports torch only inside functions: the CLI can import it for ``--help``.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.checkpoint import load_checkpoint, save_checkpoint
from rlkit.errors import CheckpointError, SpecError
from rlkit.specs import build_named_config, config_to_dict

if TYPE_CHECKING:
    import torch
    from torch import nn

LossFn = Callable[["nn.Module", dict[str, "torch.Tensor"]], tuple["torch.Tensor", dict[str, float]]]
"""``loss_fn(model, batch) -> (loss, metrics)``: runs the forward pass itself. ``batch`` maps the
dataset's array names to tensors on the device (``"x"`` standardised and noised); ``metrics``
are floats averaged over the epoch into the history (``train_<name>``, ``val_<name>``)."""

TRAINER_FORMAT = "rlkit-trainer"
TRAINER_FORMAT_VERSION = 1


# -- optimiser and schedule specs ----------------------------------------------------------------
@dataclass(frozen=True)
class SGDSpec:
    """``sgd``: stochastic gradient descent, optionally with (Nesterov) momentum."""

    lr: float = 0.01
    """Step size."""
    momentum: float = 0.0
    """Heavy-ball momentum coefficient (Polyak 1964), in [0, 1)."""
    nesterov: bool = False
    """Nesterov's accelerated gradient (Sutskever et al. 2013 form); needs momentum > 0."""

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=true needs momentum > 0 (e.g. momentum=0.9)")


@dataclass(frozen=True)
class RMSpropSpec:
    """``rmsprop``: divide by a running RMS of the gradient (Tieleman & Hinton 2012)."""

    lr: float = 0.01
    """Step size."""
    alpha: float = 0.99
    """Decay of the running mean of squared gradients."""
    eps: float = 1e-8
    """Added to the RMS for stability."""
    momentum: float = 0.0
    """Momentum coefficient."""
    centered: bool = False
    """Divide by the gradient's estimated standard deviation instead of its RMS."""

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if not 0.0 <= self.alpha < 1.0 or self.eps <= 0 or not 0.0 <= self.momentum < 1.0:
            raise ValueError("rmsprop needs alpha and momentum in [0, 1) and eps > 0")


@dataclass(frozen=True)
class AdamSpec:
    """``adam``: Kingma & Ba (2015)."""

    lr: float = 1e-3
    """Step size."""
    beta1: float = 0.9
    """Decay of the first-moment estimate."""
    beta2: float = 0.999
    """Decay of the second-moment estimate."""
    eps: float = 1e-8
    """Added to the denominator for stability."""

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0) or self.eps <= 0:
            raise ValueError("adam needs beta1, beta2 in [0, 1) and eps > 0")


@dataclass(frozen=True)
class AdamWSpec(AdamSpec):
    """``adamw``: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

    weight_decay: float = 0.01
    """Decoupled decay: each step multiplies every parameter by ``1 - lr * weight_decay``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")


@dataclass(frozen=True)
class RpropSpec:
    """``rprop``: sign-based steps with per-weight step sizes (Riedmiller & Braun 1993)."""

    lr: float = 0.01
    """Initial step size of every weight."""
    eta_minus: float = 0.5
    """Step-size factor after a gradient sign change (0 < eta_minus < 1)."""
    eta_plus: float = 1.2
    """Step-size factor while the sign stays (> 1)."""
    step_min: float = 1e-6
    """Smallest step size."""
    step_max: float = 50.0
    """Largest step size."""

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if not (0 < self.eta_minus < 1 < self.eta_plus) or not 0 < self.step_min < self.step_max:
            raise ValueError("rprop needs 0 < eta_minus < 1 < eta_plus and 0 < step_min < step_max")


def _check_lr(lr: float) -> None:
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr}")


_OPTIMIZERS: dict[str, type] = {
    "sgd": SGDSpec,
    "rmsprop": RMSpropSpec,
    "adam": AdamSpec,
    "adamw": AdamWSpec,
    "rprop": RpropSpec,
}


@dataclass(frozen=True)
class ConstantSchedule:
    """``constant``: the base learning rate throughout."""

    def factor(self, step: int, steps_per_epoch: int, total_steps: int) -> float:
        return 1.0


@dataclass(frozen=True)
class StepSchedule:
    """``step:every=N,gamma=G``: multiply by ``G`` every ``N`` epochs."""

    every: int = 10
    """Epochs between decays."""
    gamma: float = 0.1
    """Decay factor."""

    def __post_init__(self) -> None:
        if self.every < 1 or not 0 < self.gamma <= 1:
            raise ValueError("step schedule needs every >= 1 and 0 < gamma <= 1")

    def factor(self, step: int, steps_per_epoch: int, total_steps: int) -> float:
        return self.gamma ** (step // (self.every * steps_per_epoch))


@dataclass(frozen=True)
class CosineSchedule:
    """``cosine:warmup=W,min=M``: linear warm-up over ``W`` steps, then a half cosine to ``M``."""

    warmup: int = 0
    """Optimiser steps of linear warm-up (0: none)."""
    min: float = 0.0
    """Final factor, in [0, 1]."""

    def __post_init__(self) -> None:
        if self.warmup < 0 or not 0.0 <= self.min <= 1.0:
            raise ValueError("cosine schedule needs warmup >= 0 and 0 <= min <= 1")

    def factor(self, step: int, steps_per_epoch: int, total_steps: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        span = max(1, total_steps - self.warmup)
        t = min(1.0, (step - self.warmup) / span)
        return self.min + (1.0 - self.min) * 0.5 * (1.0 + math.cos(math.pi * t))


@dataclass(frozen=True)
class WarmupSchedule:
    """``warmup:steps=W``: linear warm-up over ``W`` optimiser steps, then constant."""

    steps: int = 100
    """Optimiser steps of warm-up."""

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"warmup steps must be >= 1, got {self.steps}")

    def factor(self, step: int, steps_per_epoch: int, total_steps: int) -> float:
        return min(1.0, (step + 1) / self.steps)


_SCHEDULES: dict[str, type] = {
    "constant": ConstantSchedule,
    "step": StepSchedule,
    "cosine": CosineSchedule,
    "warmup": WarmupSchedule,
}


def parse_optimizer(text: str) -> Any:
    """The optimiser spec dataclass named by ``text`` (e.g. ``"sgd:lr=0.1,momentum=0.9"``).

    Raises:
        SpecError: unknown optimiser or parameter (with close matches), or a bad value.
    """
    return build_named_config(text, _OPTIMIZERS, "optimizer", "adam:lr=1e-3")


def parse_schedule(text: str) -> Any:
    """The schedule dataclass named by ``text`` (e.g. ``"cosine:warmup=500"``).

    Raises:
        SpecError: unknown schedule or parameter, or a bad value.
    """
    return build_named_config(text, _SCHEDULES, "schedule", "cosine:warmup=500")


def make_optimizer(text: str, params: Any) -> torch.optim.Optimizer:
    """Build the torch optimiser ``text`` names over ``params``."""
    import torch

    spec = parse_optimizer(text)
    if isinstance(spec, SGDSpec):
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, nesterov=spec.nesterov)
    if isinstance(spec, RMSpropSpec):
        return torch.optim.RMSprop(
            params,
            lr=spec.lr,
            alpha=spec.alpha,
            eps=spec.eps,
            momentum=spec.momentum,
            centered=spec.centered,
        )
    if isinstance(spec, AdamWSpec):
        return torch.optim.AdamW(
            params,
            lr=spec.lr,
            betas=(spec.beta1, spec.beta2),
            eps=spec.eps,
            weight_decay=spec.weight_decay,
        )
    if isinstance(spec, AdamSpec):
        return torch.optim.Adam(params, lr=spec.lr, betas=(spec.beta1, spec.beta2), eps=spec.eps)
    return torch.optim.Rprop(
        params,
        lr=spec.lr,
        etas=(spec.eta_minus, spec.eta_plus),
        step_sizes=(spec.step_min, spec.step_max),
    )


# -- optimiser state in checkpoints ------------------------------------------------------------
def optimizer_state_tensors(
    optimizer: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Flatten an optimiser's state for :func:`rlkit.checkpoint.save_checkpoint`.

    Args:
        optimizer: any torch optimiser.
        prefix: name prefix of its tensors, e.g. ``"optimizer"``.

    Returns:
        ``tensors``: ``{"<prefix>.<param index>.<key>": tensor}`` (moments, step counts);
        ``meta``: JSON ``{"param_groups": [...], "none": [...]}``: every group's
        hyper-parameters (``lr``, ``betas``, ``momentum``, ... and its parameter indices) and
        the state entries that are None. Restore both with :func:`load_optimizer_state`.
    """
    import torch

    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    nones: list[str] = []
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if value is None:
                nones.append(f"{index}.{key}")
            else:
                tensors[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().clone()
    groups = [{k: _json_value(v) for k, v in g.items()} for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "none": nones}


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # a tensor lr (capturable optimisers)
        return value.item()
    return value


def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    tensors: dict[str, torch.Tensor],
    prefix: str,
    meta: dict[str, Any] | None = None,
) -> set[str]:
    """Restore what :func:`optimizer_state_tensors` returned.

    Args:
        optimizer: an optimiser over the same parameters, in the same order.
        tensors: all of a checkpoint's tensors (those under ``prefix.`` are used).
        prefix: as given when saving.
        meta: the saved ``meta``; None (checkpoints from before it was stored) keeps the
            optimiser's current ``param_groups``.

    Returns:
        The tensor names it consumed.

    Raises:
        ValueError, KeyError, RuntimeError: state that does not fit the optimiser (callers
            turn these into :class:`~rlkit.errors.CheckpointError`).
    """
    state: dict[int, dict[str, Any]] = {}
    used: set[str] = set()
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value.clone()
            used.add(key)
    current = optimizer.state_dict()["param_groups"]
    groups = current
    if meta is not None:
        for entry in meta.get("none", []):
            index, name = entry.split(".", 1)
            state.setdefault(int(index), {})[name] = None
        saved = meta.get("param_groups")
        if saved is not None:
            if len(saved) != len(current):
                raise ValueError(
                    f"saved optimizer has {len(saved)} parameter groups, this one {len(current)}"
                )
            # JSON made tuples (betas, etas) into lists: give them back their type.
            groups = [
                {
                    k: tuple(v) if isinstance(cur.get(k), tuple) and isinstance(v, list) else v
                    for k, v in group.items()
                }
                for group, cur in zip(saved, current, strict=True)
            ]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return used


# -- losses --------------------------------------------------------------------------------------
def _mask_logits(logits: torch.Tensor, legal_mask: torch.Tensor | None) -> torch.Tensor:
    # The most negative finite value (not -inf): softmax gives exactly 0 there, and
    # 0 * log-prob stays 0 instead of NaN.
    if legal_mask is None:
        return logits
    return logits.masked_fill(~legal_mask.bool(), float(_finfo_min(logits)))


def _finfo_min(t: torch.Tensor) -> float:
    import torch

    return torch.finfo(t.dtype).min


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all elements."""
    import torch

    return torch.mean((pred.float() - target.float()) ** 2)


def bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1], mean over elements."""
    import torch

    return torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), target.float())


def soft_cross_entropy(
    logits: torch.Tensor, target_probs: torch.Tensor, legal_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``-Σ_a p(a) log softmax(logits)_a``, mean over rows (search policies as targets).

    Args:
        logits: ``[B, A]``.
        target_probs: ``[B, A]``, rows summing to 1 (zero on illegal actions).
        legal_mask: ``[B, A]`` bool; illegal logits are excluded from the softmax.
    """
    import torch

    log_probs = torch.log_softmax(_mask_logits(logits.float(), legal_mask), dim=-1)
    terms = target_probs.float() * log_probs
    if legal_mask is not None:
        terms = torch.where(legal_mask.bool(), terms, torch.zeros_like(terms))
    return -terms.sum(dim=-1).mean()


def cross_entropy(
    logits: torch.Tensor, target_index: torch.Tensor, legal_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy of the target actions ``[B]`` (int) under ``softmax(logits)``, mean over rows.

    With ``legal_mask`` (``[B, A]`` bool) illegal logits are excluded from the softmax.
    """
    import torch

    masked = _mask_logits(logits.float(), legal_mask)
    return torch.nn.functional.cross_entropy(masked, target_index.long())


def kl_to_reference(
    logits: torch.Tensor, ref_logits: torch.Tensor, legal_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``KL(π_ref ‖ π)`` per row, mean over rows; ``π_ref = softmax(ref_logits)`` is frozen.

    The direction: the reference's expectation of ``log π_ref - log π``, i.e. the cross-entropy
    of ``π`` to ``π_ref`` minus ``π_ref``'s entropy; its gradient pulls ``π`` to cover every
    move the reference plays (the "stay close to the supervised policy" term of AlphaStar,
    Vinyals et al. 2019). ``ref_logits`` is detached. Illegal actions (``legal_mask``) are
    excluded from both softmaxes.
    """
    import torch

    log_p = torch.log_softmax(_mask_logits(logits.float(), legal_mask), dim=-1)
    log_ref = torch.log_softmax(_mask_logits(ref_logits.detach().float(), legal_mask), dim=-1)
    terms = log_ref.exp() * (log_ref - log_p)
    if legal_mask is not None:
        terms = torch.where(legal_mask.bool(), terms, torch.zeros_like(terms))
    return terms.sum(dim=-1).mean()


def weighted_sum(
    terms: dict[str, torch.Tensor], weights: dict[str, float] | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    """``Σ weights[name] * terms[name]`` (weight 1 where not given), and each term as a metric.

    Returns what a :data:`LossFn` returns, so a loss function can end with it:

        >>> import torch
        >>> loss, metrics = weighted_sum({"policy": torch.tensor(2.0), "value": torch.tensor(1.0)},
        ...                              {"value": 0.5})
        >>> float(loss), metrics
        (2.5, {'policy': 2.0, 'value': 1.0})
    """
    weights = weights or {}
    unknown = set(weights) - set(terms)
    if unknown:
        raise ValueError(f"weights for unknown loss terms {sorted(unknown)}")
    total = sum(weights.get(name, 1.0) * value for name, value in terms.items())
    return total, {name: float(value.detach()) for name, value in terms.items()}


# -- the trainer's configuration ---------------------------------------------------------------
@dataclass(frozen=True)
class TrainerConfig:
    """Hyper-parameters of :func:`fit` (a spec or TOML table through ``build_config``)."""

    epochs: int = 20
    """Passes over the training set."""

    batch_size: int = 256
    """Rows per minibatch (>= the training set size: full batch)."""

    optimizer: str = "adam:lr=1e-3"
    """Optimiser spec: ``sgd:lr=,momentum=,nesterov=``, ``rmsprop``, ``adam``,
    ``adamw:weight_decay=``, ``rprop`` (full batch only)."""

    schedule: str = "constant"
    """Learning-rate schedule: ``constant``, ``step:every=N,gamma=G`` (N epochs),
    ``cosine[:warmup=W,min=M]``, ``warmup:steps=W`` (W optimiser steps)."""

    l1: float = 0.0
    """L1 penalty on the weights (not biases/norm parameters), as a proximal soft-threshold
    step after each optimiser step: gives exact zeros."""

    l2: float = 0.0
    """L2 penalty ``l2 * Σ w²`` on the weights (not biases/norm parameters), added to the
    loss (gradient ``2 * l2 * w``)."""

    input_noise: float = 0.0
    """Standard deviation of Gaussian noise added to ``x`` of training batches."""

    standardize: bool = False
    """Z-score ``x`` with the training split's per-feature mean and standard deviation
    (returned in :class:`FitResult` and stored in the checkpoint)."""

    grad_clip: float | None = None
    """Clip the gradient's global L2 norm to this (None: no clipping)."""

    validation_fraction: float = 0.0
    """Fraction of ``train`` held out for validation when no validation set is given."""

    early_stopping: int | None = None
    """Stop after this many epochs without a better validation loss (needs validation data);
    the best weights are restored either way."""

    seed: int = 0
    """Seeds the validation split, the permutations, input noise and dropout."""

    device: str = "cpu"
    """Torch device (a run-time setting): ``cpu``, ``cuda``, ``cuda:N`` or ``auto``."""

    eval_batch_size: int = 4096
    """Rows per forward pass when computing the validation loss."""

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("epochs, batch_size and eval_batch_size must be at least 1")
        for name in ("l1", "l2", "input_noise"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or none, got {self.grad_clip}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if self.early_stopping is not None and self.early_stopping < 1:
            raise ValueError(f"early_stopping must be >= 1 or none, got {self.early_stopping}")
        parse_optimizer(self.optimizer)
        parse_schedule(self.schedule)


@dataclass(frozen=True)
class Standardizer:
    """Per-feature z-scoring ``(x - mean) / std`` with the training split's statistics.

    Features of zero spread (e.g. a board plane that is always empty) get ``std = 1``.
    """

    mean: np.ndarray
    """float32, shape of one ``x`` row."""
    std: np.ndarray
    """float32, same shape, all positive."""

    @classmethod
    def from_data(cls, x: np.ndarray) -> Standardizer:
        x64 = np.asarray(x, dtype=np.float64)
        std = x64.std(axis=0)
        std[std < 1e-8] = 1.0
        return cls(x64.mean(axis=0).astype(np.float32), std.astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardise rows ``[B, *shape]`` (numpy)."""
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (nested lists)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))


@dataclass
class FitResult:
    """What :func:`fit` reports."""

    best_epoch: int
    """Epoch (1-based) whose weights the model holds: the best validation loss, else the last."""
    epochs_run: int
    """Epochs completed (including those of a resumed run's earlier part)."""
    stopped_early: bool
    """Whether early stopping ended the run before ``epochs``."""
    history: list[dict[str, float]]
    """One row per epoch: ``epoch``, ``steps``, ``lr``, ``train_loss``, ``val_loss`` (NaN
    without validation), ``seconds``, ``samples_per_s`` and ``train_``/``val_`` metrics."""
    standardizer: Standardizer | None
    """The training split's statistics (with ``standardize=True``), else None."""
    best_val_loss: float = math.nan
    """Validation loss of the best epoch (NaN without validation)."""


# -- helpers of fit --------------------------------------------------------------------------------
def _check_arrays(data: dict[str, np.ndarray], what: str) -> dict[str, np.ndarray]:
    if not isinstance(data, dict) or "x" not in data:
        raise SpecError(f"the {what} data must be a dict of arrays with an input array 'x'")
    arrays = {k: np.asarray(v) for k, v in data.items()}
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise SpecError(f"the {what} arrays differ in length: {lengths}")
    if lengths["x"] == 0:
        raise SpecError(f"the {what} data is empty")
    return arrays


def _split(
    train: dict[str, np.ndarray], fraction: float, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    n = len(train["x"])
    n_val = max(1, round(fraction * n))
    if n_val >= n:
        raise SpecError(f"validation_fraction={fraction} leaves no training rows of {n}")
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    return {k: v[train_idx] for k, v in train.items()}, {k: v[val_idx] for k, v in train.items()}


def _metrics_log(run_dir: Path, resume_epoch: int) -> Any:
    """The run's :class:`rlkit.training.MetricsLog` (``metrics.csv``, TensorBoard under ``tb/``
    by optimiser step): a resumed run keeps the rows of the epochs its checkpoint holds and
    rewrites the rest; a fresh run starts a new file."""
    from rlkit.training import MetricsLog

    run_dir.mkdir(parents=True, exist_ok=True)
    if resume_epoch == 0:
        (run_dir / "metrics.csv").unlink(missing_ok=True)
    log = MetricsLog(run_dir)
    log.truncate_after(resume_epoch)  # rows are keyed by their first column, the epoch
    return log


class _Interrupt:
    """Turns the first Ctrl-C into a flag checked between batches (the second one raises)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupt:
        def handler(signum: int, frame: Any) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        try:
            self._previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self._previous = None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@dataclass
class _RunState:
    """Everything of a run that is not a tensor (JSON in the checkpoint)."""

    epoch: int = 0  # completed epochs
    batch: int = 0  # batches done of the epoch in progress
    step: int = 0  # optimiser steps
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)
    best_epoch: int = 0
    best_val: float = math.inf
    stopped_early: bool = False
    # sums over the batches done of the epoch in progress (weighted by rows)
    sums: dict[str, float] = dataclasses.field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0


def _flat_state(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().clone() for k, v in module.state_dict().items()}


def _unflat(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _config_differences(saved: dict[str, Any], config: TrainerConfig) -> list[str]:
    now = config_to_dict(config)
    free = ("epochs", "device", "eval_batch_size")  # may change when resuming
    return [
        f"{k} (saved {saved.get(k)!r}, now {v!r})"
        for k, v in now.items()
        if k not in free and saved.get(k) != v
    ]


# -- fit ------------------------------------------------------------------------------------------
def fit(
    model: nn.Module,
    loss_fn: LossFn,
    train: dict[str, np.ndarray],
    config: TrainerConfig,
    *,
    validation: dict[str, np.ndarray] | None = None,
    run_dir: Path | None = None,
    progress: bool = True,
    resume: bool = False,
    optimizer: torch.optim.Optimizer | None = None,
) -> FitResult:
    """Fit ``model`` to ``train`` by minimising ``loss_fn`` (see the module docstring).

    Args:
        model: any module; moved to ``config.device`` and left in eval mode there.
        loss_fn: ``loss_fn(model, batch) -> (loss, metrics)`` (:data:`LossFn`).
        train: arrays of equal length; ``"x"`` is the input (standardisation, noise apply).
        config: a :class:`TrainerConfig`.
        validation: held-out arrays with the same names (else ``validation_fraction`` of
            ``train`` is split off, seeded).
        run_dir: where ``metrics.csv``, ``tb/`` and ``trainer.pt`` go (None: nothing written).
        progress: show a tqdm bar (samples/s, ETA) on stderr.
        resume: continue from ``run_dir/trainer.pt`` when it exists (exactly); without it
            a run starts fresh and replaces the folder's metrics. When resuming, only
            ``epochs``, ``device`` and ``eval_batch_size`` may differ from the saved
            configuration (more epochs extend a finished run; a cosine schedule is laid out
            over the new total).
        optimizer: an optimiser over ``model``'s parameters to continue with, its moments
            carried across calls (AlphaZero fits one epoch per generation); None: a new one
            from ``config.optimizer``. The schedule scales the learning rates it had on entry.

    Returns:
        A :class:`FitResult`; ``model`` holds the best weights.

    Raises:
        SpecError: bad data (no ``x``, unequal lengths), early stopping without validation
            data, Rprop with minibatches.
        CheckpointError: ``resume`` from a checkpoint of another model or configuration.
        KeyboardInterrupt: on Ctrl-C, after writing ``trainer.pt`` (when ``run_dir``) at the
            next batch boundary; ``resume=True`` then continues exactly.
    """
    import torch

    from rlkit.nn import resolve_device

    device = resolve_device(config.device)
    train = _check_arrays(train, "training")
    if validation is not None:
        validation = _check_arrays(validation, "validation")
    elif config.validation_fraction > 0:
        train, validation = _split(train, config.validation_fraction, config.seed)
    n = len(train["x"])
    if config.early_stopping is not None and validation is None:
        raise SpecError(
            "early_stopping needs validation data: pass validation= or set validation_fraction"
        )
    if isinstance(parse_optimizer(config.optimizer), RpropSpec) and config.batch_size < n:
        raise SpecError(
            f"rprop works on full batches only (the sign of a minibatch gradient is noise): "
            f"set batch_size >= {n}, the training set size"
        )
    standardizer = Standardizer.from_data(train["x"]) if config.standardize else None
    schedule = parse_schedule(config.schedule)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    model.to(device)
    if optimizer is None:
        optimizer = make_optimizer(config.optimizer, model.parameters())
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    penalized = [p for p in model.parameters() if p.dim() >= 2]
    permutation_rng = torch.Generator().manual_seed(config.seed)
    noise_rng = torch.Generator(device=device).manual_seed(config.seed + 1)
    host_train = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in train.items()}

    def prepare(batch: dict[str, torch.Tensor], noise: bool) -> dict[str, torch.Tensor]:
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        x = batch["x"].float()
        if standardizer is not None:
            x = (x - mean) / std
        if noise and config.input_noise > 0:
            x = x + config.input_noise * torch.randn(
                x.shape, generator=noise_rng, device=device, dtype=x.dtype
            )
        batch["x"] = x
        return batch

    def train_step(batch: dict[str, torch.Tensor]) -> tuple[float, dict[str, float]]:
        """One optimiser step on ``batch``: loss + L2, clip, schedule, step, L1 proximal step."""
        loss, metrics = loss_fn(model, batch)
        objective = loss
        if config.l2 > 0:
            objective = objective + config.l2 * sum((p * p).sum() for p in penalized)
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        factor = schedule.factor(state.step, steps_per_epoch, total_steps)
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * factor
        optimizer.step()
        if config.l1 > 0:
            _soft_threshold(optimizer, penalized, config.l1)
        state.step += 1
        return float(loss.detach()), metrics

    def evaluate(data: dict[str, np.ndarray]) -> dict[str, float]:
        model.eval()
        sums: dict[str, float] = {}
        rows = len(data["x"])
        with torch.no_grad():
            for start in range(0, rows, config.eval_batch_size):
                part = {
                    k: torch.from_numpy(
                        np.ascontiguousarray(v[start : start + config.eval_batch_size])
                    )
                    for k, v in data.items()
                }
                loss, metrics = loss_fn(model, prepare(part, noise=False))
                size = len(part["x"])
                for key, value in {"loss": float(loss), **metrics}.items():
                    sums[key] = sums.get(key, 0.0) + float(value) * size
        return {k: v / rows for k, v in sums.items()}

    state = _RunState()
    best_weights: dict[str, torch.Tensor] | None = None
    run_dir = Path(run_dir) if run_dir is not None else None
    trainer_path = run_dir / "trainer.pt" if run_dir is not None else None
    epoch_start_rng = permutation_rng.get_state()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed + 2)  # dropout's stream, inside the fork
        if resume and trainer_path is not None and trainer_path.exists():
            best_weights, epoch_start_rng, saved_standardizer = _restore(
                trainer_path, config, model, optimizer, state, permutation_rng, noise_rng, device
            )
            if saved_standardizer is not None:  # the statistics the run started with
                standardizer = saved_standardizer
        if standardizer is not None:  # read by prepare()
            mean = torch.from_numpy(standardizer.mean).to(device)
            std = torch.from_numpy(standardizer.std).to(device)

        def save() -> None:
            if trainer_path is None:
                return
            _save(
                trainer_path,
                config,
                model,
                optimizer,
                state,
                best_weights,
                standardizer,
                permutation_rng,
                epoch_start_rng,
                noise_rng,
                base_lrs,
            )

        metrics_file = _metrics_log(run_dir, state.epoch) if run_dir is not None else None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=config.epochs * n,
                initial=state.epoch * n + state.rows,
                unit="sample",
                unit_scale=True,
                dynamic_ncols=True,
                mininterval=0.5,
                file=sys.stderr,
            )
        try:
            with _Interrupt() as interrupt:
                while state.epoch < config.epochs and not state.stopped_early:
                    if state.batch == 0:
                        epoch_start_rng = permutation_rng.get_state()
                    else:  # resuming mid-epoch: draw the same permutation again
                        permutation_rng.set_state(epoch_start_rng)
                    order = torch.randperm(n, generator=permutation_rng)
                    model.train()
                    began = time.perf_counter()
                    for index in range(state.batch, steps_per_epoch):
                        if interrupt.requested:
                            state.seconds += time.perf_counter() - began
                            save()
                            where = f"; resume from {trainer_path}" if trainer_path else ""
                            print(
                                f"interrupted in epoch {state.epoch + 1}{where}",
                                file=sys.stderr,
                            )
                            raise KeyboardInterrupt
                        rows = order[index * config.batch_size : (index + 1) * config.batch_size]
                        batch = prepare({k: v[rows] for k, v in host_train.items()}, noise=True)
                        loss, metrics = train_step(batch)
                        state.batch = index + 1
                        size = len(rows)
                        state.rows += size
                        for key, value in {"loss": loss, **metrics}.items():
                            state.sums[key] = state.sums.get(key, 0.0) + float(value) * size
                        if bar is not None:
                            bar.update(size)
                    state.seconds += time.perf_counter() - began
                    row = _finish_epoch(state, optimizer, validation, evaluate)
                    if validation is not None and row["val_loss"] < state.best_val:
                        state.best_val, state.best_epoch = row["val_loss"], state.epoch
                        best_weights = {
                            k: v.detach().clone() for k, v in model.state_dict().items()
                        }
                    elif validation is None:
                        state.best_epoch = state.epoch
                    if (
                        config.early_stopping is not None
                        and state.epoch - state.best_epoch >= config.early_stopping
                    ):
                        state.stopped_early = True
                    if metrics_file is not None:
                        metrics_file.write(row)
                    if bar is not None:
                        val = f" val={row['val_loss']:.4g}" if validation is not None else ""
                        bar.set_postfix_str(
                            f"epoch={state.epoch} loss={row['train_loss']:.4g}{val}"
                        )
                    save()
        finally:
            if bar is not None:
                bar.close()
            if metrics_file is not None:
                metrics_file.close()
    if best_weights is not None:
        model.load_state_dict(best_weights)
    model.eval()
    return FitResult(
        best_epoch=state.best_epoch,
        epochs_run=state.epoch,
        stopped_early=state.stopped_early,
        history=state.history,
        standardizer=standardizer,
        best_val_loss=state.best_val if validation is not None else math.nan,
    )


def _soft_threshold(optimizer: Any, penalized: list[Any], l1: float) -> None:
    """Proximal step of ``l1 * Σ|w|``: ``w ← sign(w) max(|w| - lr l1, 0)`` (see module doc)."""
    import torch

    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    with torch.no_grad():
        for p in penalized:
            threshold = lr_of[id(p)] * l1
            p.copy_(torch.sign(p) * torch.clamp(p.abs() - threshold, min=0.0))


def _finish_epoch(
    state: _RunState,
    optimizer: Any,
    validation: dict[str, np.ndarray] | None,
    evaluate: Callable[[dict[str, np.ndarray]], dict[str, float]],
) -> dict[str, float]:
    """Close the epoch: one history row from the batch sums and the validation pass."""
    state.epoch += 1
    train_means = {k: v / max(1, state.rows) for k, v in state.sums.items()}
    row: dict[str, float] = {
        "epoch": state.epoch,
        "steps": state.step,
        "lr": float(optimizer.param_groups[0]["lr"]),
        "train_loss": train_means.pop("loss", math.nan),
        "val_loss": math.nan,
        "seconds": state.seconds,
        "samples_per_s": state.rows / state.seconds if state.seconds > 0 else math.nan,
    }
    row.update({f"train_{k}": v for k, v in train_means.items()})
    if validation is not None:
        val = evaluate(validation)
        row["val_loss"] = val.pop("loss")
        row.update({f"val_{k}": v for k, v in val.items()})
    state.history.append(row)
    state.batch, state.rows, state.sums, state.seconds = 0, 0, {}, 0.0
    return row


def _save(
    path: Path,
    config: TrainerConfig,
    model: Any,
    optimizer: Any,
    state: _RunState,
    best_weights: dict[str, Any] | None,
    standardizer: Standardizer | None,
    permutation_rng: Any,
    epoch_start_rng: Any,
    noise_rng: Any,
    base_lrs: list[float],
) -> None:
    """Write ``trainer.pt``: tensors (weights, moments, RNG states) + JSON (the rest)."""
    import torch

    tensors = _flat_state("model", model)
    if best_weights is not None:
        tensors.update({f"best.{k}": v for k, v in best_weights.items()})
    optimizer_tensors, optimizer_meta = optimizer_state_tensors(optimizer, "optimizer")
    tensors.update(optimizer_tensors)
    if standardizer is not None:
        tensors["standardizer.mean"] = torch.from_numpy(standardizer.mean)
        tensors["standardizer.std"] = torch.from_numpy(standardizer.std)
    tensors["rng.permutation"] = permutation_rng.get_state()
    tensors["rng.epoch_start"] = epoch_start_rng
    tensors["rng.noise"] = noise_rng.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    if noise_rng.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(noise_rng.device)
    metadata = {
        "format": TRAINER_FORMAT,
        "format_version": TRAINER_FORMAT_VERSION,
        "config": config_to_dict(config),
        "optimizer": optimizer_meta,
        "schedule": {"base_lrs": base_lrs, "step": state.step},
        "state": dataclasses.asdict(state),
        "has_best": best_weights is not None,
    }
    save_checkpoint(path, _json_safe(metadata), tensors)


def _json_safe(value: Any) -> Any:
    """Infinities and NaNs as strings (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _json_restore(value: Any) -> Any:
    if value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, dict):
        return {k: _json_restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_restore(v) for v in value]
    return value


def _restore(
    path: Path,
    config: TrainerConfig,
    model: Any,
    optimizer: Any,
    state: _RunState,
    permutation_rng: Any,
    noise_rng: Any,
    device: Any,
) -> tuple[dict[str, Any] | None, Any, Standardizer | None]:
    """Load ``trainer.pt`` into the run's objects.

    Returns:
        The best weights so far (or None), the permutation RNG state at the start of the epoch
        in progress, and the saved standardizer (or None).
    """
    import torch

    checkpoint = load_checkpoint(path)
    meta, tensors = checkpoint.metadata, checkpoint.tensors
    if meta.get("format") != TRAINER_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a trainer checkpoint")
    differences = _config_differences(meta.get("config", {}), config)
    if differences:
        raise CheckpointError(
            f"cannot resume from {str(path)!r}: the configuration differs in "
            f"{'; '.join(differences)}"
        )
    try:
        model.load_state_dict(_unflat("model", tensors))
        load_optimizer_state(optimizer, tensors, "optimizer", meta["optimizer"])
        saved = _json_restore(meta["state"])
        for f in dataclasses.fields(_RunState):
            setattr(state, f.name, saved[f.name])
        permutation_rng.set_state(tensors["rng.permutation"])
        noise_rng.set_state(tensors["rng.noise"])
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], device)
        best = _unflat("best", tensors) if meta.get("has_best") else None
        if best is not None:
            best = {k: v.to(device) for k, v in best.items()}
        standardizer = None
        if "standardizer.mean" in tensors:
            standardizer = Standardizer(
                tensors["standardizer.mean"].numpy(), tensors["standardizer.std"].numpy()
            )
        return best, tensors["rng.epoch_start"], standardizer
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{str(path)!r} does not fit this model or optimizer ({reason[:160]})"
        ) from None


__all__ = [
    "FitResult",
    "LossFn",
    "Standardizer",
    "TrainerConfig",
    "bce",
    "cross_entropy",
    "fit",
    "kl_to_reference",
    "load_optimizer_state",
    "make_optimizer",
    "mse",
    "optimizer_state_tensors",
    "parse_optimizer",
    "parse_schedule",
    "soft_cross_entropy",
    "weighted_sum",
]
