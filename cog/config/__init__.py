"""cog.yaml: discovery, parsing and validation (spec §5)."""

from cog.config.errors import ConfigError, ConfigWarning
from cog.config.load import find_config, load_config, parse_document, validate_document
from cog.config.models import (
    Build,
    Concurrency,
    Config,
    RunCommand,
    SecretMount,
    Weight,
    WeightSource,
    check_runner_concurrency,
)

__all__ = [
    "Build",
    "Concurrency",
    "Config",
    "ConfigError",
    "ConfigWarning",
    "RunCommand",
    "SecretMount",
    "Weight",
    "WeightSource",
    "check_runner_concurrency",
    "find_config",
    "load_config",
    "parse_document",
    "validate_document",
]
