"""A model project as the CLI sees it: cog.yaml, its root, runner refs, schema, image name."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cog.cli.errors import CLIError
from cog.config import Config, ConfigError, load_config


@dataclass
class Project:
    root: Path
    config: Config
    config_file: str = "cog.yaml"
    _schema: dict[str, Any] | None = field(default=None, repr=False)
    _schema_error: str | None = field(default=None, repr=False)
    _imports_missing: bool = field(default=False, repr=False)

    @property
    def predict_ref(self) -> str | None:
        return self.config.predict_ref  # type: ignore[no-any-return]

    @property
    def train_ref(self) -> str | None:
        return self.config.train_ref  # type: ignore[no-any-return]

    @property
    def image(self) -> str | None:
        return self.config.image  # type: ignore[no-any-return]

    @property
    def model(self) -> str | None:
        return self.config.model  # type: ignore[no-any-return]

    @property
    def gpu(self) -> bool:
        return bool(self.config.gpu)

    @property
    def environment(self) -> dict[str, str]:
        """cog.yaml `environment` entries (`NAME=value`) as a mapping."""
        return dict(self.config.environment_variables)

    def default_image_name(self) -> str:
        """cog.yaml `image`, then `model`, then `cog-<dirname>` (spec §7.2)."""
        if self.image:
            return self.image
        if self.model:
            return self.model
        return image_name_for_dir(self.root.name)

    def config_json(self) -> str:
        """The effective config, for the `run.cog.config` label."""
        data = self.config.model_dump(mode="json", exclude_none=True)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    def schema(self) -> dict[str, Any] | None:
        """The OpenAPI schema generated on this host from source, or None when that is not
        possible here (the reason is in `schema_error`)."""
        if self._schema is None and self._schema_error is None:
            try:
                from cog.schema import schema_for_project

                self._schema = schema_for_project(self.root, self.predict_ref, self.train_ref)
            except ImportError as exc:
                self._imports_missing = True
                self._schema_error = f"cannot import the model's code on this host ({exc})"
            except Exception as exc:  # noqa: BLE001 - any loader error is reported as text
                self._schema_error = str(exc) or type(exc).__name__
        return self._schema

    def max_concurrency(self) -> int | None:
        """`@cog.concurrent(max=N)` on the runner, when its code can be imported here."""
        if not self.predict_ref:
            return None
        try:
            from cog.loader import load_runner

            return load_runner(self.predict_ref, self.root).concurrency_max
        except Exception:  # noqa: BLE001 - unknown here; the runtime reads the decorator itself
            return None

    @property
    def schema_error(self) -> str | None:
        return self._schema_error

    def checked_schema(self) -> dict[str, Any] | None:
        """The schema; None when the model imports packages this host lacks (the image or
        the running server provides it then); CLIError for a broken model, before any build."""
        schema = self.schema()
        if schema is None and not self._imports_missing:
            raise CLIError(f"Failed to generate the model's OpenAPI schema: {self._schema_error}")
        return schema


def load_project(config_file: str | None = None) -> Project:
    """Find cog.yaml (here or in a parent, or `-f NAME`) and load it; errors say what to fix."""
    try:
        config, root = load_config(config_file)
    except ConfigError as exc:
        raise CLIError(str(exc)) from exc
    name = os.path.basename(config_file) if config_file else "cog.yaml"
    return Project(root=Path(root), config=config, config_file=name)


def image_name_for_dir(dirname: str) -> str:
    """`cog-<dirname>`: lowercased, spaces to `-`, other characters dropped, <= 30 chars."""
    cleaned = re.sub(r"[^a-z0-9-]", "", dirname.lower().replace(" ", "-"))
    return ("cog-" + cleaned)[:30].rstrip("-") or "cog-model"
