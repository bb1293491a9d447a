"""The platform list and the adapter contract: every registered platform builds an adapter that keeps the
contract, and the places not yet reading the list agree with it (until they do)."""

from __future__ import annotations

import inspect

from bot import platforms
from bot.adapters.registry import builder, configured
from bot.check import LABEL_LIMIT, LIMITS
from bot.config import PLATFORMS, Settings
from bot.dispatcher import DEFAULT_RATES
from bot.domain import Markup
from bot.engine import Engine, markup_for


def test_every_registered_platform_builds_an_adapter_that_keeps_the_contract(engine: Engine) -> None:
    settings = Settings(**{p.token: "123:abc" for p in platforms.PLATFORMS})
    for platform in platforms.PLATFORMS:
        adapter = builder(platform)(engine, settings, None)
        assert adapter.platform == platform.name
        for method in ("start", "stop", "send"):
            assert inspect.iscoroutinefunction(getattr(adapter, method)), (platform.name, method)


def test_only_platforms_with_a_token_and_allowed_are_built(engine: Engine) -> None:
    first, second = platforms.PLATFORMS[0], platforms.PLATFORMS[1]
    both = Settings(**{first.token: "123:abc", second.token: "d"})
    assert [a.platform for a in configured(engine, both)] == [first.name, second.name]
    only = Settings(**{first.token: "123:abc", second.token: "d"}, platforms=(second.name,))
    assert [a.platform for a in configured(engine, only)] == [second.name]
    assert configured(engine, Settings()) == []


def test_the_console_and_unknown_names_are_plain_text() -> None:
    assert platforms.find("console") is None
    assert platforms.markup_for("console") is Markup.PLAIN
    assert platforms.text_limits()[Markup.PLAIN] == platforms.PLAIN_LIMIT


def test_the_remaining_lists_agree_with_the_registry() -> None:
    """Config, rendering, `keepgoing check` and nudge pacing name the same platforms with the same
    figures as the registry (each of these becomes a read of the registry)."""
    assert platforms.names() == PLATFORMS
    for name in (*platforms.names(), "console"):
        assert markup_for(name) is platforms.markup_for(name)
    assert platforms.text_limits() == LIMITS
    assert platforms.label_limit() == LABEL_LIMIT
    assert platforms.nudge_rates() == dict(DEFAULT_RATES)
