"""``barenet``'s own parser: a mistyped flag is named with the nearest real one."""

import pytest

from barenet.cli.main import main


@pytest.mark.parametrize("argv, hint", [
    (["train", "--optimiser", "adam"], "--optimiser: did you mean --optimizer?"),
    (["predict", "a.png", "--nmber"], "--nmber: did you mean --number?"),
    (["evaluate", "--batchsize", "9"], "--batchsize: did you mean --batch-size?"),
])
def test_a_mistyped_flag_gets_the_nearest_one(capsys, argv, hint):
    """Issue 33, item 8: `--optimiser` said what was wrong but not what to do."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.splitlines()[-1].endswith(hint)


def test_a_flag_nothing_like_any_other_gets_no_guess(capsys):
    with pytest.raises(SystemExit):
        main(["xor", "--colour", "red"])
    assert capsys.readouterr().err.splitlines()[-1] == (
        "barenet xor: error: unrecognized arguments: --colour red")
