"""`cog login`: credentials for the image registry (Replicate's token flow, or a user name
and password for any other registry), stored by the engine."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import requests

from cog.cli.console import info
from cog.cli.errors import CLIError


def run(args: argparse.Namespace) -> int:
    from cog.engine import connect

    registry = os.environ.get("COG_REGISTRY_HOST", "r8.im")
    engine = connect()
    if args.username or args.password_stdin or not _is_replicate(registry):
        username = args.username or input(f"Username for {registry}: ").strip()
        password = (
            sys.stdin.readline().rstrip("\n")
            if args.password_stdin
            else getpass.getpass(f"Password for {username}@{registry}: ")
        )
        where = engine.login(registry, username, password)
        info(f"Logged in to {registry} as {username} (credentials stored in {where})")
        return 0
    if args.token_stdin:
        token = sys.stdin.read().strip()
    else:
        url = _token_page(registry)
        info(f"Get your CLI token from {url} and paste it here.")
        token = getpass.getpass("CLI auth token: ").strip()
    if token.startswith("r8_"):
        raise CLIError(
            "That is a Replicate API token (r8_...), not a CLI auth token: get the CLI token "
            f"from {_token_page(registry)}"
        )
    username = _verify(registry, token)
    where = engine.login(registry, username, token)
    info(f"Credentials stored in {where}")
    info(
        f"You've successfully authenticated as {username}! You can now use the '{registry}' registry."
    )
    return 0


def _is_replicate(registry: str) -> bool:
    try:
        reply = requests.get(f"https://{registry}/cog/v1/display-token-url", timeout=10)
    except requests.RequestException:
        return False
    return reply.status_code == 200


def _token_page(registry: str) -> str:
    try:
        reply = requests.get(f"https://{registry}/cog/v1/display-token-url", timeout=10)
    except requests.RequestException as exc:
        raise CLIError(f"cannot reach {registry}: {exc}") from exc
    if reply.status_code == 404:
        raise CLIError(f"{registry} is not the Replicate registry: use `cog login -u USER`")
    return str(reply.json().get("url", ""))


def _verify(registry: str, token: str) -> str:
    try:
        reply = requests.post(
            f"https://{registry}/cog/v1/verify-token", data={"token": token}, timeout=30
        )
    except requests.RequestException as exc:
        raise CLIError(f"cannot reach {registry}: {exc}") from exc
    if reply.status_code != 200:
        raise CLIError(f"the token was not accepted by {registry} (status {reply.status_code})")
    return str(reply.json()["username"])
