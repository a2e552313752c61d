"""The Game contract: rules as a forward model, for agents that search or enumerate.

A :class:`Game` is a rules object (board size, komi and the like are constructor arguments)
with pure functions over small states, in the shape OpenSpiel and pgx use:

- :meth:`Game.initial_state`, then :meth:`Game.current_player` — a player index, or
  :data:`CHANCE` (dice to roll), or :data:`TERMINAL`;
- at a decision node, :meth:`Game.legal_actions` (sorted action ids in
  ``range(info.num_actions)``) or :meth:`Game.legal_mask`;
- at a chance node, :meth:`Game.chance_outcomes` — ``(outcome, probability)`` pairs;
- :meth:`Game.apply` returns the next state and never changes the one it was given;
- :meth:`Game.returns` gives every player's utility at a terminal state;
- :meth:`Game.observation` is the network input tensor for one player.

:class:`GameInfo` is the capability record agents check at construction (players, chance,
zero-sum, action count, utility bounds, maximum length, observation shape).

Guarantees every game gives (search agents rely on them):

- states are hashable, and equal positions compare equal (transposition tables, tree reuse);
- ``legal_actions`` is non-empty at every decision node, and empty at chance and terminal
  states;
- ``info.max_game_length`` bounds the number of decisions in a game (a game whose rules have
  no bound truncates there).

Optional hooks a game may provide, found by name (``hasattr``):

- ``evaluate(state, player) -> float`` — a heuristic value strictly inside the utility range,
  zero-sum; minimax's default evaluation at its depth limit;
- ``random_rollout(state, rng) -> returns`` — a fast (e.g. compiled) uniformly random playout
  to the end; MCTS's rollout evaluator uses it instead of a Python loop;
- ``format_record(record) -> (text, extension)`` — a game record in the game's own format
  (SGF for Go) for ``rlkit play --record``.

Agents that search the game (minimax, MCTS) subclass :class:`GameAgent`: they get the game at
construction and the state at every move. Agents trained on environments (:class:`Agent`) play
games too, through :meth:`Game.observation` and :meth:`Game.legal_mask`; see
:mod:`rlkit.match`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import gymnasium as gym
import numpy as np

from rlkit.agent import Persistent
from rlkit.errors import RlkitError

CHANCE = -1
"""``current_player`` of a chance node (e.g. dice to roll)."""
TERMINAL = -2
"""``current_player`` of a finished game."""

State = TypeVar("State")


class IllegalMoveError(RlkitError, ValueError):
    """A move that the rules do not allow in the given state; the message names the move."""


@dataclass(frozen=True)
class GameInfo:
    """What a game is, for agents to check at construction.

    Attributes:
        name: the game's registry name, e.g. ``"tictactoe"``.
        num_players: number of players (2 for every game here).
        num_actions: size of the action space; action ids are ``0 .. num_actions - 1``.
        has_chance: whether chance nodes occur (backgammon's dice).
        zero_sum: whether the returns of all players sum to zero.
        min_utility, max_utility: bounds of any player's return.
        max_game_length: upper bound on the number of decisions in a game.
        observation_shape: shape of :meth:`Game.observation`.
    """

    name: str
    num_players: int
    num_actions: int
    has_chance: bool
    zero_sum: bool
    min_utility: float
    max_utility: float
    max_game_length: int
    observation_shape: tuple[int, ...]


class Game(abc.ABC, Generic[State]):
    """Rules of a game as pure functions over states (see the module docstring)."""

    info: GameInfo

    @abc.abstractmethod
    def initial_state(self) -> State:
        """The state before the first move (or first chance event)."""

    @abc.abstractmethod
    def current_player(self, state: State) -> int:
        """The player to move, :data:`CHANCE` or :data:`TERMINAL`."""

    @abc.abstractmethod
    def legal_actions(self, state: State) -> list[int]:
        """Sorted legal action ids at a decision node (empty at terminal states)."""

    @abc.abstractmethod
    def apply(self, state: State, action: int) -> State:
        """The state after ``action`` (a decision or a chance outcome); ``state`` is untouched.

        Raises:
            IllegalMoveError: ``action`` is not legal in ``state``.
        """

    @abc.abstractmethod
    def returns(self, state: State) -> np.ndarray:
        """Each player's return, shape ``[num_players]`` (zeros before the end)."""

    @abc.abstractmethod
    def observation(self, state: State, player: int) -> np.ndarray:
        """The observation tensor of ``player``, float32 of shape ``info.observation_shape``."""

    @abc.abstractmethod
    def render(self, state: State) -> str:
        """A human-readable picture of the state."""

    # -- provided, overridable for speed ----------------------------------------------------------
    def is_terminal(self, state: State) -> bool:
        return self.current_player(state) == TERMINAL

    def is_chance(self, state: State) -> bool:
        return self.current_player(state) == CHANCE

    def chance_outcomes(self, state: State) -> list[tuple[int, float]]:
        """``(outcome, probability)`` pairs at a chance node."""
        raise NotImplementedError(f"{self.info.name} has no chance nodes")

    def observations(self, states: Sequence[State], out: np.ndarray) -> np.ndarray:
        """The observation of the player to move in each of ``states`` (decision nodes),
        written into ``out[:len(states)]`` (float32 ``[>= B, *observation_shape]``, a
        preallocated buffer) and returned as that slice.

        The default calls :meth:`observation` per state; games override it with one
        vectorised pass (a search encodes every leaf of a batch this way).
        """
        view = out[: len(states)]
        for i, state in enumerate(states):
            view[i] = self.observation(state, self.current_player(state))
        return view

    def legal_mask(self, state: State) -> np.ndarray:
        """Legal actions as a bool mask of shape ``[num_actions]``."""
        mask = np.zeros(self.info.num_actions, dtype=bool)
        mask[self.legal_actions(state)] = True
        return mask

    def action_to_string(self, state: State, action: int) -> str:
        """The move in the notation players of this game read."""
        return str(action)

    def string_to_action(self, state: State, text: str) -> int:
        """Parse a move written by :meth:`action_to_string`.

        Raises:
            IllegalMoveError: unparseable or illegal move text.
        """
        for action in self.legal_actions(state):
            if self.action_to_string(state, action).lower() == text.strip().lower():
                return action
        raise IllegalMoveError(f"{text!r} is not a legal move in {self.info.name} here")

    def sample_chance(self, state: State, rng: np.random.Generator) -> int:
        """Draw a chance outcome with its probability."""
        outcomes = self.chance_outcomes(state)
        probabilities = np.array([p for _, p in outcomes])
        return outcomes[int(rng.choice(len(outcomes), p=probabilities / probabilities.sum()))][0]


def game_observation_space(game: Game) -> gym.spaces.Dict:
    """What game environments show an agent: the observation tensor and the legal-action mask.

    The PettingZoo classic convention: ``{"observation": Box(0, 1, observation_shape, float32),
    "action_mask": Box(0, 1, (num_actions,), int8)}`` (int8 because ``Discrete.sample(mask)``
    requires it; :meth:`Game.legal_mask` itself is bool).
    """
    return gym.spaces.Dict(
        {
            "observation": gym.spaces.Box(0.0, 1.0, game.info.observation_shape, np.float32),
            "action_mask": gym.spaces.Box(0, 1, (game.info.num_actions,), np.int8),
        }
    )


class GameAgent(Persistent, abc.ABC):
    """An agent that sees the game's rules and the state (search agents).

    Subclasses set ``Config`` (a frozen dataclass) and implement :meth:`act`. The registry
    builds them as ``cls(config, game, seed=seed)``.
    """

    def __init__(self, config: Any, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, seed)
        self.game = game

    @abc.abstractmethod
    def act(self, state: Any) -> int:
        """The action for the player to move in ``state`` (a decision node)."""

    def new_game(self) -> None:
        """Forget anything kept from the previous game (search trees, tables)."""


class GameLearner(GameAgent):
    """A game agent that learns from games it plays (e.g. TD(λ) self-play).

    ``rlkit train AGENT --env GAME`` builds the game with :func:`rlkit.registry.make_game` and
    calls :meth:`fit`, which plays until ``session.finished``, reporting each finished game
    with ``session.end_episode(return, decisions, metrics)`` (steps count decisions, episodes
    count games). Checkpoints store the game spec instead of spaces.
    """

    @abc.abstractmethod
    def fit(self, game: Game, session: Any) -> None:
        """Learn by playing ``game`` until ``session.finished``."""
