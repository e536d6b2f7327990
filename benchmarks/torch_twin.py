"""The same network in PyTorch, for the benchmarks: built from a barenet model, same weights.

PyTorch is a benchmark reference only (``pip install -e .[torch]``); nothing in
barenet imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def torch_model(barenet_model) -> Any:
    """``torch.nn.Sequential`` with the layers and the current weights of ``barenet_model``."""
    import torch

    nn = torch.nn
    layers = []
    for layer in barenet_model.layers:
        kind, cfg = type(layer).__name__, layer.config()
        if kind == "Conv2d":
            t = nn.Conv2d(cfg["in_channels"], cfg["out_channels"], layer.kernel,
                          stride=layer.stride, padding=layer.padding, bias=cfg["bias"])
        elif kind == "Linear":
            t = nn.Linear(cfg["in_features"], cfg["out_features"], bias=cfg["bias"])
        elif kind in ("BatchNorm1d", "BatchNorm2d"):
            t = getattr(nn, kind)(cfg["num_features"], eps=cfg["eps"], momentum=cfg["momentum"])
        elif kind in ("MaxPool2d", "AvgPool2d"):
            t = getattr(nn, kind)(layer.kernel, stride=layer.stride, padding=layer.padding)
        elif kind == "GlobalAvgPool2d":
            t = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        elif kind == "LeakyReLU":
            t = nn.LeakyReLU(cfg["alpha"])
        elif kind in ("ReLU", "Tanh", "Sigmoid", "Flatten", "Dropout"):
            t = getattr(nn, kind)(**cfg)
        else:
            raise SystemExit(f"no PyTorch equivalent for {kind} in this benchmark")
        with torch.no_grad():
            for name, p in layer.params.items():
                target = {"weight": getattr(t, "weight", None), "bias": getattr(t, "bias", None),
                          "gamma": getattr(t, "weight", None), "beta": getattr(t, "bias", None)}
                data = torch.from_numpy(p.data)
                target[name].copy_(data.T if kind == "Linear" and name == "weight" else data)
            for name, array in layer.buffers.items():  # batch norm's running statistics
                getattr(t, name).copy_(torch.from_numpy(array))
        layers.append(t)
    return nn.Sequential(*layers).train()


def train_step(model, optimizer, loss_fn) -> Callable[[np.ndarray, np.ndarray], float]:
    """One PyTorch training step on NumPy batches, as a user would write it."""
    import torch

    def step(x: np.ndarray, y: np.ndarray) -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step
