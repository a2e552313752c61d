"""``rlkit league``: grow an AlphaStar-style league, and show where it stands.

- ``rlkit league run --config C --out DIR [--minutes M] [--rounds N] [--resume]
  [--backend local|ray] [--workers W] [--seed S]`` runs :func:`rlkit.leagues.runner.run_league`
  (round by round; see that module) until the time or round budget is spent. ``--resume``
  continues the league in DIR after any interruption, ``kill -9`` included.
- ``rlkit league status DIR`` prints the players, the snapshot history, the payoff matrix and
  the Elo ratings (:func:`rlkit.ratings.fit_elo`) of every player, current and frozen.

The command registers through ``rlkit.cli.COMMAND_MODULES`` (``add_parser``);
``python -m rlkit.leagues.cli`` runs the ``rlkit`` command with it registered.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_INTERRUPTED = 130


def _cmd_run(args: argparse.Namespace) -> int:
    from rlkit.errors import SpecError
    from rlkit.leagues.runner import read_config, run_league

    if args.minutes is not None and not args.minutes > 0:
        raise SpecError(f"--minutes must be a positive number, got {args.minutes}")
    config = None
    if args.config is not None:
        config = read_config(args.config)
        if args.seed is not None:
            import dataclasses

            config = dataclasses.replace(config, seed=args.seed)
    elif not args.resume:
        raise SpecError("give the league's config with --config FILE.toml")
    elif args.seed is not None:
        raise SpecError("--resume continues the stored league; --seed cannot change it")
    try:
        outcome = run_league(
            config,
            args.out,
            resume=args.resume,
            minutes=args.minutes,
            rounds=args.rounds,
            backend=args.backend,
            workers=args.workers,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: continue with `rlkit league run --resume --out {args.out}`",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(
        f"league {outcome.out}: {outcome.rounds} rounds finished (stopped: {outcome.stopped}); "
        f"`rlkit league status {args.out}` shows the payoff and ratings"
    )
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from rlkit.leagues.runner import format_status, league_status

    status = league_status(args.folder)
    if args.json:
        from dataclasses import asdict

        table = status["ratings"]
        players = [asdict(p) for p in status["players"]]
        ratings = table.to_dict() if table is not None else None
        config = status["config"].to_dict()
        print(json.dumps({**status, "config": config, "players": players, "ratings": ratings}))
        return 0
    print(format_status(status))
    return 0


def add_parser(subparsers: Any) -> None:
    """Register ``rlkit league`` (``run`` and ``status``)."""
    from rlkit.argtypes import positive_float, positive_int
    from rlkit.argtypes import seed as seed_type

    p = subparsers.add_parser(
        "league",
        help="AlphaStar-style league: main agents, exploiters, PFSP, snapshots, payoff",
        description="Grow a league of learners (rlkit league run) and show its payoff matrix "
        "and ratings (rlkit league status).",
    )
    sub = p.add_subparsers(dest="league_command", required=True, metavar="{run,status}")
    run = sub.add_parser("run", help="grow (or --resume) a league")
    run.add_argument("--config", metavar="FILE.toml", help="league config (new leagues)")
    run.add_argument("--out", type=Path, required=True, metavar="DIR", help="league folder")
    run.add_argument(
        "--minutes", type=positive_float, help="wall-clock budget; no round starts after it"
    )
    run.add_argument("--rounds", type=positive_int, help="stop after this many rounds in total")
    run.add_argument("--resume", action="store_true", help="continue the league in --out")
    run.add_argument("--backend", choices=("local", "ray"), help="payoff matches: local or ray")
    run.add_argument("--workers", type=positive_int, help="processes (1: all in this process)")
    run.add_argument("--seed", type=seed_type, help="league seed (overrides the config's)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(run=_cmd_run)
    status = sub.add_parser("status", help="players, payoff matrix, snapshots and ratings")
    status.add_argument("folder", type=Path, metavar="DIR", help="league folder")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(run=_cmd_status)


def main(argv: list[str] | None = None) -> int:
    """``rlkit`` with this command registered (until ``rlkit.cli`` lists it itself)."""
    from rlkit import cli

    if "rlkit.leagues.cli" not in cli.COMMAND_MODULES:
        cli.COMMAND_MODULES = (*cli.COMMAND_MODULES, "rlkit.leagues.cli")
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
