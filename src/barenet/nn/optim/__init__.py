"""Optimizers, learning-rate schedules and gradient clipping."""

from .adam import Adam, AdamW
from .base import OPTIMIZERS, Optimizer, flush_subnormals
from .clip import clip_grad_norm
from .rmsprop import RMSProp
from .schedules import SCHEDULES, Schedule, make_schedule
from .sgd import SGD

__all__ = ["OPTIMIZERS", "SCHEDULES", "Optimizer", "SGD", "Adam", "AdamW", "RMSProp",
           "Schedule", "make_schedule", "clip_grad_norm", "flush_subnormals"]
