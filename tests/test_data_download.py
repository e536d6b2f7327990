"""Downloads, for real, from a local HTTP server on 127.0.0.1 (never the internet)."""

import contextlib
import hashlib
import http.server
import os
import socket
import threading
import time

import numpy as np
import pytest

from barenet.data import datasets, download
from barenet.data.datasets import FILES, DatasetSpec, load_dataset
from barenet.data.download import download_file, download_files
from barenet.data.idx import write_idx
from barenet.errors import BarenetError


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (URL path -> bytes); paths in ``server.truncate`` lie about
    their length: Content-Length is 100 bytes more than the body, then the connection closes;
    paths in ``server.drip`` send their body one byte every 50 ms."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        if self.path in self.server.endless:  # no Content-Length, and far too much data
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(10_000):
                    self.wfile.write(body)
            self.close_connection = True
            return
        extra = 100 if self.path in self.server.truncate else 0
        self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        if self.path in self.server.drip:
            with contextlib.suppress(OSError):  # until the client hangs up
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
        else:
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.truncate, httpd.endless, httpd.drip = {}, set(), set(), set()
    httpd.requests = []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def dead_url():
    """A loopback URL nobody listens on: connections are refused."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def tiny(tmp_path, rng):
    """Four tiny IDX files like a real dataset's: {file name: bytes}, and their arrays."""
    arrays = [rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 12, dtype=np.uint8),
              rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 5, dtype=np.uint8)]
    blobs = {}
    for name, array in zip(FILES, arrays, strict=True):
        write_idx(tmp_path / "src" / name, array)
        blobs[name] = (tmp_path / "src" / name).read_bytes()
    return blobs, arrays


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _listing(folder) -> list[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_download_success_with_progress(server, tmp_path, capsys):
    server.files["/m1/a.bin"] = data = os.urandom(200_000)
    dest = download_file("a.bin", _sha(data), [server.url + "/m1"], tmp_path / "cache",
                         progress=True)
    assert dest == tmp_path / "cache" / "a.bin" and dest.read_bytes() == data
    assert _listing(tmp_path / "cache") == ["a.bin"]
    err = capsys.readouterr().err
    assert "downloading http://127.0.0.1" in err and "a.bin: 100%" in err and "200k/200k" in err


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    server.files["/m1/a.bin"] = b"not what was published"
    with pytest.raises(BarenetError, match=r"could not download a.bin \(.*/m1/a.bin: "
                                           "SHA-256 mismatch"):
        download_file("a.bin", _sha(b"the real thing"), [server.url + "/m1/"], tmp_path,
                      progress=False)
    assert _listing(tmp_path) == []


def test_wrong_checksum_falls_back_to_next_mirror(server, tmp_path):
    server.files["/m1/a.bin"] = b"corrupt copy"
    server.files["/m2/a.bin"] = good = b"the real thing"
    dest = download_file("a.bin", _sha(good), [server.url + "/m1/", server.url + "/m2/"],
                         tmp_path, progress=False)
    assert dest.read_bytes() == good and _listing(tmp_path) == ["a.bin"]
    assert server.requests == ["/m1/a.bin", "/m2/a.bin"]


def test_truncated_transfer(server, tmp_path):
    server.files["/m1/a.bin"] = data = os.urandom(5000)
    server.truncate.add("/m1/a.bin")
    with pytest.raises(BarenetError, match="transfer cut short: got 5000 of 5100 bytes"):
        download_file("a.bin", _sha(data), [server.url + "/m1/"], tmp_path, progress=False)
    assert _listing(tmp_path) == []
    # The same file intact on a second mirror is taken from there.
    server.files["/m2/a.bin"] = data
    download_file("a.bin", _sha(data), [server.url + "/m1/", server.url + "/m2/"], tmp_path,
                  progress=False)
    assert _listing(tmp_path) == ["a.bin"]


def test_server_down_then_next_mirror_then_clear_error(server, dead_url, tmp_path):
    server.files["/m2/a.bin"] = data = b"payload"
    download_file("a.bin", _sha(data), [dead_url, server.url + "/m2/"], tmp_path,
                  progress=False)
    assert (tmp_path / "a.bin").read_bytes() == data
    with pytest.raises(BarenetError) as info:
        download_file("b.bin", _sha(data), [dead_url, server.url + "/m2/"], tmp_path,
                      progress=False)
    message = str(info.value)
    assert "could not download b.bin" in message and "refused" in message.lower()
    assert "/m2/b.bin: HTTP 404" in message and "\n" not in message
    assert _listing(tmp_path) == ["a.bin"]


def test_download_files_skips_present_files(server, tmp_path):
    server.files["/m/x"] = b"x"
    (tmp_path / "y").write_bytes(b"already here")
    paths = download_files({"x": _sha(b"x"), "y": _sha(b"whatever")}, [server.url + "/m/"],
                           tmp_path, progress=False)
    assert paths == [tmp_path / "x", tmp_path / "y"]
    assert server.requests == ["/m/x"]


@pytest.fixture
def tiny_mnist(monkeypatch, tiny, server, tmp_path):
    """``mnist`` redefined as the tiny files, served at /m1/, cache in tmp_path/cache."""
    blobs, arrays = tiny
    for name, blob in blobs.items():
        server.files["/m1/" + name] = blob
    spec = DatasetSpec("mnist", datasets.DATASETS["mnist"].class_names,
                       {name: _sha(blob) for name, blob in blobs.items()},
                       {name: len(blob) for name, blob in blobs.items()})
    monkeypatch.setitem(datasets.DATASETS, "mnist", spec)
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.url + "/m1/"])
    monkeypatch.setenv("BARENET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BARENET_DATA", raising=False)
    return arrays


def test_load_dataset_downloads_into_cache(tiny_mnist, server, tmp_path):
    data = load_dataset("mnist", progress=False)
    cache = tmp_path / "cache" / "mnist"
    assert _listing(cache) == sorted(FILES) and data.source == cache
    for got, want in zip([data.train_images, data.train_labels, data.test_images,
                          data.test_labels], tiny_mnist, strict=True):
        np.testing.assert_array_equal(got, want)
    # Second load: from the cache, no request.
    server.requests.clear()
    load_dataset("mnist", progress=False)
    assert server.requests == []


def test_load_dataset_mirrors_argument_and_failure(tiny_mnist, server, dead_url, tmp_path):
    server.files["/m1/" + FILES[2]] = b"tampered"
    with pytest.raises(BarenetError) as info:
        load_dataset("mnist", mirrors=[dead_url, server.url + "/m1/"], progress=False)
    message = str(info.value)
    assert f"could not download {FILES[2]}" in message and "SHA-256 mismatch" in message
    assert f"put {', '.join(FILES)} in {tmp_path / 'cache' / 'mnist'}" in message
    # The two files before the bad one are complete and verified; nothing else is there.
    assert _listing(tmp_path / "cache" / "mnist") == sorted(FILES[:2])


def test_a_mirror_streaming_without_length_is_cut_off_at_the_files_size(server, tmp_path):
    blob = b"x" * 10_000
    server.files["/e/f.gz"] = blob
    server.endless.add("/e/f.gz")  # 100 MB with no Content-Length, if read to the end
    with pytest.raises(BarenetError, match="more than the 10000 bytes the file has"):
        download_file("f.gz", _sha(blob), [server.url + "/e/"], tmp_path / "d",
                      progress=False, max_bytes=len(blob))
    assert _listing(tmp_path / "d") == []  # nothing left behind


def test_a_mirror_announcing_too_much_is_refused_before_reading(server, tmp_path):
    blob = b"y" * 1000
    server.files["/a/f.gz"] = blob
    with pytest.raises(BarenetError, match="announces 1000 bytes, more than the 999"):
        download_file("f.gz", _sha(blob), [server.url + "/a/"], tmp_path / "d",
                      progress=False, max_bytes=999)


def test_every_known_dataset_caps_every_file():
    for spec in datasets.DATASETS.values():
        assert set(spec.max_bytes) == set(FILES) == set(spec.sha256)


def test_a_mirror_dripping_bytes_is_cut_off_at_the_transfers_deadline(server, tmp_path,
                                                                     monkeypatch):
    # one byte every 50 ms, each well within the socket's timeout: 50 s for the whole file
    blob = b"z" * 1000
    server.files["/d/f.gz"] = blob
    server.drip.add("/d/f.gz")
    started = time.monotonic()
    with pytest.raises(BarenetError, match=r"could not download f.gz \(.*/d/f.gz: too slow: "
                                           r"\d+ bytes in 0.\d s, more than the 0.3 s the "
                                           "whole transfer may take") as info:
        download_file("f.gz", _sha(blob), [server.url + "/d/"], tmp_path / "d",
                      progress=False, max_bytes=len(blob), seconds=0.3)
    assert time.monotonic() - started < 5 and "\n" not in str(info.value)
    assert _listing(tmp_path / "d") == []
    # without ``seconds``: the deadline of the file's size (here 0.2 s + 1000 B at 1 MB/s)
    monkeypatch.setattr(download, "TIMEOUT", 0.2)
    monkeypatch.setattr(download, "MIN_RATE", 1_000_000)
    with pytest.raises(BarenetError, match="more than the 0.201 s the whole transfer"):
        download_file("f.gz", _sha(blob), [server.url + "/d/"], tmp_path / "d",
                      progress=False, max_bytes=len(blob))
    assert time.monotonic() - started < 5
