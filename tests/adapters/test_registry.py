"""The platform list and the adapter contract: every registered platform builds an adapter that keeps the
contract, and config, rendering, `keepgoing check` and nudge pacing read the list."""

from __future__ import annotations

import inspect

from bot import platforms
from bot.adapters.registry import builder, configured
from bot.check import LABEL_LIMIT, LIMITS
from bot.config import Settings, parse_platforms, section_type
from bot.dispatcher import DEFAULT_RATES
from bot.domain import Markup
from bot.engine import Engine, markup_for


def tokens(*chosen: platforms.Platform, value: str = "123:abc") -> dict[str, str]:
    """The environment that sets each chosen platform's token (every platform's when none is chosen)."""
    return {f"{p.name.upper()}_TOKEN": value for p in chosen or platforms.PLATFORMS}


def test_every_registered_platform_builds_an_adapter_that_keeps_the_contract(engine: Engine) -> None:
    settings = Settings.from_env(tokens())
    for platform in platforms.PLATFORMS:
        adapter = builder(platform)(engine, settings, None)
        assert adapter.platform == platform.name
        for method in ("start", "stop", "send"):
            assert inspect.iscoroutinefunction(getattr(adapter, method)), (platform.name, method)


def test_every_registered_platform_has_a_settings_section_with_its_token() -> None:
    for platform in platforms.PLATFORMS:
        kind = section_type(platform)
        assert kind().token == ""  # every field has a default: the platform is off
        section = Settings.from_env(tokens(platform, value="t0ken")).section(kind)
        assert section.token == "t0ken" and "t0ken" in section.secrets()
        assert section.rate_share() == 1.0


def test_only_platforms_with_a_token_and_allowed_are_built(engine: Engine) -> None:
    first, second = platforms.PLATFORMS[0], platforms.PLATFORMS[1]
    both = Settings.from_env({**tokens(first), **tokens(second, value="d")})
    assert [a.platform for a in configured(engine, both)] == [first.name, second.name]
    only = Settings.from_env({**tokens(first), **tokens(second, value="d"), "PLATFORMS": second.name})
    assert [a.platform for a in configured(engine, only)] == [second.name]
    assert configured(engine, Settings()) == []


def test_the_console_and_unknown_names_are_plain_text() -> None:
    assert platforms.find("console") is None
    assert platforms.markup_for("console") is Markup.PLAIN
    assert platforms.text_limits()[Markup.PLAIN] == platforms.PLAIN_LIMIT


def test_the_readers_agree_with_the_registry() -> None:
    """Config, rendering, `keepgoing check` and nudge pacing name the same platforms with the same
    figures as the registry."""
    assert parse_platforms(",".join(reversed(platforms.names()))) == tuple(reversed(platforms.names()))
    assert set(Settings.from_env({}).sections) == set(platforms.names())
    for name in (*platforms.names(), "console"):
        assert markup_for(name) is platforms.markup_for(name)
    assert platforms.text_limits() == LIMITS
    assert platforms.label_limit() == LABEL_LIMIT
    assert platforms.nudge_rates() == dict(DEFAULT_RATES)
