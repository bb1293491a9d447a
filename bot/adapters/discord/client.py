"""The discord.py side: the client (intents, no pings), the slash commands, the restart-proof button template,
and pointing discord.py at another API (a proxy or a test fake).

Nothing here talks to the engine: callbacks go to the client's `handlers` (the adapter), so the same client
and command tree also serve `keepgoing discord-sync`, which only uploads the commands.
"""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path
from typing import Any, Protocol

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord.layout import CUSTOM_ID_TEMPLATE
from bot.templates import DEFAULT_LOCALE, MESSAGES_DIR

logger = logging.getLogger(__name__)

SHARED_COMMANDS = "commands.toml"  # shared with Telegram's menu
DISCORD_COMMANDS = "discord_commands.toml"  # Discord-only commands and options
DESCRIPTION_LIMIT = 100
# Commands the engine answers, as Discord names them -> the engine's command. Personal: DMs or ephemeral.
PERSONAL_COMMANDS: dict[str, str] = {
    "start": "start",
    "reflect": "start",
    "plan": "plan",
    "help": "help",
    "privacy": "privacy",
    "mydata": "mydata",
    "forget": "forget",
    "country": "country",
    "cancel": "cancel",
    "restart": "restart",
    "nudges": "nudges",
    "safetyplan": "safetyplan",
}


class Handlers(Protocol):
    """What the adapter does with each kind of Discord event."""

    async def on_personal_command(
        self, interaction: discord.Interaction, command: str, args: str
    ) -> None: ...

    async def on_button(self, interaction: discord.Interaction, payload: str) -> None: ...

    async def on_direct_message(self, message: discord.Message) -> None: ...

    async def on_encourage(self, interaction: discord.Interaction) -> None: ...

    async def on_setup(self, interaction: discord.Interaction, weekly: bool) -> None: ...

    async def on_resources(self, interaction: discord.Interaction) -> None: ...


def descriptions(root: Path = MESSAGES_DIR, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """Command and option descriptions, from the shared file and the Discord-only one (user-facing text)."""
    found: dict[str, str] = {}
    for name in (SHARED_COMMANDS, DISCORD_COMMANDS):
        path = root / locale / name
        if path.is_file():
            found.update({k: str(v) for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()})
    for key, text in found.items():
        if not 1 <= len(text) <= DESCRIPTION_LIMIT:
            raise ValueError(f"{locale} command description {key!r} must be 1-{DESCRIPTION_LIMIT} characters")
    return found


class MessagesTranslator(app_commands.Translator):
    """Slash command descriptions, options and choices in each locale messages/ has: Discord shows every
    person the words of their client's language (es-ES and es-419 both read messages/es)."""

    def __init__(self, root: Path = MESSAGES_DIR) -> None:
        super().__init__()
        self._texts = {
            folder.name: descriptions(root, folder.name)
            for folder in sorted(root.iterdir())
            if folder.name != DEFAULT_LOCALE and (folder / SHARED_COMMANDS).is_file()
        }

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        texts = self._texts.get(locale.value) or self._texts.get(locale.value.split("-")[0])
        return texts.get(key) if texts is not None and key is not None else None


def _handlers(interaction: discord.Interaction) -> Handlers | None:
    client = interaction.client
    return client.handlers if isinstance(client, KeepGoingClient) else None


class EngineButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID_TEMPLATE):
    """Any button whose custom_id is `kg:<payload>`: rebuilt from the custom_id on every click.

    Registered once in `setup_hook`, it needs no stored view, so a button sent before a restart (or by
    another process) still works; the engine decides whether the payload is still current.
    """

    def __init__(self, item: discord.ui.Button[Any], payload: str) -> None:
        super().__init__(item)
        self.payload = payload

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> EngineButton:
        if not isinstance(item, discord.ui.Button):
            raise TypeError("kg: custom ids are only used on buttons")
        return cls(item, match["payload"])

    async def callback(self, interaction: discord.Interaction) -> None:
        handlers = _handlers(interaction)
        if handlers is not None:
            await handlers.on_button(interaction, self.payload)


def _personal_command(
    name: str, engine_command: str, description: app_commands.locale_str
) -> app_commands.Command[Any, ..., None]:
    async def callback(interaction: discord.Interaction) -> None:
        handlers = _handlers(interaction)
        if handlers is not None:
            await handlers.on_personal_command(interaction, engine_command, "")

    return app_commands.Command(name=name, description=description, callback=callback)


def build_tree(client: discord.Client, texts: dict[str, str] | None = None) -> app_commands.CommandTree[Any]:
    """Every slash command. Usable in servers and in DMs with the bot; not installable to a user account."""
    english = texts if texts is not None else descriptions()

    def text(key: str) -> app_commands.locale_str:
        return app_commands.locale_str(english[key], key=key)

    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        client,
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
    )
    for name, engine_command in PERSONAL_COMMANDS.items():
        tree.add_command(_personal_command(name, engine_command, text(name)))

    @tree.command(name="note", description=text("note"))
    @app_commands.describe(text=text("note_text"))
    async def note(interaction: discord.Interaction, text: str | None = None) -> None:
        handlers = _handlers(interaction)
        if handlers is not None:
            await handlers.on_personal_command(interaction, "note", text or "")

    @tree.command(name="encourage", description=text("encourage"))
    async def encourage(interaction: discord.Interaction) -> None:
        handlers = _handlers(interaction)
        if handlers is not None:
            await handlers.on_encourage(interaction)

    @tree.command(name="resources", description=text("resources"))
    async def resources(interaction: discord.Interaction) -> None:
        handlers = _handlers(interaction)
        if handlers is not None:
            await handlers.on_resources(interaction)

    @tree.command(name="setup", description=text("setup"))
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(weekly=text("setup_weekly"))
    @app_commands.choices(
        weekly=[
            app_commands.Choice(name=text("setup_on"), value="on"),
            app_commands.Choice(name=text("setup_off"), value="off"),
        ]
    )
    async def setup(interaction: discord.Interaction, weekly: str = "on") -> None:
        handlers = _handlers(interaction)
        if handlers is not None:
            await handlers.on_setup(interaction, weekly != "off")

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        command = interaction.command.name if interaction.command else "?"
        logger.error("discord: /%s failed: %s", command, type(error).__name__, exc_info=error)

    return tree


class KeepGoingClient(discord.AutoShardedClient):
    """Guilds and DM intents only, no message cache, and no message of ours can ping anyone.

    Always the auto-sharded client: with no shard settings Discord picks the shard count; with
    DISCORD_SHARD_COUNT/DISCORD_SHARD_IDS several processes each run their share of the shards.
    """

    def __init__(
        self,
        handlers: Handlers | None = None,
        *,
        shard_count: int | None = None,
        shard_ids: list[int] | None = None,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.dm_messages = True
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=shard_count,
            shard_ids=shard_ids,  # type: ignore[arg-type]  # discord.py takes None (its default): all shards
            guild_ready_timeout=guild_ready_timeout,
            max_messages=None,  # keep no copies of people's messages in memory
            chunk_guilds_at_startup=False,
        )
        self.handlers = handlers
        self.tree = build_tree(self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(EngineButton)
        await self.tree.set_translator(MessagesTranslator())

    async def on_message(self, message: discord.Message) -> None:
        if self.handlers is not None:
            await self.handlers.on_direct_message(message)


class ApiEndpoints:
    """Points discord.py at another API base (a proxy, or a test fake) and restores it afterwards.

    discord.py sends REST calls to the class attribute `Route.BASE`, but connects the gateway to the class
    attribute `DiscordWebSocket.DEFAULT_GATEWAY` whatever `Route.BASE` says (also after an invalidated
    session). So with an API URL we ask that API's `GET /gateway/bot` for its gateway and set both; otherwise
    the bot would quietly talk to the real Discord. Both are process-wide: one API per process.
    """

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._saved: tuple[str, yarl.URL] | None = None

    def apply_rest(self) -> None:
        """Before login: REST calls go to the API URL."""
        if self.api_url and self._saved is None:
            self._saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
            Route.BASE = self.api_url

    async def apply_gateway(self, client: discord.Client) -> None:
        """After login (the call needs the token): the gateway that API names."""
        if self.api_url:
            _shards, url, _limits = await client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            logger.info("discord: using the API and gateway at %s", yarl.URL(url).host)

    def restore(self) -> None:
        if self._saved is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved
            self._saved = None


class SyncFailed(Exception):
    """Discord refused or could not be reached; the message says why (never the token)."""


async def sync_commands(token: str, api_url: str = "", guild_id: int | None = None) -> list[str]:
    """Upload the slash commands (globally, or to one guild for testing); returns their names.

    Done on request (`keepgoing discord-sync`), not at every start: global syncs are rate limited and take
    time to reach every client.
    """
    endpoints = ApiEndpoints(api_url)
    endpoints.apply_rest()
    client = KeepGoingClient()
    try:
        await client.login(token)
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            client.tree.copy_global_to(guild=guild)
        synced = await client.tree.sync(guild=guild)
        return [command.name for command in synced]
    except (discord.DiscordException, OSError) as error:
        raise SyncFailed(f"{type(error).__name__}: {error}") from error
    finally:
        await client.close()
        endpoints.restore()
