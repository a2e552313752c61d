"""Tabular grid worlds described by text maps, with an exact transition model.

One environment class, :class:`GridWorldEnv`, covers FrozenLake, Sutton & Barto's cliff
walking (Example 6.6) and windy grid world (Example 6.5), mazes, and any map you write
yourself. Every environment exposes its exact dynamics as ``P`` in gymnasium's toy-text
format, so :func:`value_iteration` can solve it (and gymnasium's own toy-text envs).

Text-map format
---------------
One character per cell; rows are separated by newlines or by ``/`` (handy on a command
line). Whitespace around each row and blank lines around the whole map are ignored.

=====  ===============================================================================
``S``  start cell (exactly one). Otherwise plain floor.
``.``  free floor (``F`` is accepted as an alias so gymnasium FrozenLake maps paste in).
``#``  wall: a move into a wall (or off the grid) leaves the agent where it was.
``G``  goal: entering it ends the episode (``terminated``) with reward ``goal_reward``.
``H``  hole: entering it ends the episode with reward ``hole_reward``.
``C``  cliff: entering it gives ``cliff_reward`` and teleports the agent back to the
       start *without* ending the episode (Sutton & Barto's cliff walking).
other  extra goal letters declared in ``extra_goals`` (a mapping ``char -> reward``):
       like ``G`` but with their own reward, e.g. ``extra_goals={"A": 10.0}``.
=====  ===============================================================================

At least one goal (``G`` or an extra goal letter) is required.

Rewards: the reward of a transition is decided by the cell the agent ends up in — goal,
hole or cliff cells give their own reward *instead of* ``step_reward``; every other move
(including bumping into a wall) gives ``step_reward``. So a "-1 per step" map where the
move into the goal also costs 1 uses ``step_reward=-1, goal_reward=-1``.

Dynamics of one step with action ``a`` from cell ``(row, col)``:

1. Slip: the direction actually taken is ``a`` with probability ``1 - slip_probability``
   and each of the two perpendicular directions with ``slip_probability / 2``
   (gymnasium's slippery FrozenLake is ``slip_probability = 2/3``).
2. Move one cell in that direction unless a wall or the border is in the way.
3. Wind: the agent is pushed up ``wind[col]`` cells (``col`` is the column the move
   *started* in), one cell at a time, stopping at a wall or the top border. Only the cell
   where the agent finally lands counts (cells crossed by the wind do not trigger).
   Note that a move down off the bottom border is resolved before the wind, so there the
   agent still rises; the classic "clip the summed displacement" implementations differ
   from this only in that corner case, which optimal windy-world paths never visit.
4. The landing cell decides reward / termination / cliff reset as described above.

Actions use gymnasium FrozenLake's numbering for every map:
``LEFT = 0, DOWN = 1, RIGHT = 2, UP = 3``. States are numbered ``row * ncol + col``.

Worked example
--------------
::

    S..
    .#H
    ..G

is a 3x3 map (``"S../.#H/..G"`` on a command line) with states numbered

    0 1 2
    3 4 5
    6 7 8

With ``step_reward=-1, goal_reward=-1, hole_reward=-10``: from state 1, DOWN bumps the
wall at 4 and stays in 1 with reward -1; from state 2, DOWN enters the hole at 5 with
reward -10 and ends the episode; the best route is DOWN, DOWN, RIGHT, RIGHT from the
start, return -4. (With the default ``hole_reward=0`` diving into the hole — RIGHT,
RIGHT, DOWN, return -2 — would be optimal: on step-cost maps, make holes cost more.)

With ``slip_probability=0.2``, RIGHT from the start has three outcomes, listed in
gymnasium's order: direction ``(a - 1) % 4``, the intended ``a``, then ``(a + 1) % 4``::

    P[0][RIGHT] == [(0.1, 3, -1.0, False),   # slipped DOWN
                    (0.8, 1, -1.0, False),   # intended RIGHT
                    (0.1, 0, -1.0, False)]   # slipped UP into the border: stays

Outcomes that coincide (same next state, reward and termination) are merged into one
entry whose probability is the sum.

Cells the agent can never occupy (walls, cliff cells) and terminal cells (goals, holes)
get a terminal self-loop with probability 1 and reward 0 in ``P``, as in gymnasium's
FrozenLake, so ``P`` is defined for every state of the ``Discrete`` observation space.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

__all__ = [
    "DOWN",
    "GRIDWORLD_IDS",
    "LEFT",
    "NAMED_MAPS",
    "RIGHT",
    "UP",
    "GridMap",
    "GridWorldEnv",
    "MapError",
    "ValueIterationResult",
    "parse_map",
    "register_gridworlds",
    "value_iteration",
]

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
_ACTION_NAMES = ("Left", "Down", "Right", "Up")
# (row delta, col delta) per action, indexed by the action number above.
_DELTAS = ((0, -1), (1, 0), (0, 1), (-1, 0))

START, FLOOR, FLOOR_ALIAS, WALL, GOAL, HOLE, CLIFF = "S", ".", "F", "#", "G", "H", "C"
_RESERVED = frozenset({START, FLOOR, FLOOR_ALIAS, WALL, GOAL, HOLE, CLIFF})
# Characters that can never be cell letters: row separators and the ansi agent marker.
_FORBIDDEN_GOAL_CHARS = frozenset({"/", "@"})


class MapError(ValueError):
    """A grid map or one of its parameters is invalid; the message names the problem."""


@dataclass(frozen=True)
class GridMap:
    """A validated grid-world definition: the layout plus its reward and dynamics parameters.

    Construction validates everything, so a ``GridMap`` that exists is always usable.
    Use :func:`dataclasses.replace` to derive a variant (it re-validates).

    Attributes:
        layout: The rows of the map, one character per cell (see the module docstring).
        step_reward: Reward of a move that does not end on a goal, hole or cliff cell.
        goal_reward: Reward for entering a ``G`` cell.
        hole_reward: Reward for entering an ``H`` cell.
        cliff_reward: Reward for entering a ``C`` cell (the agent is sent back to start).
        extra_goals: Extra goal letters and their rewards, e.g. ``{"A": 10.0}``.
        slip_probability: Probability that the move goes perpendicular (half each way).
        wind: Upward push per column, or ``None`` for no wind.
        max_episode_steps: Suggested time limit for this map.
    """

    layout: tuple[str, ...]
    step_reward: float = 0.0
    goal_reward: float = 1.0
    hole_reward: float = 0.0
    cliff_reward: float = -100.0
    extra_goals: Mapping[str, float] = field(default_factory=dict)
    slip_probability: float = 0.0
    wind: tuple[int, ...] | None = None
    max_episode_steps: int = 200

    def __post_init__(self) -> None:
        # Normalise containers to immutable forms (the dataclass is frozen, so bypass it).
        if isinstance(self.layout, str):
            raise MapError("layout must be a sequence of row strings; use parse_map() for text")
        object.__setattr__(self, "layout", tuple(self.layout))
        object.__setattr__(self, "extra_goals", MappingProxyType(dict(self.extra_goals)))
        if self.wind is not None:
            object.__setattr__(self, "wind", tuple(self.wind))
        self._validate()

    # --- validation -------------------------------------------------------------------

    def _validate(self) -> None:
        for name in ("step_reward", "goal_reward", "hole_reward", "cliff_reward"):
            value = getattr(self, name)
            if not _is_finite_number(value):
                raise MapError(f"{name} must be a finite number, got {value!r}")
        for char, reward in self.extra_goals.items():
            if not isinstance(char, str) or len(char) != 1 or char.isspace():
                raise MapError(f"extra goal letter must be a single character, got {char!r}")
            if char in _RESERVED or char in _FORBIDDEN_GOAL_CHARS:
                raise MapError(f"extra goal letter {char!r} is reserved")
            if not _is_finite_number(reward):
                raise MapError(f"reward of extra goal {char!r} must be finite, got {reward!r}")
        p = self.slip_probability
        if not _is_finite_number(p) or not 0.0 <= p <= 1.0:
            raise MapError(f"slip_probability must be a probability in [0, 1], got {p!r}")
        if (
            isinstance(self.max_episode_steps, bool)
            or not isinstance(self.max_episode_steps, int)
            or self.max_episode_steps < 1
        ):
            raise MapError(
                f"max_episode_steps must be a positive int, got {self.max_episode_steps!r}"
            )

        if not self.layout or all(not row for row in self.layout):
            raise MapError("map is empty")
        ncol = len(self.layout[0])
        for r, row in enumerate(self.layout):
            if len(row) != ncol:
                raise MapError(f"ragged rows: row 0 has {ncol} cells but row {r} has {len(row)}")
        allowed = _RESERVED | set(self.extra_goals)
        for r, row in enumerate(self.layout):
            for c, char in enumerate(row):
                if char not in allowed:
                    raise MapError(f"unknown character {char!r} at row {r}, column {c}")
        starts = sum(row.count(START) for row in self.layout)
        if starts == 0:
            raise MapError("no start: the map needs exactly one 'S'")
        if starts > 1:
            raise MapError(f"{starts} starts: the map needs exactly one 'S'")
        goal_chars = {GOAL, *self.extra_goals}
        if not any(char in goal_chars for row in self.layout for char in row):
            raise MapError("no goal: the map needs a 'G' (or an extra goal letter)")

        if self.wind is not None:
            if len(self.wind) != ncol:
                raise MapError(f"wind list length {len(self.wind)} != number of columns {ncol}")
            for strength in self.wind:
                if isinstance(strength, bool) or not isinstance(strength, (int, np.integer)):
                    raise MapError(f"wind strengths must be ints, got {strength!r}")
                if strength < 0:
                    raise MapError(f"wind strengths must be >= 0, got {strength!r}")

    # --- derived properties -----------------------------------------------------------

    @property
    def nrow(self) -> int:
        """Number of rows."""
        return len(self.layout)

    @property
    def ncol(self) -> int:
        """Number of columns."""
        return len(self.layout[0])

    @property
    def is_deterministic(self) -> bool:
        """True when every transition has a single outcome (no slip; wind is deterministic)."""
        return self.slip_probability == 0.0

    @property
    def start(self) -> tuple[int, int]:
        """``(row, col)`` of the start cell."""
        for r, row in enumerate(self.layout):
            c = row.find(START)
            if c >= 0:
                return r, c
        raise AssertionError("unreachable: validated maps have a start")  # pragma: no cover


def _is_finite_number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def parse_map(text: str, **params: Any) -> GridMap:
    """Parse a text map into a validated :class:`GridMap`.

    Args:
        text: The map; rows separated by ``\\n`` or ``/``. Whitespace around rows and
            blank lines around the map are ignored.
        **params: Any other :class:`GridMap` field (``step_reward``, ``wind``, ...).

    Returns:
        The validated map.

    Raises:
        MapError: If the map or a parameter is invalid (the message names the problem).
        TypeError: If ``params`` contains a name that is not a ``GridMap`` field.
    """
    _check_param_names(params)
    stripped = text.replace("/", "\n").strip()
    layout = tuple(row.strip() for row in stripped.split("\n")) if stripped else ()
    return GridMap(layout=layout, **params)


def _check_param_names(params: Mapping[str, Any]) -> None:
    allowed = {f.name for f in dataclasses.fields(GridMap)} - {"layout"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise TypeError(f"unknown grid-world parameter(s) {unknown}; allowed: {sorted(allowed)}")


# --- named maps -----------------------------------------------------------------------

_FROZENLAKE_4X4 = ("SFFF", "FHFH", "FFFH", "HFFG")
_FROZENLAKE_8X8 = (
    "SFFFFFFF",
    "FFFFFFFF",
    "FFFHFFFF",
    "FFFFFHFF",
    "FFFHFFFF",
    "FHHFFFHF",
    "FHFFHFHF",
    "FFFHFFFG",
)
# gymnasium's slippery FrozenLake: intended and both perpendicular moves, 1/3 each.
_FROZENLAKE_SLIP = 2.0 / 3.0

# A maze with loops and four dead ends: shortest path 24 moves. A uniformly random walk
# reaches the goal within 500 steps about 26% of the time, so REINFORCE gets a signal.
_MAZE = (
    "S..#.......",
    "##.#.#.###.",
    ".#...#...#.",
    ".#####.#.#.",
    ".....#.....",
    ".###.#.###.",
    ".#...#.#...",
    ".#.#.#.#.#.",
    ".#.#.#.#...",
    ".#.###.###.",
    ".#........G",
)

NAMED_MAPS: Mapping[str, GridMap] = MappingProxyType(
    {
        # Sutton & Barto Example 6.6: optimal return -13 (up, 11 x right, down).
        "cliff": GridMap(
            layout=("." * 12, "." * 12, "." * 12, "S" + "C" * 10 + "G"),
            step_reward=-1.0,
            goal_reward=-1.0,
            cliff_reward=-100.0,
            max_episode_steps=200,
        ),
        "frozenlake4x4": GridMap(layout=_FROZENLAKE_4X4, max_episode_steps=100),
        "frozenlake8x8": GridMap(layout=_FROZENLAKE_8X8, max_episode_steps=200),
        "frozenlake4x4-slippery": GridMap(
            layout=_FROZENLAKE_4X4, slip_probability=_FROZENLAKE_SLIP, max_episode_steps=100
        ),
        "frozenlake8x8-slippery": GridMap(
            layout=_FROZENLAKE_8X8, slip_probability=_FROZENLAKE_SLIP, max_episode_steps=200
        ),
        # Sutton & Barto Example 6.5: optimal return -15.
        "windy": GridMap(
            layout=("..........",) * 3 + ("S......G..",) + ("..........",) * 3,
            step_reward=-1.0,
            goal_reward=-1.0,
            wind=(0, 0, 0, 1, 1, 1, 2, 2, 1, 0),
            max_episode_steps=500,
        ),
        "maze": GridMap(layout=_MAZE, step_reward=-1.0, goal_reward=-1.0, max_episode_steps=500),
        # Open room, optimal return -8: a quick sanity-check map.
        "empty5x5": GridMap(
            layout=("S....", ".....", ".....", ".....", "....G"),
            step_reward=-1.0,
            goal_reward=-1.0,
            max_episode_steps=100,
        ),
    }
)

# Named map -> gymnasium id registered by register_gridworlds().
_NAMED_MAP_IDS: Mapping[str, str] = MappingProxyType(
    {
        "cliff": "rlkit/CliffWalking-v0",
        "frozenlake4x4": "rlkit/FrozenLake4x4-v0",
        "frozenlake8x8": "rlkit/FrozenLake8x8-v0",
        "frozenlake4x4-slippery": "rlkit/FrozenLake4x4Slippery-v0",
        "frozenlake8x8-slippery": "rlkit/FrozenLake8x8Slippery-v0",
        "windy": "rlkit/WindyGridWorld-v0",
        "maze": "rlkit/Maze-v0",
        "empty5x5": "rlkit/Empty5x5-v0",
    }
)
_GENERIC_ID = "rlkit/GridWorld-v0"
_DEFAULT_MAP = "frozenlake4x4"
_GENERIC_MAX_EPISODE_STEPS = 200

GRIDWORLD_IDS: tuple[str, ...] = (_GENERIC_ID, *_NAMED_MAP_IDS.values())


def _resolve_map(map_: str | GridMap, overrides: Mapping[str, Any]) -> GridMap:
    """Turn a map name, raw map text or GridMap plus overrides into a validated GridMap."""
    _check_param_names(overrides)
    if isinstance(map_, GridMap):
        return dataclasses.replace(map_, **overrides)
    if not isinstance(map_, str):
        raise TypeError(f"map must be a map name, map text or GridMap, got {type(map_)!r}")
    if map_ in NAMED_MAPS:
        return dataclasses.replace(NAMED_MAPS[map_], **overrides)
    try:
        return parse_map(map_, **overrides)
    except MapError as error:
        # A single token that fails to parse was most likely meant as a map name.
        if "\n" not in map_ and "/" not in map_:
            raise MapError(
                f"{map_!r} is neither a named map ({', '.join(NAMED_MAPS)}) "
                f"nor a valid map ({error})"
            ) from error
        raise


# --- transition model -----------------------------------------------------------------

Transition = tuple[float, int, float, bool]


def _build_transitions(grid: GridMap) -> dict[int, dict[int, list[Transition]]]:
    """Build gymnasium toy-text ``P[s][a] = [(prob, next_state, reward, terminated), ...]``."""
    nrow, ncol = grid.nrow, grid.ncol
    layout = grid.layout
    goal_rewards = {
        GOAL: float(grid.goal_reward),
        **{k: float(v) for k, v in grid.extra_goals.items()},
    }
    start_r, start_c = grid.start
    start_state = start_r * ncol + start_c
    wind = grid.wind or (0,) * ncol
    p_slip = float(grid.slip_probability)

    def blocked(r: int, c: int) -> bool:
        return not (0 <= r < nrow and 0 <= c < ncol) or layout[r][c] == WALL

    def land(r: int, c: int, direction: int) -> tuple[int, int]:
        dr, dc = _DELTAS[direction]
        nr, nc = r + dr, c + dc
        if blocked(nr, nc):
            nr, nc = r, c
        # Wind from the column the move started in, one cell at a time (walls stop it).
        for _ in range(wind[c]):
            if blocked(nr - 1, nc):
                break
            nr -= 1
        return nr, nc

    def outcome(r: int, c: int) -> tuple[int, float, bool]:
        char = layout[r][c]
        if char in goal_rewards:
            return r * ncol + c, goal_rewards[char], True
        if char == HOLE:
            return r * ncol + c, float(grid.hole_reward), True
        if char == CLIFF:
            return start_state, float(grid.cliff_reward), False
        return r * ncol + c, float(grid.step_reward), False

    P: dict[int, dict[int, list[Transition]]] = {}
    for r in range(nrow):
        for c in range(ncol):
            s = r * ncol + c
            char = layout[r][c]
            if char in goal_rewards or char in (HOLE, WALL, CLIFF):
                # Terminal or never-occupied cell: absorbing, like FrozenLake's terminals.
                P[s] = {a: [(1.0, s, 0.0, True)] for a in range(4)}
                continue
            P[s] = {}
            for a in range(4):
                # Same order as gymnasium's slippery FrozenLake: (a - 1) % 4, a, (a + 1) % 4.
                directions = (
                    ((a - 1) % 4, p_slip / 2.0),
                    (a, 1.0 - p_slip),
                    ((a + 1) % 4, p_slip / 2.0),
                )
                merged: dict[tuple[int, float, bool], float] = {}
                for direction, prob in directions:
                    if prob > 0.0:
                        key = outcome(*land(r, c, direction))
                        merged[key] = merged.get(key, 0.0) + prob
                P[s][a] = [(prob, ns, rew, term) for (ns, rew, term), prob in merged.items()]
    return P


# --- environment ----------------------------------------------------------------------

# RGB colours per cell letter for rgb_array rendering.
_COLOURS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {
        FLOOR: (235, 235, 235),
        FLOOR_ALIAS: (235, 235, 235),
        START: (170, 200, 255),
        WALL: (60, 60, 60),
        GOAL: (80, 200, 80),
        HOLE: (30, 40, 120),
        CLIFF: (150, 75, 40),
    }
)
_EXTRA_GOAL_COLOUR = (230, 190, 40)
_AGENT_COLOUR = (220, 30, 30)


class GridWorldEnv(gymnasium.Env[int, int]):
    """A tabular grid world with an exact transition model ``P`` (gymnasium toy-text format).

    Observations are state indices ``row * ncol + col``; actions are
    ``LEFT=0, DOWN=1, RIGHT=2, UP=3``. ``step`` never truncates (use a ``TimeLimit``
    wrapper, as ``gymnasium.make`` does for the registered ids). ``info`` always holds
    ``"prob"`` (probability of the sampled outcome) and, from ``step``, ``"is_success"``
    (True exactly when the step entered a goal).

    Args:
        map: A name from :data:`NAMED_MAPS`, raw map text (see the module docstring) or a
            :class:`GridMap`.
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
        **overrides: Replacement :class:`GridMap` parameters, e.g. ``slip_probability=0.1``.

    Raises:
        MapError: If the map or an override is invalid.
        TypeError: If an override name is not a map parameter.
        ValueError: If ``render_mode`` is not supported.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012
    cell_pixels = 16

    def __init__(
        self,
        map: str | GridMap = _DEFAULT_MAP,
        *,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} not supported; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        self.grid_map = _resolve_map(map, overrides)
        self.render_mode = render_mode
        self.P = _build_transitions(self.grid_map)
        n_states = self.grid_map.nrow * self.grid_map.ncol
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(4)
        # step() is on every training hot path: precompute, per state and action, the
        # outcome's step() result and the cumulative probabilities (None when there is one
        # outcome, so deterministic moves draw no random number), as plain Python lists.
        goal_chars = {GOAL, *self.grid_map.extra_goals}
        self._is_goal = [char in goal_chars for row in self.grid_map.layout for char in row]
        self._outcomes = [
            [
                [
                    (
                        next_state,
                        float(reward),
                        bool(terminated),
                        float(prob),
                        bool(terminated and self._is_goal[next_state] and not self._is_goal[s]),
                    )
                    for prob, next_state, reward, terminated in self.P[s][a]
                ]
                for a in range(4)
            ]
            for s in range(n_states)
        ]
        self._cdfs = [
            [
                None
                if len(self.P[s][a]) == 1
                else [float(c) for c in np.cumsum([t[0] for t in self.P[s][a]])]
                for a in range(4)
            ]
            for s in range(n_states)
        ]
        self._state: int | None = None
        self._last_action: int | None = None

    @property
    def nrow(self) -> int:
        """Number of grid rows."""
        return self.grid_map.nrow

    @property
    def ncol(self) -> int:
        """Number of grid columns."""
        return self.grid_map.ncol

    @property
    def start_state(self) -> int:
        """State index of the start cell."""
        r, c = self.grid_map.start
        return r * self.ncol + c

    @property
    def is_deterministic(self) -> bool:
        """True when every ``P[s][a]`` has exactly one outcome."""
        return self.grid_map.is_deterministic

    @property
    def state(self) -> int | None:
        """Current state index, or ``None`` before the first ``reset``."""
        return self._state

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Start a new episode at the start cell.

        Args:
            seed: Seeds ``self.np_random`` (used for slipping).
            options: Unused.

        Returns:
            ``(start_state, {"prob": 1.0})``.
        """
        super().reset(seed=seed)
        self._state = self.start_state
        self._last_action = None
        return self._state, {"prob": 1.0}

    def step(self, action: int) -> tuple[int, SupportsFloat, bool, bool, dict[str, Any]]:
        """Take one action, sampling the outcome from ``P`` with ``self.np_random``.

        Args:
            action: One of ``LEFT=0, DOWN=1, RIGHT=2, UP=3``.

        Returns:
            ``(next_state, reward, terminated, False, info)`` with ``info["prob"]`` and
            ``info["is_success"]``.

        Raises:
            RuntimeError: If called before ``reset``.
            ValueError: If ``action`` is not in the action space.
        """
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if type(action) is not int or not 0 <= action < 4:  # fast path for plain ints
            if not self.action_space.contains(action):
                raise ValueError(f"invalid action {action!r}; expected an int in [0, 4)")
            action = int(action)
        outcomes = self._outcomes[self._state][action]
        cdf = self._cdfs[self._state][action]
        if cdf is None:
            index = 0
        else:
            # min() guards against a draw past a cdf that sums to 1 - epsilon.
            index = min(bisect.bisect_right(cdf, self.np_random.random()), len(cdf) - 1)
        # A success is *entering* a goal; stepping on after termination is not a new one.
        next_state, reward, terminated, prob, is_success = outcomes[index]
        self._state = next_state
        self._last_action = action
        return next_state, reward, terminated, False, {"prob": prob, "is_success": is_success}

    def render(self) -> str | np.ndarray | None:
        """Render the current state.

        Returns:
            For ``"ansi"``: the map as text with the agent shown as ``@`` (preceded by the
            last action in parentheses). For ``"rgb_array"``: an
            ``(nrow * 16, ncol * 16, 3)`` uint8 image. ``None`` when ``render_mode`` is None.
        """
        if self.render_mode is None:
            return None
        agent = self._state if self._state is not None else self.start_state
        if self.render_mode == "ansi":
            return self._render_ansi(agent)
        return self._render_rgb(agent)

    def _render_ansi(self, agent: int) -> str:
        rows = [list(row) for row in self.grid_map.layout]
        r, c = divmod(agent, self.ncol)
        rows[r][c] = "@"
        header = (
            f"  ({_ACTION_NAMES[self._last_action]})\n" if self._last_action is not None else ""
        )
        return header + "\n".join("".join(row) for row in rows) + "\n"

    def _render_rgb(self, agent: int) -> np.ndarray:
        px = self.cell_pixels
        cells = np.array(
            [
                [_COLOURS.get(char, _EXTRA_GOAL_COLOUR) for char in row]
                for row in self.grid_map.layout
            ],
            dtype=np.uint8,
        )
        image = np.repeat(np.repeat(cells, px, axis=0), px, axis=1)
        # Thin grid lines make neighbouring floor cells distinguishable.
        image[::px, :, :] = image[::px, :, :] // 2 + 60
        image[:, ::px, :] = image[:, ::px, :] // 2 + 60
        r, c = divmod(agent, self.ncol)
        inset = px // 4
        image[r * px + inset : (r + 1) * px - inset, c * px + inset : (c + 1) * px - inset] = (
            _AGENT_COLOUR
        )
        return image


# --- registration ---------------------------------------------------------------------


def register_gridworlds() -> None:
    """Register the grid-world ids with gymnasium; ids already registered are skipped.

    Registers ``rlkit/GridWorld-v0`` (any map via ``gymnasium.make(id, map=...)``,
    default ``frozenlake4x4``, 200 steps) and one id per named map with that map's
    ``max_episode_steps``; see :data:`GRIDWORLD_IDS`.
    """
    entry_point = "rlkit.envs.gridworld:GridWorldEnv"
    if _GENERIC_ID not in gymnasium.registry:
        gymnasium.register(
            id=_GENERIC_ID,
            entry_point=entry_point,
            kwargs={"map": _DEFAULT_MAP},
            max_episode_steps=_GENERIC_MAX_EPISODE_STEPS,
        )
    for name, env_id in _NAMED_MAP_IDS.items():
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point=entry_point,
            kwargs={"map": name},
            max_episode_steps=NAMED_MAPS[name].max_episode_steps,
        )


# --- value iteration ------------------------------------------------------------------


@dataclass(frozen=True)
class ValueIterationResult:
    """Optimal values and a greedy policy from :func:`value_iteration`.

    Attributes:
        values: ``V*[s]``, shape ``[S]``.
        q_values: ``Q*[s, a]``, shape ``[S, A]``.
        policy: Greedy action per state, shape ``[S]`` (ties go to the lowest action).
        iterations: Number of Bellman sweeps performed.
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    iterations: int


def _dense_model(
    P: Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]],
    n_states: int,
    n_actions: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pad the ragged outcome lists of ``P`` into dense ``[S, A, K]`` arrays."""
    k = max(len(P[s][a]) for s in range(n_states) for a in range(n_actions))
    probs = np.zeros((n_states, n_actions, k))
    next_states = np.zeros((n_states, n_actions, k), dtype=np.int64)
    rewards = np.zeros((n_states, n_actions, k))
    continues = np.zeros((n_states, n_actions, k))  # 0 where terminated: no bootstrap
    for s in range(n_states):
        for a in range(n_actions):
            for i, (prob, ns, reward, terminated) in enumerate(P[s][a]):
                probs[s, a, i] = prob
                next_states[s, a, i] = ns
                rewards[s, a, i] = reward
                continues[s, a, i] = 0.0 if terminated else 1.0
    return probs, next_states, rewards, continues


def value_iteration(
    env: Any,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iterations: int = 100_000,
) -> ValueIterationResult:
    """Compute optimal values and a greedy policy from the exact model ``env.unwrapped.P``.

    Works for any env whose unwrapped env has ``P`` in gymnasium's toy-text format
    ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` and ``Discrete`` spaces:
    :class:`GridWorldEnv` and gymnasium's FrozenLake, CliffWalking and Taxi. Terminated
    outcomes are not bootstrapped.

    Args:
        env: The environment (wrapped or not).
        gamma: Discount factor in ``(0, 1]``. ``gamma = 1`` converges when every optimal
            policy reaches a terminal state (e.g. maps with a step cost).
        tol: Stop when the largest value change in a sweep is below ``tol``.
        max_iterations: Maximum number of sweeps.

    Returns:
        The optimal values, action values and greedy policy (read-only arrays).

    Raises:
        ValueError: If ``gamma`` is outside ``(0, 1]``, ``tol`` or ``max_iterations`` is not
            positive, or the env has no toy-text ``P``.
        RuntimeError: If the values have not converged after ``max_iterations`` sweeps.
    """
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    if not tol > 0.0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be >= 1, got {max_iterations!r}")
    base = getattr(env, "unwrapped", env)
    P = getattr(base, "P", None)
    if P is None:
        raise ValueError(f"{type(base).__name__} has no transition model attribute 'P'")
    n_states = int(base.observation_space.n)
    n_actions = int(base.action_space.n)
    probs, next_states, rewards, continues = _dense_model(P, n_states, n_actions)
    # Expected immediate reward and discounted transition weights never change: fold once.
    expected_reward = (probs * rewards).sum(axis=2)
    weights = probs * continues * gamma

    values = np.zeros(n_states)
    iterations = 0
    delta = math.inf
    while delta >= tol:
        if iterations == max_iterations:
            raise RuntimeError(
                f"value iteration did not converge within {max_iterations} iterations "
                f"(last change {delta:.3g} >= tol {tol:.3g}); with gamma=1 some state may "
                "never reach a terminal state"
            )
        new_values = (expected_reward + (weights * values[next_states]).sum(axis=2)).max(axis=1)
        delta = float(np.max(np.abs(new_values - values)))
        values = new_values
        iterations += 1
    q_values = expected_reward + (weights * values[next_states]).sum(axis=2)
    # Treat values within floating-point noise of the best as ties, broken to lowest action.
    scale = max(1.0, float(np.max(np.abs(q_values))))
    is_best = q_values >= q_values.max(axis=1, keepdims=True) - 1e-9 * scale
    policy = np.argmax(is_best, axis=1).astype(np.int64)
    for array in (values, q_values, policy):
        array.flags.writeable = False
    return ValueIterationResult(
        values=values, q_values=q_values, policy=policy, iterations=iterations
    )
