"""`Path`, `URLPath`, `File`, `URLFile`, `Secret`, iterator markers and `Opaque` (spec §1.8)."""

from __future__ import annotations

import io
import pathlib
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import cog
from cog.types import (
    FILENAME_MAX_LENGTH,
    File,
    Path,
    Secret,
    URLFile,
    URLPath,
    decode_data_url,
    get_filename,
    guess_extension,
    truncate_filename,
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.end_headers()
            return
        body = f"{self.path}|{self.headers.get('User-Agent')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# --- filenames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://example.com/a/image.png", "image.png"),
        ("https://example.com/a/my+file%20name.jpg?sig=1", "my file name.jpg"),
        ("https://example.com/a%2Fb%00c.txt", "a_b_c.txt"),
        ("data:image/png;base64,AAAA", "file.png"),
        ("data:image/webp;base64,AAAA", "file.webp"),
        ("data:text/plain;charset=utf-8,hi", "file.txt"),
        ("data:,hi", "file.txt"),
        ("data:application/x-cog-unknown;base64,AAAA", "file"),
    ],
)
def test_filename_derivation(url, name):
    assert get_filename(url) == name


def test_long_names_truncated_to_200_bytes_keeping_extension():
    name = "é" * 150 + ".safetensors"
    out = truncate_filename(name)
    assert len(out.encode()) <= FILENAME_MAX_LENGTH
    assert out.endswith("~.safetensors")
    assert out.startswith("é")
    assert truncate_filename("short.txt") == "short.txt"
    long_url = "https://example.com/" + "a" * 300 + ".png"
    assert get_filename(long_url) == "a" * (200 - 5) + "~.png"


def test_webp_registered():
    assert guess_extension("image/webp") == ".webp"


@pytest.mark.parametrize(
    ("url", "mime", "data"),
    [
        ("data:text/plain;base64,aGVsbG8=", "text/plain", b"hello"),
        ("data:text/plain;base64,aGVsbG8", "text/plain", b"hello"),
        ("data:text/plain;charset=utf-8;base64,aGk=", "text/plain", b"hi"),
        ("data:text/plain,hello%20world", "text/plain", b"hello world"),
        ("data:;base64,aGk=", "text/plain", b"hi"),
    ],
)
def test_data_url_decoding(url, mime, data):
    assert decode_data_url(url) == (mime, data)


def test_bad_data_url():
    with pytest.raises(ValueError, match="invalid data URL: no ','"):
        decode_data_url("data:text/plain;base64")


# --- Path / URLPath ---------------------------------------------------------------------------


def test_path_is_a_posix_path():
    assert issubclass(Path, pathlib.PosixPath)
    assert cog.types.Path is cog.Path


def test_path_validate():
    p = pathlib.Path("/tmp/x")
    assert Path.validate(p) is p
    local = Path.validate("/tmp/y.txt")
    assert type(local) is Path and str(local) == "/tmp/y.txt"
    url = Path.validate("https://example.com/a/b.png")
    assert isinstance(url, URLPath) and isinstance(url, pathlib.Path)
    assert str(url) == "https://example.com/a/b.png"
    assert url.filename == "b.png" and url.name == "b.png"
    with pytest.raises(ValueError, match="expected a path or URL string, got int"):
        Path.validate(3)


def test_urlpath_convert_downloads_to_a_temp_file_ending_with_the_name(server, monkeypatch):
    monkeypatch.setenv("COG_USER_AGENT", "cog-test/1.0")
    url = Path.validate(f"{server}/dir/my%20weights.tar.gz")
    assert isinstance(url, URLPath)
    local = url.convert()
    try:
        assert type(local) is Path
        assert local.name.endswith("my weights.tar.gz")
        assert local.read_text() == "/dir/my%20weights.tar.gz|cog-test/1.0"
        assert url.convert() == local  # downloaded once
    finally:
        url.unlink()
    assert not local.exists()
    url.unlink(missing_ok=True)


def test_urlpath_data_url_and_derived_paths():
    url = Path.validate("data:text/plain;base64,aGk=")
    assert isinstance(url, URLPath)
    assert type(url.parent) is Path and type(url / "x") is Path
    local = url.convert()
    assert local.name.endswith("file.txt") and local.read_bytes() == b"hi"
    url.unlink()


def test_urlpath_truncates_long_filenames():
    url = URLPath(source="https://example.com/x", filename="n" * 300 + ".bin", fileobj=io.BytesIO())
    assert url.filename == "n" * 195 + "~.bin"


def test_urlpath_pickles_to_its_url():
    url = Path.validate("https://example.com/a/b.png")
    again = pickle.loads(pickle.dumps(url))
    assert isinstance(again, URLPath) and str(again) == str(url)


# --- File / URLFile --------------------------------------------------------------------------


def test_file_validate():
    f = io.BytesIO(b"x")
    assert File.validate(f) is f
    data = File.validate("data:text/plain;base64,aGk=")
    assert isinstance(data, io.BytesIO) and data.read() == b"hi"
    assert data.name == "file.txt"
    remote = File.validate("https://example.com/x/y.bin")
    assert isinstance(remote, URLFile) and remote.name == "y.bin"
    with pytest.raises(
        ValueError,
        match=r"^'ftp' is not a valid URL scheme\. 'data', 'http', or 'https' is supported\.$",
    ):
        File.validate("ftp://example.com/x")


def test_urlfile_streams_lazily_with_user_agent(server, monkeypatch):
    monkeypatch.setenv("COG_USER_AGENT", "agent/2")
    f = URLFile(f"{server}/files/a.txt")
    assert f.name == "a.txt"
    assert "for 'http://127.0.0.1" in repr(f)
    assert f.read() == b"/files/a.txt|agent/2"
    assert "wrapping" in repr(f)


def test_urlfile_raises_for_status(server):
    with pytest.raises(requests.HTTPError, match="404"):
        URLFile(f"{server}/missing").read()


def test_urlfile_pickles_without_connecting():
    f = URLFile("https://example.com/a/b.bin", filename="custom.bin")
    again = pickle.loads(pickle.dumps(f))
    assert again.name == "custom.bin"
    assert "for 'https://example.com/a/b.bin'" in repr(again)


def test_urlfile_needs_http():
    with pytest.raises(ValueError, match="URLFile needs an http or https URL"):
        URLFile("data:,x")


# --- Secret, iterators, Opaque ---------------------------------------------------------------


def test_secret_masks_itself():
    s = Secret("hunter2")
    assert str(s) == "**********"
    assert repr(s) == "Secret(**********)"
    assert s.get_secret_value() == "hunter2"
    assert str(Secret()) == "" and Secret().get_secret_value() is None
    with pytest.raises(AttributeError):
        s.secret_value = "x"  # type: ignore[misc]
    assert "hunter2" not in f"{s} {s!r}"


def test_iterator_markers_are_generic_and_abstract():
    assert cog.ConcatenateIterator[str].__origin__ is cog.ConcatenateIterator
    assert cog.AsyncConcatenateIterator[str].__origin__ is cog.AsyncConcatenateIterator
    with pytest.raises(TypeError):
        cog.ConcatenateIterator()  # type: ignore[abstract]


def test_opaque_is_a_singleton_marker():
    assert repr(cog.Opaque) == "cog.Opaque"
    assert pickle.loads(pickle.dumps(cog.Opaque)) is cog.Opaque
