"""`cog serve`: the model's HTTP API on a host port, from a container or (`--local`) from
this Python environment. Ctrl-C is a clean exit."""

from __future__ import annotations

import argparse
import signal
import time
from types import FrameType

from cog.cli.console import info
from cog.cli.predict import parse_env
from cog.cli.project import load_project
from cog.cli.servers import project_server


def run(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    env = {**project.environment, **parse_env(args.env)}
    server = project_server(
        project,
        args,
        env=env,
        serving=True,
        host=args.host,
        port=args.port,
        upload_url=args.upload_url,
    )
    server.start()
    info(f"Serving at http://{'localhost' if args.host == '127.0.0.1' else args.host}:{args.port}")

    def on_stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Both explicitly: a process started in the background of a non-interactive shell
    # inherits SIGINT ignored, and Ctrl-C (or `kill -INT`) must still stop the server.
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    try:
        while server.alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        server.stop()
        return 0
    server.stop()
    return 1
