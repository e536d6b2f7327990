"""Samples folders: one naming rule for writer and readers, no link followed, each picture
read once and bounded."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

import barenet.vision
from barenet import BarenetError
from barenet.data import folder
from barenet.data.folder import (
    add_sample,
    count_samples,
    picture_files,
    read_folder,
    remove_last_sample,
)
from barenet.model.labels import label_folder

DIGITS = [str(d) for d in range(10)]


def stroke() -> np.ndarray:
    drawing = np.zeros((280, 280), np.uint8)
    drawing[60:220, 130:150] = 255
    return drawing


def test_different_class_names_never_share_a_folder_and_none_leaves_the_root():
    names = ["T-shirt/top", "T-shirt%2Ftop", "T-shirt_top", "a/b", "a%2Fb", "...", "../x",
             "back\\slash", "back/slash", "7"]
    folders = [label_folder(name) for name in names]
    assert len(set(folders)) == len(names)
    assert all("/" not in f and "\\" not in f and f not in ("", ".", "..") for f in folders)
    assert label_folder("T-shirt/top") == "T-shirt%2Ftop" and label_folder("7") == "7"
    for bad in ["", ".", "..", "a\nb", "\x1b[31m", "x" * 300]:
        with pytest.raises(BarenetError, match="give the class"):
            label_folder(bad)


def test_a_label_folder_that_is_a_link_is_never_written_through_nor_read(tmp_path):
    root, elsewhere = tmp_path / "samples", tmp_path / "elsewhere"
    elsewhere.mkdir()
    add_sample(elsewhere, "3", stroke())  # a picture outside the samples folder
    root.mkdir()
    (root / "3").symlink_to(elsewhere / "3", target_is_directory=True)
    with pytest.raises(BarenetError, match="label folder .*3 is a symbolic link"):
        add_sample(root, "3", stroke())
    assert len(list((elsewhere / "3").iterdir())) == 1
    kept = add_sample(root, "4", stroke())
    assert count_samples(root, DIGITS)["3"] == 0
    files, skipped = picture_files(root)
    assert files == [("4", kept)]
    assert [(path.name, "symbolic link" in why) for path, why in skipped] == [("3", True)]
    assert read_folder(root, DIGITS).skipped == skipped
    assert remove_last_sample(root) == kept and remove_last_sample(root) is None
    assert len(list((elsewhere / "3").iterdir())) == 1  # nothing deleted through the link


def test_a_picture_that_is_a_link_or_a_folder_in_a_label_folder_is_left_out(tmp_path):
    kept = add_sample(tmp_path, "1", stroke())
    outside = tmp_path.parent / f"{tmp_path.name}-secret.png"
    outside.write_bytes(kept.read_bytes())
    (tmp_path / "1" / "link.png").symlink_to(outside)
    (tmp_path / "T-shirt" / "top").mkdir(parents=True)  # where older versions saved them
    add_sample(tmp_path / "T-shirt", "top", stroke())
    pictures = read_folder(tmp_path, DIGITS)
    assert pictures.files == [kept]
    messages = sorted(why for _, why in pictures.skipped)
    assert len(messages) == 2 and "link.png: a symbolic link" in messages[0]
    assert "top: a folder inside the label folder 'T-shirt'" in messages[1]
    assert count_samples(tmp_path, DIGITS)["1"] == 1
    assert remove_last_sample(tmp_path) == kept and outside.exists()


def test_a_picture_larger_than_the_cap_is_refused(tmp_path, monkeypatch):
    add_sample(tmp_path, "1", stroke())
    big = tmp_path / "1" / "huge.png"
    with open(big, "wb") as handle:  # sparse: 3 GiB that take no disk
        handle.truncate(3 << 30)
    monkeypatch.setattr(folder, "MAX_PICTURE_BYTES", 1 << 20)  # read no more than 1 MiB of it
    with pytest.raises(BarenetError, match="huge.png is larger than the 1,048,576 bytes a "
                                           "picture in a samples folder may have") as info:
        read_folder(tmp_path, DIGITS)
    assert "\n" not in str(info.value)
    pictures = read_folder(tmp_path, DIGITS, skip=True)
    assert len(pictures.files) == 1 and pictures.skipped[0][0] == big


def test_each_picture_is_read_once_and_one_deleted_meanwhile_is_left_out(tmp_path,
                                                                        monkeypatch):
    paths = [add_sample(tmp_path, label, stroke()) for label in "127"]
    saved = {path: path.read_bytes() for path in paths}
    preprocess = barenet.vision.preprocess

    def deleting(picture, *args, **kwargs):  # while the first picture is preprocessed
        for path in (paths[0], paths[2]):
            path.unlink(missing_ok=True)
        return preprocess(picture, *args, **kwargs)

    monkeypatch.setattr(barenet.vision, "preprocess", deleting)
    pictures = read_folder(tmp_path, DIGITS)
    assert pictures.files == paths[:2] and pictures.labels.tolist() == [1, 2]
    assert [(path, why.endswith("deleted while the folder was read"))
            for path, why in pictures.skipped] == [(paths[2], True)]
    # the fingerprint is of the bytes decoded, and what older versions recorded for them
    digest = hashlib.sha256()
    for path in paths[:2]:
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        digest.update(saved[path])
    assert pictures.fingerprint == digest.hexdigest()


def test_an_unreadable_picture_is_named_by_its_file(tmp_path):
    assert len(add_sample(tmp_path, "3", stroke()).read_bytes()) <= folder.MAX_PICTURE_BYTES
    (tmp_path / "3" / "zero.png").write_bytes(b"")
    (tmp_path / "3" / "junk.png").write_bytes(b"junk")
    pictures = read_folder(tmp_path, DIGITS, skip=True)
    assert sorted(os.path.basename(why.split(":")[0]) for _, why in pictures.skipped) == \
        ["junk.png", "zero.png"]
