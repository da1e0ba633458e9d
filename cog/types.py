"""Cog's value types: `Path`, `URLPath`, `File`, `URLFile`, `Secret`, the iterator markers, `Opaque`.

Kept import-light: `requests` and `urllib.request` load only when a URL is fetched.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
import pathlib
import sys
import urllib.parse
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

FILENAME_ILLEGAL_CHARS = ("\u0000", "/")
# Linux allows 255-byte names; 200 leaves room for the prefix tempfile adds.
FILENAME_MAX_LENGTH = 200


def _register_mimetypes() -> None:
    """Python < 3.13 does not know image/webp; Cog registers it."""
    if sys.version_info < (3, 13):
        mimetypes.add_type("image/webp", ".webp")


def guess_extension(mime: str) -> str | None:
    """The file extension for a media type (`.webp` included on every Python)."""
    _register_mimetypes()
    return mimetypes.guess_extension(mime)


def guess_type(name: str) -> str | None:
    """The media type for a file name (`image/webp` included on every Python)."""
    _register_mimetypes()
    return mimetypes.guess_type(name)[0]


def truncate_filename(filename: str, length: int = FILENAME_MAX_LENGTH) -> str:
    """Cut a name to `length` UTF-8 bytes, keeping the extension and marking the cut with `~`."""
    if len(filename.encode("utf-8")) <= length:
        return filename
    name, ext = os.path.splitext(filename)
    room = length - len(ext.encode("utf-8")) - 1
    cut = name.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
    return f"{cut}~{ext}"


def _data_url_parts(url: str) -> tuple[str, bool, str]:
    """(media type, is_base64, payload) of an RFC 2397 `data:` URL."""
    header, sep, payload = url[len("data:") :].partition(",")
    if not sep:
        raise ValueError("invalid data URL: no ',' between the media type and the data")
    params = [p.strip() for p in header.split(";")]
    is_base64 = bool(params) and params[-1].lower() == "base64"
    mime = params[0].lower() if params and params[0] and "=" not in params[0] else "text/plain"
    return mime, is_base64, payload


def decode_data_url(url: str) -> tuple[str, bytes]:
    """(media type, bytes) of a `data:` URL, base64 or percent-encoded."""
    mime, is_base64, payload = _data_url_parts(url)
    raw = urllib.parse.unquote_to_bytes(payload)
    if is_base64:
        try:
            raw = base64.b64decode(raw + b"=" * (-len(raw) % 4))
        except ValueError as exc:
            raise ValueError(f"invalid data URL: bad base64 data ({exc})") from None
    return mime, raw


def get_filename(url: str) -> str:
    """The local file name a downloaded URL gets (its basename; `file.<ext>` for data URLs)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "data":
        mime = _data_url_parts(url)[0]
        ext = guess_extension(mime)
        return "file" + ext if ext else "file"
    basename = urllib.parse.unquote_plus(os.path.basename(parsed.path))
    basename = truncate_filename(basename)
    for char in FILENAME_ILLEGAL_CHARS:
        basename = basename.replace(char, "_")
    return basename


@dataclass(frozen=True)
class Secret:
    """A string that masks itself in `str()`/`repr()`; outputs unwrap it to the plain value."""

    secret_value: str | None = None

    def __repr__(self) -> str:
        return f"Secret({self})"

    def __str__(self) -> str:
        return "**********" if self.secret_value is not None else ""

    def get_secret_value(self) -> str | None:
        return self.secret_value


class URLFile(io.IOBase):
    """A lazy, picklable file-like proxy over a streamed HTTP(S) download."""

    __slots__ = ("__target__", "__url__", "name")

    def __init__(self, url: str, filename: str | None = None) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(
                f"URLFile needs an http or https URL, got scheme {parsed.scheme!r} in {url!r}"
            )
        object.__setattr__(self, "name", filename or os.path.basename(parsed.path))
        object.__setattr__(self, "__url__", url)

    def __del__(self) -> None:
        try:
            object.__getattribute__(self, "__target__")
        except AttributeError:
            return
        super().__del__()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "name": object.__getattribute__(self, "name"),
            "url": object.__getattribute__(self, "__url__"),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "name", state["name"])
        object.__setattr__(self, "__url__", state["url"])

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            setattr(self.__wrapped__, name, value)

    def __getattr__(self, name: str) -> Any:
        if name in ("__target__", "__wrapped__", "__url__"):
            raise AttributeError(name)
        return getattr(self.__wrapped__, name)

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name):
            object.__delattr__(self, name)
        else:
            delattr(self.__wrapped__, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.__wrapped__)

    def read(self, size: int | None = -1) -> bytes:
        return self.__wrapped__.read(size if size is not None and size >= 0 else None)

    def readable(self) -> bool:
        return True

    @property
    def __wrapped__(self) -> Any:
        try:
            return object.__getattribute__(self, "__target__")
        except AttributeError:
            pass
        import requests

        url = object.__getattribute__(self, "__url__")
        headers = {}
        user_agent = os.environ.get("COG_USER_AGENT")
        if user_agent:
            headers["User-Agent"] = user_agent
        resp = requests.get(url, stream=True, timeout=10, headers=headers)
        resp.raise_for_status()
        resp.raw.decode_content = True
        object.__setattr__(self, "__target__", resp.raw)
        return resp.raw

    def __repr__(self) -> str:
        try:
            target = object.__getattribute__(self, "__target__")
        except AttributeError:
            url = object.__getattribute__(self, "__url__")
            return f"<{type(self).__name__} at 0x{id(self):x} for {url!r}>"
        return f"<{type(self).__name__} at 0x{id(self):x} wrapping {target!r}>"


class File(io.IOBase):
    """Deprecated file input type (use `Path`): the model gets a file object."""

    @classmethod
    def validate(cls, value: Any) -> io.IOBase:
        """A file object for `value`: file objects pass, data URLs decode, http(s) streams."""
        if isinstance(value, io.IOBase):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected a file URL string, got {type(value).__name__}")
        scheme = urllib.parse.urlparse(value).scheme
        if scheme == "data":
            buf = io.BytesIO(decode_data_url(value)[1])
            buf.name = get_filename(value)
            return buf
        if scheme in ("http", "https"):
            return URLFile(value)
        raise ValueError(
            f"'{scheme}' is not a valid URL scheme. 'data', 'http', or 'https' is supported."
        )


_PY312 = sys.version_info >= (3, 12)


class Path(pathlib.PosixPath):
    """A local filesystem path; as an input, URLs and data URLs are downloaded to one."""

    @classmethod
    def validate(cls, value: Any) -> pathlib.Path:
        """`pathlib.Path`s pass; data/http(s) URLs become a lazy `URLPath`; others a `Path`."""
        if isinstance(value, pathlib.Path):
            return value
        if isinstance(value, os.PathLike):
            return Path(os.fspath(value))
        if not isinstance(value, str):
            raise ValueError(f"expected a path or URL string, got {type(value).__name__}")
        if urllib.parse.urlparse(value).scheme in ("data", "http", "https"):
            return URLPath(source=value, filename=get_filename(value), fileobj=File.validate(value))
        return Path(value)


class URLPath(pathlib.PosixPath):
    """A URL given for a Path input, not yet downloaded; `convert()` fetches it to a temp file.

    A PosixPath subclass only so that `isinstance(x, pathlib.Path)` holds; `str()` is the URL.
    """

    def __new__(cls, *, source: str, filename: str, fileobj: io.IOBase) -> URLPath:
        if _PY312:
            return super().__new__(cls)
        build = pathlib.PosixPath._from_parts.__func__  # type: ignore[attr-defined]
        return build(cls, [truncate_filename(filename)])  # type: ignore[no-any-return]

    def __init__(self, *, source: str, filename: str, fileobj: io.IOBase) -> None:
        filename = truncate_filename(filename)
        if _PY312:
            pathlib.PosixPath.__init__(self, filename)  # type: ignore[call-arg]
        self.source = source
        self.filename = filename
        self.fileobj = fileobj
        self._local: Path | None = None

    # Paths derived from a URLPath (`.parent`, `/ "x"`) are plain `cog.Path`s.
    def with_segments(self, *segments: Any) -> Path:  # Python >= 3.12
        return Path(*segments)

    if not _PY312:

        @classmethod
        def _from_parts(cls, args: Any) -> Any:  # Python < 3.12
            return Path._from_parts(args)  # type: ignore[attr-defined]

        @classmethod
        def _from_parsed_parts(cls, drv: Any, root: Any, parts: Any) -> Any:  # Python < 3.12
            return Path._from_parsed_parts(drv, root, parts)  # type: ignore[attr-defined]

    def convert(self) -> Path:
        """Download into `NamedTemporaryFile(suffix=<filename>)` (once) and return its path."""
        if self._local is None:
            import shutil
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=self.filename, delete=False) as dest:
                shutil.copyfileobj(self.fileobj, dest)
            self._local = Path(dest.name)
        return self._local

    def unlink(self, missing_ok: bool = False) -> None:
        """Remove the downloaded temp file, if any."""
        if self._local is not None:
            self._local.unlink(missing_ok=missing_ok)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"URLPath({self.source!r})"

    def __reduce__(self) -> Any:
        return (_rebuild_urlpath, (self.source,))


def _rebuild_urlpath(source: str) -> pathlib.Path:
    return Path.validate(source)


Item = TypeVar("Item")


class ConcatenateIterator(Iterator[Item]):
    """Return annotation for streamed text whose chunks display concatenated."""

    @abstractmethod
    def __next__(self) -> Item: ...


class AsyncConcatenateIterator(AsyncIterator[Item]):
    """Async twin of `ConcatenateIterator`."""

    @abstractmethod
    async def __anext__(self) -> Item: ...


class _OpaqueMarker:
    """`Annotated[T, cog.Opaque]`: schema `{"type": "object"}`, values passed untouched."""

    _instance: _OpaqueMarker | None = None

    def __new__(cls) -> _OpaqueMarker:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "cog.Opaque"

    def __reduce__(self) -> str:
        return "Opaque"


Opaque = _OpaqueMarker()


def __getattr__(name: str) -> Any:
    # Cog <= 0.16 defined these in `cog.types`; old models still import them from here.
    if name in ("Input", "FieldInfo"):
        import cog.input

        return getattr(cog.input, name)
    if name == "ExperimentalFeatureWarning":
        import cog

        return cog.ExperimentalFeatureWarning
    raise AttributeError(f"module 'cog.types' has no attribute {name!r}")
