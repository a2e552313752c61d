"""Benchmark ``rlkit tournament``: worker scaling, and Ray's overhead against local processes.

1. Scaling: a fixed connect-four round robin, played with ``--workers 1`` (in the calling
   process) and ``--workers 2`` (two worker processes); prints both wall times and the speed-up
   (issue #9 asks for at least 1.8x on a 2-core machine), and checks the two runs stored the
   same games.
2. Ray: games of about a second each (two 1,000-simulation MCTS agents on connect four),
   played by two local worker processes and by two Ray actors. Ray is started only inside a
   network namespace whose one interface is loopback (``unshare --net``, as root; Ray cannot
   be held to loopback by its own flags), so this part re-runs this script there.
   ``--skip-ray`` leaves it out.

Wall times include starting the workers (process spawn, or Ray actors) but not ``ray.init``.
Results are only meaningful on an otherwise idle machine: the numbers printed say what the
machine was doing (the load average) so that a reader can judge.

    python scripts/bench_tournament.py                 # both parts, a few minutes
    python scripts/bench_tournament.py --games 4 --skip-ray
    python scripts/bench_tournament.py --skip-scaling --ray-games 8
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rlkit.tournament import TournamentPlan, plan_tournament, run_tournament

SCALING_AGENTS = ["random", "minimax:depth=4", "mcts:simulations=200", "mcts:simulations=1000"]
RAY_AGENTS = ["mcts:simulations=1000", "mcts:simulations=1001"]
SAME = ("pairing", "game", "score", "first", "moves")


def timed_run(plan: TournamentPlan, **kwargs) -> tuple[float, float, list[tuple]]:
    """Play ``plan`` in a fresh folder; return wall seconds, summed game seconds, and rows."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        outcome = run_tournament(plan, Path(folder) / "t", **kwargs)
        wall = time.perf_counter() - start
    rows = [tuple(row[c] for c in SAME) for row in outcome.rows]
    return wall, sum(row["seconds"] for row in outcome.rows), rows


def scaling(games: int) -> None:
    plan = plan_tournament(SCALING_AGENTS, "connect4", games=games, seed=0)
    print(f"scaling: connect4 round robin of {SCALING_AGENTS}, {plan.total_games} games")
    print(f"  load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    one, one_play, rows_one = timed_run(plan, workers=1)
    print(f"  --workers 1: {one:7.2f} s wall ({one_play:.2f} s of play)")
    two, two_play, rows_two = timed_run(plan, workers=2)
    print(f"  --workers 2: {two:7.2f} s wall ({two_play:.2f} s of play)")
    print(f"  speed-up {one / two:.2f}x; same games: {rows_one == rows_two}")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


def ray_overhead(games: int) -> None:
    """Run inside the namespace: local processes, then Ray, on the same plan."""
    import ray

    plan = plan_tournament(RAY_AGENTS, "connect4", games=games, seed=0)
    print(f"ray: {plan.total_games} games of {RAY_AGENTS[0]} against {RAY_AGENTS[1]}, 2 workers")
    local, local_play, rows_local = timed_run(plan, workers=2)
    print(f"  local processes: {local:7.2f} s wall, {local_play / plan.total_games:.2f} s per game")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote, remote_play, rows_ray = timed_run(plan, workers=2, backend="ray")
    finally:
        ray.shutdown()
    print(
        f"  ray actors:      {remote:7.2f} s wall, {remote_play / plan.total_games:.2f} s per game"
    )
    print(f"  ray / local wall time: {remote / local:.3f}; same games: {rows_ray == rows_local}")
    print(
        "  overhead over the play itself (wall x 2 workers / summed game time - 1): "
        f"local {2 * local / local_play - 1:+.1%}, ray {2 * remote / remote_play - 1:+.1%}"
    )
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=6, help="games per pairing for scaling")
    parser.add_argument("--ray-games", type=int, default=16, help="~1 s games for the Ray part")
    parser.add_argument("--skip-ray", action="store_true", help="leave out the Ray part")
    parser.add_argument("--skip-scaling", action="store_true", help="leave out the scaling part")
    parser.add_argument("--ray-inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ray_inside:
        ray_overhead(args.ray_games)
        return
    if not args.skip_scaling:
        scaling(args.games)
    if args.skip_ray:
        return
    command = (
        f"ip link set lo up && {sys.executable} {Path(__file__).resolve()} --ray-inside "
        f"--ray-games {args.ray_games}"
    )
    result = subprocess.run(["unshare", "--net", "sh", "-c", command], text=True)
    if result.returncode != 0:
        print(json.dumps({"ray_part": "failed or skipped (needs root, unshare and ip)"}))


if __name__ == "__main__":
    main()
