"""The progress bars (tqdm) shared by training epochs and downloads."""

import io

from barenet.io.progress import progress_bar


def test_off_where_nobody_watches():
    stream = io.StringIO()  # a log file: not a terminal, not a notebook
    bar = progress_bar(860, "epoch 3/10", stream=stream)
    for _ in range(860):
        bar.update()
    bar.close()
    assert stream.getvalue() == ""


def test_an_epoch_bar_shows_count_and_running_figures():
    stream = io.StringIO()
    bar = progress_bar(4, "epoch 1/1", stream=stream, enabled=True, unit="batch", initial=1)
    for _ in range(3):
        bar.set_postfix(loss="0.1234", acc="96.50%", refresh=False)
        bar.update()
    bar.close()
    last = stream.getvalue().split("\r")[-1]
    assert last.startswith("epoch 1/1: 100%") and "4/4" in last
    assert "loss=0.1234" in last and "acc=96.50%" in last


def test_bytes_are_shown_in_megabytes():
    stream = io.StringIO()
    bar = progress_bar(9_900_000, "a.gz", stream=stream, enabled=True, unit="B",
                       unit_scale=True, unit_divisor=1000)
    bar.update(4_200_000)
    bar.close()
    assert "4.20M/9.90M" in stream.getvalue()
