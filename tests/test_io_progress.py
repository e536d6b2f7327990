"""The progress bar shared by training epochs and downloads."""

import io

from barenet.io.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_only_the_final_line():
    stream = io.StringIO()
    bar = ProgressBar(860, "epoch 3/10", stream=stream, interval=0.0)
    for done in range(1, 861):
        bar.update(done, loss=0.5)
    bar.close(860, loss=0.1234, acc=0.965)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "\r" not in stream.getvalue()
    assert lines[0].startswith("epoch 3/10 [" + "#" * 28 + "] 860/860  loss 0.1234  acc 96.50%")


def test_a_terminal_sees_the_bar_redrawn_in_place():
    stream = Terminal()
    bar = ProgressBar(4, "epoch 1/1", stream=stream, width=4, interval=0.0)
    bar.update(1)
    bar.update(2)
    bar.close(4)
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "[#...] 1/4" in text and "[##..] 2/4" in text and "[####] 4/4" in text


def test_bytes_with_and_without_a_known_size():
    stream = io.StringIO()
    ProgressBar(9_900_000, "a.gz", stream=stream, width=10, unit="MB", scale=1e6).close(4_200_000)
    ProgressBar(None, "b.gz", stream=stream, unit="MB", scale=1e6).close(1_250_000)
    first, second = stream.getvalue().splitlines()
    assert first.startswith("a.gz [####......]  42% 4.2/9.9 MB")
    assert second.startswith("b.gz 1.2 MB") and "[" not in second
