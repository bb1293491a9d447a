"""Ways to find and afford therapy where a person lives, loaded from `messages/routes/<CC>.toml`.

Like the crisis lines (bot/safety/resources.py), routes are data an operator can localise and
re-verify. A file is refused at load, and start-up fails, if any entry is marked
`verified = false`, lacks a source, or says "UNVERIFIED" anywhere: a route that does not exist as
described sends a person who is already struggling to a dead end.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from bot import domain
from bot.config import ConfigError
from bot.knowledge.text import MESSAGES_DIR, base_locale

KINDS = frozenset(
    {
        "directory",
        "specialist_directory",
        "low_cost",
        "public",
        "self_referral",
        "student",
        "veterans",
        "online",
        "community",
    }
)
REASONS = frozenset(domain.REASONS)
_KEYS = frozenset({"kind", "name", "how", "reasons", "source", "verified"})
_ALIASES: Mapping[str, str] = {"UK": "GB"}


class RouteError(ConfigError):
    """A routes file is malformed or holds an unverified entry; raised at load (start-up), and the
    command line prints it as one line, like any configuration problem."""


@dataclass(frozen=True)
class Route:
    """One verified way to find or afford therapy: what it is and how to reach it."""

    kind: str
    name: str
    how: str
    reasons: tuple[str, ...]
    source: str = field(compare=False, repr=False)
    # "How to reach it" in other languages: {"es": "Pide cita en ..."}.
    translations: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def in_language(self, language: str) -> Route:
        """This route described in `language` where the file says how; as written otherwise."""
        how = self.translations.get(language)
        return replace(self, how=how) if how else self


def _default_directory() -> Path:
    return MESSAGES_DIR / "routes"


def load_file(path: Path) -> tuple[Route, ...]:
    """Read and check one `<CC>.toml` (raises RouteError on anything doubtful)."""
    name = f"routes/{path.name}"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RouteError(f"{name}: not valid TOML ({error})") from None
    if doc.get("country") != path.stem:
        raise RouteError(f"{name}: country must be {path.stem!r}")
    entries = doc.get("route", [])
    if not isinstance(entries, list) or not entries:
        raise RouteError(f"{name}: no [[route]] entries")
    routes = []
    for i, entry in enumerate(entries):
        routes.append(_route(entry, f"{name} route #{i + 1}"))
    return tuple(routes)


def _route(entry: object, where: str) -> Route:
    if not isinstance(entry, dict):
        raise RouteError(f"{where}: not a table")
    languages = {k: v for k, v in entry.items() if k not in _KEYS}
    for language, how in languages.items():
        if not (len(language) == 2 and language.isalpha() and language.islower()):
            raise RouteError(f"{where}: unknown key {language!r}")
        if not isinstance(how, str) or not how.strip():
            raise RouteError(f"{where}: {language} must be a translation of how")
    if entry.get("verified", True) is not True:
        raise RouteError(f"{where}: marked verified = false; re-check it before shipping")
    kind, name, how, source = (entry.get(k) for k in ("kind", "name", "how", "source"))
    reasons = entry.get("reasons")
    texts = [kind, name, how, source]
    if not all(isinstance(t, str) and t.strip() for t in texts):
        raise RouteError(f"{where}: kind, name, how and source are required strings")
    if kind not in KINDS:
        raise RouteError(f"{where}: kind must be one of {sorted(KINDS)}")
    if not isinstance(reasons, list) or not reasons or not set(reasons) <= REASONS:
        raise RouteError(f"{where}: reasons must be a non-empty list from {sorted(REASONS)}")
    everything = [*texts, *reasons, *languages.values()]
    if any("UNVERIFIED" in str(t).upper() for t in everything):
        raise RouteError(f"{where}: contains an UNVERIFIED value")
    return Route(
        kind=str(kind),
        name=str(name).strip(),
        how=str(how).strip(),
        reasons=tuple(reasons),
        source=str(source).strip(),
        translations={k: str(v).strip() for k, v in languages.items()},
    )


class RouteBook:
    """Every country's routes, loaded once."""

    def __init__(self, countries: Mapping[str, tuple[Route, ...]]) -> None:
        self._countries = dict(countries)

    @classmethod
    def load(cls, directory: Path | None = None) -> RouteBook:
        """Read every `<CC>.toml` in the directory (default: `<repo>/messages/routes`)."""
        folder = directory or _default_directory()
        files = sorted(folder.glob("*.toml"))
        if not files:
            raise RouteError(f"no route files in {folder}")
        return cls({f.stem: load_file(f) for f in files})

    def countries(self) -> list[str]:
        """Country codes with routes."""
        return sorted(self._countries)

    def routes_for(self, country: str | None, reason: str | None, locale: str) -> list[Route]:
        """The routes in a country that serve a reason (all of them when reason is None), in file
        order, described in the locale's language where the file says how. Unknown country: []."""
        code = (country or "").strip().upper()
        code = _ALIASES.get(code, code)
        language = base_locale(locale)
        return [
            r.in_language(language)
            for r in self._countries.get(code, ())
            if reason is None or reason in r.reasons
        ]


@cache
def book() -> RouteBook:
    """The routes shipped in `messages/routes`, loaded once."""
    return RouteBook.load()


def routes_for(country: str | None, reason: str | None, locale: str) -> list[Route]:
    """The verified routes in a country for a reflection reason (see RouteBook.routes_for)."""
    return book().routes_for(country, reason, locale)
