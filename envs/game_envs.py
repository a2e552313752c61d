"""Environments over any :class:`~rlkit.game.Game`: a PettingZoo AEC env for two players, and a
Gymnasium env for one player against a fixed opponent.

Both are thin wrappers: the rules, legality and returns come from the game; the wrappers add
seeding, chance resolution, the agent bookkeeping of their API and rendering.

Observations follow the PettingZoo classic convention, a dict::

    {"observation": float32 [*info.observation_shape] in [0, 1]  (game.observation),
     "action_mask": int8 [info.num_actions], 1 for a legal action}

``int8`` is what ``gymnasium.spaces.Discrete.sample(mask)`` and PettingZoo's classic envs use.
The mask is all zeros for an agent that is not to move, and for everyone once the game is over.

Chance nodes (backgammon's dice) are resolved inside the env with its seeded ``np_random``, so
agents only ever see decision nodes. Rewards come only at the end, from ``game.returns``.

Illegal actions raise :class:`~rlkit.game.IllegalMoveError` naming the move (never a silent
penalty): agents are expected to use the mask. :class:`GameVsOpponentEnv` can instead end the
episode with a penalty (``illegal_reward``), for learners that ignore masks; its registered ids
do so.

Registered Gymnasium ids (see :func:`register_game_envs`): ``rlkit/TicTacToe-v0`` and
``rlkit/ConnectFour-v0``, the agent as player 0 against a uniformly random opponent. AEC
factories: :func:`tictactoe_v0` and :func:`connect_four_v0`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from gymnasium.utils import seeding
from pettingzoo import AECEnv

from rlkit.agent import Agent
from rlkit.game import (
    CHANCE,
    TERMINAL,
    Game,
    GameAgent,
    IllegalMoveError,
    game_observation_space,
)

OpponentPolicy = Callable[[Game, Any, np.random.Generator], int]
"""``policy(game, state, rng) -> action`` for the player to move in ``state``."""


def _resolve_chance(game: Game, state: Any, rng: np.random.Generator) -> Any:
    while game.current_player(state) == CHANCE:
        state = game.apply(state, game.sample_chance(state, rng))
    return state


def _check_render_mode(render_mode: str | None, modes: list[str]) -> None:
    if render_mode is not None and render_mode not in modes:
        raise ValueError(f"render_mode {render_mode!r} not supported; use one of {modes} or None")


class GameAECEnv(AECEnv):
    """A two-player :class:`~rlkit.game.Game` as a PettingZoo AEC environment.

    Agents ``"player_0"`` and ``"player_1"`` are the game's players 0 and 1. The agent to move
    is ``agent_selection``; after the game ends every agent is terminated and is stepped with
    ``None``, as the AEC protocol requires.

    Args:
        game: the rules (two players).
        render_mode: ``None``, ``"ansi"`` (``render`` returns ``game.render``'s text) or
            ``"human"`` (prints it).

    Attributes:
        game: the rules, for search agents.
        game_state: the current immutable game state (read-only), for search agents.

    Raises:
        ValueError: a game that is not for two players, or an unknown render mode.
    """

    metadata = {"render_modes": ["ansi", "human"], "is_parallelizable": False}  # noqa: RUF012

    def __init__(self, game: Game, render_mode: str | None = None) -> None:
        super().__init__()
        if game.info.num_players != 2:
            raise ValueError(f"{game.info.name} has {game.info.num_players} players, not 2")
        _check_render_mode(render_mode, self.metadata["render_modes"])
        self.metadata = {**type(self).metadata, "name": f"{game.info.name}_v0"}
        self.game = game
        self.render_mode = render_mode
        self.possible_agents = ["player_0", "player_1"]
        self.agents = self.possible_agents[:]
        space = game_observation_space(game)
        self.observation_spaces = dict.fromkeys(self.possible_agents, space)
        self.action_spaces = {
            a: gymnasium.spaces.Discrete(game.info.num_actions) for a in self.possible_agents
        }
        self.np_random, self.np_random_seed = seeding.np_random()
        self._state: Any = None
        self.reset()

    @property
    def game_state(self) -> Any:
        """The current game state (immutable; a decision node or terminal)."""
        return self._state

    def observation_space(self, agent: str) -> gymnasium.spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gymnasium.spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new game; ``seed`` reseeds ``np_random`` (the chance events)."""
        if seed is not None:
            self.np_random, self.np_random_seed = seeding.np_random(seed)
        self._state = _resolve_chance(self.game, self.game.initial_state(), self.np_random)
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        to_move = self.game.current_player(self._state)
        if to_move == TERMINAL:  # a game decided by chance alone, before any decision
            self._finish(next_agent=self.agents[0])
        else:
            self.agent_selection = self.possible_agents[to_move]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        player = self.possible_agents.index(agent)
        mask = np.zeros(self.game.info.num_actions, dtype=np.int8)
        if self.game.current_player(self._state) == player:
            mask[self.game.legal_actions(self._state)] = 1
        return {"observation": self.game.observation(self._state, player), "action_mask": mask}

    def step(self, action: int | None) -> None:
        """Play ``action`` for ``agent_selection`` (``None`` for a terminated agent).

        Raises:
            IllegalMoveError: ``action`` is not legal; the env is unchanged.
        """
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if action is None:
            raise IllegalMoveError(f"{agent} must play a move, not None")
        state = self.game.apply(self._state, int(action) if _is_integer(action) else action)
        self._state = _resolve_chance(self.game, state, self.np_random)
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        to_move = self.game.current_player(self._state)
        if to_move == TERMINAL:
            player = self.possible_agents.index(agent)
            self._finish(next_agent=self.possible_agents[(player + 1) % 2])
        else:
            self.agent_selection = self.possible_agents[to_move]
        if self.render_mode == "human":
            self.render()

    def _finish(self, next_agent: str) -> None:
        returns = self.game.returns(self._state)
        for i, a in enumerate(self.possible_agents):
            self.rewards[a] = float(returns[i])
        if _is_truncated(self.game, self._state):  # a length cap, not the rules, ended it
            self.truncations = dict.fromkeys(self.agents, True)
        else:
            self.terminations = dict.fromkeys(self.agents, True)
        self._accumulate_rewards()
        self.agent_selection = next_agent

    def render(self) -> str | None:
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode='ansi'")
            return None
        text = self.game.render(self._state)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass


def _is_truncated(game: Game, state: Any) -> bool:
    """Whether a game that has the optional ``is_truncated`` hook (Go) was cut by its cap."""
    is_truncated = getattr(game, "is_truncated", None)
    return bool(is_truncated is not None and is_truncated(state))


def _is_integer(action: Any) -> bool:
    return isinstance(action, int | np.integer) or (
        isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu"
    )


class GameVsOpponentEnv(gymnasium.Env):
    """One player of a two-player :class:`~rlkit.game.Game` against a fixed opponent.

    After the agent's action the opponent replies (and chance is resolved) until the agent is
    to move again or the game ends. The reward is 0 until the end, then the agent's return;
    ``terminated`` is set at the end; ``truncated`` instead when a game with the
    ``is_truncated`` hook (Go) stopped at its maximum length.

    Args:
        game: the rules (two players).
        opponent: who plays the other side:

            - ``"random"``: a uniformly random legal move, drawn from the env's ``np_random``;
            - any other string: an agent spec or checkpoint, built by
              :func:`rlkit.match.make_player` at each seeded reset (seeded from ``np_random``);
            - a :class:`~rlkit.game.GameAgent` (``act(state)``) or an
              :class:`~rlkit.agent.Agent` (``act(observation, action_mask)``) instance;
            - a callable ``policy(game, state, rng) -> action``, ``rng`` the env's
              ``np_random``.
        play_as: the agent's player index, ``0`` (moves first), ``1``, or ``"alternate"``:
            player 0 in the first episode after construction or a seeded reset, then swapping
            at every reset (so ``reset(seed=s)`` is repeatable).
        illegal_reward: ``None`` (default): an illegal action raises
            :class:`~rlkit.game.IllegalMoveError`. A number: an illegal action ends the
            episode with that reward and ``info["illegal_action"] = True``.
        render_mode: ``None`` or ``"ansi"`` (``render`` returns ``game.render``'s text).
        opening_moves: each episode starts after this many uniformly random legal moves
            (drawn from ``np_random``, whoever is to move; chance resolved as usual), as
            ``rlkit play --opening-moves`` opens its games: a learner then trains on the varied
            positions it will be measured on, not only on the lines a deterministic opponent
            steers into. An opening that ends the game is drawn again.

    The observation is the dict of the module docstring, from the agent's point of view;
    ``info["action_mask"]`` holds the same mask.

    Raises:
        ValueError: a game not for two players, a bad ``play_as`` or an unknown render mode.
        TypeError: an opponent of none of the kinds above.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012

    def __init__(
        self,
        game: Game,
        opponent: str | GameAgent | Agent | OpponentPolicy = "random",
        play_as: int | str = 0,
        illegal_reward: float | None = None,
        render_mode: str | None = None,
        opening_moves: int = 0,
    ) -> None:
        if game.info.num_players != 2:
            raise ValueError(f"{game.info.name} has {game.info.num_players} players, not 2")
        if play_as not in (0, 1, "alternate"):
            raise ValueError(f"play_as must be 0, 1 or 'alternate', got {play_as!r}")
        if not (_is_integer(opening_moves) and 0 <= opening_moves < game.info.max_game_length):
            raise ValueError(
                f"opening_moves must be an integer from 0 to {game.info.max_game_length - 1}, "
                f"got {opening_moves!r}"
            )
        if not (isinstance(opponent, str | GameAgent | Agent) or callable(opponent)):
            raise TypeError(
                "opponent must be 'random', an agent spec, a GameAgent, an Agent or a callable "
                f"policy(game, state, rng) -> action; got {type(opponent).__name__}"
            )
        _check_render_mode(render_mode, self.metadata["render_modes"])
        self.game = game
        self.opponent = opponent
        self.play_as = play_as
        self.illegal_reward = illegal_reward
        self.render_mode = render_mode
        self.opening_moves = int(opening_moves)
        self.observation_space = game_observation_space(game)
        self.action_space = gymnasium.spaces.Discrete(game.info.num_actions)
        self.reward_range = (game.info.min_utility, game.info.max_utility)
        self._opponent_player: Any = None  # built from a spec string at a seeded reset
        self._episodes_since_seed = 0
        self._state: Any = None
        self._over = True  # until reset
        self.player = 0
        """The agent's player index in the current episode."""

    @property
    def game_state(self) -> Any:
        """The current game state (immutable)."""
        return self._state

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._episodes_since_seed = 0
        if self.play_as == "alternate":
            self.player = self._episodes_since_seed % 2
        else:
            self.player = int(self.play_as)
        self._episodes_since_seed += 1
        if isinstance(self.opponent, str) and self.opponent != "random":
            if seed is not None or self._opponent_player is None:
                from rlkit.match import make_player

                self._opponent_player = make_player(
                    self.opponent, self.game, seed=int(self.np_random.integers(2**31))
                )
            self._opponent_player.new_game()
        elif isinstance(self.opponent, GameAgent):
            self.opponent.new_game()
        self._state = self._play_opponent(self._opening())
        self._over = self.game.current_player(self._state) == TERMINAL
        return self._observe(), self._info()

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Play ``action``, then the opponent's replies.

        Raises:
            IllegalMoveError: ``action`` is illegal and ``illegal_reward`` is None, or the game
                is over (call ``reset``).
        """
        if self._over:
            raise IllegalMoveError(f"move {action!r}: the episode is over; call reset()")
        action = int(action) if _is_integer(action) else action
        if self.illegal_reward is not None and action not in self.game.legal_actions(self._state):
            self._over = True
            info = {**self._info(), "illegal_action": True}
            return self._observe(), float(self.illegal_reward), True, False, info
        self._state = self._play_opponent(self.game.apply(self._state, action))
        self._over = self.game.current_player(self._state) == TERMINAL
        reward = float(self.game.returns(self._state)[self.player]) if self._over else 0.0
        truncated = self._over and _is_truncated(self.game, self._state)
        return self._observe(), reward, self._over and not truncated, truncated, self._info()

    def _opening(self) -> Any:
        """The initial state after ``opening_moves`` random legal moves (none by default)."""
        game = self.game
        for _ in range(100):  # an opening that ends the game is drawn again
            state, decisions = game.initial_state(), 0
            while decisions < self.opening_moves:
                to_move = game.current_player(state)
                if to_move == TERMINAL:
                    break
                if to_move == CHANCE:
                    state = game.apply(state, game.sample_chance(state, self.np_random))
                    continue
                legal = game.legal_actions(state)
                state = game.apply(state, int(legal[int(self.np_random.integers(len(legal)))]))
                decisions += 1
            if game.current_player(state) != TERMINAL:
                return state
        raise ValueError(f"{self.opening_moves} random opening moves keep ending the game")

    def _play_opponent(self, state: Any) -> Any:
        """Resolve chance and play the opponent until the agent is to move or the game ends."""
        while True:
            to_move = self.game.current_player(state)
            if to_move == CHANCE:
                state = self.game.apply(state, self.game.sample_chance(state, self.np_random))
            elif to_move == TERMINAL or to_move == self.player:
                return state
            else:
                state = self.game.apply(state, self._opponent_action(state))

    def _opponent_action(self, state: Any) -> int:
        opponent = self.opponent
        if isinstance(opponent, str):
            if opponent == "random":
                legal = self.game.legal_actions(state)
                return legal[int(self.np_random.integers(len(legal)))]
            return int(self._opponent_player.act(self.game, state))
        if isinstance(opponent, GameAgent):
            return int(opponent.act(state))
        if isinstance(opponent, Agent):
            player = self.game.current_player(state)
            observation = self.game.observation(state, player)
            return int(opponent.act(observation, self.game.legal_mask(state)))
        return int(opponent(self.game, state, self.np_random))

    def _mask(self) -> np.ndarray:
        mask = np.zeros(self.game.info.num_actions, dtype=np.int8)
        if self.game.current_player(self._state) == self.player:
            mask[self.game.legal_actions(self._state)] = 1
        return mask

    def _observe(self) -> dict[str, np.ndarray]:
        return {
            "observation": self.game.observation(self._state, self.player),
            "action_mask": self._mask(),
        }

    def _info(self) -> dict[str, Any]:
        return {"action_mask": self._mask(), "player": self.player}

    def render(self) -> str | None:
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode='ansi'")
            return None
        return self.game.render(self._state)


# -- factories and registration ------------------------------------------------------------------
def tictactoe_v0(render_mode: str | None = None) -> GameAECEnv:
    """Tic-tac-toe as a PettingZoo AEC env."""
    from rlkit.envs.tictactoe import TicTacToe

    return GameAECEnv(TicTacToe(), render_mode=render_mode)


def connect_four_v0(render_mode: str | None = None) -> GameAECEnv:
    """Connect Four as a PettingZoo AEC env."""
    from rlkit.envs.connect_four import ConnectFour

    return GameAECEnv(ConnectFour(), render_mode=render_mode)


def backgammon_v0(render_mode: str | None = None) -> GameAECEnv:
    """Backgammon as a PettingZoo AEC env (dice rolled by the env's seeded generator)."""
    from rlkit.envs.backgammon import BackgammonGame

    return GameAECEnv(BackgammonGame(), render_mode=render_mode)


def backgammon_vs_opponent(
    opponent: str | GameAgent | Agent | OpponentPolicy = "random",
    play_as: int | str = 0,
    illegal_reward: float | None = -3.0,
    render_mode: str | None = None,
    opening_moves: int = 0,
) -> GameVsOpponentEnv:
    """Backgammon against ``opponent``; entry point of ``rlkit/Backgammon-v0``.

    Rewards are the points of the result (1, 2 or 3 for single, gammon, backgammon); an
    illegal action loses 3 points by default.
    """
    from rlkit.envs.backgammon import BackgammonGame

    return GameVsOpponentEnv(
        BackgammonGame(), opponent, play_as, illegal_reward, render_mode, opening_moves
    )


def go_v0(
    size: int = 9, komi: float = 7.5, render_mode: str | None = None, **rules: Any
) -> GameAECEnv:
    """Go as a PettingZoo AEC env (``rules``: ``max_game_length``, ``superko``, ``history``)."""
    from rlkit.envs.go import GoGame

    return GameAECEnv(GoGame(size, komi, **rules), render_mode=render_mode)


def go_vs_opponent(
    size: int = 9,
    komi: float = 7.5,
    opponent: str | GameAgent | Agent | OpponentPolicy = "random",
    play_as: int | str = 0,
    illegal_reward: float | None = -1.0,
    render_mode: str | None = None,
    opening_moves: int = 0,
) -> GameVsOpponentEnv:
    """Go against ``opponent``; entry point of ``rlkit/Go-v0`` (``size=`` 5..19)."""
    from rlkit.envs.go import GoGame

    return GameVsOpponentEnv(
        GoGame(size, komi), opponent, play_as, illegal_reward, render_mode, opening_moves
    )


def tictactoe_vs_opponent(
    opponent: str | GameAgent | Agent | OpponentPolicy = "random",
    play_as: int | str = 0,
    illegal_reward: float | None = -1.0,
    render_mode: str | None = None,
    opening_moves: int = 0,
) -> GameVsOpponentEnv:
    """Tic-tac-toe against ``opponent``; entry point of ``rlkit/TicTacToe-v0``.

    An illegal action loses (reward -1) by default, so learners that ignore masks can train.
    """
    from rlkit.envs.tictactoe import TicTacToe

    return GameVsOpponentEnv(
        TicTacToe(), opponent, play_as, illegal_reward, render_mode, opening_moves
    )


def connect_four_vs_opponent(
    opponent: str | GameAgent | Agent | OpponentPolicy = "random",
    play_as: int | str = 0,
    illegal_reward: float | None = -1.0,
    render_mode: str | None = None,
    opening_moves: int = 0,
) -> GameVsOpponentEnv:
    """Connect Four against ``opponent``; entry point of ``rlkit/ConnectFour-v0``.

    An illegal action loses (reward -1) by default, so learners that ignore masks can train.
    """
    from rlkit.envs.connect_four import ConnectFour

    return GameVsOpponentEnv(
        ConnectFour(), opponent, play_as, illegal_reward, render_mode, opening_moves
    )


GAME_ENV_IDS = {
    "rlkit/TicTacToe-v0": "rlkit.envs.game_envs:tictactoe_vs_opponent",
    "rlkit/ConnectFour-v0": "rlkit.envs.game_envs:connect_four_vs_opponent",
    "rlkit/Go-v0": "rlkit.envs.game_envs:go_vs_opponent",
    "rlkit/Backgammon-v0": "rlkit.envs.game_envs:backgammon_vs_opponent",
}
"""Gymnasium ids registered by :func:`register_game_envs`, and their entry points."""


def register_game_envs() -> None:
    """Register :data:`GAME_ENV_IDS` with Gymnasium; ids already registered are skipped.

    Keyword arguments of the factories pass through ``gymnasium.make``, e.g.
    ``gymnasium.make("rlkit/ConnectFour-v0", play_as="alternate", opponent="minimax:depth=4")``.
    """
    for env_id, entry_point in GAME_ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)
