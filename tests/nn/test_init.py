"""Weight initialisers: the textbook one-liner's values, drawn a chunk at a time; the
spread a layer's weights get; an unknown name is a one-line error."""

import tracemalloc

import numpy as np
import pytest

from barenet.errors import BarenetError
from barenet.nn import init
from barenet.nn.layers import Linear

TEXTBOOK = {
    "he": lambda shape, fan_in, fan_out, rng: rng.standard_normal(shape) * np.sqrt(2 / fan_in),
    "lecun": lambda shape, fan_in, fan_out, rng: rng.standard_normal(shape) * np.sqrt(1 / fan_in),
    "xavier": lambda shape, fan_in, fan_out, rng: rng.uniform(
        -np.sqrt(6 / (fan_in + fan_out)), np.sqrt(6 / (fan_in + fan_out)), shape),
}


@pytest.mark.parametrize("name", sorted(TEXTBOOK))
@pytest.mark.parametrize("shape", [(3,), (784, 128), (16, 1, 3, 3), (3 * init.CHUNK + 5,)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_initialiser_gives_the_textbook_values_bit_for_bit(name, shape, dtype):
    fan_in, fan_out = 784, 128
    got = init.INITIALIZERS[name](shape, fan_in, fan_out, np.random.default_rng(7), dtype)
    expected = TEXTBOOK[name](shape, fan_in, fan_out, np.random.default_rng(7)).astype(dtype)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)


def test_a_large_layer_needs_little_more_than_its_weights():
    """A 784x65536 layer drew 440 MB of float64 before its 196 MB of float32 (fuzzing)."""
    tracemalloc.start()
    try:
        weights = init.he((784, 65536), 784, 65536, np.random.default_rng(0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < weights.nbytes + 4 * 8 * init.CHUNK


def test_unknown_initialiser_is_a_clear_error():
    with pytest.raises(BarenetError, match="unknown initialiser 'magic'.*he"):
        Linear(3, 2, init="magic")


def test_initialisers_have_the_documented_spread():
    n_in, n_out = 400, 300
    for init_name, std in [("he", np.sqrt(2 / n_in)), ("lecun", np.sqrt(1 / n_in)),
                           ("xavier", np.sqrt(6 / (n_in + n_out)) / np.sqrt(3))]:
        w = Linear(n_in, n_out, init=init_name, rng=0).params["weight"].data
        assert w.shape == (n_in, n_out)
        assert abs(w.std() / std - 1) < 0.02, init_name
    w = Linear(n_in, n_out, init="xavier", rng=0).params["weight"].data
    assert np.abs(w).max() <= np.sqrt(6 / (n_in + n_out))
    assert not Linear(3, 2).params["bias"].data.any()
