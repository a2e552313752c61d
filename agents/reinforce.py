"""REINFORCE: Monte-Carlo policy gradient with a baseline (Williams, 1992), optionally on the
shared policy-value networks with a KL penalty towards a reference policy.

Williams, R. J. (1992). "Simple statistical gradient-following algorithms for connectionist
reinforcement learning." Machine Learning 8, 229-256.

The policy is a softmax over logits, ``pi(a | s) = softmax(f(s))_a``, with illegal actions
(when the environment gives a mask) set to probability zero, so they are never sampled. After
each episode the discounted reward-to-go ``G_t = r_t + gamma * G_{t+1}`` of every step is
computed; every ``episodes_per_update`` episodes one Adam step follows the gradient of

    loss = -mean_t[(G_t - b(s_t)) * log pi(a_t | s_t)] - entropy_coef * mean_t[H(pi(. | s_t))]
           + kl_coef * mean_t[KL(pi(. | s_t) || pi_ref(. | s_t))]

over all steps of those episodes, where the baseline ``b`` is a learned value function
(trained by mean-squared error towards ``G_t``), a running mean of the returns, or zero.
Subtracting a baseline leaves the gradient unbiased and lowers its variance.

Two kinds of network:

- ``net=None`` (the default): separate MLPs for the policy and the value baseline (``hidden``,
  ``activation``), each with its own Adam optimiser. Observations are encoded as flat float32
  vectors: ``Discrete(n)`` one-hot, ``Box`` flattened; a ``Dict`` observation with
  ``"observation"`` and ``"action_mask"`` through its ``"observation"`` part.
- ``net="mlp:..."`` or ``"resnet:..."``: one :func:`rlkit.nn.make_network` policy-value
  network, the kind behaviour cloning (:mod:`rlkit.agents.bc`) trains: its policy head gives
  the logits (softmax over the legal actions), its value head the learned baseline, read as
  ``return_scale * scalar_value`` (the head is in [-1, 1]). Body and heads share one Adam
  optimiser on ``policy_loss + value_coef * value_loss (+ penalties)``. Observations keep their
  shape (``[C, H, W]`` boards). The network always runs in eval mode (no dropout): batch norm uses
  the running statistics it was given (from supervised training, or its initial ones) and only
  its affine parameters learn; batch statistics of small, correlated RL batches would make the
  policy that acts (one position at a time) differ from the policy that is differentiated.

KL penalty (``kl_coef > 0``). AlphaStar's reinforcement learning "continually minimises the KL
distance to the supervised network" (Vinyals et al., "Grandmaster level in StarCraft II using
multi-agent reinforcement learning", Nature 575, 2019) so that the learner keeps the human
strategies while it improves. The reference ``pi_ref`` is a frozen copy of the policy the
learner starts from: the behaviour-cloned policy with :meth:`Reinforce.from_policy`, else the
learner's own initial weights. The direction is ``KL(pi || pi_ref) = sum_a pi(a) (log pi(a) -
log pi_ref(a))``, computed exactly over the legal actions of every visited state (no sampling:
the action sets are small). We pick this direction because it is the regulariser of
KL-regularised RL, whose optimum is ``pi ∝ pi_ref * exp(Q / kl_coef)`` (Todorov, 2007; Jaques
et al., "Sequence Tutor", ICML 2017): the learner may drop moves the reference plays but which
lose (keeping only move ``a`` of a state costs ``log(1 / pi_ref(a))``), while it pays heavily
for moves the reference all but excludes. The other direction, ``KL(pi_ref || pi)``, grows
without bound when the learner stops playing any move the reference likes, which forbids
exactly the corrections reinforcement learning is for.

Episodes that end by a time limit (``truncated=True``, ``terminated=False``) are not true ends:
the return after the cut is unknown. Plain REINFORCE treats the cut as the end of the returns,
which biases the values of the last steps towards zero; with a value baseline and
``bootstrap_truncated=True`` (the default) the missing tail is estimated by the value network
instead, ``G_T = V(s_T)``. A run that stops mid-episode simply drops that partial episode.

Measured with the defaults (``rlkit train reinforce --steps 300000``, then 100 greedy episodes):
CartPole-v1 reaches 500 for seeds 0-4, and ``rlkit/Maze-v0`` its optimal return -24. Sparse,
punishing maps need more exploration: ``rlkit/CliffWalking-v0`` stays at the time limit with
the defaults but learns the optimal cliff-edge path (-13) with
``learning_rate=3e-3,value_learning_rate=1e-2,entropy_coef=0.1``. On tic-tac-toe against a
random opponent (colours alternating) with ``net=mlp:hidden=64x64,learning_rate=1e-2,
episodes_per_update=8``, seeds 0-4: the greedy policy wins 36-59% of 200 games before training
and 77-87% after 15,000 steps (``tests/leagues/test_learners.py``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit.agent import Agent, Learner, Transition, inner_observation_space, validate_mask
from rlkit.errors import CheckpointError, IncompatibleEnvError, SpecError
from rlkit.nn import MLP, parse_value_head, resolve_device
from rlkit.supervised import load_optimizer_state, optimizer_state_tensors

_METRIC_KEYS = ("policy_loss", "value_loss", "entropy", "grad_norm", "updates")
_PENDING = ("observations", "actions", "returns", "legal")  # state_dict keys of a partial batch
_INPUT = ("input.mean", "input.std")  # state_dict keys of a cloned policy's input scaling


@dataclass(frozen=True)
class ReinforceConfig:
    """Hyper-parameters of :class:`Reinforce`. The defaults solve CartPole-v1."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy and value MLPs (``64x64`` on the command line); unused
    with ``net``."""

    activation: Literal["relu", "tanh"] = "tanh"
    """Activation function of the MLPs' hidden layers; unused with ``net``."""

    net: str | None = None
    """A :func:`rlkit.nn.make_network` spec (``mlp:hidden=64x64``, ``resnet:blocks=2,...``):
    one policy-value network for policy and baseline, as behaviour cloning trains. None: the
    two MLPs of ``hidden`` and ``activation``."""

    value_head: str = "scalar"
    """Value head of ``net``: ``scalar``, ``wdl`` or ``multi:K`` (its scalar reading is the
    baseline)."""

    learning_rate: float = 1e-3
    """Adam step size of the policy network (with ``net``: of the whole network)."""

    gamma: float = 0.99
    """Discount factor of the returns, in [0, 1]."""

    baseline: Literal["value", "mean", "none"] = "value"
    """What is subtracted from the returns: a learned value function ``V(s)``, a running mean
    of all returns seen, or nothing."""

    value_learning_rate: float = 1e-3
    """Adam step size of the value MLP (``baseline="value"`` without ``net``)."""

    value_coef: float = 0.5
    """Weight of the value loss beside the policy loss (``baseline="value"`` with ``net``)."""

    return_scale: float = 1.0
    """With ``net``: the value head (in [-1, 1]) predicts ``G / return_scale``; set it to the
    largest absolute return (a game's utility bound)."""

    entropy_coef: float = 0.0
    """Weight of the policy-entropy bonus, which discourages a premature deterministic policy."""

    kl_coef: float = 0.0
    """Weight of ``KL(pi || pi_ref)`` towards the reference policy (the supervised one with
    :meth:`Reinforce.from_policy`, else the initial one); 0: no penalty."""

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
        if self.net is not None and not self.net.strip():
            raise SpecError("net must be a network spec such as mlp:hidden=64x64, or none")
        parse_value_head(self.value_head)  # SpecError naming the choices
        if self.baseline not in ("value", "mean", "none"):
            raise ValueError(f"baseline must be 'value', 'mean' or 'none', got {self.baseline!r}")
        for name in ("learning_rate", "value_learning_rate", "return_scale"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("entropy_coef", "kl_coef", "value_coef"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.episodes_per_update < 1:
            raise ValueError(
                f"episodes_per_update must be at least 1, got {self.episodes_per_update}"
            )
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be positive or none, got {self.max_grad_norm}")


class Reinforce(Learner):
    """REINFORCE with a baseline for ``Discrete`` actions.

    Args:
        config: a :class:`ReinforceConfig`.
        observation_space: ``Discrete``, ``Box``, or a ``Dict`` with ``"observation"`` (one of
            those) and ``"action_mask"``; with ``config.net``, a ``Box`` (or such a ``Dict``).
        action_space: ``Discrete``.
        seed: seeds the initial weights and the action sampling; the same seed and the same
            experience give exactly the same run.

    Raises:
        IncompatibleEnvError: for other observation or action spaces.
        SpecError: a network spec that is malformed or does not fit the observation.
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
        self._one_hot_size: int | None = None
        self._one_hot_start = 0
        if isinstance(space, gym.spaces.Discrete) and config.net is None:
            self._one_hot_size = int(space.n)
            self._one_hot_start = int(space.start)
            self.input_size = int(space.n)
        elif isinstance(space, gym.spaces.Box):
            self.input_size = int(np.prod(space.shape, dtype=np.int64))
        else:
            raise IncompatibleEnvError(
                f"Reinforce needs a {'Box' if config.net else 'Discrete or Box'} observation "
                f"space (or a Dict of 'observation' and 'action_mask'), got {observation_space}"
            )
        self.observation_shape: tuple[int, ...] = (
            (self.input_size,) if config.net is None else tuple(int(s) for s in space.shape)
        )

        # The torch generator only seeds the initial weights; actions are drawn from the base
        # class's numpy generator ``self.rng``. Neither touches a global RNG.
        self._generator = torch.Generator()
        self._generator.manual_seed(
            int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        )
        self.policy: MLP | None = None
        self.policy_optimizer: torch.optim.Optimizer | None = None
        self.value: MLP | None = None
        self.value_optimizer: torch.optim.Optimizer | None = None
        self.network: Any = None  # a rlkit.nn.PolicyValueNet with ``config.net``
        self.optimizer: torch.optim.Optimizer | None = None  # ... and its optimiser
        self.input_mean: np.ndarray | None = None
        """Per-feature z-scoring of observations taken over from a cloned policy (its
        trainer standardised the inputs), with :attr:`input_std`; None: raw observations."""
        self.input_std: np.ndarray | None = None
        self.reference: nn.Module | None = None
        """The frozen reference policy of the KL penalty (a copy of the policy module)."""
        self._evaluator: Any = None
        if config.net is not None:
            from rlkit.nn import make_network

            self.network = make_network(
                config.net,
                self.observation_shape,
                self.num_actions,
                value_head=config.value_head,
                generator=self._generator,
            ).to(self.device)
            self.network.eval()  # see the module docstring: batch norm keeps its statistics
            self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate)
        else:
            self.policy = MLP(
                self.input_size,
                config.hidden,
                self.num_actions,
                activation=config.activation,
                output_gain=0.01,
                generator=self._generator,
            ).to(self.device)
            self.policy_optimizer = torch.optim.Adam(
                self.policy.parameters(), lr=config.learning_rate
            )
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
        if config.kl_coef > 0:
            self._set_reference()  # the initial policy, until from_policy or a checkpoint

    @classmethod
    def from_policy(
        cls, policy: Agent, config: ReinforceConfig | None = None, *, seed: int | None = None
    ) -> Reinforce:
        """A learner that starts from a behaviour-cloned policy and keeps it as the reference.

        The clone's network weights (and input standardisation) become the initial weights,
        and a frozen copy of them the reference policy ``pi_ref`` of the KL penalty, so the
        new learner's action probabilities are exactly the clone's before it trains.

        Args:
            policy: a :class:`rlkit.agents.bc.BehaviourCloning` agent (e.g. loaded from a
                ``rlkit train bc`` run with :func:`rlkit.load_agent`).
            config: the learner's hyper-parameters; ``net=None`` takes the clone's network
                and value head.
            seed: seeds the action sampling.

        Raises:
            SpecError: ``policy`` is not a behaviour-cloned agent, or ``config.net`` names
                another network than the clone's.
        """
        from rlkit.agents.bc import BehaviourCloning

        if not isinstance(policy, BehaviourCloning):
            raise SpecError(
                f"Reinforce starts from a behaviour-cloned policy (agent 'bc', from "
                f"`rlkit train bc`), not from a {type(policy).__name__}"
            )
        clone = policy.config
        config = config or ReinforceConfig()
        if config.net is None:
            config = replace(config, net=clone.net, value_head=clone.value_head)
        agent = cls(config, policy.observation_space, policy.action_space, seed=seed)
        if not _same_architecture(agent.network, policy.network):
            raise SpecError(
                f"the supervised policy's network is {clone.net} (value head "
                f"{clone.value_head}), the learner's {config.net} (value head "
                f"{config.value_head}): give the learner the same network"
            )
        agent.network.load_state_dict(policy.network.state_dict())
        if policy.input_mean is not None and policy.input_std is not None:
            agent.input_mean = np.array(policy.input_mean, np.float32)
            agent.input_std = np.array(policy.input_std, np.float32)
        agent._set_reference()
        return agent

    def _set_reference(self) -> None:
        """Freeze a copy of the current policy as the KL reference ``pi_ref``."""
        source = self.network if self.network is not None else self.policy
        self.reference = copy.deepcopy(source)
        self.reference.eval()
        for parameter in self.reference.parameters():
            parameter.requires_grad_(False)
        self._metrics.setdefault("kl", math.nan)

    # -- acting --------------------------------------------------------------------------------
    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        """Sample from the policy (``explore=True``) or take its most probable legal action.

        Args:
            observation: an observation of the space given at construction (the inner part;
                a ``Dict`` with ``"action_mask"`` is also accepted with ``net``).
            action_mask: ``[num_actions]`` booleans, True where the action is legal.
            explore: sample instead of acting greedily.

        Returns:
            An action index; never one the mask forbids.
        """
        if self.network is not None:
            probs = self.action_probabilities(observation, action_mask).astype(np.float64)
            if not explore:
                return int(np.argmax(probs))
        else:
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

    def action_probabilities(
        self, observation: Any, action_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """The policy ``pi(. | observation)`` over the legal actions, float32 ``[num_actions]``
        (zero where the mask forbids).

        With ``net`` the forward pass runs in float32 through
        :class:`rlkit.nn.BatchedEvaluator`; without, through the policy MLP.
        """
        if isinstance(observation, dict) and "action_mask" in observation:
            action_mask = observation["action_mask"] if action_mask is None else action_mask
            observation = observation["observation"]
        legal = (
            np.ones(self.num_actions, dtype=bool)
            if action_mask is None
            else self._legal(action_mask)
        )
        x = self._encode([observation])
        if self.network is None:
            with torch.no_grad():
                logits = self.policy(torch.from_numpy(x).to(self.device))
                mask = torch.from_numpy(legal[None]).to(self.device)
                logits = logits.masked_fill(~mask, -math.inf)
                return torch.softmax(logits, dim=-1)[0].cpu().numpy()
        if self._evaluator is None:
            from rlkit.nn import BatchedEvaluator

            # fp32 (no autocast): the probabilities acted on are those the gradient is of.
            self._evaluator = BatchedEvaluator(self.network, device=self.device, autocast=False)
        priors, _ = self._evaluator.evaluate(x, legal[None])
        return priors[0]

    def _legal(self, action_mask: np.ndarray) -> np.ndarray:
        return validate_mask(action_mask, self.num_actions)

    def _encode(self, observations: list[Any]) -> np.ndarray:
        """Observations as float32 ``[len(observations), *observation_shape]`` (flat vectors
        ``[len, input_size]`` without ``net``), standardised when a clone's scaling is set."""
        if self._one_hot_size is not None:
            index = np.asarray(observations, dtype=np.int64) - self._one_hot_start
            encoded = np.zeros((len(observations), self._one_hot_size), dtype=np.float32)
            encoded[np.arange(len(observations)), index] = 1.0
            return encoded
        encoded = np.asarray(observations, dtype=np.float32).reshape(
            len(observations), *self.observation_shape
        )
        if self.input_mean is not None and self.input_std is not None:
            encoded = ((encoded - self.input_mean) / self.input_std).astype(np.float32)
        return encoded

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

    def abandon_episode(self) -> None:
        """Forget the episode in progress (a loop that stopped in the middle of one), so the
        next :meth:`observe` starts a new episode. Finished episodes stay pending."""
        self._observations, self._actions, self._rewards, self._masks = [], [], [], []
        self._bootstrap_observation = None

    def end_episode(self) -> dict[str, float]:
        """Close the episode; update the networks once ``episodes_per_update`` have closed.

        Returns:
            ``policy_loss``, ``value_loss`` (0 without a value baseline), ``entropy`` (mean
            policy entropy over the batch, in nats), ``grad_norm`` (policy gradient norm before
            clipping), ``updates`` (gradient steps so far) and, with a reference policy,
            ``kl`` (mean ``KL(pi || pi_ref)`` over the batch, before the step). Between
            updates the values of the last update are repeated; before the first they are NaN.
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
            and self.config.baseline == "value"
            and self.config.bootstrap_truncated
        ):
            x = torch.from_numpy(self._encode([self._bootstrap_observation])).to(self.device)
            with torch.no_grad():
                tail = float(self._values(x)[0])
        returns = np.empty(len(actions), dtype=np.float32)
        running = tail
        for t in range(len(actions) - 1, -1, -1):  # G_t = r_t + gamma * G_{t+1}
            running = self._rewards[t] + self.config.gamma * running
            returns[t] = running
        self.abandon_episode()  # encoded above: forget the raw lists
        return observations, actions, returns, legal

    def _values(self, x: torch.Tensor) -> torch.Tensor:
        """The value baseline ``[N]`` of encoded observations (in return units)."""
        if self.network is not None:
            _, raw = self.network(x)
            return self.network.scalar_value(raw) * self.config.return_scale
        return self.value(x).squeeze(-1)

    def _update(self) -> None:
        """One gradient step of the policy (and value function) on the pending episodes."""
        config = self.config
        observations, actions, returns, legal = (
            torch.from_numpy(np.concatenate(parts)).to(self.device)
            for parts in zip(*self._pending, strict=True)
        )  # [N, *observation_shape], [N], [N], [N, num_actions]
        self._pending, self._pending_episodes = [], 0

        value_loss = torch.zeros(())
        values: torch.Tensor | None = None
        if self.network is not None:
            logits, raw = self.network(observations)  # [N, num_actions], value head output
            if config.baseline == "value":
                values = self.network.scalar_value(raw)  # [N], in [-1, 1]
                scaled = returns / config.return_scale
                value_loss = nn.functional.mse_loss(values, scaled)
                advantages = returns - values.detach() * config.return_scale
        else:
            if self.value is not None:
                values = self.value(observations).squeeze(-1)  # [N]
                advantages = returns - values.detach()
                value_loss = nn.functional.mse_loss(values, returns)
                self.value_optimizer.zero_grad(set_to_none=True)
                value_loss.backward()
                if config.max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(self.value.parameters(), config.max_grad_norm)
                self.value_optimizer.step()
            logits = self.policy(observations)  # [N, num_actions]
        if values is None:
            if config.baseline == "mean":
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

        log_probs = _masked_log_softmax(logits, legal)
        chosen = log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)  # [N]
        entropy = -(log_probs.exp() * log_probs).sum(dim=-1).mean()
        policy_loss = -(chosen * advantages).mean()
        loss = policy_loss - config.entropy_coef * entropy
        kl = None
        if self.reference is not None:
            with torch.no_grad():
                reference_logits = self.reference(observations)
                if isinstance(reference_logits, tuple):  # a PolicyValueNet: (logits, value)
                    reference_logits = reference_logits[0]
                reference_log_probs = _masked_log_softmax(reference_logits, legal)
            kl = _kl(log_probs, reference_log_probs, legal).mean()
            if config.kl_coef > 0:
                loss = loss + config.kl_coef * kl
        max_norm = config.max_grad_norm if config.max_grad_norm is not None else math.inf
        if self.network is not None:
            loss = loss + config.value_coef * value_loss
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(self.network.parameters(), max_norm)
            self.optimizer.step()
        else:
            self.policy_optimizer.zero_grad(set_to_none=True)
            loss.backward()
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
        if kl is not None:
            self._metrics["kl"] = float(kl.detach())

    # -- persistence ---------------------------------------------------------------------------
    def _modules(self) -> list[tuple[str, nn.Module, torch.optim.Optimizer]]:
        """(prefix, module, optimiser) of every trained network."""
        if self.network is not None:
            return [("net", self.network, self.optimizer)]
        modules = [("policy", self.policy, self.policy_optimizer)]
        if self.value is not None:
            modules.append(("value", self.value, self.value_optimizer))
        return modules

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Networks, optimizer moments and episodes awaiting an update, as named tensors.

        Keys: without ``net``, ``policy.<param>``, ``value.<param>``,
        ``policy_optimizer.<i>.<key>`` and ``value_optimizer.<i>.<key>``; with ``net``,
        ``net.<param>`` and ``net_optimizer.<i>.<key>`` (and ``input.mean``/``input.std`` when
        a clone's scaling is used); ``reference.<param>`` for the KL reference when there is
        one; and ``pending.{observations,actions,returns,legal}`` (the finished episodes of an
        incomplete batch, concatenated). The episode in progress is not saved: checkpoint
        between episodes.
        """
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module, optimizer in self._modules():
            for name, tensor in module.state_dict().items():
                tensors[f"{prefix}.{name}"] = tensor.detach().clone()
            tensors.update(optimizer_state_tensors(optimizer, f"{prefix}_optimizer")[0])
        if self.reference is not None:
            for name, tensor in self.reference.state_dict().items():
                tensors[f"reference.{name}"] = tensor.detach().clone()
        if self.input_mean is not None and self.input_std is not None:
            tensors["input.mean"] = torch.from_numpy(self.input_mean.copy())
            tensors["input.std"] = torch.from_numpy(self.input_std.copy())
        if self._pending:
            parts = [np.concatenate(p) for p in zip(*self._pending, strict=True)]
        else:
            parts = [
                np.zeros((0, *self.observation_shape), np.float32),
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
        known = {f"pending.{n}" for n in _PENDING}
        try:
            for prefix, module, optimizer in self._modules():
                weights = {
                    k[len(prefix) + 1 :]: v
                    for k, v in tensors.items()
                    if k.startswith(prefix + ".")
                }
                module.load_state_dict(weights)
                # param_groups (learning rates, betas) come with extra_state, loaded next.
                known |= load_optimizer_state(optimizer, tensors, f"{prefix}_optimizer")
                known |= {k for k in tensors if k.startswith(prefix + ".")}
            reference = {k[10:]: v for k, v in tensors.items() if k.startswith("reference.")}
            if reference:
                self._set_reference()
                self.reference.load_state_dict(reference)
                known |= {f"reference.{k}" for k in reference}
            elif self.config.kl_coef > 0:
                self._set_reference()  # a checkpoint without one: its policy is the reference
        except (RuntimeError, ValueError, KeyError) as exc:
            shape = (
                f"net={self.config.net}"
                if self.network is not None
                else (f"hidden={self.config.hidden}")
            )
            raise CheckpointError(
                f"Reinforce weights do not fit this configuration "
                f"({shape}, baseline={self.config.baseline!r}): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        scaling = [k for k in _INPUT if k in tensors]
        if scaling:
            if len(scaling) != 2 or self.network is None:
                raise CheckpointError("input.mean/std come as a pair, and only with net")
            mean, std = (tensors[k].float().cpu().numpy().copy() for k in _INPUT)
            if mean.shape != self.observation_shape or std.shape != self.observation_shape:
                raise CheckpointError(
                    f"input.mean/std have shape {list(mean.shape)}, the observations "
                    f"{list(self.observation_shape)}"
                )
            self.input_mean, self.input_std = mean, std
            known |= set(_INPUT)
        unknown = sorted(set(tensors) - known)
        if unknown:
            raise CheckpointError(f"unexpected tensors for Reinforce: {unknown[:5]}")
        observations, actions, returns, legal = (
            tensors[f"pending.{n}"].cpu().numpy().copy() for n in _PENDING
        )
        self._pending = [(observations, actions, returns, legal)] if len(actions) else []
        # The episode count comes with extra_state; without it, count the batch as one.
        self._pending_episodes = len(self._pending)
        self._evaluator = None

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
        return [(f"{prefix}_optimizer", optimizer) for prefix, _, optimizer in self._modules()]

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
            if self.reference is not None:
                self._metrics.setdefault("kl", math.nan)
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


def _masked_log_softmax(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """``log pi`` ``[N, A]`` over the legal actions; illegal entries hugely negative.

    A large finite negative (not -inf) keeps ``0 * log 0 = 0`` in the entropy.
    """
    logits = logits.float().masked_fill(~legal, torch.finfo(torch.float32).min)
    return torch.log_softmax(logits, dim=-1)


def _kl(
    log_probs: torch.Tensor, reference_log_probs: torch.Tensor, legal: torch.Tensor
) -> torch.Tensor:
    """``KL(pi || pi_ref)`` per row ``[N]``, summed over the legal actions only.

    ``where`` (not a product with the mask) keeps the undefined differences of illegal entries
    out of the values and the gradient.
    """
    difference = torch.where(legal, log_probs - reference_log_probs, 0.0)
    return (log_probs.exp() * difference).sum(dim=-1)


def _same_architecture(a: nn.Module, b: nn.Module) -> bool:
    """Whether two policy-value networks have the same layers, parameter shapes and heads."""
    layers_a = [(n, type(m).__name__) for n, m in a.named_modules()]
    layers_b = [(n, type(m).__name__) for n, m in b.named_modules()]
    shapes_a = {k: tuple(v.shape) for k, v in a.state_dict().items()}
    shapes_b = {k: tuple(v.shape) for k, v in b.state_dict().items()}
    return (
        layers_a == layers_b
        and shapes_a == shapes_b
        and a.value_head == b.value_head
        and a.observation_shape == b.observation_shape
    )
