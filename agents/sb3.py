"""Stable-Baselines3 agents: PPO, DQN, A2C and sb3-contrib's MaskablePPO behind rlkit's contract.

Each agent wraps one SB3 model (``self.model``) and is named in the registry as ``sb3:PPO``,
``sb3:DQN``, ``sb3:A2C`` and ``sb3:MaskablePPO``. Their configs hold the commonly tuned
hyper-parameters; every default is SB3's own, except that ``net_arch`` is always spelled out
(``64x64`` on the command line).

Building without an environment
    SB3 builds networks and buffers from an environment's spaces. The agents hand it a private
    :class:`_SpacesOnlyEnv` that carries copies of the spaces and is never stepped, so an agent
    (and thus a checkpoint) can be rebuilt from its spaces alone. :meth:`fit` swaps in the real
    environment with ``model.set_env``.

Training
    :meth:`fit` runs SB3's own loop (``model.learn``) and reports to the
    :class:`~rlkit.training.TrainingSession` from an SB3 callback: every finished episode goes to
    ``session.end_episode`` with the metrics of the agent's ``METRICS`` (the latest values SB3
    logged, NaN before the first update), and learning stops at the first step at which the
    session is finished (budget spent, Ctrl-C). A step budget cuts the last episode short; its
    steps go to ``session.add_steps``. Schedules (DQN's exploration rate) are laid out over the
    step budget; under an episode budget SB3 is told "practically unbounded", so DQN's epsilon
    stays at ``exploration_initial_eps``: give DQN a step budget.

Randomness
    SB3 draws from Python's ``random``, NumPy's global ``np.random`` and torch's global generator,
    and seeds all three when a model is built. To keep that from leaking, each agent owns a copy
    of those three states: SB3 code that draws random numbers (construction, :meth:`fit`,
    ``act(..., explore=True)``) runs with the agent's states swapped in, and the caller's are
    put back afterwards. These states travel in :meth:`extra_state`, so a loaded agent samples
    exactly as the saved one would have. The same seed gives the same run, bit for bit, on CPU.
    ``seed=None`` draws a fresh seed.

Action masks
    Masks come from ``info["action_mask"]`` or a ``Dict`` observation with ``"observation"`` and
    ``"action_mask"`` (see :func:`rlkit.agent.split_observation`); the networks see only the
    observation part. MaskablePPO trains and acts with the masks (the training env exposes
    ``action_masks()``, which sb3-contrib calls before every step). PPO, DQN and A2C ignore masks
    while training; when :meth:`act` is given a mask and the model's action is illegal, they take
    the legal action with the highest policy probability (PPO, A2C) or Q-value (DQN).

Checkpoints
    :meth:`state_dict` holds the policy's tensors (``policy.<name>``; DQN's include the target
    network) and the optimizer's moments (``optimizer.<param index>.<key>``); its
    ``param_groups`` go to :meth:`extra_state` (:func:`rlkit.supervised.optimizer_state_tensors`).
    Not saved: PPO's
    and A2C's partly collected rollout (a resumed run starts a fresh rollout), DQN's replay buffer
    (a resumed run refills it) and SB3's logger values. So resuming continues the same policy,
    optimizer and random streams, but does not repeat the uninterrupted run exactly.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import math
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from rlkit.agent import Learner, inner_observation_space, split_observation, validate_mask
from rlkit.errors import CheckpointError, IncompatibleEnvError, RlkitError
from rlkit.nn import resolve_device
from rlkit.supervised import load_optimizer_state, optimizer_state_tensors

try:
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import Logger
except ModuleNotFoundError as exc:  # the registry reports this as a missing optional package
    raise ModuleNotFoundError(
        f"the sb3 agents need stable-baselines3 ({exc}); install it with pip install 'rlkit[sb3]'",
        name=exc.name,
    ) from None


# -- configs --------------------------------------------------------------------------------------
def _check_positive(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a positive number, got {value}")


def _check_fraction(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")


def _check_net_arch(net_arch: tuple[int, ...]) -> None:
    if any(size < 1 for size in net_arch):
        raise ValueError(f"net_arch must be positive layer sizes, got {net_arch}")


@dataclass(frozen=True)
class PPOConfig:
    """Hyper-parameters of :class:`PPOAgent` and :class:`MaskablePPOAgent` (SB3's defaults)."""

    learning_rate: float = 3e-4
    """Adam step size."""

    n_steps: int = 2048
    """Environment steps collected per rollout, i.e. between two rounds of updates."""

    batch_size: int = 64
    """Minibatch size of the gradient steps (at least 2; best a divisor of ``n_steps``)."""

    n_epochs: int = 10
    """Passes over each rollout."""

    gamma: float = 0.99
    """Discount factor, in [0, 1]."""

    gae_lambda: float = 0.95
    """GAE(lambda) trade-off between bias (0) and variance (1) of the advantages."""

    clip_range: float = 0.2
    """PPO clipping parameter epsilon of the probability ratio."""

    ent_coef: float = 0.0
    """Weight of the entropy bonus in the loss."""

    vf_coef: float = 0.5
    """Weight of the value loss in the loss."""

    max_grad_norm: float = 0.5
    """Clip the gradient to this global L2 norm."""

    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the (separate) policy and value networks (``64x64``)."""

    device: str = "auto"
    """Torch device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        _check_positive(self, "learning_rate", "n_steps", "n_epochs", "clip_range", "max_grad_norm")
        _check_fraction(self, "gamma", "gae_lambda")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2, got {self.batch_size}")
        if self.ent_coef < 0 or self.vf_coef < 0:
            raise ValueError(
                f"ent_coef and vf_coef must be >= 0, got {self.ent_coef}, {self.vf_coef}"
            )
        _check_net_arch(self.net_arch)


@dataclass(frozen=True)
class A2CConfig:
    """Hyper-parameters of :class:`A2CAgent` (SB3's defaults)."""

    learning_rate: float = 7e-4
    """RMSprop step size."""

    n_steps: int = 5
    """Environment steps per update."""

    gamma: float = 0.99
    """Discount factor, in [0, 1]."""

    gae_lambda: float = 1.0
    """GAE(lambda) trade-off; 1 gives the classic n-step returns of A2C."""

    ent_coef: float = 0.0
    """Weight of the entropy bonus in the loss."""

    vf_coef: float = 0.5
    """Weight of the value loss in the loss."""

    max_grad_norm: float = 0.5
    """Clip the gradient to this global L2 norm."""

    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the (separate) policy and value networks (``64x64``)."""

    device: str = "auto"
    """Torch device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        _check_positive(self, "learning_rate", "n_steps", "max_grad_norm")
        _check_fraction(self, "gamma", "gae_lambda")
        if self.ent_coef < 0 or self.vf_coef < 0:
            raise ValueError(
                f"ent_coef and vf_coef must be >= 0, got {self.ent_coef}, {self.vf_coef}"
            )
        _check_net_arch(self.net_arch)


@dataclass(frozen=True)
class DQNConfig:
    """Hyper-parameters of :class:`DQNAgent` (SB3's defaults)."""

    learning_rate: float = 1e-4
    """Adam step size."""

    buffer_size: int = 1_000_000
    """Capacity of the replay buffer, in transitions."""

    learning_starts: int = 100
    """Environment steps of pure exploration before the first update."""

    batch_size: int = 32
    """Transitions sampled from the replay buffer per gradient step."""

    gamma: float = 0.99
    """Discount factor, in [0, 1]."""

    train_freq: int = 4
    """Environment steps between two rounds of updates."""

    gradient_steps: int = 1
    """Gradient steps per round of updates."""

    target_update_interval: int = 10_000
    """Environment steps between copies of the online network into the target network."""

    exploration_fraction: float = 0.1
    """Fraction of the step budget over which epsilon falls linearly from
    ``exploration_initial_eps`` to ``exploration_final_eps``."""

    exploration_initial_eps: float = 1.0
    """Epsilon (probability of a uniformly random action) at the start."""

    exploration_final_eps: float = 0.05
    """Epsilon after the decay."""

    max_grad_norm: float = 10.0
    """Clip the gradient to this global L2 norm."""

    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the Q-network (``64x64``)."""

    device: str = "auto"
    """Torch device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        _check_positive(
            self,
            "learning_rate",
            "buffer_size",
            "batch_size",
            "train_freq",
            "gradient_steps",
            "target_update_interval",
            "max_grad_norm",
        )
        _check_fraction(
            self,
            "gamma",
            "exploration_fraction",
            "exploration_initial_eps",
            "exploration_final_eps",
        )
        if self.learning_starts < 0:
            raise ValueError(f"learning_starts must be >= 0, got {self.learning_starts}")
        _check_net_arch(self.net_arch)


# -- global random streams ------------------------------------------------------------------------
@dataclass(frozen=True)
class _GlobalRngs:
    """States of the global generators SB3 draws from, as JSON values.

    ``python``: :func:`random.getstate`; ``numpy``: :func:`np.random.get_state` (MT19937);
    ``torch``: :func:`torch.get_rng_state` bytes; ``cuda``: the CUDA generator's bytes of the
    agent's device, or None on CPU.
    """

    python: list[Any]
    numpy: list[Any]
    torch: list[int]
    cuda: list[int] | None

    @classmethod
    def capture(cls, device: torch.device) -> _GlobalRngs:
        version, internal, gauss = random.getstate()
        name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
        cuda = None
        if device.type == "cuda":
            cuda = torch.cuda.get_rng_state(device).tolist()
        return cls(
            [version, list(internal), gauss],
            [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            torch.get_rng_state().tolist(),
            cuda,
        )

    def restore(self, device: torch.device) -> None:
        version, internal, gauss = self.python
        random.setstate((version, tuple(internal), gauss))
        name, keys, pos, has_gauss, cached = self.numpy
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(torch.tensor(self.torch, dtype=torch.uint8))
        if self.cuda is not None and device.type == "cuda":
            torch.cuda.set_rng_state(torch.tensor(self.cuda, dtype=torch.uint8), device)


# -- environments SB3 sees ------------------------------------------------------------------------
class _SpacesOnlyEnv(gym.Env):
    """Carries the spaces SB3 builds a model from; it is never reset or stepped."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        raise RuntimeError("_SpacesOnlyEnv only carries spaces; call fit() with a real env")

    def step(self, action: Any) -> Any:
        raise RuntimeError("_SpacesOnlyEnv only carries spaces; call fit() with a real env")


class _TrainingEnv(gym.Wrapper):
    """The rlkit environment as SB3 trains on it.

    Splits the action mask off the observation (keeping the latest one for
    :meth:`action_masks`) and keeps the exact return and length of the episode in progress and
    of the last finished one, which :class:`_SessionCallback` reports.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = inner_observation_space(env.observation_space)
        self.mask: np.ndarray | None = None
        self.episode_return = 0.0
        self.episode_length = 0
        self.finished_episode: tuple[float, int] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        observation, info = self.env.reset(seed=seed, options=options)
        observation, self.mask = split_observation(observation, info)
        self.episode_return, self.episode_length = 0.0, 0
        return observation, info

    def step(self, action: Any) -> Any:
        observation, reward, terminated, truncated, info = self.env.step(action)
        observation, self.mask = split_observation(observation, info)
        self.episode_return += float(reward)
        self.episode_length += 1
        if terminated or truncated:
            self.finished_episode = (self.episode_return, self.episode_length)
        return observation, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The legal actions now (sb3-contrib's MaskablePPO calls this before every step).

        Raises:
            IncompatibleEnvError: the environment gives no action masks.
        """
        if self.mask is None:
            raise IncompatibleEnvError(
                "sb3:MaskablePPO needs action masks, but the environment gives none (neither "
                "info['action_mask'] nor a Dict observation with 'action_mask'); "
                "use sb3:PPO instead"
            )
        return self.mask


class _SessionCallback(BaseCallback):
    """Reports finished episodes to the session and stops SB3 when the session is finished."""

    def __init__(self, learner: SB3Learner, env: _TrainingEnv, session: Any) -> None:
        super().__init__()
        self._learner = learner
        self._env = env
        self._session = session
        self._allowed = session.steps_left()  # steps the episode in progress may take

    def _on_step(self) -> bool:
        session, env = self._session, self._env
        if env.finished_episode is not None:  # SB3's vec env has already reset env
            episode_return, length = env.finished_episode
            env.finished_episode = None
            session.end_episode(episode_return, length, self._learner.training_metrics())
            self._allowed = session.steps_left()
            return not session.finished
        return env.episode_length < self._allowed and not session.interrupted


# -- the shared adapter ---------------------------------------------------------------------------
class SB3Learner(Learner):
    """What the SB3 agents share: construction, training, acting and persistence.

    Subclasses set ``Config``, ``METRICS`` and implement :meth:`_build_model`.

    Args:
        config: the subclass's config dataclass.
        observation_space: any space SB3's ``MlpPolicy`` takes (``Discrete`` is one-hot encoded,
            ``Box`` flattened), or a ``Dict`` of such spaces, or a ``Dict`` with
            ``"observation"`` and ``"action_mask"``.
        action_space: ``Discrete``.
        seed: seeds SB3 (initial weights, sampling, minibatches); None draws a fresh seed.

    Raises:
        IncompatibleEnvError: for a non-``Discrete`` action space.
        RlkitError: an unknown or unavailable device.
    """

    METRICS: ClassVar[dict[str, str]] = {}
    """metrics.csv column -> SB3 logger key whose latest value it reports."""

    model: BaseAlgorithm

    def __init__(
        self,
        config: Any,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(config, observation_space, action_space, seed=seed)
        self.device = resolve_device(config.device)
        sb3_seed = seed if seed is not None else int(self.rng.integers(2**31))
        spaces_only = _SpacesOnlyEnv(
            copy.deepcopy(inner_observation_space(observation_space)), copy.deepcopy(action_space)
        )
        self._rngs: _GlobalRngs | None = None
        self._rngs_live = False
        with self._own_rngs():  # SB3 seeds the global generators while building
            self.model = self._build_model(spaces_only, sb3_seed)
        # A silent logger of the agent's own: SB3 records its training values there, and keeps
        # it across learn() calls instead of configuring a new one each time.
        self.model.set_logger(Logger(folder=None, output_formats=[]))

    @abc.abstractmethod
    def _build_model(self, env: gym.Env, seed: int) -> BaseAlgorithm:
        """Build the SB3 model on ``env`` (which only carries the spaces)."""

    def _policy_name(self) -> str:
        return (
            "MultiInputPolicy"
            if isinstance(self.model_observation_space, gym.spaces.Dict)
            else "MlpPolicy"
        )

    @property
    def model_observation_space(self) -> gym.Space:
        """The space of what the networks see: the observation without its action mask."""
        return inner_observation_space(self.observation_space)

    @contextlib.contextmanager
    def _own_rngs(self) -> Iterator[None]:
        """Run SB3 code on this agent's global random streams; give the caller's back after."""
        caller = _GlobalRngs.capture(self.device)
        if self._rngs is not None:
            self._rngs.restore(self.device)
        self._rngs_live = True
        try:
            yield
        finally:
            self._rngs = _GlobalRngs.capture(self.device)
            self._rngs_live = False
            caller.restore(self.device)

    # -- training ------------------------------------------------------------------------------
    def fit(self, env: gym.Env, session: Any) -> None:
        """Train with SB3's loop until ``session.finished``; report episodes to ``session``."""
        if session.finished:
            return
        training_env = _TrainingEnv(env)
        self.model.set_env(training_env)  # SB3 adds its Monitor and a one-env DummyVecEnv
        callback = _SessionCallback(self, training_env, session)
        with self._own_rngs():
            # num_timesteps carries on from a checkpoint, so schedules continue where they were
            self.model.learn(
                total_timesteps=session.steps_left(),
                callback=callback,
                log_interval=None,
                reset_num_timesteps=False,
            )
        session.add_steps(training_env.episode_length)  # the episode cut short, if any

    def training_metrics(self) -> dict[str, float]:
        """The latest value SB3 logged for each of ``METRICS`` (NaN before the first update)."""
        values = self.model.logger.name_to_value
        return {name: float(values.get(key, math.nan)) for name, key in self.METRICS.items()}

    # -- acting --------------------------------------------------------------------------------
    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        """The model's action: greedy, or sampled as in training when ``explore`` is set.

        With ``action_mask``, an illegal choice is replaced by the legal action with the highest
        score (:meth:`_action_scores`).
        """
        legal = None if action_mask is None else self._legal(action_mask)
        if explore:
            with self._own_rngs():
                action = self._predict(observation, legal, deterministic=False)
        else:
            action = self._predict(observation, legal, deterministic=True)
        if legal is not None and not legal[action]:
            scores = self._action_scores(observation)
            action = int(np.argmax(np.where(legal, scores, -np.inf)))
        return action

    def _predict(self, observation: Any, legal: np.ndarray | None, *, deterministic: bool) -> int:
        action, _ = self.model.predict(observation, deterministic=deterministic)
        return int(action)

    def _action_scores(self, observation: Any) -> np.ndarray:
        """Policy probabilities ``[num_actions]`` for ``observation``."""
        policy = self.model.policy
        obs, _ = policy.obs_to_tensor(observation)
        with torch.no_grad():
            probs = policy.get_distribution(obs).distribution.probs
        return probs[0].cpu().numpy()

    def _legal(self, action_mask: np.ndarray) -> np.ndarray:
        return validate_mask(action_mask, self.num_actions)

    def to_device(self, device: str) -> None:
        """Move the networks to ``device`` (``rlkit eval --device``)."""
        self.device = resolve_device(device)
        self.model.policy.to(self.device)
        self.model.device = self.device

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """``policy.<name>``: the SB3 policy's tensors; ``optimizer.<i>.<key>``: its moments."""
        policy = self.model.policy
        tensors = {f"policy.{k}": v.detach().clone() for k, v in policy.state_dict().items()}
        tensors.update(optimizer_state_tensors(policy.optimizer, "optimizer")[0])
        return tensors

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned.

        Raises:
            CheckpointError: tensors of another architecture or agent.
        """
        policy = self.model.policy
        weights = {
            k.removeprefix("policy."): v for k, v in tensors.items() if k.startswith("policy.")
        }
        unknown = sorted(k for k in tensors if not k.startswith(("policy.", "optimizer.")))
        if unknown:
            raise CheckpointError(f"unexpected tensors for {type(self).__name__}: {unknown[:5]}")
        try:
            policy.load_state_dict(weights)
            # param_groups (learning rate, betas) come with extra_state, loaded next.
            load_optimizer_state(policy.optimizer, tensors, "optimizer")
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"{type(self).__name__} weights do not fit this configuration "
                f"(net_arch={self.config.net_arch}): {str(exc).splitlines()[0]}"
            ) from None

    def extra_state(self) -> dict[str, Any]:
        """RNG states (the agent's, SB3's global ones, the action space's) and SB3's step count."""
        state = super().extra_state()
        rngs = _GlobalRngs.capture(self.device) if self._rngs_live else self._rngs
        assert rngs is not None  # captured when the model was built
        state.update(
            num_timesteps=int(self.model.num_timesteps),
            global_rngs={
                "python": rngs.python,
                "numpy": rngs.numpy,
                "torch": rngs.torch,
                "cuda": rngs.cuda,
            },
            action_space_rng=self.model.action_space.np_random.bit_generator.state,
            optimizer=optimizer_state_tensors(self.model.policy.optimizer, "optimizer")[1],
        )
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        super().load_extra_state(state)
        if "num_timesteps" in state:
            self.model.num_timesteps = int(state["num_timesteps"])
        if "global_rngs" in state:
            self._rngs = _GlobalRngs(**state["global_rngs"])
        if "action_space_rng" in state:
            self.model.action_space.np_random.bit_generator.state = state["action_space_rng"]
        if "optimizer" in state:  # all param_groups; older checkpoints keep the configured ones
            optimizer = self.model.policy.optimizer
            try:
                load_optimizer_state(
                    optimizer,
                    optimizer_state_tensors(optimizer, "optimizer")[0],
                    "optimizer",
                    state["optimizer"],
                )
            except (RuntimeError, ValueError, KeyError) as exc:
                raise CheckpointError(
                    f"{type(self).__name__} optimizer state does not fit: "
                    f"{str(exc).splitlines()[0]}"
                ) from None


# -- the algorithms -------------------------------------------------------------------------------
_PPO_METRICS = {
    "policy_loss": "train/policy_gradient_loss",
    "value_loss": "train/value_loss",
    "entropy_loss": "train/entropy_loss",
    "approx_kl": "train/approx_kl",
    "clip_fraction": "train/clip_fraction",
    "explained_variance": "train/explained_variance",
}


class PPOAgent(SB3Learner):
    """Proximal Policy Optimization (Schulman et al., 2017, arXiv:1707.06347) from SB3."""

    Config = PPOConfig
    METRICS = _PPO_METRICS

    def _build_model(self, env: gym.Env, seed: int) -> BaseAlgorithm:
        from stable_baselines3 import PPO

        c: PPOConfig = self.config
        return PPO(
            self._policy_name(),
            env,
            learning_rate=c.learning_rate,
            n_steps=c.n_steps,
            batch_size=c.batch_size,
            n_epochs=c.n_epochs,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda,
            clip_range=c.clip_range,
            ent_coef=c.ent_coef,
            vf_coef=c.vf_coef,
            max_grad_norm=c.max_grad_norm,
            policy_kwargs={"net_arch": list(c.net_arch)},
            seed=seed,
            device=self.device,
        )


class MaskablePPOAgent(SB3Learner):
    """PPO that never samples an illegal action (sb3-contrib's MaskablePPO; Huang & Ontañón,
    2022, arXiv:2006.14171): the logits of illegal actions are set to -inf in training and
    acting. Training needs an environment with action masks.
    """

    Config = PPOConfig
    METRICS = _PPO_METRICS

    def _build_model(self, env: gym.Env, seed: int) -> BaseAlgorithm:
        try:
            from sb3_contrib import MaskablePPO
        except ModuleNotFoundError as exc:
            raise RlkitError(
                f"sb3:MaskablePPO needs sb3-contrib ({exc}); "
                "install it with pip install 'rlkit[sb3]'"
            ) from None
        c: PPOConfig = self.config
        return MaskablePPO(
            self._policy_name(),
            env,
            learning_rate=c.learning_rate,
            n_steps=c.n_steps,
            batch_size=c.batch_size,
            n_epochs=c.n_epochs,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda,
            clip_range=c.clip_range,
            ent_coef=c.ent_coef,
            vf_coef=c.vf_coef,
            max_grad_norm=c.max_grad_norm,
            policy_kwargs={"net_arch": list(c.net_arch)},
            seed=seed,
            device=self.device,
        )

    def _predict(self, observation: Any, legal: np.ndarray | None, *, deterministic: bool) -> int:
        action, _ = self.model.predict(observation, deterministic=deterministic, action_masks=legal)
        return int(action)


class A2CAgent(SB3Learner):
    """Advantage Actor-Critic, the synchronous A3C (Mnih et al., 2016, arXiv:1602.01783), from
    SB3."""

    Config = A2CConfig
    METRICS: ClassVar[dict[str, str]] = {
        "policy_loss": "train/policy_loss",
        "value_loss": "train/value_loss",
        "entropy_loss": "train/entropy_loss",
        "explained_variance": "train/explained_variance",
    }

    def _build_model(self, env: gym.Env, seed: int) -> BaseAlgorithm:
        from stable_baselines3 import A2C

        c: A2CConfig = self.config
        return A2C(
            self._policy_name(),
            env,
            learning_rate=c.learning_rate,
            n_steps=c.n_steps,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda,
            ent_coef=c.ent_coef,
            vf_coef=c.vf_coef,
            max_grad_norm=c.max_grad_norm,
            policy_kwargs={"net_arch": list(c.net_arch)},
            seed=seed,
            device=self.device,
        )


class DQNAgent(SB3Learner):
    """Deep Q-Network (Mnih et al., 2015, Nature 518:529) from SB3: epsilon-greedy acting, a
    replay buffer and a periodically copied target network.

    Metrics: ``loss`` (Huber loss of the last update) and ``exploration_rate`` (epsilon).
    """

    Config = DQNConfig
    METRICS: ClassVar[dict[str, str]] = {"loss": "train/loss"}

    def _build_model(self, env: gym.Env, seed: int) -> BaseAlgorithm:
        from stable_baselines3 import DQN

        c: DQNConfig = self.config
        return DQN(
            self._policy_name(),
            env,
            learning_rate=c.learning_rate,
            buffer_size=c.buffer_size,
            learning_starts=c.learning_starts,
            batch_size=c.batch_size,
            gamma=c.gamma,
            train_freq=c.train_freq,
            gradient_steps=c.gradient_steps,
            target_update_interval=c.target_update_interval,
            exploration_fraction=c.exploration_fraction,
            exploration_initial_eps=c.exploration_initial_eps,
            exploration_final_eps=c.exploration_final_eps,
            max_grad_norm=c.max_grad_norm,
            policy_kwargs={"net_arch": list(c.net_arch)},
            seed=seed,
            device=self.device,
        )

    def fit(self, env: gym.Env, session: Any) -> None:
        if session.settings.steps is None:
            warnings.warn(
                "sb3:DQN lays its exploration schedule over the step budget; under an "
                "episode budget epsilon stays at exploration_initial_eps. Use --steps.",
                stacklevel=2,
            )
        super().fit(env, session)

    def training_metrics(self) -> dict[str, float]:
        return {
            **super().training_metrics(),
            "exploration_rate": float(self.model.exploration_rate),
        }

    def _action_scores(self, observation: Any) -> np.ndarray:
        """Q-values ``[num_actions]`` for ``observation``."""
        policy = self.model.policy
        obs, _ = policy.obs_to_tensor(observation)
        with torch.no_grad():
            q_values = policy.q_net(obs)
        return q_values[0].cpu().numpy()

    def extra_state(self) -> dict[str, Any]:
        """Adds epsilon, so ``act(..., explore=True)`` of a loaded agent explores the same."""
        return {**super().extra_state(), "exploration_rate": float(self.model.exploration_rate)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        if "exploration_rate" in state:
            self.model.exploration_rate = float(state["exploration_rate"])
