"""League learners: single-agent learners that train against a given opponent.

A league player (Vinyals et al., "Grandmaster level in StarCraft II using multi-agent
reinforcement learning", Nature 575, 2019) is any learner that can train against a given
opponent. The game's Gymnasium-vs-opponent environment
(:class:`rlkit.envs.game_envs.GameVsOpponentEnv`, ``play_as="alternate"``: the learner moves
first in every other game) turns single-agent learners into league players; the league asks a
learner to :meth:`LeagueLearner.train_against` an opponent for some environment steps, then
snapshots it with :meth:`LeagueLearner.save` (an ordinary rlkit agent checkpoint, so a frozen
player is just a checkpoint path that :func:`rlkit.match.make_player` seats) and resumes it with
:meth:`LeagueLearner.load`.

Learners (:data:`LEARNERS`):

- ``reinforce``: :class:`rlkit.agents.reinforce.Reinforce` on a shared policy-value network
  (``net``, default :func:`rlkit.agents.bc.default_net` for the game), value head as the
  learned baseline, and ``kl_coef`` times ``KL(pi || pi_supervised)`` in the loss: AlphaStar's
  "continually minimise the KL distance to the supervised network". With ``init`` (a
  ``rlkit train bc`` run or its ``final.pt``), the learner starts from the cloned weights and
  keeps them, frozen, as the KL reference (:meth:`Reinforce.from_policy`); ``net`` and
  ``value_head`` default to the clone's, and another network is refused. The value head
  predicts returns divided by ``return_scale``, which defaults to the game's utility bound.
- ``maskable-ppo``: sb3-contrib's MaskablePPO (Huang & Ontañón 2022) through the
  ``sb3:MaskablePPO`` adapter (:mod:`rlkit.agents.sb3`) on the same environment. It trains on
  whole rollouts of ``n_steps``: a call trains until the first episode end after
  ``ceil(steps / n_steps)`` rollouts, because SB3 drops a rollout it is stopped in. A
  supervised start is not supported: SB3's ``MlpPolicy`` (separate policy and value MLPs with
  tanh units) cannot hold a behaviour-cloned :class:`rlkit.nn.PolicyValueNet`.

Determinism: the environment (and so the opponent, built from its generator) is seeded with
``train_against``'s seed; the learners draw from their own seeded generators; with torch on
the CPU and a fixed thread count, the same seeds give the same weights.
"""

from __future__ import annotations

import abc
import math
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rlkit.errors import CheckpointError, SpecError
from rlkit.training import RunSettings, TrainingSession

if TYPE_CHECKING:  # torch and the agents load only when a learner is made
    from rlkit.agent import Learner
    from rlkit.game import Game


class LeagueLearner(abc.ABC):
    """A learner of the league: trains against opponents, saves and resumes.

    Attributes:
        game_spec: the game's spec (``"connect4"``), stored in checkpoints.
        game: the rules.
        agent: the rlkit learner (an :class:`rlkit.agent.Learner`).
        steps: environment steps trained so far (all calls, all opponents).
        episodes: episodes trained so far.
    """

    name: ClassVar[str]
    """The learner's name in :data:`LEARNERS` (a league config's ``learner``)."""
    agent_name: ClassVar[str]
    """The registry name of the agent it trains (what its checkpoints say)."""

    def __init__(
        self, game_spec: str, game: Game, agent: Learner, *, steps: int = 0, episodes: int = 0
    ) -> None:
        self.game_spec = game_spec
        self.game = game
        self.agent = agent
        self.steps = steps
        self.episodes = episodes

    # -- building --------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def create(
        cls, game: str, settings: dict[str, Any], *, init: str | None, seed: int
    ) -> LeagueLearner:
        """A fresh learner for ``game``.

        Args:
            game: a game spec (``"connect4"``).
            settings: the learner's config table (fields of its agent's config).
            init: a supervised checkpoint (``rlkit train bc`` ``final.pt`` or run folder), or
                None to start from scratch.
            seed: seeds the initial weights and the learner's sampling.

        Raises:
            SpecError: an unknown or bad setting; a supervised start the learner cannot take.
            CheckpointError: an ``init`` that is missing, corrupt or of another game.
        """

    @classmethod
    def load(cls, path: str | Path, game: str, settings: dict[str, Any]) -> LeagueLearner:
        """Resume a learner saved by :meth:`save`: weights, optimiser, RNG states, steps.

        Args:
            path: the checkpoint.
            game: the game spec it must have been trained on.
            settings: the learner's config table; every value it gives (but ``device``, a
                run-time choice) must equal the stored one.

        Raises:
            CheckpointError: a missing or corrupt file, another learner's or game's
                checkpoint, or settings that differ from the stored ones (named).
        """
        from rlkit.builder import load_agent
        from rlkit.checkpoint import load_checkpoint
        from rlkit.registry import make_game
        from rlkit.specs import build_config, parse_spec

        checkpoint = load_checkpoint(path)
        stored = checkpoint.metadata.get("agent")
        if stored != parse_spec(cls.agent_name).name:
            raise CheckpointError(
                f"{str(path)!r} holds a {stored!r} agent, not the {cls.name} learner's "
                f"{cls.agent_name!r}"
            )
        game_rules = make_game(game)
        agent = load_agent(path, game=game_rules, device=settings.get("device"))
        given = {k: v for k, v in settings.items() if k != "device"}
        wanted = build_config(type(agent.config), given, owner=f"{cls.name} learner")
        for key in given:
            have, want = getattr(agent.config, key), getattr(wanted, key)
            if have != want:
                raise CheckpointError(
                    f"{str(path)!r} was trained with {key}={have!r}, the settings say {want!r}"
                )
        training = checkpoint.metadata.get("training") or {}
        return cls(
            game,
            game_rules,
            agent,
            steps=int(training.get("steps", 0)),
            episodes=int(training.get("episodes", 0)),
        )

    # -- training ----------------------------------------------------------------------------
    def train_against(
        self, opponent: str, steps: int, *, seed: int, opening_moves: int = 0
    ) -> dict[str, float]:
        """Train at least ``steps`` environment steps, in whole episodes, against ``opponent``.

        Args:
            opponent: an agent spec (``"random"``, ``"minimax:depth=2"``) or a checkpoint path
                (a frozen player, or another learner's snapshot).
            steps: the least number of the learner's own moves to train on.
            seed: seeds the environment (move order, chance, the opponent's generator).
            opening_moves: each training episode starts after this many random moves
                (:class:`~rlkit.envs.game_envs.GameVsOpponentEnv`), as the league's payoff
                games do, so the learner trains on the positions it is rated on.

        Returns:
            ``episodes``, ``steps`` (of this call), ``win_rate``, ``draw_rate`` and
            ``mean_return`` of these training episodes (from the learner's side), ``updates``
            (gradient updates in this call), ``loss`` (mean total loss of those updates) and
            ``kl`` (mean ``KL(pi || pi_ref)`` to the reference policy; NaN without one).

        Raises:
            SpecError: ``steps`` below 1 or a negative ``seed``.
            UnknownNameError, SpecError, CheckpointError, IncompatibleEnvError: an opponent
                that cannot be seated at this game (one line).
        """
        from rlkit.envs.game_envs import GameVsOpponentEnv

        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise SpecError(f"steps must be a positive integer, got {steps!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise SpecError(f"seed must be a non-negative integer, got {seed!r}")
        steps, seed = int(steps), int(seed)  # numpy integers too
        abandon = getattr(self.agent, "abandon_episode", None)
        if abandon is not None:  # a call interrupted mid-episode must not leak into this one
            abandon()
        env = GameVsOpponentEnv(
            self.game, opponent=opponent, play_as="alternate", opening_moves=opening_moves
        )
        env.reset(seed=seed)  # seeds the env; the opponent is built here, so errors come now
        session = _CallSession(self, self._target(steps), seed)
        try:
            self.agent.fit(env, session)
        finally:
            env.close()
        session.probe()
        self.steps += session.steps
        self.episodes += session.episodes
        return session.summary()

    def _target(self, steps: int) -> int:
        """Steps after which the call ends at the next episode end."""
        return steps

    @abc.abstractmethod
    def _update_state(self) -> tuple[int, dict[str, float]]:
        """(updates so far, ``{"loss", "kl", ...}`` of the latest update)."""

    # -- saving -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the learner as an rlkit agent checkpoint, atomically (playable by
        :func:`rlkit.match.make_player`, resumable by :meth:`load`)."""
        from rlkit.checkpoint import save_agent

        save_agent(
            path,
            self.agent_name,
            self.agent,
            env=self.game_spec,
            training={"learner": self.name, "steps": self.steps, "episodes": self.episodes},
        )


class _CallSession(TrainingSession):
    """The training session of one ``train_against`` call.

    It never cuts an episode short: the learner's loop sees an unbounded step allowance and
    stops at the first episode end once ``target`` steps are done. It also counts wins, draws
    and returns, and collects the learner's updates.
    """

    def __init__(self, learner: LeagueLearner, target: int, seed: int) -> None:
        # ``steps=target`` only satisfies RunSettings (a budget is required); ``finished``
        # and ``steps_left`` below decide when to stop.
        settings = RunSettings(
            agent=learner.agent_name, env=learner.game_spec, seed=seed, steps=target
        )
        super().__init__(settings, progress=False)
        self._learner = learner
        self._target = target
        self.returns: list[float] = []
        self._seen_updates, _ = learner._update_state()
        self._updates: list[dict[str, float]] = []

    @property
    def finished(self) -> bool:
        return self.interrupted or self.steps >= self._target

    def steps_left(self) -> int:
        return 0 if self.interrupted else 2**62

    def end_episode(self, episode_return: float, length: int, metrics: dict[str, float]) -> None:
        super().end_episode(episode_return, length, metrics)
        self.returns.append(float(episode_return))
        self.probe()

    def probe(self) -> None:
        """Record the learner's latest update if it made one since the last look."""
        updates, values = self._learner._update_state()
        if updates != self._seen_updates:
            self._seen_updates = updates
            self._updates.append(values)

    def summary(self) -> dict[str, float]:
        n = len(self.returns)
        out = {
            "episodes": float(self.episodes),
            "steps": float(self.steps),
            "win_rate": sum(r > 0 for r in self.returns) / n if n else math.nan,
            "draw_rate": sum(r == 0 for r in self.returns) / n if n else math.nan,
            "mean_return": sum(self.returns) / n if n else math.nan,
            "updates": float(len(self._updates)),
        }
        keys = dict.fromkeys(["loss", "kl", *(k for u in self._updates for k in u)])
        for key in keys:  # loss and kl always; learner-specific ones (approx_kl) too
            values = [u.get(key, math.nan) for u in self._updates]
            out[key] = sum(values) / len(values) if values else math.nan
        return out


# -- the learners ---------------------------------------------------------------------------------
def _agent_class(name: str) -> type:
    """The agent class a registry name gives (a missing optional package: one line)."""
    from rlkit.registry import resolve_agent_class

    return resolve_agent_class(name)[0]


class ReinforceLearner(LeagueLearner):
    """REINFORCE on a shared policy-value network with a KL penalty towards the supervised
    policy (:class:`rlkit.agents.reinforce.Reinforce`)."""

    name = "reinforce"
    agent_name = "reinforce"

    @classmethod
    def create(
        cls, game: str, settings: dict[str, Any], *, init: str | None, seed: int
    ) -> LeagueLearner:
        from rlkit.agents.bc import BehaviourCloning, default_net
        from rlkit.builder import game_spaces, load_agent
        from rlkit.registry import make_game
        from rlkit.specs import build_config

        rules = make_game(game)
        reinforce = _agent_class(cls.agent_name)
        params = dict(settings)
        clone = None
        if init is not None:
            clone = load_agent(init, game=rules, device=params.get("device"))
            if not isinstance(clone, BehaviourCloning):
                raise SpecError(
                    f"init {str(init)!r} holds a {type(clone).__name__} agent; the reinforce "
                    "learner starts from a behaviour-cloned policy (`rlkit train bc`)"
                )
            params.setdefault("net", clone.config.net)
            params.setdefault("value_head", clone.config.value_head)
        else:
            params.setdefault("net", default_net(rules.info.observation_shape))
        bound = max(abs(rules.info.min_utility), abs(rules.info.max_utility))
        params.setdefault("return_scale", bound if bound > 0 else 1.0)
        config = build_config(reinforce.Config, params, owner=f"{cls.name} learner")
        if clone is not None:
            agent = reinforce.from_policy(clone, config, seed=seed)
        else:
            agent = reinforce(config, *game_spaces(rules), seed=seed)
        return cls(game, rules, agent)

    def _update_state(self) -> tuple[int, dict[str, float]]:
        agent, config = self.agent, self.agent.config
        metrics = agent._metrics
        kl = metrics.get("kl", math.nan)
        loss = metrics["policy_loss"] - config.entropy_coef * metrics["entropy"]
        if not math.isnan(kl):
            loss += config.kl_coef * kl
        if agent.network is not None:  # one loss for the shared network
            loss += config.value_coef * metrics["value_loss"]
        return agent._updates, {"loss": loss, "kl": kl}


class MaskablePPOLearner(LeagueLearner):
    """sb3-contrib's MaskablePPO through the ``sb3:MaskablePPO`` adapter."""

    name = "maskable-ppo"
    agent_name = "sb3:MaskablePPO"

    @classmethod
    def create(
        cls, game: str, settings: dict[str, Any], *, init: str | None, seed: int
    ) -> LeagueLearner:
        from rlkit.builder import game_spaces
        from rlkit.registry import make_game
        from rlkit.specs import build_config

        if init is not None:
            raise SpecError(
                "the maskable-ppo learner cannot start from a supervised checkpoint: SB3's "
                "MlpPolicy cannot hold a behaviour-cloned network; leave init out or use "
                "the reinforce learner"
            )
        rules = make_game(game)
        agent_class = _agent_class(cls.agent_name)
        config = build_config(agent_class.Config, settings, owner=f"{cls.name} learner")
        return cls(game, rules, agent_class(config, *game_spaces(rules), seed=seed))

    def _target(self, steps: int) -> int:
        # SB3 discards the rollout it is stopped in, so run whole rollouts: stop at the first
        # episode end *after* the last rollout boundary (stopping on the boundary step itself
        # would drop that rollout too).
        n_steps = self.agent.config.n_steps
        return math.ceil(steps / n_steps) * n_steps + 1

    def _update_state(self) -> tuple[int, dict[str, float]]:
        model = self.agent.model
        values = model.logger.name_to_value
        return int(model._n_updates), {
            "loss": float(values.get("train/loss", math.nan)),
            "kl": math.nan,  # no reference policy; PPO's own old-vs-new KL is approx_kl
            "approx_kl": float(values.get("train/approx_kl", math.nan)),
        }


LEARNERS: dict[str, type[LeagueLearner]] = {
    ReinforceLearner.name: ReinforceLearner,
    MaskablePPOLearner.name: MaskablePPOLearner,
}
"""Learner name (a league config's ``learner``) -> class."""


def make_learner(
    name: str, game: str, settings: dict[str, Any], *, init: str | None, seed: int
) -> LeagueLearner:
    """A fresh learner by name (see :meth:`LeagueLearner.create`).

    Raises:
        SpecError: an unknown learner name (the known ones listed), or a bad setting.
    """
    if name not in LEARNERS:
        raise SpecError(f"unknown learner {name!r}; known learners: {', '.join(LEARNERS)}")
    return LEARNERS[name].create(game, settings, init=init, seed=seed)
