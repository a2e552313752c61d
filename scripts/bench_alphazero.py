"""AlphaZero benchmarks, one section per part of the pipeline.

Section ``tree``: simulations per second of :class:`rlkit.agents.puct.PuctSearch` with a free
evaluator (precomputed uniform priors and zero values, so only the tree and the rules cost
time), searching from the initial position of connect four, 7x7 and 9x9 Go,

- (a) one tree (single-game play), and one tree gathering 8 leaves per evaluator call with
  virtual loss,
- (b) 64 trees stepped in lockstep (self-play: one evaluator call per step for all games),
- (c) OpenSpiel's Python ``MCTSBot`` with PUCT child selection and an evaluator that returns
  zero values and uniform priors, on pyspiel's game of the same rules,

and the ratios ours / OpenSpiel. Each figure is the best of ``--repeats`` rounds; the rounds
interleave the searches, so load from other processes hits all of them alike. For steadier
numbers pin the process to one core (``taskset -c 0``)::

    python scripts/bench_alphazero.py tree [--simulations 200] [--trees 64] [--repeats 3]
        [--games connect4,go7,go9] [--leaves-per-tree 1] [--root puct]

Section ``selfplay``: self-play positions (moves) per second of the AlphaZero pipeline with
the game's default network (:data:`rlkit.agents.alphazero.DEFAULT_NETS`) and simulations,
on connect four, 7x7 and 9x9 Go:

- batched: ``--trees`` games in lockstep, one forward pass per step for all their leaves
  (what ``rlkit train alphazero`` runs);
- batch 1: one game, one leaf per forward pass (the same search and network);
- the network-only bound: the forward pass alone at the batch size used, in positions per
  second divided by the simulations per move (what self-play would reach if the tree, the
  rules and the encoding cost nothing); the batched figure's share of it says whether the
  tree is the bottleneck.
- OpenSpiel's Python AlphaZero, unbatched, manages about 2 positions/s on 9x9 on this machine
  (measured when the issue was written): our 9x9 figure is printed beside it::

    python scripts/bench_alphazero.py selfplay [--games connect4,go7,go9] [--seconds 20]
        [--trees 64] [--simulations 100] [--device auto] [--autocast auto]

New sections add a ``run_*`` function and a subparser in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable

import numpy as np

from rlkit.agents.puct import PuctConfig, PuctSearch
from rlkit.registry import make_game
from rlkit.search import Evaluator

GAMES = {
    # short name: (rlkit game spec, pyspiel game string)
    "connect4": ("connect4", "connect_four"),
    "go7": ("go:size=7,komi=9", "go(board_size=7,komi=9.0)"),
    "go9": ("go:size=9,komi=7.5", "go(board_size=9,komi=7.5)"),
}


# -- section "tree" -----------------------------------------------------------------------------
class FreeEvaluator(Evaluator):
    """Uniform priors over all actions and zero values from precomputed arrays: an evaluator
    that costs nothing, so a benchmark measures the search alone (the search renormalises the
    priors over the legal actions)."""

    def __init__(self, game, batch: int = 4096) -> None:
        self.game = game
        actions, players = game.info.num_actions, game.info.num_players
        self._priors = np.full((batch, actions), 1.0 / actions, dtype=np.float32)
        self._values = np.zeros((batch, players), dtype=np.float32)

    def prior_and_value(self, states):
        batch = len(states)
        return self._priors[:batch], self._values[:batch]


def puct_search(
    spec: str, trees: int, simulations: int, leaves: int, root: str, seed: int
) -> Callable[[], int]:
    """A callable that runs one search in ``trees`` fresh trees from the initial position and
    returns the number of simulations it ran."""
    game = make_game(spec)
    config = PuctConfig(simulations=simulations, leaves_per_tree=leaves, root=root)
    search = PuctSearch(game, FreeEvaluator(game), config, trees, np.random.default_rng(seed))
    state = game.initial_state()

    def run() -> int:
        for tree in range(trees):
            search.set_root(tree, state)
        search.search(range(trees), noise=True)
        return trees * simulations

    return run


def openspiel_search(name: str, simulations: int, c: float, seed: int) -> Callable[[], int]:
    """OpenSpiel's Python MCTSBot with PUCT selection and a zero-value uniform-prior
    evaluator: one search of ``simulations`` from the initial state."""
    import pyspiel
    from open_spiel.python.algorithms import mcts

    class ZeroUniform(mcts.Evaluator):
        def evaluate(self, state):
            return np.zeros(state.num_players())

        def prior(self, state):
            legal = state.legal_actions()
            return [(action, 1.0 / len(legal)) for action in legal]

    game = pyspiel.load_game(name)
    bot = mcts.MCTSBot(
        game,
        c,
        simulations,
        ZeroUniform(),
        solve=False,
        random_state=np.random.RandomState(seed),
        child_selection_fn=mcts.SearchNode.puct_value,
    )
    state = game.new_initial_state()

    def run() -> int:
        bot.mcts_search(state)
        return simulations

    return run


def best_rates(
    searches: dict[str, Callable[[], int]], repeats: int
) -> dict[str, tuple[float, float]]:
    """Best simulations/second of each search over ``repeats`` interleaved rounds, by wall
    clock and by this process's CPU time (steadier on a machine shared with other work)."""
    best = {label: (0.0, 0.0) for label in searches}
    for _ in range(repeats):
        for label, search in searches.items():
            wall, cpu = time.perf_counter(), time.process_time()
            done = search()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[label] = (max(best[label][0], done / wall), max(best[label][1], done / cpu))
    return best


def run_tree(args: argparse.Namespace) -> None:
    have_openspiel = importlib.util.find_spec("pyspiel") is not None
    print(
        f"tree: {args.simulations} simulations per search from the initial position, free "
        f"evaluator, root={args.root}, leaves_per_tree={args.leaves_per_tree}, "
        f"best of {args.repeats}"
    )
    for short in args.games.split(","):
        spec, openspiel_name = GAMES[short]
        searches = {
            "PuctSearch, 1 tree": puct_search(
                spec, 1, args.simulations, args.leaves_per_tree, args.root, args.seed
            ),
            "PuctSearch, 1 tree, 8 leaves": puct_search(
                spec, 1, args.simulations, 8, args.root, args.seed
            ),
            f"PuctSearch, {args.trees} trees": puct_search(
                spec, args.trees, args.simulations, args.leaves_per_tree, args.root, args.seed
            ),
        }
        for search in searches.values():  # compile and warm up outside the timing
            search()
        if have_openspiel:
            searches["OpenSpiel MCTSBot (Python)"] = openspiel_search(
                openspiel_name, args.simulations, PuctConfig().c_init, args.seed
            )
        rates = best_rates(searches, args.repeats)
        print(f"{short} ({spec}):")
        reference = rates.get("OpenSpiel MCTSBot (Python)")
        for label, (wall, cpu) in rates.items():
            ratio = ""
            if reference and label.startswith("PuctSearch"):
                ratio = (
                    f"   ours / OpenSpiel = {wall / reference[0]:.1f} ({cpu / reference[1]:.1f})"
                )
            print(f"  {label:<28}{wall:>10,.0f} sims/s ({cpu:>9,.0f} per CPU s){ratio}")
        if not have_openspiel:
            print("  OpenSpiel not installed (the 'bench' extra): skipped")


# -- section "selfplay" -------------------------------------------------------------------------
def selfplay_rate(
    game, evaluator, trees: int, simulations: int, seconds: float, seed: int
) -> tuple[float, float]:
    """Moves per second (and evaluated positions per second) of ``trees`` self-play games in
    lockstep for about ``seconds``: search every game, play its most visited move (tree
    reused), start a new game where one ended."""
    search = PuctSearch(
        game, evaluator, PuctConfig(simulations=simulations), trees, np.random.default_rng(seed)
    )
    for tree in range(trees):
        search.set_root(tree, game.initial_state())
    order = list(range(trees))
    search.search(order, noise=True)  # compile and warm up
    moves, evaluated_before = 0, evaluator.positions
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        result = search.search(order, noise=True)
        for row, tree in enumerate(order):
            search.advance(tree, int(result.action[row]))
            if game.is_terminal(search.root_state(tree)):
                search.set_root(tree, game.initial_state())
        moves += trees
    elapsed = time.perf_counter() - began
    return moves / elapsed, (evaluator.positions - evaluated_before) / elapsed


def network_rate(batched, game, batch: int, seconds: float) -> float:
    """Positions per second of the forward pass alone at ``batch`` (random boards)."""
    rng = np.random.default_rng(0)
    x = (rng.random((batch, *game.info.observation_shape)) < 0.3).astype(np.float32)
    legal = np.ones((batch, game.info.num_actions), bool)
    batched.evaluate(x, legal)
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        batched.evaluate(x, legal)
        done += batch
    return done / (time.perf_counter() - began)


def run_selfplay(args: argparse.Namespace) -> None:
    import torch

    from rlkit.agents.alphazero import DEFAULT_NETS, NetworkEvaluator
    from rlkit.nn import BatchedEvaluator, make_network

    torch.set_num_threads(args.threads)
    autocast = {"auto": "auto", "on": True, "off": False}[args.autocast]
    print(
        f"selfplay: {args.simulations} simulations per move, {args.trees} games in lockstep, "
        f"device={args.device}, autocast={args.autocast}, threads={args.threads}, "
        f"~{args.seconds:g} s per figure"
    )
    for short in args.games.split(","):
        spec = GAMES[short][0]
        game = make_game(spec)
        net_spec = DEFAULT_NETS[game.info.name]
        net = make_network(
            net_spec,
            game.info.observation_shape,
            game.info.num_actions,
            generator=torch.Generator().manual_seed(0),
        )
        batched = BatchedEvaluator(
            net, device=args.device, autocast=autocast, channels_last=net.is_conv
        )
        many, many_evals = selfplay_rate(
            game, NetworkEvaluator(game, batched), args.trees, args.simulations, args.seconds, 0
        )
        one, _ = selfplay_rate(
            game, NetworkEvaluator(game, batched), 1, args.simulations, args.seconds, 0
        )
        bound = network_rate(batched, game, args.trees, args.seconds / 2)
        print(f"{short} ({spec}, {net_spec}, {batched.device}):")
        print(f"  batched ({args.trees} games)   {many:>9,.1f} positions/s "
              f"({many_evals:,.0f} network evaluations/s)")  # fmt: skip
        print(f"  batch 1                 {one:>9,.1f} positions/s   batched / batch 1 = "
              f"{many / one:.1f}x")  # fmt: skip
        print(f"  network-only bound      {bound / args.simulations:>9,.1f} positions/s "
              f"(forward pass alone: {bound:,.0f} positions/s at batch {args.trees}); "
              f"batched reaches {many * args.simulations / bound:.0%} of it")  # fmt: skip
        if short == "go9":
            print("  OpenSpiel Python AlphaZero, unbatched, 9x9: ~2 positions/s (issue #8)")


# -- command line -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sections = parser.add_subparsers(dest="section", required=True)
    tree = sections.add_parser("tree", help="search speed with a free evaluator")
    tree.add_argument("--games", default="connect4,go7,go9", help="from " + ",".join(GAMES))
    tree.add_argument("--simulations", type=int, default=200)
    tree.add_argument("--trees", type=int, default=64)
    tree.add_argument("--leaves-per-tree", type=int, default=1)
    tree.add_argument("--root", choices=["puct", "gumbel"], default="puct")
    tree.add_argument("--repeats", type=int, default=3)
    tree.add_argument("--seed", type=int, default=0)
    tree.set_defaults(run=run_tree)
    selfplay = sections.add_parser("selfplay", help="self-play positions per second")
    selfplay.add_argument("--games", default="connect4,go7,go9", help="from " + ",".join(GAMES))
    selfplay.add_argument("--simulations", type=int, default=100)
    selfplay.add_argument("--trees", type=int, default=64)
    selfplay.add_argument("--seconds", type=float, default=20.0)
    selfplay.add_argument("--device", default="auto")
    selfplay.add_argument("--autocast", choices=["auto", "on", "off"], default="auto")
    selfplay.add_argument("--threads", type=int, default=1)
    selfplay.set_defaults(run=run_selfplay)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
