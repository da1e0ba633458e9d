"""Input file names and data URLs, as the front's file store computes them."""

from __future__ import annotations

import base64

import pytest

from cog.runtime.files import InputDownloadError, decode_data_url, url_basename


def test_basename_is_kept_and_unquoted() -> None:
    assert url_basename("https://h/a/b/photo%20one.jpg?sig=1#x") == "photo one.jpg"
    assert url_basename("https://h/") == "file"
    assert url_basename("https://h/..") == "file"


def test_long_names_are_truncated_with_a_tilde_keeping_the_extension() -> None:
    name = url_basename("https://h/" + "a" * 300 + ".png")
    assert name.endswith("~.png")
    assert len(name.encode()) <= 200


def test_data_urls_base64_and_percent_encoded() -> None:
    payload = base64.b64encode(b"\x00\xffhi").decode()
    assert decode_data_url(f"data:image/png;base64,{payload}") == (b"\x00\xffhi", "image/png")
    assert decode_data_url("data:text/plain;charset=utf-8,hello%20world") == (
        b"hello world",
        "text/plain",
    )
    assert decode_data_url("data:,x") == (b"x", "text/plain")


def test_data_url_without_comma_is_an_error() -> None:
    with pytest.raises(InputDownloadError, match="no ','"):
        decode_data_url("data:text/plain;base64")
