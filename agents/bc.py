"""Behaviour cloning: a policy (and value) network fitted to the moves of recorded games.

The first stage of AlphaGo (Silver et al., "Mastering the game of Go with deep neural
networks and tree search", Nature 529, 2016): a network learns to predict the expert's move
from the position, by supervised learning on game records, and then plays on its own, with no
search. Here:

- the data are records that ``rlkit play --record`` writes (or SGF from elsewhere), read and
  replayed by :mod:`rlkit.datasets`, or a position set saved with
  :func:`rlkit.datasets.save_shards`;
- the network is any :func:`rlkit.nn.make_network` spec, with a policy head and a value head;
- the loss is the cross-entropy of the expert's move under the softmax over *legal* moves,
  plus ``value_weight`` times the squared error of the value head against the game's final
  result from the mover's view (scaled into [-1, 1] by the game's utility bound). AlphaGo
  fitted its value network separately because successive positions of one game share their
  result and overfit it; a small weight keeps the value head from dominating here;
- the trainer is :func:`rlkit.supervised.fit` (shuffled minibatches, optimiser, schedule,
  early stopping on a validation split of whole games, metrics, resume);
- the hold-out set, on which the move agreement is reported, is a fraction of whole games
  (:func:`rlkit.datasets.split_by_game`).

Training (``rlkit train bc --data DIR --env GAME --net SPEC --out RUN`` calls
:func:`train_bc`) writes::

    RUN/config.toml   data, env, net, value weight, augmentation, hold-out, seed, trainer
    RUN/metrics.csv   the trainer's per-epoch metrics (also as TensorBoard events in RUN/tb)
    RUN/trainer.pt    the trainer's checkpoint after every epoch (for resume)
    RUN/summary.json  the numbers train_bc returns
    RUN/final.pt      the agent: an rlkit checkpoint with metadata agent="bc", env=GAME

so ``rlkit play RUN random --env GAME`` seats the clone like any other agent. Acting
(:meth:`BehaviourCloning.act`) goes through :class:`rlkit.nn.BatchedEvaluator`: with
``temperature=0`` the most probable legal move, otherwise a move sampled from the legal
softmax raised to ``1 / temperature`` with the agent's seeded generator.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlkit.agent import Agent, inner_observation_space, validate_mask
from rlkit.errors import CheckpointError, IncompatibleEnvError, RlkitError, SpecError

DEFAULT_BOARD_NET = "resnet:blocks=4,channels=64"
"""Network for board observations ``[C, H, W]`` when none is named."""
DEFAULT_VECTOR_NET = "mlp:hidden=256x256"
"""Network for flat observations (backgammon) when none is named."""
_AUTOCAST: dict[str, bool | Literal["auto"]] = {"auto": "auto", "on": True, "off": False}
"""The ``autocast`` setting as :func:`rlkit.nn.autocast` takes it."""


@dataclass(frozen=True)
class BehaviourCloningConfig:
    """The cloned network and how it acts."""

    net: str = DEFAULT_BOARD_NET
    """Network spec (:func:`rlkit.nn.make_network`), e.g. ``resnet:blocks=4,channels=64`` for
    boards or ``mlp:hidden=256x256`` for flat observations."""
    value_head: str = "scalar"
    """Value head: ``scalar`` (tanh, in [-1, 1]) or ``wdl`` (win/draw/loss logits)."""
    temperature: float = 0.0
    """0: play the most probable legal move; > 0: sample from the legal softmax raised to
    ``1 / temperature`` (1 samples the network's own distribution)."""
    device: str = "auto"
    """Where the network runs: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:N``."""
    autocast: Literal["auto", "on", "off"] = "auto"
    """Mixed precision when acting: ``auto`` (bf16 on CPUs and GPUs that have it), ``on``,
    ``off``."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise SpecError(f"temperature must be a number >= 0, got {self.temperature}")


class BehaviourCloning(Agent):
    """A policy-value network that acts on an observation and a legal mask.

    Args:
        config: :class:`BehaviourCloningConfig`.
        observation_space: a Box, or a Dict with ``"observation"`` and ``"action_mask"`` (what
            game environments and :func:`rlkit.game.game_observation_space` give).
        action_space: ``Discrete(num_actions)``.
        seed: seeds the initial weights and the sampling generator.

    Raises:
        IncompatibleEnvError: an observation space without a shape.
        SpecError: a bad network spec, or one that does not fit the observation.
    """

    Config = BehaviourCloningConfig

    def __init__(
        self,
        config: BehaviourCloningConfig,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(config, observation_space, action_space, seed=seed)
        from rlkit.nn import make_network

        inner = inner_observation_space(observation_space)
        if not isinstance(inner, gym.spaces.Box):
            raise IncompatibleEnvError(
                f"behaviour cloning needs Box observations (a board or a vector), got {inner}"
            )
        self.observation_shape = tuple(int(s) for s in inner.shape)
        generator = torch.Generator().manual_seed(int(self.rng.integers(2**63)))
        self.network = make_network(
            config.net,
            self.observation_shape,
            self.num_actions,
            value_head=config.value_head,
            generator=generator,
        )
        self.input_mean: np.ndarray | None = None
        """Per-feature z-scoring of observations (set when the trainer standardised its
        inputs, :attr:`rlkit.supervised.FitResult.standardizer`), with :attr:`input_std`."""
        self.input_std: np.ndarray | None = None
        self._evaluator: Any = None

    @property
    def evaluator(self) -> Any:
        """The :class:`~rlkit.nn.BatchedEvaluator` that runs the network (built on first use)."""
        if self._evaluator is None:
            from rlkit.nn import BatchedEvaluator

            self._evaluator = BatchedEvaluator(
                self.network, device=self.config.device, autocast=_AUTOCAST[self.config.autocast]
            )
        return self._evaluator

    def evaluate(
        self, observations: np.ndarray, legal_masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Priors ``[B, A]`` over legal moves and values ``[B]`` for a batch of positions.

        Args:
            observations: float32 ``[B, *observation_shape]``.
            legal_masks: bool ``[B, num_actions]``.
        """
        if self.input_mean is not None and self.input_std is not None:
            observations = (np.asarray(observations, np.float32) - self.input_mean) / self.input_std
        return self.evaluator.evaluate(observations, legal_masks)

    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        """The greedy move (``temperature=0``) or one sampled at the configured temperature.

        ``explore`` is ignored: the temperature alone says how the clone plays.
        """
        if isinstance(observation, dict):
            action_mask = observation.get("action_mask", action_mask)
            observation = observation["observation"]
        legal = (
            np.ones(self.num_actions, dtype=bool)
            if action_mask is None
            else validate_mask(action_mask, self.num_actions)
        )
        x = np.asarray(observation, dtype=np.float32).reshape(1, *self.observation_shape)
        priors, _ = self.evaluate(x, legal[None])
        p = priors[0].astype(np.float64)
        if self.config.temperature == 0.0:
            return int(np.argmax(np.where(legal, p, -1.0)))
        moves = np.flatnonzero(legal)
        logits = np.log(np.maximum(p[moves], 1e-30)) / self.config.temperature
        weights = np.exp(logits - logits.max())
        return int(moves[self.rng.choice(len(moves), p=weights / weights.sum())])

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's weights (and batch-norm statistics) as ``net.<name>`` tensors, and
        ``input.mean``/``input.std`` when observations are standardised."""
        tensors = {
            f"net.{k}": v.detach().cpu().clone() for k, v in self.network.state_dict().items()
        }
        if self.input_mean is not None and self.input_std is not None:
            tensors["input.mean"] = torch.from_numpy(self.input_mean.copy())
            tensors["input.std"] = torch.from_numpy(self.input_std.copy())
        return tensors

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict`.

        Raises:
            CheckpointError: tensors of another network or agent.
        """
        weights = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        scaling = {k: v for k, v in tensors.items() if k in ("input.mean", "input.std")}
        if len(weights) + len(scaling) != len(tensors) or len(scaling) == 1:
            raise CheckpointError("a bc checkpoint holds net.* tensors (and input.mean/std) only")
        if scaling:
            mean, std = (scaling[k].float().numpy() for k in ("input.mean", "input.std"))
            if mean.shape != self.observation_shape or std.shape != self.observation_shape:
                raise CheckpointError(
                    f"input.mean/std have shape {list(mean.shape)}, the observations "
                    f"{list(self.observation_shape)}"
                )
            self.input_mean, self.input_std = mean, std
        try:
            self.network.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise CheckpointError(
                f"weights do not fit the network {self.config.net}: {reason}"
            ) from None
        self._evaluator = None


# -- training -----------------------------------------------------------------------------------
_RUN_FILES = ("config.toml", "final.pt", "metrics.csv", "summary.json", "trainer.pt")


def default_net(observation_shape: tuple[int, ...]) -> str:
    """:data:`DEFAULT_BOARD_NET` for board observations, :data:`DEFAULT_VECTOR_NET` else."""
    return DEFAULT_BOARD_NET if len(observation_shape) in (2, 3) else DEFAULT_VECTOR_NET


def train_bc(
    *,
    data: Path,
    env: str,
    net: str | None = None,
    out: Path,
    trainer: Any = None,
    value_weight: float = 0.25,
    augment: bool = True,
    holdout: float = 0.1,
    seed: int = 0,
    progress: bool = True,
    resume: bool = False,
    on_error: Literal["stop", "skip"] = "stop",
    opening_moves: int | None = None,
    value_head: str = "scalar",
    autocast: Literal["auto", "on", "off"] = "auto",
    threads: int | None = None,
    device: str | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """Clone the moves of recorded games into a network; save it as an agent.

    Args:
        data: a folder of game records (``rlkit play --record``, SGF) or of position shards
            (:func:`rlkit.datasets.save_shards`, recognised by its ``manifest.json``).
        env: the game spec, e.g. ``"connect4"`` or ``"go:size=9"``.
        net: network spec; None picks :func:`default_net` for the game's observation.
        out: the run folder (must not hold a run unless ``resume``).
        trainer: a :class:`rlkit.supervised.TrainerConfig`, a dict of its fields, or None for
            its defaults.
        value_weight: weight of the value loss beside the policy loss (0 trains no value).
        augment: add the game's board symmetries to the training positions.
        holdout: fraction of games kept out of training, on which agreement is reported.
        seed: seeds the split, the initial weights and the trainer (unless the trainer's
            config names its own seed).
        progress: progress bars on stderr.
        resume: continue the trainer's checkpoint in ``out``.
        on_error: what a bad record does: ``"stop"`` or ``"skip"`` (warned on stderr).
        opening_moves: leave out the first this many decisions of each game (random opening
            moves); None: what each record says.
        value_head: ``"scalar"`` or ``"wdl"``.
        autocast: mixed precision of the forward passes, in training and when the clone
            plays: ``"auto"`` (bf16 where the hardware has it), ``"on"``, ``"off"``.
        threads: torch's CPU threads (a run-time setting; None leaves torch's default).
            Small networks train fastest on one thread, and much faster than on two when
            the cores are shared.
        device: where to train and later play (a run-time setting); None: the trainer
            config's (``cpu`` by default).
        epochs: overrides the trainer config's ``epochs`` (``rlkit train bc --epochs``).

    Returns:
        A summary: ``positions`` (training rows after augmentation), ``train_games``,
        ``holdout_games``, ``holdout_positions``, ``holdout_agreement`` (fraction of
        held-out positions whose expert move is the clone's greedy move),
        ``holdout_value_mse``, ``train_agreement``, ``best_epoch``, ``epochs_run``,
        ``stopped_early``, ``validation_games`` (whole games split off for early
        stopping), ``games`` and ``distinct_games`` (records only).

    Raises:
        RlkitError: a missing data folder, bad records, a corrupt shard or one of another
            game, a bad network spec, an occupied ``out`` without ``resume``; one line each.
    """
    from rlkit.datasets import augment as add_symmetries
    from rlkit.datasets import (
        distinct_games,
        load_records,
        load_shards,
        positions,
        split_by_game,
    )
    from rlkit.game import game_observation_space
    from rlkit.registry import make_game
    from rlkit.supervised import TrainerConfig, fit

    data, out = Path(data), Path(out)
    if not resume and any((out / name).exists() for name in _RUN_FILES):
        raise RlkitError(f"{out} already holds a run: use --resume or choose another --out")
    if resume and not out.is_dir():
        raise RlkitError(f"{out} holds no run to resume")
    if not math.isfinite(value_weight) or value_weight < 0:
        raise SpecError(f"value_weight must be a number >= 0, got {value_weight}")
    if threads is not None and threads < 1:
        raise SpecError(f"threads must be at least 1, got {threads}")
    trainer_config = _trainer_config(trainer, TrainerConfig, seed)
    changes = {"device": device, "epochs": epochs}
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes:
        try:
            trainer_config = replace(trainer_config, **changes)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    game = make_game(env)
    net = net or default_net(game.info.observation_shape)
    config = BehaviourCloningConfig(
        net=net, value_head=value_head, device=trainer_config.device, autocast=autocast
    )
    space = game_observation_space(game)
    # Built before the data are read, so a bad network spec fails fast.
    agent = BehaviourCloning(config, space, gym.spaces.Discrete(game.info.num_actions), seed=seed)

    summary: dict[str, Any] = {}
    if (data / "manifest.json").exists():
        arrays = load_shards(data, game=env)
    else:
        lines = load_records(data, env, on_error=on_error, progress=progress)
        summary["games"] = len(lines)
        summary["distinct_games"] = distinct_games(lines)
        arrays = positions(lines, game, opening_moves=opening_moves)
    if len(arrays["move"]) == 0:
        raise RlkitError(f"{data} holds no positions to learn from")
    bound = max(abs(game.info.min_utility), abs(game.info.max_utility)) or 1.0
    arrays["result"] = (arrays["result"] / bound).astype(np.float32)

    train, test = split_by_game(arrays, holdout, seed=seed)
    validation = None
    fit_config = trainer_config
    if trainer_config.validation_fraction > 0:
        # Whole games for early stopping too; the trainer is handed the split.
        train, validation = split_by_game(train, trainer_config.validation_fraction, seed=seed + 1)
        fit_config = replace(trainer_config, validation_fraction=0.0)
    if augment:
        train = add_symmetries(train, game)
        if validation is not None:
            validation = add_symmetries(validation, game)
    keys = ("x", "legal_mask", "move", "result")
    train_arrays = {k: train[k] for k in keys}
    validation_arrays = None if validation is None else {k: validation[k] for k in keys}

    out.mkdir(parents=True, exist_ok=True)
    _write_config(
        out,
        data=data,
        env=env,
        net=net,
        value_head=value_head,
        value_weight=value_weight,
        augment=augment,
        holdout=holdout,
        seed=seed,
        opening_moves=opening_moves,
        autocast=autocast,
        trainer=trainer_config,
    )
    loss = _make_loss(value_weight, trainer_config.device, autocast)
    with _torch_threads(threads):
        result = fit(
            agent.network,
            loss,
            train_arrays,
            fit_config,
            validation=validation_arrays,
            run_dir=out,
            progress=progress,
            resume=resume,
        )
        if result.standardizer is not None:
            agent.input_mean = result.standardizer.mean
            agent.input_std = result.standardizer.std
        agent._evaluator = None  # the trainer may have moved the network
        held = _agreement(agent, test)
        seen = _agreement(agent, _sample(train_arrays, 20_000, seed))
    summary.update(
        {
            "positions": len(train_arrays["move"]),
            "train_games": len(np.unique(train["game"])),
            "validation_games": 0 if validation is None else len(np.unique(validation["game"])),
            "holdout_games": len(np.unique(test["game"])),
            "holdout_positions": len(test["move"]),
            "holdout_agreement": held["agreement"],
            "holdout_value_mse": held["value_mse"],
            "train_agreement": seen["agreement"],
            "best_epoch": int(result.best_epoch),
            "epochs_run": int(result.epochs_run),
            "stopped_early": bool(result.stopped_early),
        }
    )
    from rlkit.checkpoint import save_agent, write_atomically

    save_agent(out / "final.pt", "bc", agent, env=env, training={"seed": seed, **summary})
    text = json.dumps(summary, indent=1, sort_keys=True)
    write_atomically(out / "summary.json", lambda tmp: Path(tmp).write_text(text + "\n"))
    return summary


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` CPU threads in torch (None: as they are), then restore."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _trainer_config(trainer: Any, config_class: type, seed: int) -> Any:
    if trainer is None:
        return config_class(seed=seed)
    if isinstance(trainer, config_class):
        return trainer
    if isinstance(trainer, dict):
        from rlkit.specs import build_config

        params = {"seed": seed, **trainer}
        return build_config(config_class, params, owner="trainer")
    raise SpecError(f"trainer must be a TrainerConfig or a dict, got {type(trainer).__name__}")


def _make_loss(value_weight: float, device: str, precision: Literal["auto", "on", "off"]) -> Any:
    """Policy cross-entropy over legal moves + ``value_weight`` x the value loss: the squared
    error of the scalar value, or for a ``wdl`` head the cross-entropy of the game's outcome
    (win, draw or loss for the mover).

    The forward pass runs under :func:`rlkit.nn.autocast` (bf16 where the hardware has it);
    the losses are computed in float32 (the trainer's helpers cast).
    """
    from rlkit.nn import autocast, resolve_device
    from rlkit.supervised import cross_entropy, mse

    where = resolve_device(device)
    enabled = _AUTOCAST[precision]

    def loss_fn(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        with autocast(where, enabled):
            logits, value = model(batch["x"])
        logits = logits.float()
        policy_loss = cross_entropy(logits, batch["move"], batch["legal_mask"])
        if model.value_kind == "wdl":  # classes win, draw, loss of the mover
            result = batch["result"]
            classes = torch.where(result > 0, 0, torch.where(result < 0, 2, 1))
            value_loss = cross_entropy(value.float(), classes)
        else:
            value_loss = mse(model.scalar_value(value.float()), batch["result"])
        with torch.no_grad():
            masked = logits.masked_fill(~batch["legal_mask"].bool(), float("-inf"))
            agreement = (masked.argmax(dim=1) == batch["move"]).float().mean()
        total = policy_loss + value_weight * value_loss if value_weight else policy_loss
        return total, {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "agreement": float(agreement),
        }

    return loss_fn


def _agreement(agent: BehaviourCloning, arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """Greedy-move agreement and value MSE of ``agent`` on ``arrays``, in batches of 1024."""
    n = len(arrays["move"])
    if n == 0:
        return {"agreement": float("nan"), "value_mse": float("nan")}
    hits, squared = 0, 0.0
    for start in range(0, n, 1024):
        end = start + 1024
        priors, values = agent.evaluate(arrays["x"][start:end], arrays["legal_mask"][start:end])
        hits += int((priors.argmax(axis=1) == arrays["move"][start:end]).sum())
        squared += float(((values - arrays["result"][start:end]) ** 2).sum())
    return {"agreement": hits / n, "value_mse": squared / n}


def _sample(arrays: dict[str, np.ndarray], size: int, seed: int) -> dict[str, np.ndarray]:
    n = len(arrays["move"])
    if n <= size:
        return arrays
    rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    return {k: v[rows] for k, v in arrays.items()}


def _write_config(out: Path, *, trainer: Any, **settings: Any) -> None:
    from rlkit.checkpoint import write_atomically
    from rlkit.specs import config_to_dict
    from rlkit.tomlio import dumps_toml

    # None values are left out (TOML has no null): the defaults they stand for.
    table = {k: str(v) if isinstance(v, Path) else v for k, v in settings.items()}
    table["trainer"] = config_to_dict(trainer)
    text = dumps_toml(table)
    write_atomically(out / "config.toml", lambda tmp: Path(tmp).write_text(text))
