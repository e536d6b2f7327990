"""`barenet xor` and `barenet gradcheck` through the real command-line entry point."""

import re

import numpy as np
import pytest

from barenet.cli.main import main
from barenet.nn.layers import LAYERS, Linear
from barenet.nn.losses import LOSSES
from barenet.nn.module import Module


def test_xor_learns_and_prints_four_predictions(capsys):
    assert main(["xor"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^(\d) xor (\d) = (\d)  \(p=([\d.]+), expected (\d)\)$", out, re.M)
    assert len(rows) == 4
    for a, b, prediction, p, expected in rows:
        assert int(prediction) == int(expected) == int(a) ^ int(b)
        assert (float(p) > 0.5) == bool(int(prediction))
    assert "XOR learned" in out


def gradcheck_rows(out):
    """check name -> result column of the printed table."""
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}(\d+|-)\s+(\S+)\s{2}(PASS|FAIL.*|SKIP.*|ERROR.*)$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3), match.group(4))
    return rows


def test_gradcheck_command_covers_every_layer_and_loss(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    rows = gradcheck_rows(out)
    for name in LAYERS.names() + LOSSES.names() + ["Sequential"]:
        matching = [row for check, row in rows.items() if check.split(" (")[0] == name]
        assert matching, f"{name} missing from:\n{out}"
        for entries, error, verdict in matching:
            assert verdict == "PASS" and int(entries) > 0 and float(error) < 1e-6
    assert {"Linear (init=xavier, bias=False)", "BatchNorm1d (eval)", "Sigmoid (large |x|)",
            "SoftmaxCrossEntropy (label_smoothing=0.1)"} <= set(rows)
    assert f"{len(rows)} of {len(rows)} checks pass" in out


class WrongSlope(Module):
    """tanh with the derivative of sin: a wrong backward the command must catch."""

    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, grad_out):
        return grad_out * np.cos(self.x)

    @classmethod
    def gradcheck_examples(cls, rng):
        return [("", cls(), rng.standard_normal((3, 4)))]


class Mystery(Module):
    def __init__(self, riddle):
        super().__init__()


class Exploding(Module):
    """A layer whose example cannot be built."""

    @classmethod
    def gradcheck_examples(cls, rng):
        exploding()


class Dense(Linear):
    """Registered under a new name with no example of its own (Linear's is not): one is
    guessed from the options of its spec (Linear's)."""


@pytest.fixture
def extra_layers(monkeypatch):
    def add(*classes):
        for cls in classes:
            monkeypatch.setitem(LAYERS._items, cls.__name__, cls)

    return add


def exploding():
    raise RuntimeError("boom")


def test_gradcheck_command_fails_on_a_wrong_gradient(capsys, extra_layers):
    extra_layers(WrongSlope)
    assert main(["gradcheck"]) == 1
    rows = gradcheck_rows(capsys.readouterr().out)
    entries, error, verdict = rows["WrongSlope"]
    assert verdict == "FAIL (worst: input)" and float(error) > 1e-3 and entries == "12"
    assert rows["Linear (init=he, bias=True)"][2] == "PASS"


def test_gradcheck_command_reports_layers_without_example(capsys, extra_layers):
    extra_layers(Mystery)
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert gradcheck_rows(out)["Mystery"][2] == "SKIP no example input"
    assert "no example input for: Mystery" in out
    assert main(["gradcheck", "--strict"]) == 1


def test_gradcheck_command_reports_broken_example_and_guesses(capsys, extra_layers):
    extra_layers(Exploding, Dense)
    assert main(["gradcheck", "--seed", "3"]) == 1
    rows = gradcheck_rows(capsys.readouterr().out)
    assert rows["Exploding"][2] == "ERROR building an example: boom"
    guessed = [row for name, row in rows.items() if name.startswith("Dense (guessed")]
    assert len(guessed) == 1 and guessed[0][2] == "PASS"


@pytest.mark.parametrize("command, option, words", [
    ("gradcheck", ["--eps", "0"], "finite number above 0"),
    ("gradcheck", ["--eps", "inf"], "finite number above 0"),  # item 22: was accepted
    ("gradcheck", ["--tolerance", "-1"], "finite number above 0"),
    ("gradcheck", ["--max-entries", "0"], "positive integer"),
    ("gradcheck", ["--seed", "-1"], "whole number from 0 to 4294967295"),  # was a traceback
    ("xor", ["--seed", "-1"], "whole number from 0 to 4294967295"),  # was a traceback
    ("xor", ["--seed", str(2**32)], "whole number from 0 to 4294967295"),
])
def test_meaningless_options_are_refused_naming_the_option(capsys, command, option, words):
    with pytest.raises(SystemExit) as info:
        main([command, *option])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (f"barenet {command}: error: argument {option[0]}: "
                                    f"expected a {words}, got {option[1]!r}")


def test_xor_refuses_zero_steps(capsys):
    with pytest.raises(SystemExit) as info:
        main(["xor", "--steps", "0"])
    assert info.value.code == 2 and "positive integer" in capsys.readouterr().err


def test_output_piped_into_head_is_no_traceback(tmp_path):
    import subprocess
    import sys

    # a command printing far more than a pipe holds, read by `head -1`, which leaves early
    script = tmp_path / "talk.py"
    script.write_text(
        "import types, barenet.cli.main as cli\n"
        "talk = types.SimpleNamespace(add_arguments=lambda p: None,\n"
        "                             run=lambda a: [print('line', i) for i in range(10**6)])\n"
        "cli.COMMANDS = {'talk': ('talk', 'prints a lot')}\n"
        "cli._module = lambda name: talk\n"
        "raise SystemExit(cli.main(['talk']))\n")
    proc = subprocess.run(f"{sys.executable} {script} | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout == "line 0\n"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
