"""AlphaStar-style leagues (Vinyals et al., Nature 575, 2019): main agents, main exploiters and
league exploiters matched by prioritised fictitious self-play, frozen snapshots, a decayed
payoff matrix, a supervised start, and a SQLite store that survives ``kill -9``.

- :mod:`rlkit.leagues.payoff` — the payoff matrix and the PFSP weightings;
- :mod:`rlkit.leagues.roles` — each role's matchmaking, snapshot and reset rules;
- :mod:`rlkit.leagues.store` — ``league.sqlite``;
- :mod:`rlkit.leagues.runner` — config, the round loop, resume, status;
- :mod:`rlkit.leagues.cli` — ``rlkit league run`` and ``rlkit league status``;
- ``rlkit.leagues.learners`` — learners that train against a given opponent.
"""
