"""The `keepgoing` command: run the bot, chat in the console, check the templates."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urlsplit

from bot import platforms
from bot.adapters.base import PlatformStopped
from bot.config import ConfigError, Settings, parse_platforms
from bot.logs import discard_startup_logs, release_startup_logs, setup_logging
from bot.store import StoreError


def _version() -> str:
    """The installed distribution's version (a checkout without an install says so)."""
    try:
        return version("keepgoing")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keepgoing", description="Keep Going chat companion")
    parser.add_argument("--version", action="version", version=f"keepgoing {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the configured platforms (the console chat when none is)")
    names = platforms.names()
    run.add_argument(
        "--platforms",
        help=f"only these adapters, e.g. {names[0]} or {','.join(names)} (overrides PLATFORMS)",
    )
    chat = sub.add_parser("chat", help="chat in this terminal (reads stdin line by line)")
    chat.add_argument("--user", default="local", help="act as another person (default: local)")
    chat.add_argument("--db", type=Path, help="use another SQLite database file")
    chat.add_argument("--locale", default="en", help="the language to chat in (default: en)")
    check = sub.add_parser("check", help="render every template in every locale and check platform limits")
    check.add_argument("--mark-translated", metavar="LOCALE", help="record LOCALE as following the English")
    nudges = sub.add_parser("nudges", help="list the nudges due soon: who would receive what (sends nothing)")
    nudges.add_argument("--dry-run", action="store_true", required=True, help="list only (required)")
    nudges.add_argument("--hours", type=float, default=24.0, help="how far ahead to look (default: 24)")
    for platform in platforms.PLATFORMS:  # a platform's own commands (they set `platform_command`)
        if platform.commands is not None:
            import_module(platform.commands).add_commands(sub)
    safety = sub.add_parser("safety", help="curate the crisis detector (prints to this terminal only)")
    safety_sub = safety.add_subparsers(dest="safety_command", required=True)
    explain = safety_sub.add_parser("explain", help="show how one message is read and what it gets")
    explain.add_argument("text", help="the message, in quotes")
    explain.add_argument("--previous", default="", help="the message before it (split phrases)")
    explain.add_argument("--no-classifier", action="store_true", help="patterns only")
    evaluate = safety_sub.add_parser("eval", help="recall and false alarms over a table of phrases")
    evaluate.add_argument("table", type=Path, help="label<TAB>text or label/category/locale/text TSV")
    evaluate.add_argument("--no-classifier", action="store_true", help="measure the patterns alone")
    evaluate.add_argument("--no-patterns", action="store_true", help="measure the classifier alone")
    evaluate.add_argument("--quiet", action="store_true", help="figures only, not the rows that went wrong")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `keepgoing` command; problems an operator can fix are one line on stderr and exit 2."""
    args = _parser().parse_args(argv)
    if args.command == "safety":  # needs no configuration, stores and logs nothing
        from bot.safety.evaluate import run_safety

        return run_safety(args)
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        console = args.command == "chat" or (args.command == "run" and not settings.has_token())
        # In the console chat, log lines would land in the middle of the conversation: warnings only.
        # `run` and `chat` hold start-up's log lines back until they are running (or report one line).
        level = "WARNING" if console else settings.log_level
        setup_logging(level, settings.secrets, settings.log_format, hold=args.command in ("run", "chat"))
        status = _dispatch(args, settings)
        release_startup_logs()
        return status
    except (ConfigError, StoreError) as error:
        what = "cannot use the database" if isinstance(error, StoreError) else "configuration problem"
        where = f" ({_database(settings.database_url)})" if isinstance(error, StoreError) and settings else ""
        return _fail(f"{what}: {error}{where}", settings)
    except PlatformStopped as error:
        return _fail(str(error), settings)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug, not a setting: still one line, the details only when asked for
        if settings is not None and settings.log_level == "DEBUG":
            release_startup_logs()
            logging.getLogger("bot").exception("keepgoing stopped")
        return _fail(
            f"stopped by an unexpected {type(error).__name__}; LOG_LEVEL=DEBUG shows where", settings, 1
        )


def _fail(line: str, settings: Settings | None, status: int = 2) -> int:
    """One line on stderr; what start-up logged before it is dropped, unless LOG_LEVEL=DEBUG asks for it."""
    if settings is not None and settings.log_level == "DEBUG":
        release_startup_logs()
    else:
        discard_startup_logs()
    text = f"keepgoing: {line}"
    for secret in settings.secrets if settings is not None else ():
        text = text.replace(secret, "[redacted]")
    print(" ".join(text.split()), file=sys.stderr)
    return status


def _database(url: str) -> str:
    """Where DATABASE_URL points, without its password: `postgresql://kg@db:5432/kg`, `sqlite:///kg.db`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check":
        from bot.check import run_check

        return run_check(mark=args.mark_translated)
    platform_command = getattr(args, "platform_command", None)
    if platform_command is not None:
        status: int = platform_command(args, settings)
        return status
    if args.command == "nudges":
        return asyncio.run(_nudges_dry_run(settings, args.hours))
    if args.command == "chat" and args.db is not None:
        settings = replace(settings, database_url=f"sqlite:///{args.db}")
    if args.command == "run" and args.platforms is not None:
        settings = replace(settings, platforms=parse_platforms(args.platforms, "--platforms"))
    if args.command == "chat" or not settings.has_token():
        user = args.user if args.command == "chat" else "local"
        return asyncio.run(_chat(settings, user, getattr(args, "locale", "en")))
    from bot.runner import run_platforms

    return asyncio.run(run_platforms(settings))


async def _chat(settings: Settings, user: str, locale: str) -> int:
    from bot.adapters.console import ConsoleAdapter
    from bot.app import background, running_engine
    from bot.dispatcher import Dispatcher, OneChat

    async with running_engine(settings) as engine:
        release_startup_logs()
        console = ConsoleAdapter(engine, user_id=user, locale=locale)
        dispatcher = Dispatcher(engine.store, engine, [OneChat(console, console.who.chat_id)])
        async with background(dispatcher.run()):  # due nudges show up in the chat
            await console.run()
    return 0


async def _nudges_dry_run(settings: Settings, hours: float) -> int:
    """Print who would receive which nudge in the next `hours` (masked ids; nothing is sent or claimed)."""
    from datetime import UTC, datetime

    from bot.dispatcher import dry_run
    from bot.store import store_from_url

    store = store_from_url(settings.database_url)
    await store.open()
    try:
        count = 0
        print(f"{'due (UTC)':<17}  {'platform':<9}  {'target':<9}  {'local time':<26}  template")
        async for planned in dry_run(store, datetime.now(UTC), hours):
            due = planned.at.strftime("%Y-%m-%d %H:%M")
            where = f"{planned.platform:<9}  {planned.target:<9}  {planned.local:<26}"
            print(f"{due:<17}  {where}  {planned.template}")
            count += 1
        print(f"{count} nudge(s) in the next {hours:g} hour(s); nothing was sent")
    finally:
        await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
