"""Custom learners as users write them: one keeps numpy state, one forgets ``state_dict``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import rlkit


@dataclass(frozen=True)
class CountingConfig:
    pass


class NumpyCounter(rlkit.Learner):
    """Counts how often each action was taken; its state is a numpy array."""

    Config = CountingConfig

    def __init__(self, config, observation_space, action_space, *, seed=None):
        super().__init__(config, observation_space, action_space, seed=seed)
        self.counts = np.zeros(self.num_actions, dtype=np.int64)

    def act(self, observation, action_mask=None, *, explore=False):
        return int(self.rng.integers(self.num_actions))

    def observe(self, transition):
        self.counts[transition.action] += 1

    def state_dict(self):
        return {"counts": self.counts}

    def load_state_dict(self, tensors):
        self.counts = np.asarray(tensors["counts"]).astype(np.int64)


class Forgetful(NumpyCounter):
    """Learns like NumpyCounter but saves nothing (no state_dict): cannot be checkpointed."""

    state_dict = rlkit.Agent.state_dict
    load_state_dict = rlkit.Agent.load_state_dict


class ObjectState(NumpyCounter):
    """Returns state a checkpoint cannot hold."""

    def state_dict(self):
        return {"counts": {"not": "an array"}}
