"""`cog predict` / `cog run` and `cog train`: one prediction against an image, a freshly built
dev image, or (`--local`) the project in this Python environment."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from typing import Any

from cog.cli import client
from cog.cli.errors import CLIError
from cog.cli.inputs import check_inputs, parse_input_flags, parse_json_inputs
from cog.cli.outputs import handle_response
from cog.cli.servers import Server, project_server


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CLIError(f"Failed to parse environment variable '{pair}', expected NAME=value")
        env[name] = value
    return env


def run(args: argparse.Namespace, mode: str = "predict") -> int:
    train = mode == "train"
    in_component = "TrainingInput" if train else "Input"
    out_component = "TrainingOutput" if train else "Output"
    image: str | None = getattr(args, "image", None)
    if image and "=" in image:
        raise CLIError(f"Invalid image name '{image}'. Did you forget -i?")
    json_source: str | None = getattr(args, "json", None)
    if json_source is not None and args.inputs:
        raise CLIError("Must use one of --json or --input to provide model inputs")
    if image and args.local:
        raise CLIError(
            "--local runs the project in the current directory and takes no image; "
            "drop the image name or drop --local"
        )
    env = parse_env(args.env)
    context: dict[str, str] = {}
    if getattr(args, "use_replicate_token", False):
        token = os.environ.get("REPLICATE_API_TOKEN")
        if not token:
            raise CLIError("--use-replicate-token needs REPLICATE_API_TOKEN in the environment")
        context["replicate_api_token"] = token

    server: Server
    if image:
        from cog.cli.containers import ContainerServer
        from cog.engine import connect

        engine = connect()
        doc = _image_schema(engine, image)
        inputs = _inputs(args, json_source, doc, in_component)
        server = ContainerServer(
            engine, image, env=env, mode=mode, gpus=args.gpus, debug=args.debug
        )
    else:
        from cog.cli.project import load_project

        project = load_project(args.file)
        if train and not project.train_ref:
            raise CLIError("cog.yaml has no 'train' entry: add train: \"train.py:train\" to it")
        if not train and not project.predict_ref:
            raise CLIError("cog.yaml has no 'run' entry: add run: \"predict.py:Predictor\" to it")
        doc = project.checked_schema()
        inputs = _inputs(args, json_source, doc, in_component)
        server = project_server(project, args, env={**project.environment, **env}, mode=mode)

    server.start()
    try:
        client.wait_ready(
            server.base_url,
            alive=server.alive,
            timeout=args.setup_timeout,
            what="Model server" if args.local else "Container",
        )
        if doc is None:
            doc = client.fetch_schema(server.base_url)
            if json_source is None:
                inputs = parse_input_flags(args.inputs or [], doc, in_component)
            check_inputs(inputs, doc, in_component)
        response = client.run_prediction(
            server.base_url,
            inputs,
            endpoint="trainings" if train else "predictions",
            context=context,
        )
    finally:
        server.stop()
    return handle_response(
        response,
        doc,
        output_path=args.output,
        json_mode=json_source is not None,
        component=out_component,
        default_name="weights" if train else "output",
    )


def _inputs(
    args: argparse.Namespace, json_source: str | None, doc: Mapping[str, Any] | None, component: str
) -> dict[str, Any]:
    if json_source is not None:
        values = parse_json_inputs(json_source, doc, component)
    else:
        values = parse_input_flags(args.inputs or [], doc, component)
    check_inputs(values, doc, component)
    return values


def _image_schema(engine: Any, image: str) -> dict[str, Any] | None:
    """The schema label of an image (pulled first if it is not here)."""
    from cog.engine import EngineError

    if engine.image_id(image) is None:
        try:
            engine.pull(image)
        except EngineError as exc:
            raise CLIError(
                f"image {image} is not available locally and cannot be pulled: {exc}. "
                "To run a command in the model environment, use `cog exec`"
            ) from exc
    labels = engine.image_labels(image)
    text = labels.get("run.cog.openapi_schema") or labels.get("org.cogmodel.openapi_schema")
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def run_train(args: argparse.Namespace) -> int:
    return run(args, mode="train")
