"""The console adapter end to end, as a subprocess: `keepgoing chat` scripted through stdin."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

CONSENT, IRELAND, STOPPED = "1", "3", "1"
NOT_REALLY = "3"


def chat(db: Path, *lines: str, user: str = "me", timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env["DATABASE_URL"] = "sqlite:///unused.db"
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--db", str(db), "--user", user],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=next(p for p in db.parents if p.exists()),
    )


def test_scripted_conversation_reaches_the_plan_and_it_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    result = chat(db, "/start", CONSENT, IRELAND, STOPPED, *[NOT_REALLY] * 5, "1")
    assert result.returncode == 0, result.stderr
    assert "Here is your plan" in result.stdout
    assert "needing a specialist" not in result.stdout  # answered "not really"
    assert "Traceback" not in result.stdout + result.stderr
    assert "  1. Yes, let's begin" in result.stdout  # buttons shown as numbered options
    again = chat(db, "/plan")
    assert again.returncode == 0
    assert "Questions you could ask a new therapist" in again.stdout
    assert "What you recognised: practical barriers" in again.stdout


def test_each_user_has_their_own_conversation(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    chat(db, "/start", CONSENT, IRELAND, user="ana")
    other = chat(db, "/plan", user="ben")
    assert "no plan yet" in other.stdout
    resumed = chat(db, "/start", user="ana")
    assert "partway through" in resumed.stdout


def test_bad_input_never_crashes(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    lines = [
        "",
        "/start",
        "0",
        "42",
        "x" * 10_000,
        "🙂 שלום مرحبا",
        "\x00\x07\x1b[2J",
        "/nope",
        "/plan",
        "1",  # no options on screen after /plan: just text
        "/start",
        CONSENT,
    ]
    result = chat(db, *lines)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Please pick a number from 1 to 2" in result.stdout
    assert "don't know that command" in result.stdout
    assert "which country" in result.stdout  # the final "1" still gave consent
    assert result.stdout.count("Shall we begin?") == 2


def test_crisis_message_gets_resources_at_any_point(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    result = chat(db, "/start", CONSENT, IRELAND, "i dont want to be alive anymore")
    assert "Samaritans" in result.stdout and "116 123" in result.stdout
    assert "Are you safe right now?" in result.stdout


def test_locked_database_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    chat(db, "/start")  # creates and migrates the file
    holder = sqlite3.connect(db, isolation_level=None, timeout=0.1)
    holder.execute("PRAGMA busy_timeout = 0")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = chat(db, "/start", CONSENT, timeout=60)
    finally:
        holder.rollback()
        holder.close()
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode != 0 or "couldn't save that just now" in result.stdout
    if result.returncode != 0:
        assert "cannot use the database" in result.stderr


def test_missing_database_folder_exits_non_zero(tmp_path: Path) -> None:
    result = chat(tmp_path / "missing" / "kg.db", "/start")
    assert result.returncode == 2
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("line", ["/cancel", "/mydata", "/forget", "/help", "/privacy", "/restart"])
def test_commands_before_start_are_answered(tmp_path: Path, line: str) -> None:
    result = chat(tmp_path / "kg.db", line)
    assert result.returncode == 0
    body = result.stdout.split("\n\n", 1)[1]  # after the intro line
    assert body.strip()
    assert "Traceback" not in result.stdout + result.stderr


def test_files_are_printed_in_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    chat(db, "/start", CONSENT, IRELAND, STOPPED, *[NOT_REALLY] * 5, "1")
    result = chat(db, "/mydata")
    assert result.returncode == 0, result.stderr
    assert "--- keepgoing-my-data.json ---" in result.stdout
    assert '"checked_from": null' in result.stdout  # the file's own JSON, not a summary
