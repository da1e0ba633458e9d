"""A custom CA for the image (`COG_CA_CERT`): TLS inside the build and at run time trusts it.

Networks that intercept TLS (corporate proxies, or a build machine whose package index is
reached through one) need their CA inside the image before pip runs. `COG_CA_CERT` may be
a PEM file, a directory of `.crt`/`.pem` files, inline PEM, or base64-encoded PEM.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cog.config import ConfigError

ENV_VAR = "COG_CA_CERT"
STAGED_NAME = "cog-ca.crt"
_BEGIN = "-----BEGIN CERTIFICATE-----"


def read_ca_cert(value: str | None = None) -> str | None:
    """PEM text for `value` (default: the `COG_CA_CERT` environment variable), or None."""
    if value is None:
        value = os.environ.get(ENV_VAR)
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return _checked(text.replace("\\n", "\n"), "inline PEM")
    path = Path(text).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".crt", ".pem"} and p.is_file())
        if not files:
            raise _error(text, "the directory has no .crt or .pem files")
        return _checked("".join(_with_newline(p.read_text()) for p in files), str(path))
    if path.is_file():
        return _checked(path.read_text(), str(path))
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if _BEGIN in decoded:
        return _checked(decoded, "base64 PEM")
    raise _error(
        text,
        "must be a PEM file, a directory of .crt/.pem files, inline PEM or base64-encoded PEM",
    )


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _checked(pem: str, where: str) -> str:
    if _BEGIN not in pem:
        raise _error(where, f"no certificate found (expected a {_BEGIN} block)")
    return _with_newline(pem.strip())


def _error(value: str, message: str) -> ConfigError:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return ConfigError(f'invalid {ENV_VAR} "{shown}": {message}', field=ENV_VAR)
