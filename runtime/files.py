"""File inputs and outputs at the HTTP edge (spec 3.7-3.8).

Inputs given as `http(s)://` or `data:` URLs are fetched into a per-prediction temp
directory before the model runs; output files (`FileRef`s anywhere in an output tree) become
data URLs or are PUT to `--upload-url`. All network and disk work runs in a small thread
pool with a synchronous httpx client, so the front's event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cog._native.select import native
from cog._version import __version__
from cog.runtime.protocol import FileRef
from cog.types import guess_extension, guess_type

if TYPE_CHECKING:
    import httpx

#: Parallel downloads and uploads per server (Cog uses 8 download workers).
IO_THREADS = 8
MAX_BASENAME = 200
_CHUNK = 1024 * 1024
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_UPLOAD_ATTEMPTS = 4


class InputDownloadError(Exception):
    """An input URL could not be fetched; the prediction fails with this message."""


class FileUploadError(Exception):
    """An output file could not be uploaded; the prediction fails with this message."""


class FileStore:
    """Fetches inputs and publishes outputs; one per server, shared by all predictions."""

    def __init__(self, *, upload_url: str | None, user_agent: str | None) -> None:
        self.upload_url = _with_trailing_slash(upload_url) if upload_url else None
        self._executor = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="cog-files")
        self._agent = user_agent or f"cogpy/{__version__}"
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()

    @property
    def _client(self) -> httpx.Client:
        """Built at the first download or upload, in a file thread: a server that moves no
        file by URL never loads httpx."""
        client = self._http
        if client is None:
            with self._http_lock:
                if self._http is None:
                    import httpx

                    self._http = httpx.Client(
                        follow_redirects=True,
                        timeout=httpx.Timeout(15.0, connect=10.0),
                        headers={"User-Agent": self._agent},
                    )
                client = self._http
        return client

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._http_lock:
            if self._http is not None:
                self._http.close()

    async def fetch_inputs(
        self, inputs: dict[str, Any], fields: dict[str, bool], prediction_id: str
    ) -> tuple[dict[str, Any], str | None]:
        """Inputs with every URL of a file field replaced by a local path, and the temp dir.

        Downloads run in parallel; the first failure stops the rest and raises
        `InputDownloadError`. The caller removes the temp dir (`remove_dir`) when the
        prediction ends, whatever its outcome.
        """
        jobs: list[tuple[str, int | None, str]] = []
        for name, is_list in fields.items():
            value = inputs.get(name)
            if value is None:
                continue
            if is_list and isinstance(value, list):
                jobs.extend((name, i, v) for i, v in enumerate(value) if _is_fetchable(v))
            elif isinstance(value, str) and _is_fetchable(value):
                jobs.append((name, None, value))
        if not jobs:
            return inputs, None
        tmpdir = tempfile.mkdtemp(prefix=f"cog-inputs-{_safe(prediction_id)}-")
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        futures = [
            loop.run_in_executor(
                self._executor, self._fetch_one, url, os.path.join(tmpdir, str(n)), stop
            )
            for n, (_, _, url) in enumerate(jobs)
        ]
        try:
            paths = await asyncio.gather(*futures)
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            await asyncio.gather(*futures, return_exceptions=True)
            await self.remove_dir(tmpdir)
            raise
        result = dict(inputs)
        for (name, index, _), path in zip(jobs, paths, strict=True):
            if index is None:
                result[name] = path
            else:
                if result[name] is inputs[name]:
                    result[name] = list(inputs[name])
                result[name][index] = path
        return result, tmpdir

    async def remove_dir(self, path: str | None) -> None:
        if path:
            await asyncio.get_running_loop().run_in_executor(
                self._executor, shutil.rmtree, path, True
            )

    def _fetch_one(self, url: str, directory: str, stop: threading.Event) -> str:
        os.makedirs(directory, exist_ok=True)
        if url.startswith("data:"):
            data, mime = decode_data_url(url)
            path = os.path.join(directory, "file" + (_extension(mime) or ""))
            with open(path, "wb") as fh:
                fh.write(data)
            return path
        path = os.path.join(directory, url_basename(url))
        client = self._client
        import httpx  # loaded by now, with the client

        try:
            with client.stream("GET", url) as response:
                if response.status_code >= 300:
                    raise InputDownloadError(
                        f"Failed to download {_redact(url)}: HTTP {response.status_code}"
                    )
                with open(path, "wb") as fh:
                    for chunk in response.iter_bytes(_CHUNK):
                        if stop.is_set():
                            raise InputDownloadError(f"Download of {_redact(url)} was stopped")
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise InputDownloadError(f"Failed to download {_redact(url)}: {exc}") from None
        return path

    async def publish_output(
        self,
        tree: Any,
        prediction_id: str,
        trace: dict[str, str] | None = None,
        prefix: str | None = None,
    ) -> Any:
        """The tree with each `FileRef` replaced by a data URL or the URL it was uploaded to.

        `prefix` is the legacy per-request `output_file_prefix` (multipart PUT to
        prefix + basename); it wins over `--upload-url`.
        """
        if not contains_file(tree):
            return tree
        publish = functools.partial(self._publish_file, prediction_id, trace or {}, prefix)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, _map_files, tree, publish
        )

    def _publish_file(
        self, prediction_id: str, trace: dict[str, str], prefix: str | None, path: str
    ) -> str:
        if prefix:
            return self._upload_multipart(prefix, path)
        if self.upload_url is None:
            return encode_data_url(path)
        return self._upload(path, prediction_id, trace)

    def _upload_multipart(self, prefix: str, path: str) -> str:
        target = prefix + urllib.parse.quote(os.path.basename(path))
        client = self._client
        import httpx  # loaded by now, with the client

        try:
            with open(path, "rb") as fh:
                response = client.put(target, files={"file": fh})
        except httpx.HTTPError as exc:
            raise FileUploadError(f"Got error trying to upload output files: {exc}") from None
        if response.status_code >= 300:
            raise FileUploadError(
                f"Got error trying to upload output files: HTTP {response.status_code} "
                f"from {_redact(target)}"
            )
        return target

    def _upload(self, path: str, prediction_id: str, trace: dict[str, str]) -> str:
        name = os.path.basename(path)
        target = self.upload_url + urllib.parse.quote(name) if self.upload_url else name
        headers = {
            "Content-Type": guess_type(name) or "application/octet-stream",
            "X-Prediction-ID": prediction_id,
            **trace,
        }
        client = self._client
        import httpx  # loaded by now, with the client

        for attempt in range(_UPLOAD_ATTEMPTS):
            try:
                with open(path, "rb") as fh:
                    response = client.put(target, content=fh, headers=headers)
            except httpx.HTTPError as exc:
                if attempt + 1 < _UPLOAD_ATTEMPTS:
                    time.sleep(0.1 * 2**attempt)
                    continue
                raise FileUploadError(
                    f"Got error trying to upload output files: {name}: {exc}"
                ) from None
            if response.status_code in _RETRY_STATUSES and attempt + 1 < _UPLOAD_ATTEMPTS:
                time.sleep(0.1 * 2**attempt)
                continue
            if response.status_code >= 300:
                raise FileUploadError(
                    f"Got error trying to upload output files: {name}: "
                    f"HTTP {response.status_code} from {_redact(target)}"
                )
            location = response.headers.get("location") or str(response.url)
            return _strip_query(urllib.parse.urljoin(str(response.url), location))
        raise AssertionError("unreachable")


def _map_files(tree: Any, publish: Callable[[str], str]) -> Any:
    if isinstance(tree, FileRef):
        return publish(tree.path)
    if isinstance(tree, list):
        return [_map_files(item, publish) for item in tree]
    if isinstance(tree, dict):
        return {k: _map_files(v, publish) for k, v in tree.items()}
    return tree


def contains_file(tree: Any) -> bool:
    """Whether a `FileRef` sits anywhere in an output tree (cheap for the common no-file case)."""
    if isinstance(tree, FileRef):
        return True
    if isinstance(tree, list):
        return any(contains_file(item) for item in tree)
    if isinstance(tree, dict):
        return any(contains_file(item) for item in tree.values())
    return False


def encode_data_url(path: str) -> str:
    """`data:<mime>;base64,...` with the mime guessed from the name (octet-stream if unknown)."""
    mime = guess_type(path) or "application/octet-stream"
    with open(path, "rb") as fh:
        payload = base64.b64encode(fh.read()).decode("ascii")
    return f"data:{mime};base64,{payload}"


def decode_data_url(url: str) -> tuple[bytes, str]:
    """(bytes, media type) of an RFC 2397 URL, base64 or percent-encoded, parameters allowed.

    Decoded by the compiled `datauri` module straight into one buffer (several times
    faster than `base64` on large inputs); base64 whose characters are percent-escaped
    is unescaped first.
    """
    datauri = native("datauri")
    try:
        header, data = datauri.decode(url)
    except datauri.DataURIError as exc:
        if "%" not in url:
            raise InputDownloadError(f"Invalid data URL: {exc}") from None
        try:
            header, data = datauri.decode(urllib.parse.unquote(url))
        except datauri.DataURIError:
            raise InputDownloadError(f"Invalid data URL: {exc}") from None
    return data, header.media_type


def url_basename(url: str) -> str:
    """The URL path's last segment (unquoted), truncated with '~' past 200 bytes; 'file' if none."""
    name = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path)) or "file"
    name = name.replace("\x00", "")
    if name in (".", ".."):
        name = "file"
    if len(name.encode()) > MAX_BASENAME:
        stem, ext = os.path.splitext(name)
        keep = MAX_BASENAME - len(ext.encode()) - 1
        name = stem.encode()[:keep].decode(errors="ignore") + "~" + ext
    return name


def _extension(mime: str) -> str | None:
    ext = guess_extension(mime.split(";")[0].strip())
    return ".jpg" if ext == ".jpe" else ext


def _is_fetchable(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "data:"))


def _with_trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _strip_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _redact(url: str) -> str:
    """A URL for error messages: no query string (it often carries credentials)."""
    return url[:80] + "..." if url.startswith("data:") else _strip_query(url)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40]


__all__ = [
    "FileStore",
    "FileUploadError",
    "InputDownloadError",
    "contains_file",
    "decode_data_url",
    "encode_data_url",
    "url_basename",
]
