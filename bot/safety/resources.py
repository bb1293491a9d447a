"""Crisis resources per country, loaded from `messages/resources/<CC>.toml`.

The lines live in data files so operators can localise and re-verify them without touching
code. A crisis reply shows one primary line for the person's country, one international
fallback and an emergency number: picking those is this module's whole job.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.paths import MESSAGES_DIR

INTL = "INTL"
KINDS = frozenset({"crisis", "text", "youth", "emergency", "directory"})
_ALIASES: Mapping[str, str] = {"UK": "GB"}
"""Codes people commonly say that differ from ISO 3166 alpha-2."""
_LANGUAGE_COUNTRY: Mapping[str, str] = {"de": "DE", "fr": "FR"}
"""A bare language tag that points to one country we know; ambiguous ones (en, es) do not."""
_OPTIONAL_KEYS = frozenset({"hours", "source"})


class ResourceError(ValueError):
    """A resource file is malformed; raised at load so a broken edit is caught at start-up."""


@dataclass(frozen=True)
class Resource:
    """One service: what it is, how to reach it, and when it answers."""

    kind: str
    name: str
    contact: str
    hours: str = ""
    # "How to reach it" in other languages: {"es": {"contact": "Llama al 024", "hours": "24 horas"}}.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def in_language(self, language: str) -> Resource:
        """This service described in `language` where the file says how; as written otherwise."""
        words = self.translations.get(language)
        if not words:
            return self
        return replace(self, contact=words.get("contact", self.contact), hours=words.get("hours", self.hours))


@dataclass(frozen=True)
class CrisisResources:
    """What a crisis reply needs for one person: a few well-chosen lines, not a long list."""

    country: str
    primary: Resource
    text: Resource | None
    youth: Resource | None
    emergency: Resource
    international: Resource


@dataclass(frozen=True)
class _Country:
    code: str
    name: str
    resources: tuple[Resource, ...]

    def first(self, kind: str) -> Resource | None:
        return next((r for r in self.resources if r.kind == kind), None)


def _default_directory() -> Path:
    return MESSAGES_DIR / "resources"


def _load_file(path: Path) -> _Country:
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    code = doc.get("country")
    if not isinstance(code, str) or code != path.stem:
        raise ResourceError(f"{path.name}: country must be {path.stem!r}")
    entries = doc.get("resource", [])
    if not isinstance(entries, list) or not entries:
        raise ResourceError(f"{path.name}: no [[resource]] entries")
    resources: list[Resource] = []
    for i, entry in enumerate(entries):
        where = f"{path.name} resource #{i + 1}"
        translations = {k: v for k, v in entry.items() if isinstance(v, dict)}
        unknown = set(entry) - {"kind", "name", "contact"} - _OPTIONAL_KEYS - set(translations)
        if unknown:
            raise ResourceError(f"{where}: unknown key(s) {sorted(unknown)}")
        for language, words in translations.items():
            if not (language.isalpha() and len(language) == 2) or set(words) - {"contact", "hours"}:
                raise ResourceError(f"{where}: [resource.{language}] may only hold contact and hours")
        values = {k: entry.get(k, "") for k in ("kind", "name", "contact", "hours")}
        if not all(isinstance(v, str) for v in values.values()):
            raise ResourceError(f"{where}: values must be strings")
        if values["kind"] not in KINDS:
            raise ResourceError(f"{where}: kind must be one of {sorted(KINDS)}")
        if not values["name"].strip() or not values["contact"].strip():
            raise ResourceError(f"{where}: name and contact are required")
        texts = [*values.values(), *(w for words in translations.values() for w in words.values())]
        if not all(isinstance(v, str) for v in texts):
            raise ResourceError(f"{where}: values must be strings")
        if any("UNVERIFIED" in v.upper() for v in texts):
            raise ResourceError(f"{where}: contains an UNVERIFIED value")
        resources.append(Resource(**values, translations=translations))
    return _Country(code=code, name=str(doc.get("name", code)), resources=tuple(resources))


class ResourceBook:
    """All countries' resources, loaded once; picks the right few for a person."""

    def __init__(self, countries: Mapping[str, _Country]) -> None:
        if INTL not in countries:
            raise ResourceError(f"{INTL}.toml is required (the international fallback)")
        intl = countries[INTL]
        if intl.first("directory") is None or intl.first("emergency") is None:
            raise ResourceError(f"{INTL}.toml needs a directory and an emergency entry")
        for code, country in countries.items():
            if code != INTL and (country.first("crisis") is None or not country.first("emergency")):
                raise ResourceError(f"{code}.toml needs a crisis and an emergency entry")
        self._countries = dict(countries)

    @classmethod
    def load(cls, directory: Path | None = None) -> ResourceBook:
        """Read every `<CC>.toml` in the directory (default: `<repo>/messages/resources`)."""
        folder = directory or _default_directory()
        files = sorted(folder.glob("*.toml"))
        if not files:
            raise ResourceError(f"no resource files in {folder}")
        return cls({f.stem: _load_file(f) for f in files})

    def countries(self) -> list[str]:
        """Known country codes (without INTL), for a country picker."""
        return sorted(c for c in self._countries if c != INTL)

    def name(self, country: str) -> str:
        """The display name written in the country's file."""
        return self._countries[country].name

    def _known(self, code: str | None) -> str | None:
        if not code:
            return None
        code = code.strip().upper()
        code = _ALIASES.get(code, code)
        return code if code in self._countries and code != INTL else None

    def choose_country(self, stated: str | None, locale: str, default: str) -> str:
        """Stated country, else the locale's region, else its language, else default, else INTL.

        A stated country we have no file for gives INTL rather than the operator's default:
        the person told us where they are, and another country's numbers would be wrong.
        """
        if stated and stated.strip():
            return self._known(stated) or INTL
        parts = locale.replace("_", "-").split("-") if locale else []
        if len(parts) > 1 and (region := self._known(parts[1])):
            return region
        if parts and (lang := _LANGUAGE_COUNTRY.get(parts[0].lower())) and self._known(lang):
            return lang
        return self._known(default) or INTL

    def for_person(
        self, stated: str | None, locale: str, default: str, youth: bool = False
    ) -> CrisisResources:
        """The few lines to show one person, described in their language where the files say how;
        youth lines only when they said they are under 18."""
        chosen = self._choose(stated, locale, default, youth)
        language = locale.replace("_", "-").split("-")[0].lower() if locale else ""
        return replace(
            chosen,
            primary=chosen.primary.in_language(language),
            text=chosen.text and chosen.text.in_language(language),
            youth=chosen.youth and chosen.youth.in_language(language),
            emergency=chosen.emergency.in_language(language),
            international=chosen.international.in_language(language),
        )

    def _choose(self, stated: str | None, locale: str, default: str, youth: bool) -> CrisisResources:
        code = self.choose_country(stated, locale, default)
        intl = self._countries[INTL]
        international = intl.first("directory")
        intl_emergency = intl.first("emergency")
        assert international is not None and intl_emergency is not None  # checked in __init__
        if code == INTL:  # a second directory beside the first, rather than the same line twice
            other = next((r for r in intl.resources if r.kind == "directory" and r != international), None)
            return CrisisResources(
                country=INTL,
                primary=international,
                text=None,
                youth=None,
                emergency=intl_emergency,
                international=other or international,
            )
        country = self._countries[code]
        primary = country.first("crisis")
        assert primary is not None  # checked in __init__
        return CrisisResources(
            country=code,
            primary=primary,
            text=country.first("text"),
            youth=country.first("youth") if youth else None,
            emergency=country.first("emergency") or intl_emergency,
            international=international,
        )
