"""rlkit environments. Importing this package registers the ``rlkit/…`` ids with Gymnasium.

Registration is idempotent, so importing twice (or from several places) is harmless.
"""

from rlkit.envs.game_envs import register_game_envs
from rlkit.envs.gridworld import register_gridworlds

register_gridworlds()
register_game_envs()
