"""Adding a platform is its module (tests/adapters/pigeon.py stands for a folder) and one registry line:
config, the runner, the command line and `keepgoing check` pick it up with no other edit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import platforms
from bot.adapters.base import PlatformStopped
from bot.check import Report, check_code_references
from bot.cli import main
from bot.config import ConfigError, Settings
from bot.engine import Engine
from bot.runner import configured_adapters, dispatch_settings, run_platforms
from bot.templates import Templates
from tests.adapters import pigeon
from tests.adapters.pigeon import FAREWELL, PIGEON, PigeonSettings


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(platforms, "PLATFORMS", (*platforms.PLATFORMS, PIGEON))
    pigeon.BUILT.clear()
    yield
    pigeon.BUILT.clear()


def test_config_reads_its_section_with_its_own_variables() -> None:
    settings = Settings.from_env({"PIGEON_TOKEN": " coo ", "PIGEON_LOFTS": "4"})
    assert settings.section(PigeonSettings) == PigeonSettings(token="coo", lofts=4)
    assert settings.runs("pigeon") and settings.has_token()
    assert settings.rate_share("pigeon") == 0.25
    assert "coo" in settings.secrets
    assert Settings.from_env({"PIGEON_TOKEN": "coo", "PLATFORMS": "Pigeon"}).platforms == ("pigeon",)
    with pytest.raises(ConfigError, match="PIGEON_LOFTS must be at least 1"):
        Settings.from_env({"PIGEON_LOFTS": "0"})
    with pytest.raises(ConfigError, match=r"pigeon is asked for .* but PIGEON_TOKEN is not set"):
        Settings.from_env({"PLATFORMS": "pigeon"}).check_platforms()


def test_the_runner_builds_it_and_paces_its_nudges(engine: Engine) -> None:
    settings = Settings.from_env({"PIGEON_TOKEN": "coo", "PIGEON_LOFTS": "2", "PLATFORMS": "pigeon"})
    [adapter] = configured_adapters(engine, settings)
    assert adapter is pigeon.BUILT[0] and adapter.platform == "pigeon"
    assert pigeon.BUILT[0].settings == PigeonSettings(token="coo", lofts=2)
    assert dispatch_settings(settings).rates["pigeon"] == pytest.approx(5.0 / 2)


async def test_run_starts_and_stops_it(tmp_path: Path) -> None:
    env = {"PIGEON_TOKEN": "coo", "PLATFORMS": "pigeon", "DATABASE_URL": f"sqlite:///{tmp_path / 'kg.db'}"}
    with pytest.raises(PlatformStopped, match=FAREWELL):
        await run_platforms(Settings.from_env(env))
    assert [a.events for a in pigeon.BUILT] == [["start", "stop"]]


def test_the_command_line_knows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("TELEGRAM_TOKEN", "DISCORD_TOKEN", "PIGEON_TOKEN", "PLATFORMS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_TOKEN", "123:abc")
    assert main(["run", "--platforms", "pigeon"]) == 2
    assert capsys.readouterr().err == (
        "keepgoing: configuration problem: pigeon is asked for (PLATFORMS or --platforms) "
        "but PIGEON_TOKEN is not set\n"
    )


def test_keepgoing_check_holds_payloads_to_its_limit() -> None:
    report = Report(problems=[])
    check_code_references(Templates(), report)
    assert report.problems and all("(Pigeon allows 3)" in p for p in report.problems)
