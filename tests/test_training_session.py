"""The loop and the session: the Trainer only trains; one Session keeps a run, or none."""

import numpy as np

from barenet.data import load_dataset, prepare
from barenet.train import config as configs
from barenet.train.builder import build_optimizer
from barenet.train.runs import RunFolder
from barenet.train.session import Session, new_model
from barenet.train.trainer import Trainer


def test_the_trainer_is_the_loop_and_writes_nothing(tiny_data, tiny_config, tmp_path,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    config = configs.load(str(tiny_config))
    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60)
    model = new_model(config)
    optimizer = build_optimizer(config.to_dict(), model.parameters())
    saved = []
    trainer = Trainer(model, optimizer, data, config, save=lambda t: saved.append(
        (t is trainer, t.state.epoch, t.state.partial, len(t.state.rngs))))
    assert trainer.fit(lambda line: None) is model
    # after every epoch, with every generator's state: shuffling, augmentation
    assert saved == [(True, 1, None, 2), (True, 2, None, 2), (True, 3, None, 2)]
    assert len(trainer.state.history) == 3 and trainer.state.best is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_one_session_with_a_run_folder_or_none_trains_the_same(tiny_data, tiny_config,
                                                               tmp_path):
    config = configs.load(str(tiny_config))
    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60)
    dataset = load_dataset("mnist", data_dir=tiny_data)
    weights = []
    for run in (None, RunFolder.create("tiny", tmp_path / "run")):
        session = Session(config, data, new_model(config), run=run, dataset=dataset)
        session.begin()
        model = session.train(lambda line: None)
        session.save_last(model, {"epochs": config.epochs})
        session.save_kept(session.kept(), {}, {"accuracy": 0.5})
        weights.append(model.state_dict())
    for name, array in weights[0].items():
        np.testing.assert_array_equal(array, weights[1][name])
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == [".lock", "best.npz", "checkpoint.npz", "config.toml", "data.json",
                     "history.csv", "history.json", "model.npz"]
    assert (tmp_path / "run" / "config.toml").read_text() == configs.dumps(config)
    assert RunFolder(tmp_path / "run").finished()


def test_a_session_gone_lets_go_of_its_run_folder(tiny_data, tiny_config, tmp_path):
    """Nothing holds a session in a cycle: once it is gone (a refused resume, a finished
    run), the folder's lock is free at once for the next command in the same process."""
    import gc

    config = configs.load(str(tiny_config))
    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60)
    gc.disable()
    try:
        session = Session(config, data, new_model(config),
                          run=RunFolder.create("tiny", tmp_path / "run"))
        session.begin()
        session.train(lambda line: None)
        del session
        RunFolder(tmp_path / "run").lock()  # refused while another holds it
    finally:
        gc.enable()
