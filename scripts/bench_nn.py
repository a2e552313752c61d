"""Speed of the AlphaZero-style tower: inference through the batched evaluator, and training.

Prints positions per second of :class:`rlkit.nn.BatchedEvaluator` (the path AlphaZero's search
and network matches take: copy in, forward pass under inference mode, masked softmax) for a
``resnet:blocks=4,channels=64`` tower on 7x7 Go, 9x9 Go and connect four observations, at
batch sizes 1 to 1024, in fp32 and bf16 autocast, on 1 and 2 CPU threads, and on CUDA when a
GPU is visible; then training samples per second through :func:`rlkit.supervised.fit`. Last,
the ratios bf16/fp32 (batch >= 128) and batch 256 / batch 1.

    python scripts/bench_nn.py [--net resnet:blocks=4,channels=64] [--batches 1,8,32,128,256,1024]
                               [--threads 1,2] [--min-time 0.5] [--train-samples 4096]

Each figure is the mean rate of calls timed over at least ``--min-time`` seconds (and three
calls), after two warm-up calls (oneDNN builds its bf16 kernels on the first call). On a shared
machine the numbers move with the load, and two threads collapse when another process holds a
core (OpenMP threads wait for each other): run it when nothing else is.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from rlkit.nn import BatchedEvaluator, cpu_supports_bf16, make_network
from rlkit.supervised import TrainerConfig, fit, mse, soft_cross_entropy

BOARDS = {  # name: (observation shape [C, H, W], number of actions), as the games define them
    "go7": ((3, 7, 7), 7 * 7 + 1),
    "go9": ((3, 9, 9), 9 * 9 + 1),
    "connect4": ((3, 6, 7), 7),
}


def positions_per_second(
    evaluator: BatchedEvaluator, shape: tuple[int, ...], actions: int, batch: int, min_time: float
) -> float:
    rng = np.random.default_rng(0)
    observations = (rng.random((batch, *shape)) < 0.3).astype(np.float32)
    legal = np.ones((batch, actions), bool)
    for _ in range(2):
        evaluator.evaluate(observations, legal)
    calls, start = 0, time.perf_counter()
    while True:
        evaluator.evaluate(observations, legal)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and calls >= 3:
            return calls * batch / elapsed


def training_samples_per_second(spec: str, board: str, samples: int, device: str) -> float:
    shape, actions = BOARDS[board]
    rng = np.random.default_rng(0)
    data = {
        "x": (rng.random((samples, *shape)) < 0.3).astype(np.float32),
        "policy": rng.dirichlet(np.ones(actions), samples).astype(np.float32),
        "z": rng.uniform(-1, 1, samples).astype(np.float32),
    }

    def loss_fn(model, batch):
        logits, value = model(batch["x"])
        return soft_cross_entropy(logits, batch["policy"]) + mse(value, batch["z"]), {}

    net = make_network(spec, shape, actions, generator=torch.Generator().manual_seed(0))
    config = TrainerConfig(
        epochs=2, batch_size=256, optimizer="sgd:lr=0.01,momentum=0.9", device=device
    )
    result = fit(net, loss_fn, data, config, progress=False)
    return result.history[-1]["samples_per_s"]  # the second epoch: warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="resnet:blocks=4,channels=64", help="network spec")
    parser.add_argument("--batches", default="1,8,32,128,256,1024", help="batch sizes")
    parser.add_argument("--threads", default="1,2", help="CPU thread counts")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per figure")
    parser.add_argument("--train-samples", type=int, default=4096, help="rows per epoch")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    threads = [int(t) for t in args.threads.split(",")]

    print(
        f"torch {torch.__version__}; CPU bf16 (avx512_bf16/AMX): {cpu_supports_bf16()}; "
        f"CUDA: {torch.cuda.is_available()}"
    )
    print(f"network {args.net}; positions/s through BatchedEvaluator\n")
    results: dict[tuple[str, str, str, int], float] = {}
    targets = [("cpu", t) for t in threads]
    if torch.cuda.is_available():
        targets.append(("cuda", 0))
    header = f"{'board':9} {'device':7} {'dtype':5} " + "".join(f"{b:>10}" for b in batches)
    print(header)
    for board, (shape, actions) in BOARDS.items():
        net = make_network(args.net, shape, actions, generator=torch.Generator().manual_seed(0))
        for device, count in targets:
            if device == "cpu":
                torch.set_num_threads(count)
            where = f"cpu:{count}t" if device == "cpu" else "cuda"
            for dtype, autocast in (("fp32", False), ("bf16", True)):
                evaluator = BatchedEvaluator(net, device=device, autocast=autocast)
                row = f"{board:9} {where:7} {dtype:5} "
                for batch in batches:
                    rate = positions_per_second(evaluator, shape, actions, batch, args.min_time)
                    results[(board, where, dtype, batch)] = rate
                    row += f"{rate:10.0f}"
                print(row, flush=True)
        net.to("cpu")

    print("\nratios")
    for (board, where, dtype, batch), rate in sorted(results.items()):
        if dtype != "fp32":
            continue
        bf16 = results[(board, where, "bf16", batch)]
        if batch >= 128:
            print(f"  {board:9} {where:7} batch {batch:4}: bf16/fp32 = {bf16 / rate:5.2f}")
    for board in BOARDS:
        for _, count in [t for t in targets if t[0] == "cpu"]:
            where = f"cpu:{count}t"
            for dtype in ("fp32", "bf16"):
                if (board, where, dtype, 256) in results and (board, where, dtype, 1) in results:
                    ratio = results[(board, where, dtype, 256)] / results[(board, where, dtype, 1)]
                    print(f"  {board:9} {where:7} {dtype}: batch256/batch1 = {ratio:6.1f}")

    print(f"\ntraining samples/s through fit (batch 256, SGD+momentum, {args.train_samples} rows)")
    for board in ("go9", "connect4"):
        for count in threads:
            torch.set_num_threads(count)
            rate = training_samples_per_second(args.net, board, args.train_samples, "cpu")
            print(f"  {board:9} cpu:{count}t fp32: {rate:8.0f}")
        if torch.cuda.is_available():
            rate = training_samples_per_second(args.net, board, args.train_samples, "cuda")
            print(f"  {board:9} cuda   fp32: {rate:8.0f}")


if __name__ == "__main__":
    main()
