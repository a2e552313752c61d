"""Backgammon helpers for the command line: ask an agent for its move in a gnubg position.

``rlkit bg move --agent SPEC --position ID --dice 31`` prints the move an agent (a spec such
as ``pubeval`` or ``td-lambda``, or a checkpoint) plays with those dice in the position of a
GNU Backgammon Position ID, and the Position ID after the move, as gnubg shows it: with the
opponent on roll (gnubg's IDs encode the player on roll second; see
:func:`rlkit.envs.backgammon.position_id_from_board`).

    >>> suggest_move("pubeval", "4HPwATDgc/ABMA", "31")
    {'move': '8/5 6/5', 'position_id': 'sGfwATDgc/ABMA'}
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from rlkit.errors import RlkitError

__all__ = ["parse_dice", "suggest_move"]


@functools.cache
def _game() -> Any:
    from rlkit.envs.backgammon import BackgammonGame

    return BackgammonGame()


@functools.lru_cache(maxsize=8)
def _player(agent_spec: str, seed: int, device: str | None, threads: int | None) -> Any:
    """The agent for ``agent_spec``, built once per process: loading a network takes seconds,
    answering a position milliseconds."""
    from rlkit.match import make_player

    return make_player(agent_spec, _game(), seed=seed, device=device, threads=threads)

_DICE = re.compile(r"\s*([1-6])\s*[-/, ]?\s*([1-6])\s*")


def parse_dice(text: str) -> tuple[int, int]:
    """``"31"``, ``"3-1"``, ``"3 1"`` or ``"3,1"`` as ``(high, low)``, e.g. ``(3, 1)``.

    Raises:
        RlkitError: anything but two dice 1-6.
    """
    match = _DICE.fullmatch(str(text))
    if match is None:
        raise RlkitError(f"--dice {text!r} is not a roll: give two dice 1-6 such as '31' or '3-1'")
    a, b = int(match.group(1)), int(match.group(2))
    return max(a, b), min(a, b)


def suggest_move(
    agent_spec: str,
    position_id: str,
    dice: str,
    *,
    seed: int = 0,
    device: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """The move an agent plays in a gnubg position, and the position after it.

    Args:
        agent_spec: an agent spec (``pubeval``, ``td-lambda:ply=2``) or a checkpoint path.
        position_id: gnubg's 14-character Position ID, the player on roll to move.
        dice: the roll, ``"31"`` or ``"3-1"``.
        seed: seeds the agent.
        device, threads: run-time settings of a network agent.

    Returns:
        ``{"move": standard notation from the mover's side, e.g. "24/18 13/11" ("pass" when
        nothing can move), "position_id": the Position ID after the move with the opponent
        on roll}``.

    Raises:
        RlkitError: a malformed or impossible Position ID, dice that are not a roll, or a
            finished game; UnknownNameError, SpecError, CheckpointError for the agent.
        IllegalMoveError: the agent played a move the rules do not allow.
    """
    from rlkit.game import IllegalMoveError

    roll = parse_dice(dice)
    player = _player(agent_spec, seed, device, threads)
    game = _game()  # the game the player was built for
    try:
        state = game.state_from_position_id(position_id, roll)
    except ValueError as exc:
        raise RlkitError(f"--position: {exc}") from None
    player.agent.rng = np.random.default_rng(seed)  # the same answer on every call
    action = player.act(game, state)
    if action not in game.legal_actions(state):
        raise IllegalMoveError(f"{agent_spec} played the illegal move {action} with {dice}")
    after = game.apply(state, action)
    return {"move": game.move_to_notation(state, action), "position_id": game.position_id(after)}
