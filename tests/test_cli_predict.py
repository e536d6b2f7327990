"""``barenet predict`` on real image files of every common kind, written here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from barenet import BarenetError, Sequential
from barenet.cli import main as cli
from barenet.cli.main import main
from barenet.nn.layers import Linear
from barenet.vision import preprocess
from barenet.vision.images import MAX_SIDE, load_image

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NORMALIZATION = {"mean": 0.1307, "std": 0.3081}


def ring(size: int = 120) -> np.ndarray:
    """A '0': a thick ellipse outline, white on black, uint8."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot((yy - size / 2) / (0.42 * size), (xx - size / 2) / (0.28 * size))
    return np.where((r > 0.7) & (r < 1.0), 255, 0).astype(np.uint8)


def bar(size: int = 120) -> np.ndarray:
    """A '1': a thick vertical stroke, white on black, uint8."""
    image = np.zeros((size, size), np.uint8)
    image[int(0.1 * size):int(0.9 * size), int(0.45 * size):int(0.57 * size)] = 255
    return image


@pytest.fixture(autouse=True)
def only_predict(monkeypatch):
    """Build the parser with just this subcommand: another one's import troubles stay theirs."""
    monkeypatch.setattr(cli, "COMMANDS", {"predict": cli.COMMANDS["predict"]})


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A linear model whose 'zero' and 'one' outputs match a ring and a bar."""
    model = Sequential([Linear(784, 10, rng=0)],
                       metadata={"normalization": NORMALIZATION, "class_names": NAMES})
    weight = model.layers[0].params["weight"].data
    weight[...] = 0
    for k, template in ((0, ring()), (1, bar())):
        seen = preprocess(template).ravel()
        weight[:, k] = 3 * (seen - seen.mean())
    path = tmp_path_factory.mktemp("model") / "model.npz"
    model.save(path)
    return path


def dark_on_light(image: np.ndarray) -> np.ndarray:
    return 255 - image


def colour(ink: np.ndarray, pen=(20, 40, 120), paper=(240, 230, 200)) -> np.ndarray:
    out = np.empty(ink.shape + (3,), np.uint8)
    out[...] = paper
    out[ink > 127] = pen
    return out


def write_files(folder: Path) -> dict[str, Path]:
    """Every kind of image file predict should read, each showing a ring ('zero')."""
    files = {}

    def save(name: str, image: Image.Image, **options) -> None:
        files[name] = folder / name
        image.save(files[name], **options)

    save("colour.png", Image.fromarray(colour(ring(200))))
    save("grey.jpg", Image.fromarray(ring(150)), quality=90)
    save("dark_on_light.bmp", Image.fromarray(dark_on_light(ring(90))))
    frames = [Image.fromarray(dark_on_light(ring(100))), Image.fromarray(dark_on_light(bar(100)))]
    save("animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100,
         loop=0)
    save("sixteen_bit.png", Image.fromarray(dark_on_light(ring(80)).astype(np.uint16) * 257))
    rgba = np.zeros((110, 110, 4), np.uint8)
    rgba[..., 3] = ring(110)  # black ink, visible only where the ring is
    save("transparent.png", Image.fromarray(rgba))
    la = np.zeros((110, 110, 2), np.uint8)
    la[..., 0], la[..., 1] = 255, ring(110)  # white ink on transparent
    save("white_on_transparent.png", Image.fromarray(la, "LA"))
    cmyk = np.zeros((100, 100, 4), np.uint8)
    cmyk[..., 3] = ring(100)  # black (K) ink on white paper
    save("cmyk.jpg", Image.fromarray(cmyk, "CMYK"), quality=95)
    save("palette.png", Image.fromarray(colour(ring(100))).convert("P", palette=Image.ADAPTIVE))
    save("bilevel.png", Image.fromarray(ring(64)).convert("1"))
    return files


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("images"))


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", ["colour.png", "grey.jpg", "dark_on_light.bmp", "animated.gif",
                                  "sixteen_bit.png", "transparent.png",
                                  "white_on_transparent.png", "cmyk.jpg", "palette.png",
                                  "bilevel.png"])
def test_every_kind_of_file_is_read_and_classified(capsys, model_file, images, name):
    code, out, err = run(capsys, images[name], "--model", model_file)
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"{images[name]}: zero ")
    assert out.count("%") == 3


def test_the_first_frame_of_an_animation_is_used(images):
    first = load_image(images["animated.gif"])
    assert preprocess(first).sum() == pytest.approx(preprocess(ring()).sum(), rel=0.1)


def test_sixteen_bit_png_keeps_sixteen_bits(images):
    array = load_image(images["sixteen_bit.png"])
    assert array.dtype == np.uint16 and array.max() == 65535


def test_a_bar_is_a_one(capsys, model_file, tmp_path):
    Image.fromarray(bar(300)).save(tmp_path / "one.png")
    code, out, _ = run(capsys, tmp_path / "one.png", "--model", model_file, "--top-k", "1")
    assert code == 0 and out.split(": ")[1].startswith("one ")


def test_json_lists_every_file_with_top_k(capsys, model_file, images):
    code, out, err = run(capsys, images["colour.png"], images["cmyk.jpg"], "--model",
                         model_file, "--json", "--top-k", "4")
    assert code == 0 and err == ""
    results = json.loads(out)
    assert [r["file"] for r in results] == [str(images["colour.png"]), str(images["cmyk.jpg"])]
    for result in results:
        predictions = result["predictions"]
        assert len(predictions) == 4
        assert predictions[0]["class"] == "zero"
        probs = [p["probability"] for p in predictions]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


def test_top_k_beyond_the_class_count_shows_every_class(capsys, model_file, images):
    code, out, _ = run(capsys, images["grey.jpg"], "--model", model_file, "--json",
                       "--top-k", "50")
    assert code == 0
    predictions = json.loads(out)[0]["predictions"]
    assert sorted(p["class"] for p in predictions) == sorted(NAMES)
    assert sum(p["probability"] for p in predictions) == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize("value", ["0", "-2", "three"])
def test_top_k_must_be_a_positive_number(capsys, model_file, images, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(images["grey.jpg"]), "--model", str(model_file), "--top-k", value])
    assert exit_info.value.code == 2
    assert "--top-k" in capsys.readouterr().err


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files predict must refuse, each with a word its one-line error must contain."""
    png = folder / "good.png"
    Image.fromarray(ring(200)).save(png)
    data = png.read_bytes()
    files = {"truncated.png": (data[:len(data) // 2], "cannot decode"),
             "notes.txt": (b"these are not pixels\n", "not an image"),
             "empty.png": (b"", "empty (0 bytes)")}
    out = {name: (folder / name, word) for name, (_, word) in files.items()}
    for name, (content, _) in files.items():
        (folder / name).write_bytes(content)
    Image.new("L", (50, 50), 255).save(folder / "blank.png")
    out["blank.png"] = (folder / "blank.png", "blank")
    out["missing.png"] = (folder / "missing.png", "no such file")
    out["folder"] = (folder, "folder")
    return out


def test_bad_files_get_one_line_each_and_the_good_ones_still_run(capsys, model_file, images,
                                                                   tmp_path):
    bad = bad_files(tmp_path)
    paths = [images["colour.png"], *(path for path, _ in bad.values()), images["grey.jpg"]]
    code, out, err = run(capsys, *paths, "--model", model_file)
    assert code == 2
    assert [line.split(":")[0] for line in out.splitlines()] == [str(images["colour.png"]),
                                                                   str(images["grey.jpg"])]
    lines = err.splitlines()
    assert len(lines) == len(bad)
    for line, (path, word) in zip(lines, bad.values(), strict=True):
        assert line.startswith(f"barenet: error: {path}:") and word in line, line
    assert "Traceback" not in err


def test_bad_files_appear_in_json_with_their_error(capsys, model_file, images, tmp_path):
    bad = bad_files(tmp_path)
    code, out, err = run(capsys, bad["notes.txt"][0], images["colour.png"], "--model",
                         model_file, "--json")
    assert code == 2 and len(err.splitlines()) == 1
    results = json.loads(out)
    assert "not an image" in results[0]["error"] and "predictions" not in results[0]
    assert results[1]["predictions"][0]["class"] == "zero"


def test_decompression_bomb_limit_is_kept(capsys, model_file, images, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)
    code, _, err = run(capsys, images["colour.png"], "--model", model_file)
    assert code == 2 and "decompression-bomb limit" in err


def test_huge_images_are_shrunk_while_decoding(tmp_path):
    wide = np.zeros((700, 3 * MAX_SIDE + 5), np.uint8)
    wide[100:600, 3000:3100] = 255
    Image.fromarray(wide).save(tmp_path / "wide.png")
    array = load_image(tmp_path / "wide.png")
    assert max(array.shape) <= MAX_SIDE and array.max() == 255


def test_without_model_the_newest_run_is_used(capsys, model_file, images, tmp_path,
                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "first").mkdir(parents=True)
    (tmp_path / "runs" / "first" / "best.npz").write_bytes(model_file.read_bytes())
    code, out, err = run(capsys, images["colour.png"])
    assert code == 0 and ": zero " in out
    # issue 33, item 1: after a new run another model answers, so say which
    assert err == (f"barenet: using the newest model under runs/, "
                   f"{Path('runs/first/best.npz')} (choose another with --model)\n")


def test_without_any_model_the_error_says_to_train(capsys, images, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, images["colour.png"])
    assert code == 2 and out == ""
    assert "barenet train" in err and len(err.splitlines()) == 1


def test_a_model_for_other_inputs_is_refused(capsys, images, tmp_path):
    Sequential([Linear(100, 10)]).save(tmp_path / "small.npz")
    code, _, err = run(capsys, images["colour.png"], "--model", tmp_path / "small.npz")
    assert code == 2 and "28x28" in err


def test_class_indices_when_the_model_has_no_names(capsys, images, tmp_path, linear_model):
    linear_model().save(tmp_path / "plain.npz")
    code, out, _ = run(capsys, images["colour.png"], "--model", tmp_path / "plain.npz",
                       "--json")
    assert code == 0
    assert all(p["class"] in {str(i) for i in range(10)}
               for p in json.loads(out)[0]["predictions"])


def test_model_may_be_a_run_folder(capsys, model_file, images, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(model_file, run_dir / "best.npz")
    by_folder = run(capsys, images["colour.png"], "--model", run_dir, "--json")
    by_file = run(capsys, images["colour.png"], "--model", model_file, "--json")
    assert by_folder[0] == 0 and json.loads(by_folder[1]) == json.loads(by_file[1])


# -- photos, --show, --number, not sure ----------------------------------------------------

def photo_of(ink: np.ndarray, height: int = 480, width: int = 640, top: int = 100,
             left: int = 200, seed: int = 0) -> np.ndarray:
    """Dark ink on grey paper lit from the left, with ruled lines and sensor noise: RGB uint8."""
    rng = np.random.default_rng(seed)
    light = np.tile(np.linspace(0.5, 1.0, width), (height, 1))
    paper = np.full((height, width), 0.9)
    paper[::40] = 0.7  # ruled lines
    h, w = ink.shape
    paper[top:top + h, left:left + w] *= 1 - 0.85 * (ink / 255)
    grey = np.clip(light * paper + rng.normal(0, 0.02, paper.shape), 0, 1)
    return (np.stack([grey, grey * 0.97, grey * 0.9], axis=-1) * 255).astype(np.uint8)


def test_a_photo_on_unevenly_lit_ruled_paper_reads_like_the_drawing(capsys, model_file,
                                                                    tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo_of(ring(200))).save(path, quality=75)
    code, out, err = run(capsys, path, "--model", model_file)
    assert code == 0, err
    assert out.startswith(f"{path}: zero ")


def test_show_writes_one_picture_per_input(capsys, model_file, images, tmp_path):
    folder = tmp_path / "seen"
    code, out, _ = run(capsys, images["colour.png"], images["grey.jpg"], images["colour.png"],
                       "--model", model_file, "--show", folder, "--json")
    assert code == 0
    shown = [Path(r["show"]) for r in json.loads(out)]
    assert [p.name for p in shown] == ["colour.seen.png", "grey.seen.png", "colour.seen-2.png"]
    for path in shown:
        with Image.open(path) as picture:
            assert picture.format == "PNG" and picture.width > 3 * picture.height / 2


def test_show_says_where_each_picture_went(capsys, model_file, images, tmp_path):
    folder = tmp_path / "seen"
    code, out, _ = run(capsys, images["colour.png"], "--model", model_file, "--show", folder)
    assert code == 0
    assert out.splitlines()[1] == f"  what the network saw: {folder / 'colour.seen.png'}"


def test_show_replaces_no_file_already_there(capsys, model_file, images, tmp_path):
    folder = tmp_path / "seen"
    folder.mkdir()
    mine = folder / "colour.seen.png"
    mine.write_bytes(b"the user's own file")
    code, out, _ = run(capsys, images["colour.png"], "--model", model_file, "--show", folder,
                       "--json")
    assert code == 0
    assert mine.read_bytes() == b"the user's own file"
    assert Path(json.loads(out)[0]["show"]) == folder / "colour.seen-2.png"


@pytest.mark.parametrize("where", ["inputs", "dot", "empty"])
def test_show_refuses_the_folder_of_the_pictures(capsys, model_file, tmp_path, monkeypatch,
                                                 where):
    """`predict photos/mine.png --show photos` used to write its plot over mine.png."""
    photos = tmp_path / "photos"
    photos.mkdir()
    a_jpg, a_png = photos / "a.jpg", photos / "a.png"
    Image.fromarray(ring()).save(a_jpg)
    Image.fromarray(bar()).save(a_png)
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    monkeypatch.chdir(photos)
    show = {"inputs": str(photos), "dot": ".", "empty": ""}[where]
    code, out, err = run(capsys, a_jpg, "a.png", "--model", model_file, "--show", show)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "holds the picture" in err and "a folder of its own" in err
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before


def test_file_names_are_printed_escaped(capsys, model_file, tmp_path):
    """A name with ESC, CR, LF or bytes that are not UTF-8 can't forge a line or fail."""
    folder = Path(bytes(tmp_path).decode("utf-8", "surrogateescape"))
    forged = folder / "x\r\nseven.png: 7 100.0%\x1b[2J.png"
    undecodable = folder / b"caf\xe9.png".decode("utf-8", "surrogateescape")
    for path in (forged, undecodable):
        Image.fromarray(ring()).save(path, format="PNG")
    code, out, err = run(capsys, forged, undecodable, tmp_path / "missing\n.png",
                         "--model", model_file)
    assert code == 2
    lines = out.splitlines()
    assert len(lines) == 2 and len(err.splitlines()) == 1
    assert "x\\x0d\\x0aseven.png" in lines[0] and "\x1b" not in out
    assert "caf\\xe9.png: zero" in lines[1]
    assert "missing\\x0a.png" in err


def test_show_into_an_unwritable_place_is_one_line(capsys, model_file, images, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out, err = run(capsys, images["colour.png"], "--model", model_file,
                         "--show", blocker / "seen")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "--show folder" in err


def row_of(*glyphs: np.ndarray, gap: int = 30) -> np.ndarray:
    height = max(g.shape[0] for g in glyphs)
    parts = []
    for g in glyphs:
        pad = np.zeros((height, g.shape[1]), np.uint8)
        pad[:g.shape[0]] = g
        parts += [pad, np.zeros((height, gap), np.uint8)]
    return np.pad(np.concatenate(parts[:-1], axis=1), 40)


def test_number_reads_a_row_of_digits_left_to_right(capsys, model_file, tmp_path):
    path = tmp_path / "number.png"
    Image.fromarray(dark_on_light(row_of(bar(), ring(), bar(), ring()))).save(path)
    code, out, err = run(capsys, path, "--model", model_file, "--number", "--json")
    assert code == 0, err
    result = json.loads(out)[0]
    assert result["number"] == "onezeroonezero"  # the class names, joined
    assert [d["class"] for d in result["digits"]] == ["one", "zero", "one", "zero"]
    lefts = [d["box"][2] for d in result["digits"]]
    assert lefts == sorted(lefts) and isinstance(result["unsure"], bool)
    code, out, _ = run(capsys, path, "--model", model_file, "--number")
    assert out.startswith(f"{path}: onezeroonezero  (one ")


def test_a_row_read_as_one_digit_says_so_and_suggests_number(capsys, model_file, tmp_path):
    """Issue 33, item 3: `317` was read as `3 100.0%` from the 3 alone, and nothing said so."""
    path = tmp_path / "row.png"
    Image.fromarray(dark_on_light(row_of(ring(), bar(), ring()))).save(path)
    code, out, err = run(capsys, path, "--model", model_file)
    assert code == 0, err
    assert out.rstrip().endswith("; the picture holds 3 digit-sized marks in a row: to read "
                                 "them all, add --number")
    code, out, _ = run(capsys, path, "--model", model_file, "--json")
    assert json.loads(out)[0]["notes"] == ["the picture holds 3 digit-sized marks in a row: "
                                           "to read them all, add --number"]
    single = tmp_path / "single.png"
    Image.fromarray(dark_on_light(np.pad(ring(), 40))).save(single)
    code, out, _ = run(capsys, single, "--model", model_file, "--json")
    assert json.loads(out)[0]["notes"] == []


def test_number_on_a_photo(capsys, model_file, tmp_path):
    path = tmp_path / "number.jpg"
    Image.fromarray(photo_of(row_of(ring(150), bar(150), ring(150)), width=900, left=100)).save(
        path, quality=80)
    code, out, err = run(capsys, path, "--model", model_file, "--number", "--json")
    assert code == 0, err
    assert [d["class"] for d in json.loads(out)[0]["digits"]] == ["zero", "one", "zero"]


def test_touching_digits_are_split_or_reported(capsys, model_file, tmp_path):
    touching = np.zeros((120, 190), np.uint8)
    touching[:, :120] = ring()
    touching[:, 62:182] = np.maximum(touching[:, 62:182], ring())  # the rings overlap
    path = tmp_path / "touching.png"
    Image.fromarray(dark_on_light(np.pad(touching, 30))).save(path)
    code, out, err = run(capsys, path, "--model", model_file, "--number", "--json")
    assert code == 0, err
    result = json.loads(out)[0]  # read as two zeros, or as one digit with a note that says so
    assert (len(result["digits"]) == 2 and result["number"] == "zerozero") or (
        result["unsure"] and any("touch" in note for note in result["notes"]))


def test_a_dash_between_digits_is_not_a_digit(capsys, model_file, tmp_path):
    dash = np.zeros((120, 40), np.uint8)
    dash[55:63, 5:35] = 255
    path = tmp_path / "dash.png"
    Image.fromarray(dark_on_light(row_of(ring(), dash, bar()))).save(path)
    code, out, err = run(capsys, path, "--model", model_file, "--number", "--json")
    assert code == 0, err
    assert [d["class"] for d in json.loads(out)[0]["digits"]] == ["zero", "one"]


def test_number_without_digits_is_one_line(capsys, model_file, tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((100, 300), 255, np.uint8)).save(path)
    code, out, err = run(capsys, path, "--model", model_file, "--number")
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "blank" in err


def test_an_unsure_answer_is_a_question_mark_and_json_says_so(capsys, tmp_path, images,
                                                              linear_model):
    # a model whose outputs are all equal is never sure
    model = linear_model(class_names=NAMES)
    model.layers[0].params["weight"].data[...] = 0
    path = tmp_path / "flat.npz"
    model.save(path)
    code, out, _ = run(capsys, images["colour.png"], "--model", path)
    assert code == 0 and out.startswith(f"{images['colour.png']}: ? (not sure: zero 10%, one 10%")
    code, out, _ = run(capsys, images["colour.png"], "--model", path, "--json")
    result = json.loads(out)[0]
    assert result["unsure"] is True and len(result["predictions"]) == 3


def test_a_normalisation_that_overflows_float32_is_refused_by_save_and_load(
        capsys, tmp_path, images, monkeypatch, linear_model):
    import barenet.model.file

    model = linear_model(normalization={"mean": 0.1, "std": 1e-45})  # 1/std: inf
    path = tmp_path / "overflow.npz"
    with pytest.raises(BarenetError, match="reciprocal fits float32"):
        model.save(path)
    assert not path.exists()
    monkeypatch.setattr(barenet.model.file, "Card", SimpleNamespace(read=lambda *args: None))
    model.save(path)  # as a hostile or older writer would
    monkeypatch.undo()
    code, out, err = run(capsys, images["colour.png"], "--model", path)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "reciprocal fits float32" in err and str(path) in err


def test_a_model_giving_nan_is_one_line_never_nan_in_json(capsys, tmp_path, images,
                                                          linear_model):
    model = linear_model()
    model.layers[0].weight.data[...] = 3e38  # finite, but every logit overflows: inf - inf
    path = tmp_path / "nan.npz"
    model.save(path)
    code, out, err = run(capsys, images["colour.png"], "--model", path, "--json")
    assert code == 2 and "not finite" in err and "NaN" not in out.replace("(NaN", "")
    assert json.loads(out)[0]["error"].endswith("re-train it")


def test_a_fifo_a_device_and_an_unreadable_file_get_their_own_line(capsys, model_file, images,
                                                                   tmp_path):
    import os

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    locked = tmp_path / "locked.png"
    locked.write_bytes(images["colour.png"].read_bytes())
    locked.chmod(0)
    code, out, err = run(capsys, fifo, "/dev/zero", locked, images["colour.png"],
                         "--model", model_file)
    assert code == 2 and f"{images['colour.png']}: zero" in out  # the others still run
    lines = err.splitlines()
    assert f"{fifo}: not a regular file" in lines[0] and "/dev/zero: not a regular file" in lines[1]
    if os.geteuid() != 0:  # root reads any file
        assert f"{locked}: permission denied" in lines[2]
