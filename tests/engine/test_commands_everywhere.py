"""One source of truth for commands: every command the engine answers is in Telegram's menu, in Discord's
slash commands and in /help, in every locale; and nothing in those lists is a command the engine lacks."""

from __future__ import annotations

import pytest

from bot.adapters.discord.client import PERSONAL_COMMANDS, build_tree, descriptions
from bot.adapters.telegram.commands import load_commands
from bot.engine import Engine
from bot.engine.commands import COMMANDS
from tests.chat import Chat

LOCALES = ("en", "es")


@pytest.mark.parametrize("locale", LOCALES)
def test_telegram_menu_lists_exactly_the_engine_commands(locale: str) -> None:
    menu = [command.command for command in load_commands()[locale]]
    assert sorted(menu) == sorted(COMMANDS)


def test_discord_has_a_slash_command_for_every_engine_command() -> None:
    import discord

    client = discord.Client(intents=discord.Intents.none())
    names = {command.name for command in build_tree(client).get_commands()}
    assert set(COMMANDS) <= names
    assert set(PERSONAL_COMMANDS.values()) <= set(COMMANDS)
    for locale in LOCALES:
        assert set(COMMANDS) <= set(descriptions(locale=locale))


@pytest.mark.parametrize("locale", LOCALES)
async def test_help_names_every_command(engine: Engine, locale: str) -> None:
    chat = Chat(engine, locale=locale)
    await chat.send("/help")
    for command in COMMANDS:
        assert f"/{command}:" in chat.text, command


async def test_every_listed_command_is_answered(engine: Engine) -> None:
    chat = Chat(engine)
    await chat.send("/nosuchcommand")
    unknown = chat.text
    assert "don't know that command" in unknown
    for command in COMMANDS:
        if command == "forget":
            continue  # answered with a question; checked below without erasing
        await chat.send(f"/{command}")
        assert "don't know that command" not in chat.text, command
    await chat.send("/forget")
    assert "don't know that command" not in chat.text
