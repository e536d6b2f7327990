"""What each training batch holds besides its digits: generated non-digits and the reader's
crops of generated pages, each at its share of the batch (``non_digits`` and
``scene_crops`` in the config).

Both pools are made once, before training, and prepared as the digits are (scaled and
standardised); every batch then draws its share from them with its own random generator,
which a checkpoint saves with the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data import PreparedData
from ..data.non_digits import make_non_digits, per_batch, pool_size
from ..errors import BarenetError
from ..model.scaling import network_input
from ..nn.losses.cross_entropy import NO_CLASS
from .config import Config

if TYPE_CHECKING:
    from .scene_crops import SceneCrops


class Mix:
    """The pictures added to every batch of a run, and the generators that draw them.

    Parameters
    ----------
    config : Config
        Its ``non_digits`` and ``scene_crops`` shares, and the seed of the pools.
    data : PreparedData
        The training digits (the non-digits are made from them) and their scaling.
    scene_crops : SceneCrops, optional
        What the picture reader extracted from generated pages
        (:func:`barenet.train.scene_crops.scene_crops`): required when the config's
        ``scene_crops`` share is above 0.

    Attributes
    ----------
    non_digits : ndarray (M, 28, 28) or None
        The generated non-digits, prepared; None when the share is 0 (or rounds to none).
    scene_crops : ndarray (C, 28, 28) or None
        The reader's crops, prepared; None when the share is 0.
    scene_targets : ndarray int64 (C,) or None
        Each crop's label, or ``NO_CLASS`` for a crop of something else.
    """

    def __init__(self, config: Config, data: PreparedData,
                 scene_crops: SceneCrops | None = None) -> None:
        seeds = config.seeds
        self.non_digit_share, self.scene_share = config.non_digits, config.scene_crops
        self.non_digits, self.non_digit_rng = self._non_digit_pool(data, seeds.non_digits)
        self.scene_crops, self.scene_targets, self.scene_rng = self._scene_crop_pool(
            data, scene_crops, seeds.scene_crops)

    def _non_digit_pool(self, data: PreparedData, seed: np.random.SeedSequence
                        ) -> tuple[np.ndarray | None, np.random.Generator | None]:
        """Generated non-digits (outlier exposure), made once from the training digits, and
        the generator that draws them into batches."""
        count = pool_size(self.non_digit_share, len(data.x_train))
        if not count:
            return None, None
        pool_seed, draw_seed = seed.spawn(2)
        standard = data.standardization
        pool = make_non_digits(data.x_train, data.y_train, count,
                               np.random.default_rng(pool_seed), standard)
        return (network_input(pool, data.x_train.dtype, standard),
                np.random.default_rng(draw_seed))

    def _scene_crop_pool(self, data: PreparedData, crops: SceneCrops | None,
                         seed: np.random.SeedSequence
                         ) -> tuple[np.ndarray | None, np.ndarray | None,
                                    np.random.Generator | None]:
        """The reader's crops of generated pages, prepared as the digits are, their targets,
        and the generator that draws them into batches."""
        if not self.scene_share:
            return None, None, None
        if crops is None or not len(crops):
            raise BarenetError(f"scene_crops = {self.scene_share} needs the crops "
                               "of generated pages; barenet train makes them")
        return (network_input(crops.glyphs, data.x_train.dtype, data.standardization),
                crops.targets, np.random.default_rng(seed))

    @property
    def generators(self) -> list[np.random.Generator]:
        """The generators that draw into batches, in the order a checkpoint saves them."""
        return [g for g in (self.non_digit_rng, self.scene_rng) if g is not None]

    @property
    def non_digits_in_batches(self) -> float:
        """The share of non-digits the batches get: the config's, or 0 when it makes no
        pool (a share of 0, or one that rounds to no picture); history.json records it."""
        return self.non_digit_share if self.non_digits is not None else 0.0

    def __call__(self, images: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A batch of digits (B, ...) and labels (B,) with its shares added after them:
        non-digits labelled ``NO_CLASS``, then crops with their targets; both shares are
        of the ``B`` digits."""
        digits = len(y)
        return self.with_scene_crops(*self.with_non_digits(images, y), digits)

    def with_non_digits(self, images: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The batch with its share of non-digit pictures added, labelled ``NO_CLASS``."""
        if self.non_digits is None:
            return images, y
        count = per_batch(len(y), self.non_digit_share)
        picked = self.non_digits[self.non_digit_rng.integers(0, len(self.non_digits), count)]
        return (np.concatenate([images, picked.reshape((count, *images.shape[1:]))]),
                np.concatenate([y.astype(np.int64), np.full(count, NO_CLASS)]))

    def with_scene_crops(self, images: np.ndarray, y: np.ndarray,
                         digits: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch with its share of the reader's crops of generated pages added, for
        its ``digits`` digits, each with its page's label (``NO_CLASS`` where the reader
        cropped something else)."""
        if self.scene_crops is None:
            return images, y
        count = per_batch(digits, self.scene_share)
        picked = self.scene_rng.integers(0, len(self.scene_crops), count)
        return (np.concatenate([images, self.scene_crops[picked].reshape(
                    (count, *images.shape[1:]))]),
                np.concatenate([y.astype(np.int64), self.scene_targets[picked]]))
