"""rlkit: train, evaluate and pit game-playing and grid-world agents against each other.

The small Python API::

    import rlkit
    env = rlkit.make_env("rlkit/FrozenLake4x4-v0")
    agent = rlkit.make_agent("q-learning:alpha=0.5", env.observation_space, env.action_space)
    agent = rlkit.load_agent("runs/lake/final.pt")
"""

from importlib.metadata import PackageNotFoundError, version

from rlkit.agent import Agent, Learner, Transition
from rlkit.errors import CheckpointError, RlkitError, SpecError, UnknownNameError
from rlkit.registry import make_agent, make_env
from rlkit.training import load_agent

try:
    __version__ = version("rlkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "Agent",
    "CheckpointError",
    "Learner",
    "RlkitError",
    "SpecError",
    "Transition",
    "UnknownNameError",
    "__version__",
    "load_agent",
    "make_agent",
    "make_env",
]
