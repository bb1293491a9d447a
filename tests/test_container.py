"""The container files, read as Docker and Compose would read them (no Docker daemon is needed).

The image is built by `docker build`, which this suite does not run; these tests hold the files to what the
README promises: a slim non-root image with the console by default, and a compose file whose PostgreSQL is
healthy before the Telegram and Discord processes start, each with its operations port.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import _parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_is_slim_runs_as_a_user_and_opens_the_console() -> None:
    steps = instructions()
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    args = dict(arg.split("=", 1) for op, arg in steps if op == "ARG" and "=" in arg)
    base = final[0][1]
    if base.startswith("${") and base.endswith("}"):  # FROM ${BASE_IMAGE}: the build arg's default
        base = args[base[2:-1]]
    assert final[0][0] == "FROM" and base == "python:3.12-slim"
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [arg for op, arg in final if op == "CMD"] == ['["keepgoing", "chat"]']
    installs = " ".join(arg for op, arg in final if op == "RUN")
    assert "pip install" in installs and ".whl" in installs  # the built wheel, not the source tree
    assert any(op == "COPY" and "messages" in arg for op, arg in steps)  # the wheel carries the messages


def test_secrets_and_state_stay_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".env", "*.db", ".venv", ".git"):
        assert pattern in ignored
    for needed in ("bot", "messages", "pyproject.toml", "README.md", "LICENSE"):
        assert needed not in ignored


def test_postgres_is_healthy_before_the_bot_processes_start(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "telegram", "discord"}
    check = services["postgres"]["healthcheck"]
    assert "pg_isready" in " ".join(check["test"])
    for name in ("telegram", "discord"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["telegram", "discord"])
def test_each_bot_process_runs_its_platform_on_postgres_with_an_ops_port(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    command = service["command"]
    assert command[:2] == ["keepgoing", "run"]
    args = _parser().parse_args(command[1:])  # a command the CLI accepts
    assert args.platforms == name
    env = service["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["OPS_HOST"] == "0.0.0.0"  # reachable from outside the container; published below
    published = {str(p).rsplit(":", 1)[-1]: str(p) for p in service["ports"]}
    assert env["OPS_PORT"] in published
    assert published[env["OPS_PORT"]].startswith("127.0.0.1:")  # metrics stay on the host
    assert service["env_file"] == ".env"
    probe = " ".join(shlex.quote(part) for part in service["healthcheck"]["test"])
    assert f"127.0.0.1:{env['OPS_PORT']}/healthz" in probe


def test_the_telegram_webhook_port_is_published(compose: dict[str, Any]) -> None:
    telegram = compose["services"]["telegram"]
    port = telegram["environment"]["TELEGRAM_LISTEN_PORT"]
    assert f"{port}:{port}" in telegram["ports"]
