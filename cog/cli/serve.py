"""`cog serve`: the model's HTTP API on a host port, from a container or (`--local`) from
this Python environment. Ctrl-C is a clean exit."""

from __future__ import annotations

import argparse
import signal
import time
from types import FrameType

from cog.cli.console import info
from cog.cli.predict import Server, parse_env
from cog.cli.project import load_project


def run(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    env = {**project.environment, **parse_env(args.env)}
    server: Server
    if args.local:
        from cog.cli.local import LocalServer

        server = LocalServer(
            str(project.root),
            predict_ref=project.predict_ref,
            train_ref=project.train_ref,
            env=env,
            host=args.host,
            port=args.port,
            upload_url=args.upload_url,
            debug=args.debug,
            inherit_stdout=True,
        )
    else:
        from cog.cli.build import build_image
        from cog.cli.containers import ContainerServer
        from cog.engine import connect

        image = build_image(project, args, dev=True)
        engine = connect()
        server = ContainerServer(
            engine,
            image,
            env=env,
            project_dir=str(project.root),
            host=args.host,
            port=args.port,
            upload_url=args.upload_url,
            gpus=args.gpus or ("all" if project.gpu else None),
            debug=args.debug,
            await_explicit_shutdown=True,
        )
    server.start()
    info(f"Serving at http://{'localhost' if args.host == '127.0.0.1' else args.host}:{args.port}")

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        while server.alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        server.stop()
        return 0
    server.stop()
    return 1
