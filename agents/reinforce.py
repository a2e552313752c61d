"""REINFORCE: Monte-Carlo policy gradient with a baseline (Williams, 1992).

Williams, R. J. (1992). "Simple statistical gradient-following algorithms for connectionist
reinforcement learning." Machine Learning 8, 229-256.

The policy is a softmax over the logits of an MLP, ``pi(a | s) = softmax(f(s))_a``, with illegal
actions (when the environment gives a mask) set to probability zero. After each episode the
discounted reward-to-go ``G_t = r_t + gamma * G_{t+1}`` of every step is computed; every
``episodes_per_update`` episodes one Adam step follows the gradient of

    loss = -mean_t[(G_t - b(s_t)) * log pi(a_t | s_t)] - entropy_coef * mean_t[H(pi(. | s_t))]

over all steps of those episodes, where the baseline ``b`` is a learned value network
(trained by mean-squared error towards ``G_t``), a running mean of the returns, or zero.
Subtracting a baseline leaves the gradient unbiased and lowers its variance.

Observations are encoded as flat float32 vectors: ``Discrete(n)`` as a one-hot vector of length
``n``, ``Box`` as its flattened values; a ``Dict`` observation with ``"observation"`` and
``"action_mask"`` is encoded through its ``"observation"`` part.

Episodes that end by a time limit (``truncated=True``, ``terminated=False``) are not true ends:
the return after the cut is unknown. Plain REINFORCE treats the cut as the end of the returns,
which biases the values of the last steps towards zero; with a value baseline and
``bootstrap_truncated=True`` (the default) the missing tail is estimated by the value network
instead, ``G_T = V(s_T)``. A run that stops mid-episode simply drops that partial episode.

Measured with the defaults (``rlkit train reinforce --steps 300000``, then 100 greedy episodes):
CartPole-v1 reaches 500 for seeds 0-4, and ``rlkit/Maze-v0`` its optimal return -24. Sparse,
punishing maps need more exploration: ``rlkit/CliffWalking-v0`` stays at the time limit with
the defaults but learns the optimal cliff-edge path (-13) with
``learning_rate=3e-3,value_learning_rate=1e-2,entropy_coef=0.1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit.agent import Learner, Transition, inner_observation_space, validate_mask
from rlkit.errors import CheckpointError, IncompatibleEnvError
from rlkit.nn import MLP, resolve_device
from rlkit.supervised import load_optimizer_state, optimizer_state_tensors

_METRIC_KEYS = ("policy_loss", "value_loss", "entropy", "grad_norm", "updates")
_PENDING = ("observations", "actions", "returns", "legal")  # state_dict keys of a partial batch


@dataclass(frozen=True)
class ReinforceConfig:
    """Hyper-parameters of :class:`Reinforce`. The defaults solve CartPole-v1."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy and value networks (``64x64`` on the command line)."""

    activation: Literal["relu", "tanh"] = "tanh"
    """Activation function of the hidden layers."""

    learning_rate: float = 1e-3
    """Adam step size of the policy network."""

    gamma: float = 0.99
    """Discount factor of the returns, in [0, 1]."""

    baseline: Literal["value", "mean", "none"] = "value"
    """What is subtracted from the returns: a learned value network ``V(s)``, a running mean
    of all returns seen, or nothing."""

    value_learning_rate: float = 1e-3
    """Adam step size of the value network (only used with ``baseline="value"``)."""

    entropy_coef: float = 0.0
    """Weight of the policy-entropy bonus, which discourages a premature deterministic policy."""

    episodes_per_update: int = 4
    """Number of episodes whose steps form the batch of one gradient step."""

    normalize_advantages: bool = True
    """Rescale each batch's advantages to zero mean and unit standard deviation."""

    max_grad_norm: float | None = 0.5
    """Clip each network's gradient to this global L2 norm (None: no clipping)."""

    bootstrap_truncated: bool = True
    """With ``baseline="value"``: continue the returns of an episode cut by a time limit with
    the value estimate of its last observation instead of zero."""

    device: str = "auto"
    """Torch device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be one or more positive sizes, got {self.hidden}")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {self.activation!r}")
        if self.baseline not in ("value", "mean", "none"):
            raise ValueError(f"baseline must be 'value', 'mean' or 'none', got {self.baseline!r}")
        for name in ("learning_rate", "value_learning_rate"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not (self.entropy_coef >= 0 and math.isfinite(self.entropy_coef)):
            raise ValueError(f"entropy_coef must be >= 0, got {self.entropy_coef}")
        if self.episodes_per_update < 1:
            raise ValueError(
                f"episodes_per_update must be at least 1, got {self.episodes_per_update}"
            )
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be positive or none, got {self.max_grad_norm}")


class Reinforce(Learner):
    """REINFORCE with a baseline for ``Discrete`` actions and ``Discrete``/``Box`` observations.

    Args:
        config: a :class:`ReinforceConfig`.
        observation_space: ``Discrete``, ``Box``, or a ``Dict`` with ``"observation"`` (one of
            those) and ``"action_mask"``.
        action_space: ``Discrete``.
        seed: seeds the initial weights and the action sampling; the same seed and the same
            experience give exactly the same run.

    Raises:
        IncompatibleEnvError: for other observation or action spaces.
    """

    Config = ReinforceConfig

    def __init__(
        self,
        config: ReinforceConfig,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(config, observation_space, action_space, seed=seed)
        self.device = resolve_device(config.device)
        space = inner_observation_space(observation_space)
        if isinstance(space, gym.spaces.Discrete):
            self._one_hot_size: int | None = int(space.n)
            self._one_hot_start = int(space.start)
            self.input_size = int(space.n)
        elif isinstance(space, gym.spaces.Box):
            self._one_hot_size = None
            self._one_hot_start = 0
            self.input_size = int(np.prod(space.shape, dtype=np.int64))
        else:
            raise IncompatibleEnvError(
                f"Reinforce needs a Discrete or Box observation space (or a Dict of "
                f"'observation' and 'action_mask'), got {observation_space}"
            )

        # The torch generator only seeds the initial weights; actions are drawn from the base
        # class's numpy generator ``self.rng``. Neither touches a global RNG.
        self._generator = torch.Generator()
        self._generator.manual_seed(
            int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        )
        self.policy = MLP(
            self.input_size,
            config.hidden,
            self.num_actions,
            activation=config.activation,
            output_gain=0.01,
            generator=self._generator,
        ).to(self.device)
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.learning_rate)
        self.value: MLP | None = None
        self.value_optimizer: torch.optim.Optimizer | None = None
        if config.baseline == "value":
            self.value = MLP(
                self.input_size,
                config.hidden,
                1,
                activation=config.activation,
                output_gain=1.0,
                generator=self._generator,
            ).to(self.device)
            self.value_optimizer = torch.optim.Adam(
                self.value.parameters(), lr=config.value_learning_rate
            )
        self._mean_return = 0.0  # running mean of returns, the "mean" baseline
        self._returns_seen = 0

        # The episode in progress (raw observations, encoded at its end) ...
        self._observations: list[Any] = []
        self._actions: list[int] = []
        self._rewards: list[float] = []
        self._masks: list[np.ndarray | None] = []
        self._bootstrap_observation: Any = None
        # ... and finished episodes waiting for the next update, as encoded arrays.
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_episodes = 0
        self._updates = 0
        self._metrics = dict.fromkeys(_METRIC_KEYS, math.nan)
        self._metrics["updates"] = 0.0

    # -- acting --------------------------------------------------------------------------------
    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        """Sample from the policy (``explore=True``) or take its most probable legal action.

        Args:
            observation: an observation of the space given at construction (the inner part).
            action_mask: ``[num_actions]`` booleans, True where the action is legal.
            explore: sample instead of acting greedily.

        Returns:
            An action index; never one the mask forbids.
        """
        x = torch.from_numpy(self._encode([observation])).to(self.device)  # [1, input_size]
        with torch.no_grad():
            logits = self.policy(x)[0]  # [num_actions]
            if action_mask is not None:
                legal = self._legal(action_mask)
                logits = logits.masked_fill(~torch.from_numpy(legal).to(self.device), -math.inf)
            if not explore:
                return int(torch.argmax(logits))
            probs = torch.softmax(logits, dim=-1).cpu().numpy().astype(np.float64)
        # Inverse-CDF sampling with one uniform draw; side="right" can never land on an
        # action of probability zero (a masked one).
        cumulative = np.cumsum(probs)
        index = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], "right"))
        if index >= self.num_actions:  # float round-off at the very top of the CDF
            index = int(np.flatnonzero(probs)[-1])
        return index

    def _legal(self, action_mask: np.ndarray) -> np.ndarray:
        return validate_mask(action_mask, self.num_actions)

    def _encode(self, observations: list[Any]) -> np.ndarray:
        """Observations as a float32 array ``[len(observations), input_size]``."""
        if self._one_hot_size is not None:
            index = np.asarray(observations, dtype=np.int64) - self._one_hot_start
            encoded = np.zeros((len(observations), self._one_hot_size), dtype=np.float32)
            encoded[np.arange(len(observations)), index] = 1.0
            return encoded
        return np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)

    # -- learning ------------------------------------------------------------------------------
    def observe(self, transition: Transition) -> None:
        """Record one step of the episode in progress."""
        self._observations.append(transition.observation)
        self._actions.append(int(transition.action))
        self._rewards.append(float(transition.reward))
        self._masks.append(transition.action_mask)
        if transition.truncated and not transition.terminated:
            self._bootstrap_observation = transition.next_observation
        else:
            self._bootstrap_observation = None

    def end_episode(self) -> dict[str, float]:
        """Close the episode; update the networks once ``episodes_per_update`` have closed.

        Returns:
            ``policy_loss``, ``value_loss`` (0 without a value baseline), ``entropy`` (mean
            policy entropy over the batch, in nats), ``grad_norm`` (policy gradient norm before
            clipping) and ``updates`` (gradient steps so far). Between updates the values of
            the last update are repeated; before the first they are NaN.
        """
        if self._observations:
            self._pending.append(self._finish_episode())
            self._pending_episodes += 1
            if self._pending_episodes >= self.config.episodes_per_update:
                self._update()
        return dict(self._metrics)

    def _finish_episode(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Encode the episode in progress and compute its returns; then forget it."""
        observations = self._encode(self._observations)
        actions = np.asarray(self._actions, dtype=np.int64)
        legal = np.ones((len(actions), self.num_actions), dtype=bool)
        for t, mask in enumerate(self._masks):
            if mask is not None:
                legal[t] = np.asarray(mask, dtype=bool).reshape(-1)
        tail = 0.0
        if (
            self._bootstrap_observation is not None
            and self.value is not None
            and self.config.bootstrap_truncated
        ):
            x = torch.from_numpy(self._encode([self._bootstrap_observation])).to(self.device)
            with torch.no_grad():
                tail = float(self.value(x)[0, 0])
        returns = np.empty(len(actions), dtype=np.float32)
        running = tail
        for t in range(len(actions) - 1, -1, -1):  # G_t = r_t + gamma * G_{t+1}
            running = self._rewards[t] + self.config.gamma * running
            returns[t] = running
        self._observations, self._actions, self._rewards, self._masks = [], [], [], []
        self._bootstrap_observation = None
        return observations, actions, returns, legal

    def _update(self) -> None:
        """One gradient step of the policy (and value network) on the pending episodes."""
        config = self.config
        observations, actions, returns, legal = (
            torch.from_numpy(np.concatenate(parts)).to(self.device)
            for parts in zip(*self._pending, strict=True)
        )  # [N, input_size], [N], [N], [N, num_actions]
        self._pending, self._pending_episodes = [], 0

        value_loss = torch.zeros(())
        if self.value is not None:
            values = self.value(observations).squeeze(-1)  # [N]
            advantages = returns - values.detach()
            value_loss = nn.functional.mse_loss(values, returns)
            self.value_optimizer.zero_grad(set_to_none=True)
            value_loss.backward()
            if config.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.value.parameters(), config.max_grad_norm)
            self.value_optimizer.step()
        elif config.baseline == "mean":
            advantages = returns - self._mean_return
            # Incremental mean over every return seen so far (a step counts once).
            self._returns_seen += len(returns)
            self._mean_return += (float(returns.sum()) - len(returns) * self._mean_return) / (
                self._returns_seen
            )
        else:
            advantages = returns
        if config.normalize_advantages and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

        logits = self.policy(observations)  # [N, num_actions]
        # A large finite negative (not -inf) keeps 0 * log 0 = 0 in the entropy.
        logits = logits.masked_fill(~legal, torch.finfo(logits.dtype).min)
        log_probs = torch.log_softmax(logits, dim=-1)
        chosen = log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)  # [N]
        entropy = -(log_probs.exp() * log_probs).sum(dim=-1).mean()
        policy_loss = -(chosen * advantages).mean()
        loss = policy_loss - config.entropy_coef * entropy
        self.policy_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = config.max_grad_norm if config.max_grad_norm is not None else math.inf
        grad_norm = nn.utils.clip_grad_norm_(self.policy.parameters(), max_norm)
        self.policy_optimizer.step()

        self._updates += 1
        self._metrics = {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "entropy": float(entropy.detach()),
            "grad_norm": float(grad_norm),
            "updates": float(self._updates),
        }

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Networks, optimizer moments and episodes awaiting an update, as named tensors.

        Keys: ``policy.<param>``, ``value.<param>``, ``policy_optimizer.<i>.<key>``,
        ``value_optimizer.<i>.<key>`` and ``pending.{observations,actions,returns,legal}``
        (the finished episodes of an incomplete batch, concatenated). The episode in
        progress is not saved: checkpoint between episodes.
        """
        tensors: dict[str, torch.Tensor] = {}
        modules = [("policy", self.policy, self.policy_optimizer)]
        if self.value is not None:
            modules.append(("value", self.value, self.value_optimizer))
        for prefix, module, optimizer in modules:
            for name, tensor in module.state_dict().items():
                tensors[f"{prefix}.{name}"] = tensor.detach().clone()
            tensors.update(optimizer_state_tensors(optimizer, f"{prefix}_optimizer")[0])
        if self._pending:
            parts = [np.concatenate(p) for p in zip(*self._pending, strict=True)]
        else:
            parts = [
                np.zeros((0, self.input_size), np.float32),
                np.zeros(0, np.int64),
                np.zeros(0, np.float32),
                np.zeros((0, self.num_actions), bool),
            ]
        for name, array in zip(_PENDING, parts, strict=True):
            tensors[f"pending.{name}"] = torch.from_numpy(array.copy())
        return tensors

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned.

        Raises:
            CheckpointError: tensors of another architecture or agent.
        """
        modules = [("policy", self.policy, self.policy_optimizer)]
        if self.value is not None:
            modules.append(("value", self.value, self.value_optimizer))
        known = {f"pending.{n}" for n in _PENDING}
        try:
            for prefix, module, optimizer in modules:
                weights = {
                    k[len(prefix) + 1 :]: v
                    for k, v in tensors.items()
                    if k.startswith(prefix + ".")
                }
                module.load_state_dict(weights)
                # param_groups (learning rates, betas) come with extra_state, loaded next.
                known |= load_optimizer_state(optimizer, tensors, f"{prefix}_optimizer")
                known |= {k for k in tensors if k.startswith(prefix + ".")}
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"Reinforce weights do not fit this configuration "
                f"(hidden={self.config.hidden}, baseline={self.config.baseline!r}): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        unknown = sorted(set(tensors) - known)
        if unknown:
            raise CheckpointError(f"unexpected tensors for Reinforce: {unknown[:5]}")
        observations, actions, returns, legal = (
            tensors[f"pending.{n}"].cpu().numpy().copy() for n in _PENDING
        )
        self._pending = [(observations, actions, returns, legal)] if len(actions) else []
        # The episode count comes with extra_state; without it, count the batch as one.
        self._pending_episodes = len(self._pending)

    def extra_state(self) -> dict[str, Any]:
        """Sampling and weight-init RNG states, counters, the running mean baseline, and each
        optimiser's ``param_groups`` (``optimizers``, see
        :func:`rlkit.supervised.optimizer_state_tensors`)."""
        state = super().extra_state()
        state.update(
            torch_generator=self._generator.get_state().tolist(),
            pending_episodes=self._pending_episodes,
            updates=self._updates,
            mean_return=self._mean_return,
            returns_seen=self._returns_seen,
            metrics={k: (None if math.isnan(v) else v) for k, v in self._metrics.items()},
            optimizers={
                prefix: optimizer_state_tensors(optimizer, prefix)[1]
                for prefix, optimizer in self._optimizers()
            },
        )
        return state

    def _optimizers(self) -> list[tuple[str, torch.optim.Optimizer]]:
        pairs = [("policy_optimizer", self.policy_optimizer)]
        if self.value_optimizer is not None:
            pairs.append(("value_optimizer", self.value_optimizer))
        return pairs

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        super().load_extra_state(state)
        if "torch_generator" in state:
            self._generator.set_state(torch.tensor(state["torch_generator"], dtype=torch.uint8))
        self._updates = int(state.get("updates", self._updates))
        self._pending_episodes = int(state.get("pending_episodes", self._pending_episodes))
        self._mean_return = float(state.get("mean_return", self._mean_return))
        self._returns_seen = int(state.get("returns_seen", self._returns_seen))
        if "metrics" in state:
            self._metrics = {
                k: (math.nan if v is None else float(v)) for k, v in state["metrics"].items()
            }
        # All param_groups of each optimiser (absent in checkpoints written before they were
        # stored: those keep the configured hyper-parameters).
        saved = state.get("optimizers", {})
        for prefix, optimizer in self._optimizers():
            if prefix in saved:
                tensors = optimizer_state_tensors(optimizer, prefix)[0]
                try:
                    load_optimizer_state(optimizer, tensors, prefix, saved[prefix])
                except (RuntimeError, ValueError, KeyError) as exc:
                    raise CheckpointError(
                        f"Reinforce optimizer state does not fit: {str(exc).splitlines()[0]}"
                    ) from None
