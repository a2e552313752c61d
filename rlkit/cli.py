"""The ``rlkit`` command line: list, train (and train bc), eval, play, gtp, bg move, plus the
commands modules register (:data:`COMMAND_MODULES`: ratings, league, tournament, describe,
plot).

Every user mistake (unknown name, bad parameter, missing or corrupt checkpoint, argparse's own
usage errors) ends with one line on stderr and exit status 2; Ctrl-C or SIGTERM saves what can
be saved and exits 130; a reader that closes the pipe ends the command quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

from rlkit.argtypes import (
    add_runtime_options,
    finite_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from rlkit.argtypes import seed as seed_type
from rlkit.errors import RlkitError, SpecError, caused_by_interrupt

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
COMMAND_MODULES: tuple[str, ...] = (
    "rlkit.ratings",
    "rlkit.leagues.cli",
    "rlkit.tournament",
    "rlkit.describe",
    "rlkit.plot",
)
"""Modules that register a subcommand with ``add_parser(subparsers)`` (see build_parser)."""


def _cmd_list(args: argparse.Namespace) -> int:
    from rlkit.registry import agent_entries, env_entries, game_entries

    print("agents:")
    for name, entry in sorted(agent_entries().items()):
        print(f"  {name:<24} {entry.summary}")
    print("games (for rlkit play and search agents):")
    for name, entry in sorted(game_entries().items()):
        print(f"  {name:<24} {entry.summary}")
    print("environments:")
    for name, entry in sorted(env_entries().items()):
        target = entry.entry_point.removeprefix("gym:")
        print(f"  {name:<24} {entry.summary} [{target}]")
    print(
        "  (also any id gymnasium.make knows, e.g. CartPole-v1, FrozenLake-v1:is_slippery=false,"
        " and module:Class)"
    )
    return 0


def _runtime(args: argparse.Namespace) -> Any:
    from rlkit.builder import Runtime

    return Runtime(device=getattr(args, "device", None), threads=getattr(args, "threads", None))


def _cmd_play(args: argparse.Namespace) -> int:
    from rlkit.match import play_match
    from rlkit.registry import make_game

    game = make_game(args.env)
    on_move = _watcher(game) if args.watch else None
    result = play_match(
        game,
        args.a,
        args.b,
        args.games,
        seed=args.seed,
        swap=args.swap,
        opening_moves=args.opening_moves,
        record_dir=args.record,
        # A human player's board and prompt share the terminal: no progress bar then.
        progress=not (args.quiet or args.json or args.watch or "human" in (args.a, args.b)),
        device=args.device,
        threads=args.threads,
        on_move=on_move,
    )
    summary = result.summary()
    if args.json:
        print(json.dumps({"env": args.env, **summary, "interrupted": result.interrupted}))
    else:
        if result.interrupted:
            print("interrupted; the score so far:", file=sys.stderr)
        print(
            f"{args.a} vs {args.b} on {args.env}: {summary['games']} games, "
            f"{summary['wins']} wins, {summary['draws']} draws, {summary['losses']} losses for "
            f"{args.a}; {summary['points_per_game']:+.3f} ± {summary['ci95']:.3f} points per "
            "game (95% CI)"
        )
        if summary["truncated"]:
            print(f"{summary['truncated']} games reached the maximum length and count as draws")
    return EXIT_INTERRUPTED if result.interrupted else 0


def _watcher(game: Any) -> Any:
    """``--watch``: print every move and the position after it."""

    def show(before: Any, move: str, after: Any) -> None:
        player = game.current_player(before)
        who = "chance" if player < 0 else f"player {player}"
        print(f"{who}: {move}\n{game.render(after)}\n", flush=True)

    return show


def _cmd_gtp(args: argparse.Namespace) -> int:
    from rlkit.gtp import serve
    from rlkit.match import make_player

    def player_for(game: Any) -> Any:  # the engine's own game: Go of 20·size² moves
        player = make_player(
            args.agent, game, seed=args.seed, device=args.device, threads=args.threads
        )
        _refuse_interactive(player.agent, args.agent, "rlkit gtp reads GTP commands on stdin")
        return player

    return serve(
        args.agent,
        args.size,
        args.komi,
        args.seed,
        sys.stdin,
        sys.stdout,
        player_factory=player_for,
    )


def _refuse_interactive(agent: Any, spec: str, why: str) -> None:
    if getattr(type(agent), "interactive", False):
        raise SpecError(f"{spec!r} plays at a terminal, and {why}; use `rlkit play {spec} ...`")


def _cmd_bg_move(args: argparse.Namespace) -> int:
    from rlkit.bg import suggest_move

    if args.agent.split(":")[0] == "human":
        raise SpecError("'human' plays at a terminal; `rlkit bg move` asks an agent for a move")

    result = suggest_move(
        args.agent,
        args.position,
        args.dice,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
    )
    print(json.dumps(result) if args.json else f"{result['move']}\n{result['position_id']}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from rlkit.training import RunSettings, read_run_config, train

    if args.agent == "bc" or args.data is not None:
        return _cmd_train_bc(args)
    agent_params: dict[str, Any] = {}
    base: dict[str, Any] = {}
    cli = {
        "agent": args.agent,
        "env": args.env,
        "seed": args.seed,
        "steps": args.steps,
        "episodes": args.episodes,
        "minutes": args.minutes,
        "log_interval": args.log_interval,
        "checkpoint_interval": args.checkpoint_interval,
        "max_episode_steps": args.max_episode_steps,
    }
    if args.resume:
        run_dir = Path(args.resume)
        for option, value in (("--config", args.config), ("--out", args.out)):
            if value is not None:
                raise SpecError(
                    f"{option} cannot be combined with --resume: a resumed run keeps its folder "
                    "and its config.toml"
                )
        if not (run_dir / "config.toml").is_file():
            raise RlkitError(f"{run_dir} is not a run folder (no config.toml) to resume")
        settings, agent_params = read_run_config(run_dir / "config.toml")
        base = dict(settings.__dict__)
        # A resumed run keeps its agent, env, seed and episode limit; only the budget may grow.
        for key in ("agent", "env", "seed", "max_episode_steps"):
            if cli[key] is not None and cli[key] != base[key]:
                raise SpecError(
                    f"--resume keeps the run's {key} ({base[key]!r}); start a new run to change it"
                )
        if any(cli[k] is not None for k in ("steps", "episodes", "minutes")):
            base["steps"], base["episodes"] = cli["steps"], cli["episodes"]
            base["minutes"] = cli["minutes"]
            _check_budget_grows(run_dir, cli["steps"], cli["episodes"], cli["minutes"])
    elif args.config:
        settings, agent_params = read_run_config(Path(args.config))
        base = dict(settings.__dict__)
        if any(cli[k] is not None for k in ("steps", "episodes", "minutes")):
            base["steps"], base["episodes"], base["minutes"] = None, None, None
    merged = {**base, **{k: v for k, v in cli.items() if v is not None}}
    if not merged.get("agent"):
        raise SpecError("name an agent to train, e.g. `rlkit train q-learning --env cliff ...`")
    if not merged.get("env"):
        raise SpecError("name an environment with --env, e.g. --env FrozenLake-v1")
    settings = RunSettings(**merged)
    run_dir = Path(args.resume) if args.resume else args.out
    if run_dir is None:
        raise SpecError("give an output folder with --out DIR")
    try:
        train(
            settings,
            Path(run_dir),
            agent_params=agent_params,
            runtime=_runtime(args),
            resume=bool(args.resume),
            progress=not args.quiet,
            tensorboard=not args.no_tensorboard,
        )
    except KeyboardInterrupt:
        if (Path(run_dir) / "checkpoint.pt").is_file():
            print(
                f"\ninterrupted; saved {Path(run_dir) / 'checkpoint.pt'}; continue with "
                f"`rlkit train --resume {run_dir}`",
                file=sys.stderr,
            )
        else:
            print("\ninterrupted before the first checkpoint; nothing was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _check_budget_grows(
    run_dir: Path, steps: int | None, episodes: int | None, minutes: float | None = None
) -> None:
    """A resumed run's new budget must exceed what it has done (or the resume does nothing)."""
    from rlkit.checkpoint import load_checkpoint

    for name in ("checkpoint.pt", "final.pt"):
        if (run_dir / name).is_file():
            done = load_checkpoint(run_dir / name).metadata.get("training", {})
            if minutes is not None and 60 * minutes <= done.get("seconds", 0.0):
                raise SpecError(
                    f"{run_dir} has already trained {done['seconds'] / 60:.1f} minutes: "
                    f"--minutes {minutes:g} must be larger to continue it"
                )
            for key, budget in (("steps", steps), ("episodes", episodes)):
                if budget is not None and budget <= done.get(key, 0):
                    raise SpecError(
                        f"{run_dir} has already trained {done[key]:,} {key}: --{key} "
                        f"{budget:,} must be larger to continue it"
                    )


def _cmd_train_bc(args: argparse.Namespace) -> int:
    from rlkit.agents.bc import train_bc

    if args.agent not in (None, "bc"):
        raise SpecError("--data trains behaviour cloning: `rlkit train bc --data DIR --env GAME`")
    if args.data is None or args.env is None:
        raise SpecError("behaviour cloning needs --data DIR (game records) and --env GAME")
    out = Path(args.resume) if args.resume else args.out
    if out is None:
        raise SpecError("give an output folder with --out DIR")
    trainer = {
        key: value
        for key, value in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("optimizer", args.optimizer),
            ("schedule", args.schedule),
            ("early_stopping", args.early_stopping),
        )
        if value is not None
    }
    try:
        summary = train_bc(
            data=Path(args.data),
            env=args.env,
            net=args.net,
            out=out,
            trainer=trainer or None,
            value_weight=args.value_weight,
            augment=not args.no_augment,
            holdout=args.holdout,
            on_error="skip" if args.skip_bad_records else "stop",
            opening_moves=args.skip_opening,
            value_head=args.value_head,
            seed=args.seed or 0,
            device=args.device,
            threads=args.threads,
            progress=not args.quiet,
            resume=bool(args.resume),
        )
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with `rlkit train bc --resume {out} ...`", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(
        f"cloned {summary['positions']:,} positions of {summary['train_games']:,} games; "
        f"held out {summary['holdout_games']:,} games: move agreement "
        f"{summary['holdout_agreement']:.3f}, value MSE {summary['holdout_value_mse']:.3f}; "
        f"best epoch {summary['best_epoch']}; saved {out / 'final.pt'} (summary.json has it all)"
    )
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from rlkit.builder import build_agent, is_checkpoint_reference
    from rlkit.checkpoint import load_checkpoint
    from rlkit.evaluation import evaluate
    from rlkit.game import GameAgent
    from rlkit.registry import make_env

    env_spec = args.env
    if env_spec is None and is_checkpoint_reference(args.agent):  # the env it trained on
        from rlkit.specs import parse_spec

        metadata = load_checkpoint(parse_spec(args.agent).name).metadata
        if metadata.get("kind") == "game_agent":
            raise SpecError(
                f"{args.agent!r} is a game agent: measure it with `rlkit play {args.agent} "
                f"OPPONENT --env {metadata.get('env', 'GAME')}`"
            )
        env_spec = metadata.get("env")
    if not env_spec:
        raise SpecError(f"name the environment to evaluate {args.agent!r} in with --env ENV")
    env = make_env(env_spec, max_episode_steps=args.max_episode_steps)
    agent = build_agent(args.agent, env=env, seed=args.seed, runtime=_runtime(args))
    if isinstance(agent, GameAgent):
        raise SpecError(
            f"{args.agent!r} is a game agent: measure it with `rlkit play {args.agent} "
            f"OPPONENT --env {env_spec}`"
        )
    result = evaluate(
        agent,
        env,
        args.episodes,
        seed=args.seed,
        explore=args.explore,
        progress=not args.quiet and not args.json,
    )
    if args.json:
        print(json.dumps({"agent": args.agent, "env": env_spec, **result.as_dict()}))
        return 0
    line = (
        f"{args.agent} on {env_spec}: mean return {result.mean_return:.4g} "
        f"± {result.ci95:.3g} (95% CI) over {result.episodes} episodes, "
        f"mean length {result.mean_length:.1f}"
    )
    if result.success_rate is not None:
        line += f", success rate {result.success_rate:.3f}"
    print(line)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the README's promise), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"rlkit: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = _Parser(
        prog="rlkit",
        description="Train, evaluate and pit agents against each other.",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"rlkit {_version()}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    p = sub.add_parser("list", help="list environments, games and agents", formatter_class=fmt)
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser(
        "train",
        help="train an agent; writes config, metrics and checkpoints",
        description="Train AGENT (a spec such as q-learning:alpha=0.1) on --env; "
        "`rlkit train bc --data DIR --env GAME` clones game records.",
        formatter_class=fmt,
    )
    p.add_argument("agent", nargs="?", help="agent spec, e.g. 'q-learning:alpha=0.1'")
    p.add_argument("--env", help="environment or game spec, e.g. 'FrozenLake-v1:is_slippery=false'")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=positive_int, help="environment steps to train")
    budget.add_argument("--episodes", type=positive_int, help="episodes to train")
    budget.add_argument(
        "--minutes", type=positive_float, help="wall-clock minutes to train (summed over resumes)"
    )
    p.add_argument("--seed", type=seed_type, help="random seed (default 0)")
    p.add_argument("--config", help="TOML file with run settings and an [agent_config] table")
    p.add_argument("--out", type=Path, help="run folder to create")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    p.add_argument(
        "--max-episode-steps", type=positive_int, help="cut episodes at N steps (TimeLimit)"
    )
    add_runtime_options(p)
    p.add_argument("--log-interval", type=positive_int, help="steps between metric rows")
    p.add_argument(
        "--checkpoint-interval", type=positive_int, help="steps between periodic checkpoints"
    )
    bc = p.add_argument_group("behaviour cloning (rlkit train bc --data DIR --env GAME)")
    bc.add_argument("--data", help="folder of game records (rlkit play --record) or shards")
    bc.add_argument("--net", help="network spec, e.g. resnet:blocks=4,channels=64 (per game)")
    bc.add_argument("--epochs", type=positive_int, help="training epochs (trainer default 20)")
    bc.add_argument("--batch-size", type=positive_int, help="minibatch size (trainer default 256)")
    bc.add_argument(
        "--optimizer", help="optimizer spec, e.g. adam:lr=1e-3 or sgd:lr=0.1,momentum=0.9"
    )
    bc.add_argument(
        "--schedule", help="learning-rate schedule, e.g. cosine or step:every=5,gamma=0.5"
    )
    bc.add_argument(
        "--early-stopping", type=positive_int, metavar="EPOCHS", help="patience on validation loss"
    )
    bc.add_argument(
        "--value-weight", type=finite_float, default=0.25, help="weight of the value loss"
    )
    bc.add_argument(
        "--value-head", choices=["scalar", "wdl"], default="scalar", help="value head kind"
    )
    bc.add_argument("--no-augment", action="store_true", help="no board-symmetry augmentation")
    bc.add_argument("--holdout", type=finite_float, default=0.1, help="fraction of games held out")
    bc.add_argument(
        "--skip-bad-records", action="store_true", help="warn about bad records and go on"
    )
    bc.add_argument(
        "--skip-opening",
        type=non_negative_int,
        metavar="K",
        help="leave out each game's first K moves (default: the 'opening:' line of each record)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard events")
    p.set_defaults(run=_cmd_train)

    p = sub.add_parser(
        "play",
        help="play two agents against each other on a game",
        description="Play A against B, alternating colours; results for A. An agent is a spec "
        "(`rlkit list`), a checkpoint or run folder (with overrides: runs/x:temperature=0.5), "
        "'gtp:COMMAND' or 'human'.",
        formatter_class=fmt,
    )
    p.add_argument("a", help="first agent: spec or checkpoint")
    p.add_argument("b", help="second agent: spec or checkpoint")
    p.add_argument("--env", required=True, help="game spec, e.g. tictactoe, connect4, go:size=9")
    p.add_argument("--games", type=positive_int, default=10, help="games to play")
    p.add_argument("--seed", type=seed_type, default=0, help="seed of agents, dice and openings")
    p.add_argument(
        "--swap",
        action="store_true",
        help="play games in pairs with the same chance seed and colours swapped",
    )
    p.add_argument(
        "--opening-moves",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="start each pair of games with K random moves (shared by both colourings)",
    )
    p.add_argument("--record", type=Path, metavar="DIR", help="write each game's record here")
    p.add_argument("--watch", action="store_true", help="print every move and the position")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_runtime_options(p)
    p.set_defaults(run=_cmd_play)

    p = sub.add_parser(
        "gtp",
        help="play Go as a GTP engine on stdin/stdout (GoGui, Sabaki, GNU Go)",
        description="Answer GTP commands on stdin/stdout with AGENT choosing the moves.",
        formatter_class=fmt,
    )
    p.add_argument("--agent", default="random", help="agent spec or checkpoint")
    p.add_argument("--size", type=positive_int, default=9, help="board size (5-19)")
    p.add_argument("--komi", type=finite_float, default=7.5, help="komi")
    p.add_argument("--seed", type=seed_type, default=0, help="agent seed")
    add_runtime_options(p)
    p.set_defaults(run=_cmd_gtp)

    p = sub.add_parser("bg", help="backgammon tools for gnubg positions", formatter_class=fmt)
    bg = p.add_subparsers(
        dest="bg_command", required=True, metavar="BG_COMMAND", parser_class=_Parser
    )
    p = bg.add_parser(
        "move",
        help="the move an agent plays in a gnubg position",
        description="Print the agent's move and the Position ID after it "
        "(opponent on roll, as gnubg shows it).",
        formatter_class=fmt,
    )
    p.add_argument(
        "--agent",
        required=True,
        help="agent spec or checkpoint: pubeval, td-gammon, runs/bg/final.pt",
    )
    p.add_argument(
        "--position",
        required=True,
        help="gnubg Position ID, the player on roll to move, e.g. 4HPwATDgc/ABMA",
    )
    p.add_argument("--dice", required=True, help="the roll, e.g. 31 or 3-1")
    p.add_argument("--seed", type=seed_type, default=0, help="agent seed")
    p.add_argument("--json", action="store_true", help="print {move, position_id} as JSON")
    add_runtime_options(p)
    p.set_defaults(run=_cmd_bg_move)

    p = sub.add_parser("eval", help="evaluate an agent spec or a checkpoint", formatter_class=fmt)
    p.add_argument("agent", help="agent spec, checkpoint file, or run folder")
    p.add_argument("--env", help="environment spec (default: the checkpoint's)")
    p.add_argument("--episodes", type=positive_int, default=100, help="episodes to play")
    p.add_argument("--seed", type=seed_type, default=0, help="seed of the environment and agent")
    p.add_argument(
        "--max-episode-steps", type=positive_int, help="cut episodes at N steps (TimeLimit)"
    )
    p.add_argument(
        "--explore",
        action="store_true",
        help="act as in training (e.g. epsilon-greedy) instead of greedily",
    )
    add_runtime_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_eval)

    # Commands that live in their own modules: each module has ``add_parser(subparsers)``
    # and imports its heavy dependencies only inside the command it registers.
    import importlib

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rlkit")
    except PackageNotFoundError:
        return "0.0.0"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rlkit`` command; returns the exit status.

    Every user mistake ends with one line on stderr and status 2; Ctrl-C and SIGTERM end with
    status 130 after saving what can be saved; a reader that closes the pipe early (``| head``,
    a GTP controller) ends the command quietly.
    """
    previous = _sigterm_as_interrupt()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.run(args)
    except RlkitError as exc:
        print(f"rlkit: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemError as exc:  # a compiled kernel interrupted by Ctrl-C reports it this way
        if caused_by_interrupt(exc):
            print("\ninterrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        raise
    except BrokenPipeError:
        # The reader went away: send the rest of our output nowhere and stop without a word.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__


def _sigterm_as_interrupt() -> Any:
    """Treat SIGTERM (what cluster schedulers and `kill` send) like Ctrl-C."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not in the main thread
        return None


if __name__ == "__main__":
    sys.exit(main())
