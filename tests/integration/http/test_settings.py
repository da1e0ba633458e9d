"""Flags and environment variables -> server settings (no server process needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cog.runtime.settings import SettingsError, settings_from

STUB = {"COG_PREDICT_TYPE_STUB": "predict.py:Predictor"}


def test_defaults(tmp_path: Path) -> None:
    s = settings_from([], STUB, tmp_path)
    assert (s.host, s.port, s.mode, s.upload_url) == ("0.0.0.0", 5000, "predict", None)
    assert s.await_explicit_shutdown is False
    assert s.max_concurrency is None and s.setup_timeout is None
    assert (s.stream_history_capacity, s.throttle_interval) == (1024, 0.5)
    assert s.queue_size == 0 and s.predict_timeout is None
    assert s.openapi_schema_path is None and not s.kubernetes


@pytest.mark.parametrize("value", ["true", "false", "0", "no"])
def test_await_explicit_shutdown_is_true_for_any_non_empty_string(
    value: str, tmp_path: Path
) -> None:
    assert settings_from(
        ["--await-explicit-shutdown", value], STUB, tmp_path
    ).await_explicit_shutdown


def test_flags_and_environment(tmp_path: Path) -> None:
    env = {
        **STUB,
        "PORT": "6001",
        "COG_MAX_CONCURRENCY": "4",
        "COG_SETUP_TIMEOUT": "2.5",
        "COG_STREAM_HISTORY_CAPACITY": "0",
        "COG_THROTTLE_RESPONSE_INTERVAL": "0.1",
        "WEBHOOK_AUTH_TOKEN": "t",
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        "COG_QUEUE_SIZE": "8",
        "COG_PREDICT_TIMEOUT": "30",
        "COG_OPENAPI_SCHEMA": "schema.json",
    }
    s = settings_from(["--host", "127.0.0.1", "--upload-url", "http://u/"], env, tmp_path)
    assert (s.host, s.port, s.upload_url) == ("127.0.0.1", 6001, "http://u/")
    assert (s.max_concurrency, s.setup_timeout) == (4, 2.5)
    assert (s.stream_history_capacity, s.throttle_interval) == (0, 0.1)
    assert s.webhook_auth_token == "t" and s.kubernetes
    assert (s.queue_size, s.predict_timeout) == (8, 30.0)
    assert s.openapi_schema_path == str(tmp_path.resolve() / "schema.json")


@pytest.mark.parametrize("value", ["", "0", "nonsense", "-3"])
def test_setup_timeout_unset_zero_or_invalid_means_none(value: str, tmp_path: Path) -> None:
    assert settings_from([], {**STUB, "COG_SETUP_TIMEOUT": value}, tmp_path).setup_timeout is None


def test_bad_numbers_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="COG_MAX_CONCURRENCY='x' is not an integer"):
        settings_from([], {**STUB, "COG_MAX_CONCURRENCY": "x"}, tmp_path)
    with pytest.raises(SettingsError, match="PORT='-1' must be at least 0"):
        settings_from([], {**STUB, "PORT": "-1"}, tmp_path)


def test_refs_from_cog_yaml_when_no_stub(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\nrun: "run.py:Runner"\ntrain: "t.py:train"\n'
    )
    s = settings_from([], {}, tmp_path)
    assert (s.predict_ref, s.train_ref) == ("run.py:Runner", "t.py:train")
    assert settings_from(["--x-mode", "train"], {}, tmp_path).train_enabled


def test_bundled_schema_is_found(tmp_path: Path) -> None:
    (tmp_path / ".cog").mkdir()
    (tmp_path / ".cog" / "openapi_schema.json").write_text("{}")
    s = settings_from([], STUB, tmp_path)
    assert s.openapi_schema_path == str(tmp_path.resolve() / ".cog" / "openapi_schema.json")


def test_no_ref_anywhere_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        SettingsError, match="COG_PREDICT_TYPE_STUB environment variable is not set"
    ):
        settings_from([], {}, tmp_path)
    with pytest.raises(SettingsError, match="--x-mode train"):
        settings_from(["--x-mode", "train"], STUB, tmp_path)
