"""The Ray backend gives the local backend's results, in a network namespace of its own.

Ray cannot be held to loopback by its flags (it rewrites 127.0.0.1 to the host's address and
its gcs_server and raylet listen on every interface; issue #9), so this test starts Ray only
inside a new network namespace whose one interface is loopback: ``unshare --net`` as root,
then ``ip link set lo up``. Where such a namespace cannot be made, the test is skipped.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from rlkit.tournament import plan_tournament, play_job

AGENTS = ["random", "minimax:depth=1", "mcts:simulations=20"]
COLUMNS = ("pairing", "game", "a", "b", "score", "first", "points_a", "points_b", "moves")


def _namespace_or_skip() -> None:
    pytest.importorskip("ray")
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root (unshare --net)")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip (iproute2) is not installed")
    probe = subprocess.run(
        ["unshare", "--net", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=30
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot make a loopback-only namespace: {probe.stderr.decode().strip()}")


def test_ray_backend_in_a_loopback_namespace_matches_local(tmp_path):
    _namespace_or_skip()
    script = tmp_path / "ray_tournament.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json
            import ray
            from rlkit.tournament import plan_tournament, run_tournament

            plan = plan_tournament({AGENTS!r}, "tictactoe", games=4, seed=9)
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            try:
                outcome = run_tournament(plan, {str(tmp_path / "t")!r}, backend="ray", workers=2)
            finally:
                ray.shutdown()
            print(json.dumps([[row[c] for c in {COLUMNS!r}] for row in outcome.rows]))
            """
        )
    )
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", f"ip link set lo up && {sys.executable} {script}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ray_rows = json.loads(result.stdout.strip().splitlines()[-1])
    plan = plan_tournament(AGENTS, "tictactoe", games=4, seed=9)
    local_rows = [
        [row[c] for c in COLUMNS] for row in (play_job(plan, job) for job in sorted(plan.jobs()))
    ]
    assert len(ray_rows) == plan.total_games == 12
    assert ray_rows == local_rows
