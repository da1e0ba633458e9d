"""What `cog predict`/`cog train` do with a finished prediction: print it, or write its files
(`output<ext>`, `output.<i><ext>`), and pick the exit code (spec §7.3, §8 item 25)."""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.parse
from collections.abc import Mapping
from typing import IO, Any

from cog.cli.errors import CLIError
from cog.cli.inputs import resolve
from cog.types import guess_extension


class PredictionFailed(CLIError):
    """The model ran but the prediction did not succeed."""


def handle_response(
    response: Mapping[str, Any],
    doc: Mapping[str, Any] | None,
    *,
    output_path: str | None = None,
    json_mode: bool = False,
    component: str = "Output",
    default_name: str = "output",
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Report a prediction response; return the exit code (raises PredictionFailed)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    schema = _output_schema(doc, component)
    status = response.get("status")
    if json_mode:
        return _json_mode(response, schema, output_path, default_name, out, err)
    if status != "succeeded":
        raise PredictionFailed(f'Prediction failed with status "{status}": {response.get("error")}')
    output = response.get("output")
    if output is None:
        err.write("No output generated\n")
        return 0
    if _is_file_value(schema, output):
        path = _write_file(output, _single_path(output_path, default_name, output))
        err.write(f"Written output to: {path}\n")
        return 0
    if isinstance(output, list) and output and _is_file_list(schema, output):
        for index, item in enumerate(output):
            path = _write_file(item, _indexed_path(output_path, default_name, index, item))
            err.write(f"Written output to: {path}\n")
        return 0
    text = output if isinstance(output, str) else json.dumps(output, indent=2)
    _emit(text, output_path, out, err)
    return 0


def _json_mode(
    response: Mapping[str, Any],
    schema: Mapping[str, Any],
    output_path: str | None,
    default_name: str,
    out: IO[str],
    err: IO[str],
) -> int:
    """Print (or write) the whole response; files still land on disk beside it."""
    json_path = output_path
    if json_path is not None and not json_path.endswith(".json"):
        err.write(f"Warning: --output {json_path} does not end in .json; writing JSON anyway\n")
    stem = os.path.splitext(json_path)[0] if json_path else default_name
    output = response.get("output")
    if response.get("status") == "succeeded" and output is not None:
        if _is_file_value(schema, output):
            output = _write_file(output, _single_path(stem, default_name, output, add_ext=True))
        elif isinstance(output, list) and output and _is_file_list(schema, output):
            output = [
                _write_file(item, _indexed_path(stem, default_name, i, item))
                for i, item in enumerate(output)
            ]
    summary = {
        "status": response.get("status"),
        "output": output,
        "error": response.get("error"),
        "metrics": response.get("metrics"),
    }
    _emit(json.dumps(summary, indent=2), json_path, out, err)
    return 0 if response.get("status") == "succeeded" else 1


# Output schema ----------------------------------------------------------------------------


def _output_schema(doc: Mapping[str, Any] | None, component: str) -> dict[str, Any]:
    if not doc:
        return {}
    schemas = (doc.get("components") or {}).get("schemas") or {}
    found = schemas.get(component)
    if found is None and component == "TrainingOutput":
        found = schemas.get("Output")
    return resolve(doc, found or {})


def _is_file_value(schema: Mapping[str, Any], value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if schema:
        return (
            schema.get("type") == "string" and schema.get("format") == "uri" and _is_data_url(value)
        )
    return _is_data_url(value)


def _is_file_list(schema: Mapping[str, Any], value: list[Any]) -> bool:
    items = schema.get("items") or {}
    if schema.get("type") and not (schema.get("type") == "array" and items.get("format") == "uri"):
        return False
    return all(isinstance(v, str) and _is_data_url(v) for v in value)


def _is_data_url(value: str) -> bool:
    return value.startswith("data:") and "," in value


# Files ------------------------------------------------------------------------------------


def decode_data_url(url: str) -> tuple[str, bytes]:
    """`data:<mime>[;params][;base64],<payload>` -> (mime, bytes)."""
    header, _, payload = url[len("data:") :].partition(",")
    parts = header.split(";")
    mime = parts[0] or "text/plain"
    if "base64" in parts[1:]:
        return mime, base64.b64decode(payload + "=" * (-len(payload) % 4))
    return mime, urllib.parse.unquote_to_bytes(payload)


def extension_for(mime: str) -> str:
    # Legacy runtimes wrote `data:None;...` for unknown types: no extension then.
    if mime in ("None", "application/octet-stream"):
        return ""
    return guess_extension(mime.strip().lower()) or ""


def _single_path(
    output_path: str | None, default_name: str, url: str, *, add_ext: bool = False
) -> str:
    ext = extension_for(decode_data_url(url)[0])
    if not output_path:
        if os.path.isdir(default_name):
            raise CLIError(
                f'Default output name "{default_name}" conflicts with directory, provide --output'
            )
        return default_name + ext
    if os.path.isdir(output_path):
        return os.path.join(output_path, default_name + ext)
    return output_path + ext if add_ext else output_path


def _indexed_path(output_path: str | None, default_name: str, index: int, url: str) -> str:
    mime_ext = extension_for(decode_data_url(url)[0])
    if not output_path:
        return f"{default_name}.{index}{mime_ext}"
    if os.path.isdir(output_path):
        return os.path.join(output_path, f"{default_name}.{index}{mime_ext}")
    stem, ext = os.path.splitext(output_path)
    if not ext or ext[1:].isdigit():
        stem, ext = output_path, mime_ext
    return f"{stem}.{index}{ext}"


def _write_file(url: str, path: str) -> str:
    _, data = decode_data_url(url)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _emit(text: str, path: str | None, out: IO[str], err: IO[str]) -> None:
    """`text` to `path` (saying so on stderr), or to stdout without -o."""
    if not path:
        out.write(text + "\n")
        out.flush()
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    err.write(f"Written output to: {path}\n")
