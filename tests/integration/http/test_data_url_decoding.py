"""The front's data-URL decoding (compiled decoder) and media types of files (webp too)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from cog.runtime.files import InputDownloadError, decode_data_url, encode_data_url


def test_large_base64_payload_decodes_exactly() -> None:
    data = bytes(range(256)) * 4096 + b"tail"
    url = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    assert decode_data_url(url) == (data, "application/octet-stream")


def test_percent_escaped_base64_is_unescaped() -> None:
    data = b"\xfb\xff\xbe"  # base64 "+/++"
    assert decode_data_url("data:image/png;base64,%2B%2F%2B%2B") == (data, "image/png")


def test_bad_base64_names_the_problem() -> None:
    with pytest.raises(InputDownloadError, match="Invalid data URL: .*position"):
        decode_data_url("data:text/plain;base64,ab!d")


def test_webp_outputs_get_their_media_type(tmp_path: Path) -> None:
    path = tmp_path / "out.webp"
    path.write_bytes(b"RIFF")
    assert encode_data_url(str(path)).startswith("data:image/webp;base64,")
