"""The ``rlkit`` command line: list, train, eval, play, gtp, bg move.

Every user mistake (unknown name, bad parameter, missing or corrupt checkpoint) ends with one
line on stderr and exit status 2; Ctrl-C during training saves a checkpoint and exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rlkit.errors import RlkitError, SpecError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
COMMAND_MODULES: tuple[str, ...] = ()
"""Modules that register a subcommand with ``add_parser(subparsers)`` (see build_parser)."""
THREADS_HELP = "torch CPU threads (default 1: faster for the small networks rlkit trains)"


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


def _cmd_play(args: argparse.Namespace) -> int:
    from rlkit.match import play_match
    from rlkit.registry import make_game

    game = make_game(args.env)
    result = play_match(
        game,
        args.a,
        args.b,
        args.games,
        seed=args.seed,
        swap=args.swap,
        record_dir=args.record,
        progress=not args.quiet and not args.json,
    )
    summary = result.summary()
    if args.json:
        print(json.dumps({"env": args.env, **summary}))
        return 0
    print(
        f"{args.a} vs {args.b} on {args.env}: {summary['games']} games, "
        f"{summary['wins']} wins, {summary['draws']} draws, {summary['losses']} losses for "
        f"{args.a}; {summary['points_per_game']:+.3f} ± {summary['ci95']:.3f} points per game "
        "(95% CI)"
    )
    if summary["truncated"]:
        print(f"{summary['truncated']} games reached the maximum length and count as draws")
    return 0


def _cmd_gtp(args: argparse.Namespace) -> int:
    from rlkit.gtp import serve

    return serve(args.agent, args.size, args.komi, args.seed, sys.stdin, sys.stdout)


def _cmd_bg_move(args: argparse.Namespace) -> int:
    from rlkit.bg import suggest_move

    result = suggest_move(args.agent, args.position, args.dice, seed=args.seed)
    print(json.dumps(result) if args.json else f"{result['move']}\n{result['position_id']}")
    return 0


def _with_device(spec: str, device: str | None) -> str:
    """Append ``device=...`` to an agent spec when ``--device`` was given."""
    if device is None:
        return spec
    from rlkit.specs import parse_spec

    parsed = parse_spec(spec)
    return str(replace(parsed, params={**parsed.params, "device": device}))


def _cmd_train(args: argparse.Namespace) -> int:
    from rlkit.training import RunSettings, read_run_config, train

    agent_params: dict[str, Any] = {}
    base: dict[str, Any] = {}
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.toml").exists():
            raise RlkitError(f"{run_dir} is not a run folder (no config.toml) to resume")
        settings, agent_params = read_run_config(run_dir / "config.toml")
        base = dict(settings.__dict__)
    elif args.config:
        settings, agent_params = read_run_config(Path(args.config))
        base = dict(settings.__dict__)
    cli = {
        "agent": args.agent,
        "env": args.env,
        "seed": args.seed,
        "steps": args.steps,
        "episodes": args.episodes,
        "log_interval": args.log_interval,
        "checkpoint_interval": args.checkpoint_interval,
    }
    if args.resume:
        # A resumed run keeps its agent, env and seed; only the budget may grow.
        for key in ("agent", "env", "seed"):
            if cli[key] is not None and cli[key] != base[key]:
                raise SpecError(
                    f"--resume keeps the run's {key} ({base[key]!r}); start a new run to change it"
                )
        if cli["steps"] is not None or cli["episodes"] is not None:
            base["steps"], base["episodes"] = cli["steps"], cli["episodes"]
    merged = {**base, **{k: v for k, v in cli.items() if v is not None}}
    if not merged.get("agent"):
        raise SpecError("name an agent to train, e.g. `rlkit train q-learning --env cliff ...`")
    if not merged.get("env"):
        raise SpecError("name an environment with --env, e.g. --env FrozenLake-v1")
    merged["agent"] = _with_device(merged["agent"], args.device)
    settings = RunSettings(**merged)
    run_dir = Path(args.resume) if args.resume else args.out
    if run_dir is None:
        raise SpecError("give an output folder with --out DIR")
    try:
        train(
            settings,
            Path(run_dir),
            agent_params=agent_params,
            torch_threads=args.threads,
            resume=bool(args.resume),
            progress=not args.quiet,
            tensorboard=not args.no_tensorboard,
        )
    except KeyboardInterrupt as exc:
        print(
            f"\n{exc or 'interrupted'}; continue with `rlkit train --resume {run_dir}`",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from rlkit.checkpoint import load_checkpoint
    from rlkit.evaluation import evaluate
    from rlkit.game import GameAgent
    from rlkit.registry import is_checkpoint_reference, make_agent, make_env
    from rlkit.training import agent_from_checkpoint, set_torch_threads

    env_spec = args.env
    if is_checkpoint_reference(args.agent):
        checkpoint = load_checkpoint(args.agent)
        env_spec = env_spec or checkpoint.metadata.get("env")
        if not env_spec:
            raise SpecError("name the environment with --env")
        overrides = {"device": args.device} if args.device else None
        agent = agent_from_checkpoint(
            checkpoint, where=f"checkpoint {args.agent!r}", overrides=overrides
        )
        if isinstance(agent, GameAgent):
            raise SpecError(
                f"{args.agent!r} is a game agent: measure it with `rlkit play {args.agent} "
                f"OPPONENT --env {env_spec}`"
            )
        env = make_env(env_spec)
        for kind in ("observation_space", "action_space"):
            if getattr(env, kind) != getattr(agent, kind):
                raise SpecError(
                    f"the agent was trained with {kind} {getattr(agent, kind)}, "
                    f"but {env_spec!r} has {getattr(env, kind)}"
                )
    else:
        if not env_spec:
            raise SpecError("name the environment with --env")
        env = make_env(env_spec)
        agent = make_agent(
            _with_device(args.agent, args.device),
            env.observation_space,
            env.action_space,
            seed=args.seed,
        )
    set_torch_threads(args.threads)
    result = evaluate(agent, env, args.episodes, seed=args.seed, explore=args.explore)
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlkit", description="Train, evaluate and pit agents against each other."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list environments and agents")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser(
        "train",
        help="train an agent; writes config, metrics and checkpoints",
        description="Train AGENT (a spec such as q-learning:alpha=0.1) on --env.",
    )
    p.add_argument("agent", nargs="?", help="agent spec, e.g. 'q-learning:alpha=0.1'")
    p.add_argument("--env", help="environment spec, e.g. 'FrozenLake-v1:is_slippery=false'")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=_positive_int, help="environment steps to train")
    budget.add_argument("--episodes", type=_positive_int, help="episodes to train")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--config", help="TOML file with run settings and an [agent_config] table")
    p.add_argument("--out", type=Path, help="run folder to create")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="torch device for networks")
    p.add_argument("--threads", type=_positive_int, default=1, help=THREADS_HELP)
    p.add_argument("--log-interval", type=_positive_int, help="steps between metric rows")
    p.add_argument(
        "--checkpoint-interval", type=_positive_int, help="steps between periodic checkpoints"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard events")
    p.set_defaults(run=_cmd_train)

    p = sub.add_parser(
        "play",
        help="play two agents against each other on a game",
        description="Play A against B, alternating colours; results for A.",
    )
    p.add_argument("a", help="first agent: spec or checkpoint")
    p.add_argument("b", help="second agent: spec or checkpoint")
    p.add_argument("--env", required=True, help="game spec, e.g. tictactoe, connect4")
    p.add_argument("--games", type=_positive_int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--swap",
        action="store_true",
        help="play games in pairs with the same chance seed and colours swapped",
    )
    p.add_argument("--record", type=Path, metavar="DIR", help="write each game's record here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_play)

    p = sub.add_parser(
        "gtp",
        help="play Go as a GTP engine on stdin/stdout (GoGui, Sabaki, GNU Go)",
        description="Answer GTP commands on stdin/stdout with AGENT choosing the moves.",
    )
    p.add_argument("--agent", default="random", help="agent spec or checkpoint (default random)")
    p.add_argument("--size", type=_positive_int, default=9, help="board size (5-19)")
    p.add_argument("--komi", type=float, default=7.5)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_cmd_gtp)

    p = sub.add_parser("bg", help="backgammon tools for gnubg positions")
    bg = p.add_subparsers(dest="bg_command", required=True, metavar="BG_COMMAND")
    p = bg.add_parser(
        "move",
        help="the move an agent plays in a gnubg position",
        description="Print the agent's move and the Position ID after it "
        "(opponent on roll, as gnubg shows it).",
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
    p.add_argument("--seed", type=int, default=0, help="agent seed")
    p.add_argument("--json", action="store_true", help="print {move, position_id} as JSON")
    p.set_defaults(run=_cmd_bg_move)

    p = sub.add_parser("eval", help="evaluate an agent spec or a checkpoint")
    p.add_argument("agent", help="agent spec, checkpoint file, or run folder")
    p.add_argument("--env", help="environment spec (default: the checkpoint's)")
    p.add_argument("--episodes", type=_positive_int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--explore",
        action="store_true",
        help="act as in training (e.g. epsilon-greedy) instead of greedily",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=_positive_int, default=1, help=THREADS_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_eval)

    # Commands that live in their own modules: each module has ``add_parser(subparsers)``
    # and imports its heavy dependencies only inside the command it registers.
    import importlib

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rlkit`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except RlkitError as exc:
        print(f"rlkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
