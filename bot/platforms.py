"""The one list of chat platforms: what each is called, how it wants text escaped, its limits, its nudge
send budget, the token it needs, and where its adapter is built.

Config, the engine's rendering, `keepgoing check`, the nudge dispatcher and the runner read this list;
none of them names a platform. Adding a platform: its folder under `bot/adapters/` (with a `build`
function, see `bot.adapters.registry`), one line in `PLATFORMS`, its fake and its tests.

Only data lives here (no platform library is imported), so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Markup

PLAIN_LIMIT = 4096  # characters in one plain-text message (the console, and anything unregistered)


@dataclass(frozen=True)
class Platform:
    """What the rest of the bot needs to know about one chat platform."""

    name: str  # as in PLATFORMS=, UserKey.platform and stored rows; lower case
    markup: Markup  # how its text is escaped
    text_limit: int  # characters in one message; longer replies are split
    rate: float  # nudge sends a second for the whole bot, under the platform's own limit
    token: str  # the Settings field holding its token (the environment variable is its upper case)
    adapter: str  # the module whose `build(engine, settings, on_fatal)` makes its adapter
    label_limit: int | None = None  # characters in one button label, where the platform has a limit


PLATFORMS: tuple[Platform, ...] = (
    # Telegram: 4096 characters a message; nudges under its ~30 messages a second for a bot.
    Platform("telegram", Markup.HTML, 4096, 25.0, "telegram_token", "bot.adapters.telegram"),
    # Discord: 2000 characters a message, 80 a button label; nudges under its 50 requests a second.
    Platform("discord", Markup.MARKDOWN, 2000, 40.0, "discord_token", "bot.adapters.discord", 80),
)


def names() -> tuple[str, ...]:
    """Every registered platform's name, in registry order."""
    return tuple(p.name for p in PLATFORMS)


def find(name: str) -> Platform | None:
    """The registered platform called `name`; None for the console or an unknown name."""
    return next((p for p in PLATFORMS if p.name == name), None)


def markup_for(name: str) -> Markup:
    """How `name` wants text escaped: plain for the console and anything unregistered."""
    found = find(name)
    return found.markup if found else Markup.PLAIN


def text_limits() -> dict[Markup, int]:
    """The longest message each markup may carry: the smallest limit among platforms using it."""
    limits: dict[Markup, int] = {}
    for p in PLATFORMS:
        limits[p.markup] = min(limits.get(p.markup, p.text_limit), p.text_limit)
    limits.setdefault(Markup.PLAIN, PLAIN_LIMIT)
    return limits


def label_limit() -> int:
    """The longest button label every platform takes (a message's length when none has a limit)."""
    declared = [p.label_limit for p in PLATFORMS if p.label_limit is not None]
    return min(declared, default=PLAIN_LIMIT)


def nudge_rates() -> dict[str, float]:
    """Nudge sends a second per platform, for the whole bot."""
    return {p.name: p.rate for p in PLATFORMS}
