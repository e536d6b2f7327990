"""``barenet xor``: the smallest end-to-end check that back-propagation learns."""

from __future__ import annotations

import argparse

import numpy as np

from .arguments import positive_int, seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--steps", type=positive_int, default=2000,
                        help="maximum full-batch steps")


def run(args: argparse.Namespace) -> int:
    from ..model.classifier import Sequential
    from ..nn.layers import Linear, Tanh
    from ..nn.losses import BCEWithLogits
    from ..nn.optim import Adam

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    t = np.array([[0], [1], [1], [0]], dtype=np.float64)
    rng = np.random.default_rng(args.seed)
    model = Sequential([Linear(2, 8, init="xavier", rng=rng), Tanh(),
                        Linear(8, 1, init="xavier", rng=rng)]).astype(np.float64)
    loss_fn, optimizer = BCEWithLogits(), Adam(model.parameters(), lr=0.05)
    for step in range(1, args.steps + 1):
        loss = loss_fn(model.forward(x), t)
        model.backward(loss_fn.backward())
        optimizer.step()
        if step % 100 == 0 or loss < 0.01:
            print(f"step {step:5d}  loss {loss:.5f}")
        if loss < 0.01:
            break
    p = 1 / (1 + np.exp(-model.forward(x)[:, 0]))
    for (a, b), prob, target in zip(x.astype(int), p, t[:, 0].astype(int), strict=True):
        print(f"{a} xor {b} = {int(prob > 0.5)}  (p={prob:.3f}, expected {target})")
    ok = loss < 0.01 and np.array_equal(p > 0.5, t[:, 0] > 0.5)
    print("XOR learned" if ok else "XOR NOT learned: loss stayed above 0.01")
    return 0 if ok else 1
