"""Finding a person's IANA time zone from what they type: a zone or city name, or their local time now.

Pure lookups over the tz database that ships with Python (and the `tzdata` package), so the answer is the
same on every machine.
"""

from __future__ import annotations

import importlib.resources
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# Tried first when nothing narrows a UTC offset down to one country: the most populous zone per offset.
POPULAR = (
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/Bogota",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Africa/Nairobi",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Tehran",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Australia/Perth",
    "Pacific/Auckland",
    "UTC",
)
OFFSET_STEP_MINUTES = 15  # every zone in use today is a whole number of quarter hours from UTC
CLOCK_TOLERANCE_MINUTES = 7  # people round the time they read off a clock


@cache
def zone_countries() -> dict[str, frozenset[str]]:
    """Canonical zone -> the ISO country codes it serves (from the tz database's zone.tab)."""
    text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    found: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coords, name = line.split("\t")[:3]
            found[name] = found.get(name, frozenset()) | {code}
    return found


@cache
def all_zones() -> frozenset[str]:
    """Every zone name this machine knows (scanning the database once)."""
    return frozenset(available_timezones())


def zones_for_country(country: str | None) -> list[str]:
    if not country:
        return []
    return sorted(z for z, codes in zone_countries().items() if country in codes)


def _key(text: str) -> str:
    """Case, accents, spaces and punctuation folded away: 'Bogotá' and 'bogota' are one key."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\s_\-.]+", "", plain.casefold())


@cache
def _by_name() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Lookup tables: whole zone name -> zone, and city (last part) -> zones."""
    whole: dict[str, str] = {}
    city: dict[str, list[str]] = {}
    canonical = zone_countries()
    for zone in sorted(all_zones()):
        whole[_key(zone)] = zone
        if zone in canonical or "/" in zone:
            city.setdefault(_key(zone.rsplit("/", 1)[-1]), []).append(zone)
    for names in city.values():
        names.sort(key=lambda z: (z not in canonical, z))
    return whole, city


def match_zone(text: str, country: str | None = None) -> list[str]:
    """Zones a typed name could mean, best first: 'Europe/Berlin', 'berlin', 'New York', 'new_york'."""
    whole, city = _by_name()
    key = _key(text)
    if not key:
        return []
    if key in whole:
        return [whole[key]]
    found = list(city.get(key, []))
    mine = set(zones_for_country(country))
    found.sort(key=lambda z: z not in mine)
    return found


def offset_from_clock(typed: time, now: datetime) -> timedelta | None:
    """The UTC offset that makes a local time of `typed` true at `now` (nearest quarter hour), if any."""
    utc_minutes = now.astimezone(UTC).hour * 60 + now.astimezone(UTC).minute
    diff = (typed.hour * 60 + typed.minute - utc_minutes) % (24 * 60)
    if diff > 14 * 60:  # offsets run from UTC-12 to UTC+14
        diff -= 24 * 60
    rounded = round(diff / OFFSET_STEP_MINUTES) * OFFSET_STEP_MINUTES
    if abs(diff - rounded) > CLOCK_TOLERANCE_MINUTES:
        return None
    return timedelta(minutes=rounded)


def zones_with_offset(offset: timedelta, now: datetime, country: str | None = None) -> list[str]:
    """Canonical zones whose offset is `offset` at `now`: the person's country first, then popular ones."""
    canonical = zone_countries()
    matching = sorted(z for z in canonical if now.astimezone(ZoneInfo(z)).utcoffset() == offset)
    mine = set(zones_for_country(country))
    popular = {z: i for i, z in enumerate(POPULAR)}
    if now.astimezone(ZoneInfo("UTC")).utcoffset() == offset:
        matching.append("UTC")
    matching.sort(key=lambda z: (z not in mine, popular.get(z, len(popular)), z))
    return matching


def guess_from_clock(typed: time, now: datetime, country: str | None = None) -> str | None:
    """The most likely zone for someone whose clock shows `typed` at `now`."""
    offset = offset_from_clock(typed, now)
    if offset is None:
        return None
    found = zones_with_offset(offset, now, country)
    return found[0] if found else None


def suggestions(country: str | None) -> Sequence[str]:
    """Zones worth offering as buttons: a country with one zone gets that zone."""
    zones = zones_for_country(country)
    return zones if len(zones) == 1 else ()
