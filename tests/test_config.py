"""Settings for several processes: which adapters a process runs, and its share of each platform's limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.telegram.sending import SAFETY
from bot.cli import main
from bot.config import ConfigError, Settings
from bot.engine import Engine
from bot.runner import configured_adapters, dispatch_settings

TOKENS = {"TELEGRAM_TOKEN": "123:abc", "DISCORD_TOKEN": "d"}


def test_each_process_takes_an_equal_share_of_the_bots_rate_limits() -> None:
    alone = Settings.from_env(dict(TOKENS))
    assert alone.rate_share("telegram") == alone.rate_share("discord") == 1.0
    three = Settings.from_env({**TOKENS, "TELEGRAM_PROCESSES": "3"})
    assert three.rate_share("telegram") == pytest.approx(1 / 3)
    sharded = Settings.from_env({**TOKENS, "DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "2-3"})
    assert sharded.rate_share("discord") == 0.5
    assert Settings.from_env({**TOKENS, "DISCORD_SHARD_COUNT": "4"}).rate_share("discord") == 1.0
    for bad in ("0", "-1", "two"):
        with pytest.raises(ConfigError, match="TELEGRAM_PROCESSES"):
            Settings.from_env({"TELEGRAM_PROCESSES": bad})


def test_the_shares_reach_the_telegram_sender_and_the_nudge_pacing(engine: Engine) -> None:
    settings = Settings.from_env({"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_PROCESSES": "3"})
    [adapter] = configured_adapters(engine, settings)
    overall = adapter.sender.overall  # type: ignore[attr-defined]
    # a third of Telegram's 30 a second, evenly spaced, with the sender's safety margin
    assert overall.max_rate / overall.time_period == pytest.approx(10.0 / SAFETY)
    rates = dispatch_settings(settings).rates
    assert rates["telegram"] == pytest.approx(25 / 3) and rates["discord"] == 40


def test_platforms_choose_the_adapters_a_process_runs(engine: Engine) -> None:
    both = Settings.from_env(dict(TOKENS))
    assert both.runs("telegram") and both.runs("discord")
    web = Settings.from_env({**TOKENS, "PLATFORMS": " Telegram "})
    assert web.platforms == ("telegram",) and web.runs("telegram") and not web.runs("discord")
    assert [a.platform for a in configured_adapters(engine, web)] == ["telegram"]
    assert not Settings.from_env({"PLATFORMS": "telegram"}).runs("telegram")  # no token
    with pytest.raises(ConfigError, match="PLATFORMS"):
        Settings.from_env({"PLATFORMS": "telegram,slack"})
    with pytest.raises(ConfigError, match="TELEGRAM_TOKEN is not set"):
        Settings.from_env({"DISCORD_TOKEN": "d", "PLATFORMS": "telegram"}).check_platforms()


def test_run_with_a_platform_that_has_no_token_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("TELEGRAM_TOKEN", "DISCORD_TOKEN", "PLATFORMS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_TOKEN", "123:abc")
    assert main(["run", "--platforms", "discord"]) == 2
    assert capsys.readouterr().err == (
        "keepgoing: configuration problem: discord is asked for (PLATFORMS or --platforms) "
        "but DISCORD_TOKEN is not set\n"
    )
