"""The model server behind `cog predict`/`cog train` from a project and `cog serve`: the
project's runtime in this Python environment (`--local`), or a dev image built from the
project with the source bind-mounted at /src."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Protocol

from cog.cli.project import Project


class Server(Protocol):
    @property
    def base_url(self) -> str: ...
    def alive(self) -> bool: ...
    def start(self) -> Any: ...
    def stop(self) -> None: ...


def project_server(
    project: Project,
    args: argparse.Namespace,
    *,
    env: Mapping[str, str],
    mode: str = "predict",
    serving: bool = False,
    host: str = "127.0.0.1",
    port: int | None = None,
    upload_url: str | None = None,
) -> Server:
    """`serving` is `cog serve`: the server's stdout stays on ours, and a container server
    waits for an explicit /shutdown (Ctrl-C sends it)."""
    if args.local:
        from cog.cli.local import LocalServer

        return LocalServer(
            str(project.root),
            predict_ref=project.predict_ref,
            train_ref=project.train_ref,
            mode=mode,
            env=env,
            host=host,
            port=port,
            upload_url=upload_url,
            debug=args.debug,
            inherit_stdout=serving,
        )
    from cog.cli.build import build_image
    from cog.cli.containers import ContainerServer
    from cog.engine import connect

    image = build_image(project, args, dev=True)
    return ContainerServer(
        connect(),
        image,
        env=env,
        project_dir=str(project.root),
        mode=mode,
        host=host,
        port=port,
        upload_url=upload_url,
        gpus=args.gpus or ("all" if project.gpu else None),
        debug=args.debug,
        await_explicit_shutdown=serving,
    )
