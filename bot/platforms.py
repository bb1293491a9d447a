"""The one list of chat platforms: what each is called, how it wants text escaped, its limits, its nudge
send budget, and where its adapter, its settings section and any commands of its own live.

Config, the engine's rendering, `keepgoing check`, the nudge dispatcher, the runner and the command line
read this list; none of them names a platform. Adding a platform: its folder under `bot/adapters/` (a
`build` function, see `bot.adapters.registry`, and a settings section, see `bot.config.Section`), one
line in `PLATFORMS`, its fake and its tests.

Only data lives here (the folders are named, not imported), so every layer may read it; the readers
look it up when they run, never copying it at import.
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
    adapter: str  # the module whose `build(engine, settings, on_fatal)` makes its adapter
    settings: str  # "module:Class": its settings section (a `bot.config.Section`), read from the environment
    label_limit: int | None = None  # characters in one button label, where the platform has a limit
    payload_bytes: int | None = None  # UTF-8 bytes a button's payload may take, where that is limited
    payload_chars: int | None = None  # characters a button's payload may take, the adapter's prefix left out
    commands: str | None = None  # a module whose `add_commands(subparsers)` adds `keepgoing` commands


PLATFORMS: tuple[Platform, ...] = (
    # Telegram: 4096 characters a message, 64 bytes of callback data; nudges under its ~30 a second.
    Platform(
        "telegram",
        Markup.HTML,
        text_limit=4096,
        rate=25.0,
        adapter="bot.adapters.telegram.adapter",
        settings="bot.adapters.telegram.settings:TelegramSettings",
        payload_bytes=64,
    ),
    # Discord: 2000 characters a message, 80 a button label, 100 a custom_id (8 kept for the adapter's
    # prefix); nudges under its 50 requests a second; `keepgoing discord-sync` uploads its commands.
    Platform(
        "discord",
        Markup.MARKDOWN,
        text_limit=2000,
        rate=40.0,
        adapter="bot.adapters.discord.adapter",
        settings="bot.adapters.discord.settings:DiscordSettings",
        label_limit=80,
        payload_chars=100 - 8,
        commands="bot.adapters.discord.cli",
    ),
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
