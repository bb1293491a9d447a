"""Start-up errors an operator can fix: `keepgoing run` as a subprocess prints ONE line on stderr and exits 2.

Never a traceback, never the token, never a database password; against the fake Telegram and Discord
servers and a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from tests.adapters.discord_helpers import add_guild, new_fake
from tests.adapters.telegram_helpers import BotProcess, Person
from tests.fakes.telegram import FakeTelegram

WRONG_TELEGRAM_TOKEN = "123456789:AAHwrongwrongwrongwrongwrongwrong_xyz"
PASSWORD = "hunter2-very-secret"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keepgoing() -> list[str]:
    """The installed `keepgoing` command next to this interpreter (or the module, in a bare checkout)."""
    script = Path(sys.executable).with_name("keepgoing")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def run(tmp_path: Path, **env: str) -> tuple[int, str]:
    """`keepgoing run` with only these settings; its exit status and stderr."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DISCORD_", "DATABASE_", "LOG_", "OPS_", "PLATFORMS"))
    }
    base.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'kg.db'}", "PYTHONUNBUFFERED": "1", **env})
    proc = await asyncio.create_subprocess_exec(
        *keepgoing(),
        "run",
        cwd=tmp_path,
        env=base,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("keepgoing run did not stop at a start-up error") from None
    assert proc.returncode is not None
    return proc.returncode, err.decode("utf-8", "replace")


def assert_one_line(status: int, err: str, *secrets: str) -> str:
    assert status == 2, err
    assert "Traceback" not in err
    for secret in secrets:
        assert secret not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keepgoing: ")
    return lines[0]


async def test_a_telegram_token_the_server_rejects(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:  # answers 401 to getMe for any other token
        status, err = await run(tmp_path, TELEGRAM_TOKEN=WRONG_TELEGRAM_TOKEN, TELEGRAM_API_URL=tg.api_url)
        assert [r.status for r in tg.requests] == [401]
    line = assert_one_line(status, err, WRONG_TELEGRAM_TOKEN, WRONG_TELEGRAM_TOKEN.split(":")[1])
    assert "Telegram rejected TELEGRAM_TOKEN" in line


async def test_a_telegram_api_url_nobody_answers(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    status, err = await run(tmp_path, TELEGRAM_TOKEN=WRONG_TELEGRAM_TOKEN, TELEGRAM_API_URL=url)
    line = assert_one_line(status, err, WRONG_TELEGRAM_TOKEN, WRONG_TELEGRAM_TOKEN.split(":")[1])
    assert f"cannot reach the Telegram Bot API at {url}" in line


async def test_a_telegram_api_url_that_is_not_a_url(tmp_path: Path) -> None:
    status, err = await run(tmp_path, TELEGRAM_TOKEN=WRONG_TELEGRAM_TOKEN, TELEGRAM_API_URL="localhost:8081")
    line = assert_one_line(status, err, WRONG_TELEGRAM_TOKEN)
    assert "TELEGRAM_API_URL must look like http://host:port" in line


@pytest.mark.parametrize("form", ["root", "base_url"])
async def test_both_forms_of_the_telegram_api_url_work(tmp_path: Path, form: str) -> None:
    async with FakeTelegram() as tg:
        url = tg.api_url if form == "root" else tg.base_url  # http://host:port or http://host:port/bot
        bot = BotProcess(tg, tmp_path)
        bot.env["TELEGRAM_API_URL"] = url
        try:
            await bot.start()
            [welcome] = await Person(tg, 700_000_301).send("/start")
            assert "Shall we begin?" in welcome.text
            assert await bot.terminate() == 0
        finally:
            await bot.close()
        assert [r.status for r in tg.calls("getMe")] == [200]  # the token reached the right path
        assert not [r for r in tg.requests if r.status in (401, 404)]


async def test_an_unknown_database_scheme(tmp_path: Path) -> None:
    status, err = await run(tmp_path, DATABASE_URL=f"mysql://kg:{PASSWORD}@localhost/kg")
    line = assert_one_line(status, err, PASSWORD)
    assert "unsupported DATABASE_URL scheme 'mysql'" in line


async def test_a_postgresql_server_nobody_answers(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql://kg:{PASSWORD}@127.0.0.1:{port}/kg"
    async with FakeTelegram() as tg:
        status, err = await run(
            tmp_path, DATABASE_URL=url, TELEGRAM_TOKEN=tg.token, TELEGRAM_API_URL=tg.api_url
        )
    line = assert_one_line(status, err, PASSWORD, tg.token)
    assert "cannot use the database" in line and f"postgresql://kg@127.0.0.1:{port}/kg" in line


async def test_a_discord_token_the_server_rejects(tmp_path: Path) -> None:
    async with new_fake() as fake:
        add_guild(fake)
        wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gwrong.wrongwrongwrongwrongwrongwrongwrong"
        status, err = await run(tmp_path, DISCORD_TOKEN=wrong, DISCORD_API_URL=fake.api_url)
        assert any(r.status == 401 for r in fake.requests)
    line = assert_one_line(status, err, wrong, fake.token)
    assert "Discord rejected DISCORD_TOKEN" in line


async def test_an_ops_port_already_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeTelegram() as tg:
            status, err = await run(
                tmp_path, TELEGRAM_TOKEN=tg.token, TELEGRAM_API_URL=tg.api_url, OPS_PORT=str(port)
            )
    line = assert_one_line(status, err, tg.token)
    assert f"OPS_PORT {port}" in line


async def test_json_logs_are_one_object_a_line_without_anyones_words(tmp_path: Path) -> None:
    said = "my neighbour Bartholomew plays the tuba at night"
    async with FakeTelegram() as tg:
        bot = BotProcess(tg, tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
        try:
            await bot.start()
            person = Person(tg, 700_000_302, [said])
            await person.send("/start")
            await person.send(said)
            assert "telegram adapter running" in bot.log  # start-up's lines go out once it is running
            assert await bot.terminate() == 0
        finally:
            await bot.close()
        bot.assert_nothing_leaked([said, "Bartholomew"])
    lines = [json.loads(line) for line in bot.log.splitlines() if line.strip()]
    assert lines and all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    assert any(
        line["logger"] == "bot.engine.engine" and "turn platform=telegram" in line["message"]
        for line in lines
    )
