"""AlphaZero: a policy-value network trained from self-play with PUCT tree search.

Silver et al., "A general reinforcement learning algorithm that masters chess, shogi, and Go
through self-play", Science 362 (2018), after AlphaGo Zero (Nature 550, 2017). One loop:

1. **Self-play.** ``games_in_flight`` games run in lockstep; every move of every game is one
   search of ``simulations`` simulations in its own tree (:class:`rlkit.agents.puct.PuctSearch`),
   and the leaves of *all* trees go to the network in one forward pass per step (the batched
   evaluator protocol of :mod:`rlkit.search`, here :class:`NetworkEvaluator`). The root gets
   Dirichlet noise; the first ``temperature_moves`` moves of a game are sampled in proportion
   to the visit counts, later ones take the most visited move. Trees are reused between moves.
   With ``search="gumbel"`` the root is Gumbel AlphaZero's (Danihelka et al., ICLR 2022):
   sequential halving over Gumbel-sampled actions, which keeps improving the policy with 8-16
   simulations, and the policy target is the improved policy instead of the visit counts.
2. **Targets.** Every position of a finished game becomes ``(observation of the mover, search
   policy, z)``, ``z`` the mover's final return scaled to [-1, 1]. Resignation: a player whose
   root value and best child value are both below ``resign_threshold`` resigns; in a fraction
   ``resign_check_fraction`` of games resignation is off and the games are played out, and the
   share of would-be resigners who did not lose is logged as ``resign_false_positives`` (the
   paper keeps it under 5% by choosing the threshold).
3. **Training.** A replay buffer of the last ``replay_size`` positions; after every
   generation of ``games_per_generation`` games, ``sample_reuse`` times as many rows as the
   generation produced are drawn from it, each under one random board symmetry
   (:func:`rlkit.datasets.symmetries`: 8 for Go and tic-tac-toe, the mirror for connect four),
   and fitted for one epoch by the one trainer, :func:`rlkit.supervised.fit`, with its
   optimiser kept across generations: loss = policy cross-entropy against the search policy
   + ``value_weight`` × squared error of the value + ``l2`` × Σw².
4. **Evaluation.** Every ``eval_every`` generations the current network plays ``eval_games``
   games (colours alternating) against each fixed reference in ``eval_opponents`` at its play
   settings; the scores and the Elo difference they imply go to the metrics (the rating
   curve; ``rlkit plot RUN --y elo_vs_...`` draws it by training time).

Acting (:meth:`AlphaZero.act`) is one search from the current state with the play settings
(``simulations``, ``leaves_per_tree`` leaves per forward pass gathered with virtual loss, no
noise), the tree kept between moves; Go never passes while the game is unsettled and other
moves exist (:func:`rlkit.agents.mcts.sound_root_choice`).

Games with chance nodes (backgammon) have their own variant: ``alphazero-dice``.

Checkpoints hold the network, the optimiser, the replay buffer (observations as float16:
boards are small integers, exact), the generation counters and every generator's state.
Periodic checkpoints are written between generations, when no game is in flight, so resuming
from one continues exactly as the uninterrupted run (tested); a Ctrl-C checkpoint keeps the
games finished so far and drops the ones in flight.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

import numpy as np
import torch

from rlkit.errors import CheckpointError, IncompatibleEnvError, SpecError
from rlkit.game import TERMINAL, Game, GameLearner
from rlkit.search import Evaluator

__all__ = ["AlphaZero", "AlphaZeroConfig", "NetworkEvaluator", "ReplayBuffer"]

_AUTOCAST: dict[str, bool | Literal["auto"]] = {"auto": "auto", "on": True, "off": False}

DEFAULT_NETS = {
    "tictactoe": "mlp:hidden=64x64",
    "connect_four": "resnet:blocks=3,channels=32",
    "go": "resnet:blocks=3,channels=32",
}
"""Network per game when ``net`` is empty (sized for a 2-core CPU; bigger on a GPU)."""
DEFAULT_EVAL = {
    "tictactoe": "random;minimax",
    "connect_four": "random;minimax:depth=2;minimax:depth=4",
    "go": "random;mcts:simulations=200;mcts:simulations=1000",
}
"""Fixed references per game when ``eval_opponents`` is empty."""


@dataclass(frozen=True)
class AlphaZeroConfig:
    """Hyper-parameters of :class:`AlphaZero`; play-time ones can be overridden at load
    (``runs/az:simulations=800``)."""

    net: str = ""
    """Network spec (:func:`rlkit.nn.make_network`); empty: the game's default
    (``DEFAULT_NETS``)."""
    value_head: str = "scalar"
    """``scalar`` (tanh) or ``wdl``."""
    simulations: int = 100
    """Simulations per move, in self-play and in play."""
    search: Literal["puct", "gumbel"] = "puct"
    """Root rule: AlphaZero's PUCT with Dirichlet noise, or Gumbel AlphaZero's sequential
    halving (good with 8-32 simulations)."""
    gumbel_actions: int = 16
    """Actions sampled at the root by the Gumbel search."""
    c_init: float = 1.25
    """PUCT exploration constant (the pseudocode's ``pb_c_init``)."""
    dirichlet_alpha: float = 0.0
    """Root noise concentration; 0: 10 / legal moves (0.3 for chess, 0.03 for 19x19 Go)."""
    dirichlet_fraction: float = 0.25
    """Weight of the noise in the root priors during self-play."""
    leaves_per_tree: int = 8
    """Leaves gathered per forward pass when playing one game (virtual loss)."""
    games_in_flight: int = 64
    """Self-play games stepped in lockstep (leaves of all go to one forward pass)."""
    games_per_generation: int = 64
    """Games between two training phases."""
    temperature_moves: int = 8
    """Self-play moves (per game) sampled in proportion to visit counts; later: most visited."""
    resign_threshold: float = -0.95
    """Resign when the root value and the best child's value fall below this (-1: never)."""
    resign_check_fraction: float = 0.2
    """Fraction of self-play games played out without resignation (false-positive check)."""
    replay_size: int = 50_000
    """Positions kept in the replay buffer."""
    sample_reuse: float = 10.0
    """Training rows per generation, as a multiple of the positions the generation added."""
    batch_size: int = 256
    optimizer: str = "adam:lr=2e-3"
    """Optimiser spec (:mod:`rlkit.supervised`); its state is kept across generations."""
    lr_schedule: str = "constant"
    """Learning-rate schedule over the whole run, one of :mod:`rlkit.supervised`'s schedule
    specs with its step counting ten-thousandths of the run's budget (``--minutes``,
    ``--steps`` or ``--episodes``; see ``TrainingSession.budget_fraction``): ``cosine:min=0.1``
    decays the optimiser's rate to a tenth by the end of the budget. AlphaZero lowered its rate
    in steps over training (Silver et al. 2018); a schedule on the budget does the same for a
    run of any length, and a resumed run continues it."""
    l2: float = 1e-4
    value_weight: float = 1.0
    q_weight: float = 0.0
    """Value target ``(1 - q_weight) * z + q_weight * q``: ``z`` the game's outcome, ``q`` the
    root value of the search at that move (both for the player to move). Averaging with the
    search value lowers the target's variance; A. Prasad's connect-four AlphaZero ("Lessons
    from implementing AlphaZero", Oracle developers' blog, 2018) found ``q_weight=0.5`` learned
    faster than ``z`` alone."""
    eval_every: int = 5
    """Generations between evaluations against the references (0: never)."""
    eval_games: int = 20
    eval_opening_moves: int = 2
    """Random moves that open each pair of evaluation games (both colourings share them)."""
    eval_simulations: int = 0
    """Simulations per move in evaluation games; 0: ``simulations``."""
    eval_opponents: str = ""
    """Agent specs separated by ``;``; empty: the game's default (``DEFAULT_EVAL``)."""
    temperature: float = 0.0
    """Play-time move choice: 0 the most visited move; > 0 sample visits^(1/T)."""
    device: str = "auto"
    autocast: Literal["auto", "on", "off"] = "auto"

    def __post_init__(self) -> None:
        positive = (
            "simulations",
            "gumbel_actions",
            "leaves_per_tree",
            "games_in_flight",
            "games_per_generation",
            "replay_size",
            "batch_size",
            "eval_games",
        )
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise SpecError(f"{name} must be at least 1, got {value}")
        for name in ("temperature_moves", "eval_every", "eval_simulations", "eval_opening_moves"):
            if getattr(self, name) < 0:
                raise SpecError(f"{name} must be >= 0, got {getattr(self, name)}")
        checks = {
            "c_init": self.c_init > 0,
            "dirichlet_alpha": self.dirichlet_alpha >= 0,
            "dirichlet_fraction": 0 <= self.dirichlet_fraction <= 1,
            "resign_threshold": -1 <= self.resign_threshold <= 1,
            "resign_check_fraction": 0 <= self.resign_check_fraction <= 1,
            "sample_reuse": self.sample_reuse > 0,
            "l2": self.l2 >= 0,
            "value_weight": self.value_weight >= 0,
            "q_weight": 0 <= self.q_weight <= 1,
            "temperature": self.temperature >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (math.isfinite(value) and ok):
                raise SpecError(f"{name} has a value out of range: {value}")
        if self.search not in ("puct", "gumbel"):
            raise SpecError(f"search must be 'puct' or 'gumbel', got {self.search!r}")
        from rlkit.supervised import parse_schedule

        parse_schedule(self.lr_schedule)  # SpecError naming the schedule or its parameter
        if self.autocast not in _AUTOCAST:
            raise SpecError(f"autocast must be auto, on or off, got {self.autocast!r}")


# -- the network as a batched evaluator --------------------------------------------------------
class NetworkEvaluator(Evaluator):
    """:class:`rlkit.search.Evaluator` over a policy-value network.

    Observations of the player to move (:meth:`rlkit.game.Game.observations`, one vectorised
    pass) and legal masks are written into preallocated buffers (grown when a bigger batch
    comes), then one :meth:`rlkit.nn.BatchedEvaluator.evaluate`
    call gives priors ``[B, A]`` and the mover's value ``v``; values are ``[v, -v]`` from
    player 0's and player 1's view (two-player zero-sum games).
    """

    def __init__(self, game: Game, batched: Any) -> None:
        self.game = game
        self.batched = batched
        self.positions = 0
        self._observations = np.zeros((0, *game.info.observation_shape), np.float32)
        self._masks = np.zeros((0, game.info.num_actions), bool)

    def prior_and_value(self, states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        game = self.game
        n = len(states)
        if n > len(self._observations):
            size = max(n, 2 * len(self._observations))
            self._observations = np.zeros((size, *game.info.observation_shape), np.float32)
            self._masks = np.zeros((size, game.info.num_actions), bool)
        observations = game.observations(states, self._observations)
        masks = self._masks[:n]
        movers = np.empty(n, np.int64)
        legal_mask, current_player = game.legal_mask, game.current_player
        for i, state in enumerate(states):
            movers[i] = current_player(state)
            masks[i] = legal_mask(state)
        priors, mover_values = self.batched.evaluate(observations, masks)
        values = np.empty((n, 2), np.float32)
        values[:, 0] = np.where(movers == 0, mover_values, -mover_values)
        values[:, 1] = -values[:, 0]
        self.positions += n
        return priors, values


# -- replay buffer -------------------------------------------------------------------------------
class ReplayBuffer:
    """The last ``capacity`` self-play positions, as a ring of preallocated arrays.

    Arrays: ``x`` float32 ``[N, *observation_shape]``, ``policy`` float32 ``[N, A]``,
    ``legal_mask`` bool ``[N, A]``, ``z`` float32 ``[N]`` (the mover's final result in
    [-1, 1]). ``added`` counts every position ever added.
    """

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], num_actions: int):
        self.capacity = capacity
        self.x = np.zeros((capacity, *observation_shape), np.float32)
        self.policy = np.zeros((capacity, num_actions), np.float32)
        self.legal_mask = np.zeros((capacity, num_actions), bool)
        self.z = np.zeros(capacity, np.float32)
        self.added = 0

    def __len__(self) -> int:
        return min(self.added, self.capacity)

    def add(self, x: np.ndarray, policy: np.ndarray, legal: np.ndarray, z: np.ndarray) -> None:
        """Append rows (the oldest are overwritten once full)."""
        for start in range(0, len(x), self.capacity):
            part = slice(start, start + self.capacity)
            rows = (self.added + np.arange(len(x[part]))) % self.capacity
            self.x[rows], self.policy[rows] = x[part], policy[part]
            self.legal_mask[rows], self.z[rows] = legal[part], z[part]
            self.added += len(rows)

    def sample(self, rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``rows`` positions drawn uniformly with replacement."""
        index = rng.integers(len(self), size=rows)
        return {
            "x": self.x[index],
            "policy": self.policy[index],
            "legal_mask": self.legal_mask[index],
            "z": self.z[index],
        }


def augment_randomly(
    arrays: dict[str, np.ndarray], game: Game, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Each row under one uniformly drawn symmetry of ``game`` (identity included)."""
    from rlkit.datasets import symmetries

    found = symmetries(game)
    if len(found) == 1:
        return arrays
    choice = rng.integers(len(found), size=len(arrays["x"]))
    out = {k: v.copy() for k, v in arrays.items()}
    for index, symmetry in enumerate(found[1:], start=1):
        rows = np.flatnonzero(choice == index)
        if len(rows):
            out["x"][rows] = symmetry.board(arrays["x"][rows])
            out["policy"][rows] = symmetry.masks(arrays["policy"][rows])
            out["legal_mask"][rows] = symmetry.masks(arrays["legal_mask"][rows])
    return out


def policy_value_loss(value_weight: float) -> Any:
    """``loss_fn(net, batch)`` for :func:`rlkit.supervised.fit`: soft cross-entropy of the
    policy head against the search policy (legal moves only) + ``value_weight`` × MSE of the
    value against ``z``."""
    from rlkit.supervised import mse, soft_cross_entropy

    def loss_fn(net: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        logits, value = net(batch["x"])
        legal = batch["legal_mask"].bool()
        policy_loss = soft_cross_entropy(logits, batch["policy"], legal)
        value_loss = mse(net.scalar_value(value.float()), batch["z"])
        loss = policy_loss + value_weight * value_loss
        return loss, {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
        }

    return loss_fn


def elo_from_score(score: float, games: int) -> float:
    """Elo difference implied by a score in [0, 1] (clipped half a game from 0 and 1)."""
    clipped = min(max(score, 0.5 / games), 1 - 0.5 / games)
    return 400.0 * math.log10(clipped / (1 - clipped))


def _same_state(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # states holding numpy arrays
        return False


# -- the agent -----------------------------------------------------------------------------------
class AlphaZero(GameLearner):
    """AlphaZero for two-player zero-sum games without chance (see the module docstring).

    Raises:
        IncompatibleEnvError: a game with chance nodes (use ``alphazero-dice``) or not for two
            players.
        SpecError: a network spec that does not fit the board.
    """

    Config = AlphaZeroConfig

    def __init__(self, config: AlphaZeroConfig, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        info = game.info
        if info.has_chance:
            raise IncompatibleEnvError(
                f"{info.name} has chance nodes: use alphazero-dice (afterstate search)"
            )
        if info.num_players != 2 or not info.zero_sum:
            raise IncompatibleEnvError(
                f"alphazero plays two-player zero-sum games, not {info.name}"
            )
        from rlkit.nn import make_network

        generator = torch.Generator().manual_seed(int(self.rng.integers(2**63)))
        self.net_spec = config.net or DEFAULT_NETS.get(info.name, "mlp:hidden=128x128")
        self.network = make_network(
            self.net_spec,
            info.observation_shape,
            info.num_actions,
            value_head=config.value_head,
            generator=generator,
        )
        self.replay = ReplayBuffer(config.replay_size, info.observation_shape, info.num_actions)
        self.optimizer: Any = None  # made at the first training phase (or restored)
        self._base_lrs: list[float] = []  # the optimiser spec's rates, before any schedule
        self._optimizer_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
        self.generations = 0
        self.games_played = 0
        self.evaluations: list[dict[str, float]] = []
        self.resign_checks = [0, 0]  # [games where the loser would have resigned, of them not lost]
        self._batched: Any = None
        self._network_evaluator: NetworkEvaluator | None = None
        self._play_search: Any = None
        self._previous_weights: dict[str, torch.Tensor] | None = None  # of the last evaluation

    # -- search plumbing ----------------------------------------------------------------------
    def _evaluator(self) -> NetworkEvaluator:
        if self._network_evaluator is None:
            from rlkit.nn import BatchedEvaluator

            self._batched = BatchedEvaluator(
                self.network,
                device=self.config.device,
                autocast=_AUTOCAST[self.config.autocast],
                channels_last=self.network.is_conv,
            )
            self._network_evaluator = NetworkEvaluator(self.game, self._batched)
        return self._network_evaluator

    def _puct_config(self, *, self_play: bool) -> Any:
        """Search settings: self-play steps many trees one leaf each; play gathers
        ``leaves_per_tree`` leaves of its one tree per forward pass."""
        from rlkit.agents.puct import PuctConfig

        c = self.config
        return PuctConfig(
            simulations=c.simulations,
            c_init=c.c_init,
            dirichlet_alpha=c.dirichlet_alpha,
            dirichlet_fraction=c.dirichlet_fraction,
            leaves_per_tree=1 if self_play else c.leaves_per_tree,
            root=c.search,
            gumbel_actions=c.gumbel_actions,
        )

    # -- acting ----------------------------------------------------------------------------------
    def new_game(self) -> None:
        self._play_search = None

    def act(self, state: Any) -> int:
        """One search from ``state`` at the play settings; the tree is kept between moves."""
        from rlkit.agents.mcts import sound_root_choice
        from rlkit.agents.puct import PuctSearch

        search = self._play_search
        if search is not None and not self._advance_to(search, state):
            search = None
        if search is None:
            search = PuctSearch(
                self.game, self._evaluator(), self._puct_config(self_play=False), 1, self.rng
            )
            search.set_root(0, state)
            self._play_search = search
        result = search.search([0], noise=False)
        visits = result.visits[0]
        if self.config.temperature > 0:
            action = self._sample_visits(visits, self.config.temperature)
        elif self.config.search == "gumbel":
            action = int(result.action[0])
        else:
            legal = np.flatnonzero(self.game.legal_mask(state))
            ranked = legal[np.lexsort((-result.q[0][legal], -visits[legal]))]
            action = sound_root_choice(self.game, state, [int(a) for a in ranked])
        search.advance(0, action)
        return action

    def _advance_to(self, search: Any, state: Any) -> bool:
        """Move the kept tree's root to ``state`` (the opponent's reply); False if unreachable."""
        root = search.root_state(0)
        if _same_state(root, state):
            return True
        if self.game.current_player(root) == TERMINAL:
            return False
        for action in self.game.legal_actions(root):
            if _same_state(self.game.apply(root, action), state):
                search.advance(0, action)
                return True
        return False

    def _sample_visits(self, visits: np.ndarray, temperature: float) -> int:
        """An action drawn with probability ∝ visits^(1/T) (a search visits some child once
        per simulation, so the weights are never all zero)."""
        weights = visits.astype(np.float64) ** (1.0 / temperature)
        return int(self.rng.choice(len(visits), p=weights / weights.sum()))

    # -- self-play -------------------------------------------------------------------------------
    def self_play(self, games: int, session: Any = None) -> list[dict[str, Any]]:
        """Play ``games`` self-play games, ``games_in_flight`` at a time in lockstep.

        Returns one dict per finished game: ``moves``, ``returns`` (player 0's first), and the
        training rows ``x``, ``policy``, ``legal_mask``, ``z``. Stops early (returning the
        games finished) when ``session.interrupted``.
        """
        from rlkit.agents.puct import PuctSearch

        game, c = self.game, self.config
        slots = min(c.games_in_flight, games)
        search = PuctSearch(
            game, self._evaluator(), self._puct_config(self_play=True), slots, self.rng
        )
        started = 0
        live: dict[int, dict[str, Any]] = {}

        def start(tree: int) -> None:
            nonlocal started
            search.set_root(tree, game.initial_state())
            live[tree] = {
                "x": [],
                "policy": [],
                "legal": [],
                "mover": [],
                "q": [],
                "check": bool(self.rng.random() < c.resign_check_fraction),
                "would_resign": None,
            }
            started += 1

        for tree in range(slots):
            start(tree)
        finished: list[dict[str, Any]] = []
        limit = game.info.max_game_length
        while live:
            if session is not None and session.interrupted:
                break
            trees = sorted(live)
            result = search.search(trees, noise=True)
            for row, tree in enumerate(trees):
                record = live[tree]
                state = search.root_state(tree)
                mover = game.current_player(state)
                legal = game.legal_mask(state)
                record["x"].append(game.observation(state, mover))
                record["policy"].append(result.policy[row])
                record["legal"].append(legal)
                record["mover"].append(mover)
                record["q"].append(float(result.root_value[row]))
                moves = len(record["mover"])
                resign = c.resign_threshold > -1 and (
                    result.root_value[row] < c.resign_threshold
                    and np.nanmax(np.where(legal, result.q[row], np.nan)) < c.resign_threshold
                )
                if resign and record["would_resign"] is None:
                    record["would_resign"] = mover
                    if not record["check"]:
                        returns = np.zeros(2)
                        returns[mover], returns[1 - mover] = -1.0, 1.0
                        finished.append(self._finish(record, returns, resigned=True))
                        del live[tree]
                        if started < games:
                            start(tree)
                        continue
                if c.search == "gumbel" or moves > c.temperature_moves:
                    action = int(result.action[row])
                else:
                    action = self._sample_visits(result.visits[row], 1.0)
                search.advance(tree, action)
                after = search.root_state(tree)
                over = game.current_player(after) == TERMINAL
                if over or moves >= limit:
                    returns = np.asarray(game.returns(after), float) if over else np.zeros(2)
                    finished.append(self._finish(record, returns, resigned=False))
                    del live[tree]
                    if started < games:
                        start(tree)
        return finished

    def _finish(self, record: dict[str, Any], returns: np.ndarray, *, resigned: bool) -> dict:
        scale = max(abs(self.game.info.max_utility), abs(self.game.info.min_utility), 1e-9)
        movers = np.asarray(record["mover"], np.int64)
        z = np.asarray(returns, np.float32)[movers] / scale
        q_weight = self.config.q_weight
        if q_weight > 0:
            z = (1 - q_weight) * z + q_weight * np.asarray(record["q"], np.float32)
        z = z.astype(np.float32)
        loser = record["would_resign"]
        if record["check"] and loser is not None:
            self.resign_checks[0] += 1
            self.resign_checks[1] += int(returns[loser] >= 0)
        return {
            "moves": len(movers),
            "returns": [float(r) for r in returns],
            "resigned": resigned,
            "x": np.asarray(record["x"], np.float32),
            "policy": np.asarray(record["policy"], np.float32),
            "legal_mask": np.asarray(record["legal"], bool),
            "z": z,
        }

    # -- training ---------------------------------------------------------------------------------
    def train_generation(self, new_positions: int, lr_factor: float = 1.0) -> dict[str, float]:
        """One training phase on rows sampled from the replay buffer (see module docstring),
        at ``lr_factor`` times the optimiser spec's learning rate."""
        from rlkit.supervised import TrainerConfig, fit, make_optimizer

        c = self.config
        if len(self.replay) == 0:
            return {}
        rows = max(c.batch_size, round(new_positions * c.sample_reuse))
        data = augment_randomly(self.replay.sample(rows, self.rng), self.game, self.rng)
        device = self._batched.device if self._batched is not None else "cpu"
        if self.optimizer is None:
            self.network.to(device)
            self.optimizer = make_optimizer(c.optimizer, self.network.parameters())
            self._base_lrs = [group["lr"] for group in self.optimizer.param_groups]
            if self._optimizer_state is not None:
                from rlkit.supervised import load_optimizer_state

                tensors, meta = self._optimizer_state
                load_optimizer_state(self.optimizer, tensors, "optimizer", meta)
                self._optimizer_state = None
        for group, base in zip(self.optimizer.param_groups, self._base_lrs, strict=True):
            group["lr"] = base * lr_factor  # the trainer's constant schedule keeps it
        trainer = TrainerConfig(
            epochs=1,
            batch_size=c.batch_size,
            optimizer=c.optimizer,
            l2=c.l2,
            seed=int(self.rng.integers(2**31)),
            device=str(device),
        )
        result = fit(
            self.network,
            policy_value_loss(c.value_weight),
            data,
            trainer,
            progress=False,
            optimizer=self.optimizer,
        )
        row = result.history[-1]
        return {
            "loss": row["train_loss"],
            "policy_loss": row.get("train_policy_loss", math.nan),
            "value_loss": row.get("train_value_loss", math.nan),
        }

    def _player_copy(self, weights: dict[str, torch.Tensor] | None = None) -> AlphaZero:
        """This agent at the evaluation settings, with its own generator and tree; with
        ``weights``, on a copy of the network holding them (an earlier generation)."""
        c = self.config
        player = copy.copy(self)
        player.config = replace(c, simulations=c.eval_simulations or c.simulations, temperature=0)
        player.rng = np.random.default_rng(self.rng.integers(2**63))
        if weights is not None:
            player.network = copy.deepcopy(self.network)
            player.network.load_state_dict(weights)
            player._batched = player._network_evaluator = None
        player.new_game()
        return player

    def evaluate_references(self) -> dict[str, float]:
        """Score (and implied Elo) against each reference and against the network of the
        previous evaluation, ``eval_games`` games each: colours alternate, and each pair of
        games starts from the same ``eval_opening_moves`` random moves."""
        from rlkit.match import Player, make_player, play_game

        c = self.config
        opponents = c.eval_opponents or DEFAULT_EVAL.get(self.game.info.name, "random")
        me = Player("alphazero", self._player_copy())

        def reference(spec: str) -> Any:
            return make_player(spec, self.game, seed=int(self.rng.integers(2**31)))

        specs = [s.strip() for s in opponents.split(";") if s.strip()]
        seats: list[tuple[str, Any]] = [(spec, partial(reference, spec)) for spec in specs]
        if self._previous_weights is not None:
            previous = self._previous_weights
            seats.append(("previous", lambda: Player("previous", self._player_copy(previous))))
        metrics: dict[str, float] = {}
        for spec, make in seats:
            other = make()
            score = 0.0
            openings = np.random.default_rng(int(self.rng.integers(2**63)))
            for g in range(c.eval_games):
                if g % 2 == 0:
                    opening_seed = int(openings.integers(2**63))
                order = [me, other] if g % 2 == 0 else [other, me]
                record = play_game(
                    self.game,
                    order,
                    np.random.default_rng(0),
                    opening_moves=c.eval_opening_moves,
                    opening_rng=np.random.default_rng(opening_seed),
                )
                mine = record.returns[g % 2]
                score += 1.0 if mine > 0 else (0.5 if mine == 0 else 0.0)
            other.close()
            key = spec.replace(":", "_").replace("=", "_").replace(",", "_")
            metrics[f"score_vs_{key}"] = score / c.eval_games
            metrics[f"elo_vs_{key}"] = elo_from_score(score / c.eval_games, c.eval_games)
        self._previous_weights = {
            k: v.detach().cpu().clone() for k, v in self.network.state_dict().items()
        }
        return metrics

    def fit(self, game: Game, session: Any) -> None:
        """Generations of self-play, training and evaluation until ``session.finished``.

        Each self-play game is reported with ``session.end_episode(player 0's return, moves,
        metrics)``; a checkpoint follows every generation (no game in flight then).
        """
        from rlkit.supervised import parse_schedule

        c = self.config
        schedule = parse_schedule(c.lr_schedule)
        latest: dict[str, float] = {}
        while not session.finished:
            began = time.perf_counter()
            positions_before = self._evaluator_positions()
            games = self.self_play(c.games_per_generation, session)
            play_seconds = time.perf_counter() - began
            for played in games:
                self.replay.add(played["x"], played["policy"], played["legal_mask"], played["z"])
            self.games_played += len(games)
            if session.interrupted:  # keep the finished games; the ones in flight are lost
                self._report(session, games, latest)
                return
            new_positions = sum(g["moves"] for g in games)
            train_began = time.perf_counter()
            lr_factor = schedule.factor(round(1e4 * session.budget_fraction), 1, 10_000)
            try:
                latest = dict(self.train_generation(new_positions, lr_factor))
            except KeyboardInterrupt:  # the trainer stops at a batch boundary on Ctrl-C
                session.interrupted = True
                self._report(session, games, latest)
                return
            train_seconds = time.perf_counter() - train_began
            self.generations += 1
            if c.eval_every and self.generations % c.eval_every == 0:
                evaluation = self.evaluate_references()
                evaluation["generation"] = self.generations
                self.evaluations.append(evaluation)
            if self.evaluations:
                latest.update({k: v for k, v in self.evaluations[-1].items() if k != "generation"})
            checks, wrong = self.resign_checks
            latest.update(
                generation=float(self.generations),
                lr_factor=lr_factor,
                training_minutes=session.seconds / 60,
                replay=float(len(self.replay)),
                selfplay_positions_per_s=new_positions / max(play_seconds, 1e-9),
                evaluated_per_s=(self._evaluator_positions() - positions_before)
                / max(play_seconds, 1e-9),
                train_seconds=train_seconds,
                resigned=float(np.mean([g["resigned"] for g in games])) if games else 0.0,
                resign_false_positives=wrong / checks if checks else math.nan,
            )
            self._report(session, games, latest)
            session.checkpoint("checkpoint.pt")

    @staticmethod
    def _report(session: Any, games: list[dict[str, Any]], metrics: dict[str, float]) -> None:
        for played in games:
            session.end_episode(played["returns"][0], played["moves"], metrics)

    def _evaluator_positions(self) -> int:
        return 0 if self._network_evaluator is None else self._network_evaluator.positions

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Network (``net.``), optimiser (``optimizer.``) and replay buffer (``replay.``)."""
        from rlkit.supervised import optimizer_state_tensors

        weights = self.network.state_dict()
        tensors = {f"net.{k}": v.detach().cpu().clone() for k, v in weights.items()}
        if self.optimizer is not None:
            opt, _ = optimizer_state_tensors(self.optimizer, "optimizer")
            tensors.update({k: v.cpu() for k, v in opt.items()})
        elif self._optimizer_state is not None:
            tensors.update(self._optimizer_state[0])
        # The ring as it lies (not oldest-first), so a resumed run samples the same rows.
        n = len(self.replay)
        tensors["replay.x"] = torch.from_numpy(self.replay.x[:n].astype(np.float16))
        tensors["replay.policy"] = torch.from_numpy(self.replay.policy[:n].copy())
        tensors["replay.legal_mask"] = torch.from_numpy(self.replay.legal_mask[:n].copy())
        tensors["replay.z"] = torch.from_numpy(self.replay.z[:n].copy())
        tensors["replay.added"] = torch.tensor([self.replay.added], dtype=torch.int64)
        return tensors

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        weights = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        try:
            self.network.load_state_dict(weights)
        except RuntimeError as exc:
            raise CheckpointError(
                f"alphazero weights do not fit the network {self.net_spec!r}: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        self._batched = self._network_evaluator = None
        self._play_search = None
        optimizer = {k: v for k, v in tensors.items() if k.startswith("optimizer.")}
        if optimizer:
            self._optimizer_state = (
                optimizer,
                self._optimizer_state[1] if self._optimizer_state else None,
            )
        if "replay.x" in tensors:
            n = len(tensors["replay.x"])
            if n > self.config.replay_size:
                raise CheckpointError(
                    f"the checkpoint's replay buffer holds {n} positions, more than "
                    f"replay_size={self.config.replay_size}"
                )
            replay = self.replay
            replay.x[:n] = tensors["replay.x"].float().numpy()
            replay.policy[:n] = tensors["replay.policy"].numpy()
            replay.legal_mask[:n] = tensors["replay.legal_mask"].numpy().astype(bool)
            replay.z[:n] = tensors["replay.z"].numpy()
            replay.added = int(tensors["replay.added"][0])

    def extra_state(self) -> dict[str, Any]:
        from rlkit.supervised import optimizer_state_tensors

        state = super().extra_state()
        meta = None
        if self.optimizer is not None:
            _, meta = optimizer_state_tensors(self.optimizer, "optimizer")
        elif self._optimizer_state is not None:
            meta = self._optimizer_state[1]
        state.update(
            generations=self.generations,
            games_played=self.games_played,
            evaluations=self.evaluations,
            resign_checks=list(self.resign_checks),
            optimizer_meta=meta,
            net=self.net_spec,
        )
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self.generations = int(state.get("generations", 0))
        self.games_played = int(state.get("games_played", 0))
        self.evaluations = list(state.get("evaluations", []))
        self.resign_checks = [int(v) for v in state.get("resign_checks", [0, 0])]
        meta = state.get("optimizer_meta")
        if self._optimizer_state is not None:
            self._optimizer_state = (self._optimizer_state[0], meta)
