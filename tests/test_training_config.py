"""The typed config: frozen dataclasses made from the checked table, and back to it exactly."""

import dataclasses
import sys

import numpy as np
import pytest

import barenet as bn
from barenet.io.paths import CONFIGS_DIR
from barenet.train import config as configs
from barenet.train.checkpoint import config_fingerprint
from barenet.train.config import Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHIPPED = sorted(p.stem for p in CONFIGS_DIR.glob("*.toml"))


def key_order(value):
    """The keys of every table, in order, nested (dict equality ignores order)."""
    if isinstance(value, dict):
        return [(k, key_order(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [key_order(v) for v in value]
    return None


@pytest.mark.parametrize("name", SHIPPED)
def test_a_config_gives_back_the_table_it_was_made_from(name):
    """Run folders store the same TOML as before the config was typed, and checkpoints
    the same fingerprint: old run folders still resume."""
    table = tomllib.loads(configs.resolve_path(name).read_text(encoding="utf-8"))
    table.setdefault("name", name)
    full = configs.validate(table)
    config = configs.load(name)
    assert config.to_dict() == full
    assert key_order(config.to_dict()) == key_order(full)
    assert configs.dumps(config) == configs.dumps(full)
    assert config_fingerprint(config.to_dict()) == config_fingerprint(full)
    assert Config.from_dict(config.to_dict()) == config


def test_numbers_keep_the_type_they_were_written_with(tiny_config):
    config = configs.load(str(tiny_config), {"label_smoothing": 0, "clip_norm": 1.0})
    assert type(config.label_smoothing) is int and type(config.clip_norm) is float
    assert "label_smoothing = 0\n" in configs.dumps(config)


def test_attributes_read_the_tables(tiny_config):
    config = configs.load(str(tiny_config), {"schedule.name": "cosine", "augment.flip": True,
                                             "optimizer.momentum": 0.5,
                                             "optimizer.name": "sgd"})
    assert (config.optimizer.name, config.optimizer.lr) == ("sgd", 0.01)
    assert config.optimizer.options == {"lr": 0.01, "momentum": 0.5}
    assert config.schedule.name == "cosine" and config.schedule.options == {}
    assert config.augment.flip and config.augment.max_shift == 0
    assert config.model.input_shape == (784,)
    assert [layer["type"] for layer in config.model.layers] == ["Linear", "ReLU", "Linear"]
    assert not config.finetune and config.finetune.table() == {}


def test_an_optimizer_table_without_lr_leaves_it_to_the_optimizer(tiny_config):
    config = configs.load(str(tiny_config), {"optimizer": {"name": "sgd"}})
    assert config.optimizer.lr is None and config.optimizer.table() == {"name": "sgd"}


def test_a_config_cannot_be_changed(tiny_config):
    config = configs.load(str(tiny_config))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 5
    with pytest.raises(TypeError):
        config.optimizer.options["lr"] = 1.0
    with pytest.raises(TypeError):
        config.model.layers[0]["out_features"] = 1
    config.to_dict()["optimizer"]["lr"] = 1.0  # a copy
    assert config.optimizer.lr == 0.01


def test_a_config_is_made_only_from_a_checked_table():
    with pytest.raises(bn.BarenetError, match=r"^config: epochs = 0 is invalid; expected an "
                                              r"integer in \[1, 10000\]$"):
        Config.from_dict({"epochs": 0, "model": {"input_shape": [784], "layers": [
            {"type": "Linear", "out_features": 10}]}})
    with pytest.raises(bn.BarenetError, match="missing required key 'model'"):
        Config.from_dict({})


def test_the_run_seeds_are_the_children_of_the_seed_in_order():
    config = Config.from_dict({"seed": 7, "model": {"input_shape": [784], "layers": [
        {"type": "Linear", "out_features": 10}]}})
    seeds = config.seeds
    children = np.random.SeedSequence(7).spawn(5)
    assert [s.generate_state(2).tolist() for s in dataclasses.astuple(seeds)] == \
        [c.generate_state(2).tolist() for c in children]
    assert seeds.init.generate_state(2).tolist() == children[0].generate_state(2).tolist()


def test_a_run_without_a_scene_finder_keeps_its_fingerprint():
    """scene_finder came later: at its default ("") it is left out of the fingerprint, so
    a checkpoint written before the key existed still resumes."""
    table = configs.load("mlp").to_dict()
    assert table["scene_finder"] == ""
    before = {k: v for k, v in table.items() if k != "scene_finder"}
    assert config_fingerprint(table) == config_fingerprint(before)
    assert config_fingerprint({**table, "scene_crops": 0.25, "scene_finder": "f.npz"}) != \
        config_fingerprint({**table, "scene_crops": 0.25})
