"""The one batched leaf-evaluation protocol every tree search uses.

A search (UCT in :mod:`rlkit.agents.mcts`, AlphaZero's PUCT in :mod:`rlkit.agents.puct`)
collects the leaves it wants evaluated -- from one tree, gathered with virtual loss, or from
many trees stepped in lockstep -- and asks an :class:`Evaluator` for all of them at once::

    priors, values = evaluator.prior_and_value(states)

so a network sees one forward pass per batch (AlphaZero; Silver et al., Science 362, 2018)
and random playouts are just another evaluator. The leaves are non-terminal decision states of
one game; chance nodes and terminal states never reach an evaluator (the search takes their
outcomes from :meth:`~rlkit.game.Game.chance_outcomes` and :meth:`~rlkit.game.Game.returns`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlkit.game import Game

__all__ = ["Evaluator", "check_evaluation"]


class Evaluator(abc.ABC):
    """Priors and values for a batch of leaf states of ``game``.

    Attributes:
        game: the rules the states belong to.
    """

    game: Game

    @abc.abstractmethod
    def prior_and_value(self, states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate ``B`` non-terminal decision states together.

        Returns:
            ``priors``: float32 ``[B, num_actions]``, zero on illegal actions, each row summing
            to 1 over the legal ones; ``values``: float32 ``[B, num_players]``, every player's
            expected return from the state (in the game's utility range).
        """


def check_evaluation(
    game: Game, batch: int, priors: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``priors`` and ``values`` as float32 arrays, checked against the protocol's shapes.

    Raises:
        ValueError: a shape that does not match ``batch`` and the game.
    """
    priors = np.asarray(priors, dtype=np.float32)
    values = np.asarray(values, dtype=np.float32)
    info = game.info
    if priors.shape != (batch, info.num_actions):
        raise ValueError(
            f"priors must have shape [{batch}, {info.num_actions}], got {list(priors.shape)}"
        )
    if values.shape != (batch, info.num_players):
        raise ValueError(
            f"values must have shape [{batch}, {info.num_players}], got {list(values.shape)}"
        )
    return priors, values
