"""rlkit: train, evaluate and pit game-playing and grid-world agents against each other.

The small Python API; every agent is built by one builder (:mod:`rlkit.builder`)::

    import rlkit
    env = rlkit.make_env("rlkit/FrozenLake4x4-v0")
    agent = rlkit.make_agent("q-learning:alpha=0.5", env=env, seed=0)
    agent = rlkit.load_agent("runs/lake")                 # a run folder or a .pt file
    game = rlkit.make_game("backgammon")
    bot = rlkit.make_agent("td-gammon:ply=2", game=game, device="cpu", threads=1)
"""

from importlib.metadata import PackageNotFoundError, version

from rlkit.agent import Agent, Learner, Transition
from rlkit.builder import Runtime, build_agent, load_agent, make_agent
from rlkit.errors import CheckpointError, RlkitError, SpecError, UnknownNameError
from rlkit.registry import make_env, make_game

try:
    __version__ = version("rlkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "Agent",
    "CheckpointError",
    "Learner",
    "RlkitError",
    "Runtime",
    "SpecError",
    "Transition",
    "UnknownNameError",
    "__version__",
    "build_agent",
    "load_agent",
    "make_agent",
    "make_env",
    "make_game",
]
