"""The `cog` command: argument parsing and dispatch. Any error -> message on stderr, exit 1."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from cog._version import __version__
from cog.cli.errors import CLIError

Handler = Callable[[argparse.Namespace], int]


def _add_file_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--file",
        default=None,
        help="the cog.yaml to use (default: cog.yaml, searched upwards)",
    )


def _add_build_flags(parser: argparse.ArgumentParser) -> None:
    _add_file_flag(parser)
    parser.add_argument("--no-cache", action="store_true", help="build without the layer cache")
    parser.add_argument(
        "--separate-weights",
        action="store_true",
        help="put weight files (>= 10 MiB) in their own image layer set",
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="id=ID,src=PATH|env=NAME",
        help="a build secret for `run` commands with secret mounts (repeatable)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "tty", "plain", "quiet"),
        default=os.environ.get("BUILDKIT_PROGRESS") or "auto",
        help="how to show build output (default: $BUILDKIT_PROGRESS or auto)",
    )
    parser.add_argument(
        "--openapi-schema", default=None, metavar="FILE", help="use this OpenAPI schema file"
    )
    parser.add_argument(
        "--use-cog-base-image",
        type=_parse_bool,
        default=None,
        metavar="BOOL",
        help="build on a prebuilt cog base image when one matches (default true)",
    )
    parser.add_argument(
        "--use-cuda-base-image",
        choices=("auto", "true", "false"),
        default="auto",
        help="use an nvidia/cuda base image for GPU models (only false changes anything)",
    )
    parser.add_argument("--dockerfile", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--timestamp", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--strip", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--precompile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-schema-validation", action="store_true", help=argparse.SUPPRESS)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "t", "true", "yes", "y"):
        return True
    if lowered in ("0", "f", "false", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_run_flags(parser: argparse.ArgumentParser, *, default_output: str | None) -> None:
    parser.add_argument(
        "-i",
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an input (repeatable; @path reads a file; repeating a name makes a list)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=default_output,
        help="where to write the output (files, or JSON with --json)",
    )
    parser.add_argument(
        "-e", "--env", action="append", default=[], metavar="NAME=VALUE", help="environment"
    )
    parser.add_argument("--gpus", default=None, help="GPU devices to add (docker syntax)")
    parser.add_argument(
        "--setup-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for setup() (default 300)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="run the project in this Python environment, without a container",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cog",
        description="Package machine-learning models into containers and run them.",
    )
    parser.add_argument("--version", action="version", version=f"cog version {__version__} (cogpy)")
    parser.add_argument("--debug", action="store_true", help="show debugging output")
    parser.add_argument("--no-color", action="store_true", help="disable colored output")
    parser.add_argument("--registry", default=None, help=argparse.SUPPRESS)
    # Global flags are accepted after the command too (`cog predict --debug`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    common.add_argument("--no-color", action="store_true", default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add = commands.add_parser

    def command(name: str, **kwargs: str) -> argparse.ArgumentParser:
        return add(name, parents=[common], **kwargs)  # type: ignore[arg-type]

    init = command("init", help="write a starter cog.yaml and predictor here")
    init.set_defaults(handler=_lazy("cog.cli.scaffold", "run"))

    build = command("build", help="build an image from cog.yaml")
    build.add_argument("-t", "--tag", default=None, help="the image name")
    _add_build_flags(build)
    build.set_defaults(handler=_lazy("cog.cli.build", "run"))

    for name, hidden_help in (
        ("predict", "run a prediction (also: cog run)"),
        ("run", "run a prediction"),
    ):
        predict = command(name, help=hidden_help)
        predict.add_argument("image", nargs="?", default=None, help="an image to run")
        _add_run_flags(predict, default_output=None)
        predict.add_argument(
            "--json",
            default=None,
            metavar="JSON|@FILE|-",
            help="all inputs as one JSON object (inline, @file, or - for stdin)",
        )
        predict.add_argument(
            "--use-replicate-token",
            action="store_true",
            help="pass REPLICATE_API_TOKEN to the model as context",
        )
        _add_build_flags(predict)
        predict.set_defaults(handler=_lazy("cog.cli.predict", "run"))

    train = command("train", help="run a training")
    train.add_argument("image", nargs="?", default=None, help="an image to run")
    _add_run_flags(train, default_output="weights")
    train.add_argument("--json", default=None, metavar="JSON|@FILE|-", help="inputs as JSON")
    _add_build_flags(train)
    train.set_defaults(handler=_lazy("cog.cli.predict", "run_train"))

    serve = command("serve", help="serve the model's HTTP API")
    serve.add_argument("-p", "--port", type=int, default=8393, help="port (default 8393)")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--upload-url", default=None, help="PUT output files to this URL")
    serve.add_argument("--gpus", default=None, help="GPU devices to add (docker syntax)")
    serve.add_argument(
        "-e", "--env", action="append", default=[], metavar="NAME=VALUE", help="environment"
    )
    serve.add_argument("--local", action="store_true", help="serve without a container")
    _add_build_flags(serve)
    serve.set_defaults(handler=_lazy("cog.cli.serve", "run"))

    exec_ = command("exec", help="run a command inside the model's environment (project at /src)")
    exec_.add_argument(
        "-e", "--env", action="append", default=[], metavar="NAME=VALUE", help="environment"
    )
    exec_.add_argument(
        "-p", "--publish", action="append", default=[], metavar="[HOST:]PORT", help="publish"
    )
    exec_.add_argument("--gpus", default=None, help="GPU devices to add (docker syntax)")
    exec_.add_argument("--local", action="store_true", help="run in this Python environment")
    _add_build_flags(exec_)
    exec_.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS...]")
    exec_.set_defaults(handler=_lazy("cog.cli.execute", "run"))

    push = command("push", help="build and push the image to a registry")
    push.add_argument("image", nargs="?", default=None, help="image name (default: cog.yaml image)")
    _add_build_flags(push)
    push.set_defaults(handler=_lazy("cog.cli.push", "run"))

    login = command("login", help="log in to a registry")
    login.add_argument("--token-stdin", action="store_true", help="read the token from stdin")
    login.add_argument(
        "-u", "--username", default=None, help="user name (non-Replicate registries)"
    )
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.set_defaults(handler=_lazy("cog.cli.login", "run"))

    debug = command("debug", help="print the Dockerfile cog build would use")
    _add_file_flag(debug)
    debug.add_argument("--separate-weights", action="store_true")
    debug.add_argument("--image-name", default=None)
    debug.add_argument("--use-cog-base-image", type=_parse_bool, default=None, metavar="BOOL")
    debug.add_argument("--use-cuda-base-image", choices=("auto", "true", "false"), default="auto")
    debug.set_defaults(handler=_lazy("cog.cli.debug", "run"))

    doctor = command("doctor", help="check a project and explain each problem")
    _add_file_flag(doctor)
    doctor.set_defaults(handler=_lazy("cog.cli.doctor", "run"))
    return parser


def _lazy(module: str, name: str) -> Handler:
    """Import a command's module only when it runs, so `cog --help` stays quick."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        function: Handler = getattr(importlib.import_module(module), name)
        return function(args)

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.no_color or os.environ.get("COG_NO_COLOR"):
        os.environ["NO_COLOR"] = "1"
    if args.registry:
        os.environ["COG_REGISTRY_HOST"] = args.registry
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 1
    try:
        return int(args.handler(args) or 0)
    except CLIError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - engine/config errors become one clear line
        from cog.config import ConfigError
        from cog.engine import EngineError

        if isinstance(exc, (EngineError, ConfigError)):
            _error(str(exc))
            return 1
        if args.debug:
            raise
        _error(f"{type(exc).__name__}: {exc}")
        return 1


def _error(message: str) -> None:
    from cog.cli.console import error

    error(message)


if __name__ == "__main__":
    sys.exit(main())
