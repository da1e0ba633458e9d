"""`cog exec COMMAND [ARGS...]` (Cog's legacy `cog run <cmd>`): a command in the model's
environment, the project at /src; `--local` runs it in the project directory here."""

from __future__ import annotations

import argparse

from cog.cli.errors import CLIError
from cog.cli.predict import parse_env
from cog.cli.project import load_project


def run(args: argparse.Namespace) -> int:
    argv = list(args.cmd)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise CLIError("cog exec needs a command, for example: cog exec python --version")
    project = load_project(args.file)
    env = {**project.environment, **parse_env(args.env)}
    if args.local:
        from cog.cli.local import run_local_command

        return run_local_command(str(project.root), argv, env)

    from cog.cli.build import build_image
    from cog.engine import connect

    ports = {}
    for publish in args.publish:
        host, _, port = publish.rpartition(":")
        if not port.isdigit():
            raise CLIError(f"invalid --publish {publish!r}: expected [HOST:]PORT")
        ports[int(port)] = (host.strip("[]") or "127.0.0.1", int(port))
    image = build_image(project, args, dev=True)
    engine = connect()
    try:
        return engine.run_attached(
            image,
            argv,
            env=env,
            ports=ports,
            mounts={str(project.root): "/src"},
            workdir="/src",
            gpus=args.gpus or ("all" if project.gpu else None),
        )
    except KeyboardInterrupt:
        return 130
