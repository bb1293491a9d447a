"""Finding a person's IANA time zone from what they type: a zone or city name, or their local time now.

Pure lookups over the tz database that ships with Python (and the `tzdata` package), and Babel's CLDR
names (`zone_names`), so the answer is the same on every machine. `read_zone` says whether an answer must
be confirmed first: offsets ("UTC+2", "GMT-5", "+05:30"), abbreviations ("EST", "CET", "IST"), countries with
several zones, and names that fit several places always are.
"""

from __future__ import annotations

import importlib.resources
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
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


def fold(text: str) -> str:
    """Case, accents, spaces and punctuation folded away: 'Bogotá' and 'bogota' are one key."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\s_\-.,']+", "", plain.casefold())


_key = fold


@cache
def _by_name() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Lookup tables: whole zone name -> zone, and city (last part) -> zones."""
    whole: dict[str, str] = {}
    city: dict[str, list[str]] = {}
    canonical = zone_countries()
    for zone in sorted(all_zones()):
        if zone.startswith("Etc/") or "/" not in zone:
            continue  # "Etc/GMT+2" is UTC-2 and "EST" has no summer time: read_zone handles those
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


# ---- reading what a person typed: offsets, abbreviations, names, countries ----------------------
OFFSET = re.compile(
    r"^\s*(?:(?:utc|gmt|z)\s*)?([+\-−–])\s*(\d{1,2})(?:\s*(?::|\.|h)?\s*(\d{2}))?\s*(?:h|hrs?|hours?|horas?)?\s*$",
    re.IGNORECASE,
)
UTC_ALONE = re.compile(r"^\s*(?:utc|gmt|z|zulu)(?:\s*[+\-±]?\s*0+(?::00)?)?\s*$", re.IGNORECASE)

# Common abbreviations -> the zone most people using them live in. The person's own country wins where one
# of its zones is known by the abbreviation ("CET" in Spain is Europe/Madrid; "IST" in Ireland is Dublin).
ABBREVIATIONS = {
    "EST": "America/New_York", "EDT": "America/New_York", "ET": "America/New_York",
    "CST": "America/Chicago", "CDT": "America/Chicago", "CT": "America/Chicago",
    "MST": "America/Denver", "MDT": "America/Denver", "MT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "AKST": "America/Anchorage", "AKDT": "America/Anchorage", "HST": "Pacific/Honolulu",
    "AST": "America/Halifax", "ADT": "America/Halifax", "NST": "America/St_Johns", "NDT": "America/St_Johns",
    "BST": "Europe/London", "IST": "Asia/Kolkata", "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon",
    "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "EET": "Europe/Helsinki", "EEST": "Europe/Helsinki",
    "MSK": "Europe/Moscow", "SAST": "Africa/Johannesburg", "WAT": "Africa/Lagos", "EAT": "Africa/Nairobi",
    "CAT": "Africa/Maputo", "PKT": "Asia/Karachi", "JST": "Asia/Tokyo", "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong", "SGT": "Asia/Singapore", "PHT": "Asia/Manila", "WIB": "Asia/Jakarta",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney", "ACST": "Australia/Adelaide",
    "ACDT": "Australia/Adelaide", "AWST": "Australia/Perth", "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland", "ART": "America/Argentina/Buenos_Aires", "BRT": "America/Sao_Paulo",
    "CLT": "America/Santiago", "COT": "America/Bogota", "PET": "America/Lima",
}  # fmt: skip
# Abbreviations whose own-country reading differs from their common one.
COUNTRY_ABBREVIATIONS = {("IE", "IST"): "Europe/Dublin", ("IL", "IST"): "Asia/Jerusalem"}


@dataclass(frozen=True)
class ZoneReading:
    """The zone a person's words point to, and whether to ask "is that right?" before using it."""

    zone: str
    confirm: bool


def parse_offset(text: str) -> timedelta | None:
    """ "UTC+2", "GMT-5", "+05:30", "utc −3.30" -> the offset east of UTC; None if it is not one."""
    if UTC_ALONE.match(text):
        return timedelta(0)
    found = OFFSET.match(text)
    if not found:
        return None
    sign = -1 if found.group(1) in "-−–" else 1
    hours, minutes = int(found.group(2)), int(found.group(3) or 0)
    offset = sign * timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        return None
    return offset


def zone_for_offset(offset: timedelta, now: datetime, country: str | None = None) -> str | None:
    """A fixed zone for a whole-hour offset (UTC+2 is Etc/GMT-2: POSIX signs run backwards); for a
    half or quarter hour, the place that has it now, the person's country first."""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    found = zones_with_offset(offset, now, country)
    return found[0] if found else None


def zone_for_abbreviation(text: str, now: datetime, country: str | None = None) -> str | None:
    """ "EST" -> America/New_York (not the fixed EST zone); the person's country first where it fits."""
    abbreviation = text.strip().upper()
    if abbreviation not in ABBREVIATIONS:
        return None
    if country is not None and (country, abbreviation) in COUNTRY_ABBREVIATIONS:
        return COUNTRY_ABBREVIATIONS[(country, abbreviation)]
    for zone in country_zones_in_order(country) if country else ():
        names = {ZoneInfo(zone).tzname(datetime(now.year, month, 15)) for month in (1, 7)}
        if abbreviation in names:
            return zone
    return ABBREVIATIONS[abbreviation]


def read_zone(text: str, now: datetime, country: str | None = None) -> ZoneReading | None:
    """What a typed answer to "which time zone?" means, or None. One exact place is used as it is;
    offsets, abbreviations, countries with several zones and names of several places are confirmed."""
    from bot.nudges.zone_names import countries_by_name, named_places

    offset = parse_offset(text)
    if offset is not None:
        zone = zone_for_offset(offset, now, country)
        return ZoneReading(zone, confirm=True) if zone else None
    zone = zone_for_abbreviation(text, now, country)
    if zone is not None:
        return ZoneReading(zone, confirm=True)
    found = match_zone(text, country)
    for place in named_places().get(fold(text), []):
        if place not in found:
            found.append(place)
    if found:
        mine = set(zones_for_country(country))
        found.sort(key=lambda z: z not in mine)
        return ZoneReading(found[0], confirm=len(found) > 1)
    code = countries_by_name().get(fold(text))
    if code is not None:
        in_country = country_zones_in_order(code)
        if in_country:
            return ZoneReading(in_country[0], confirm=len(in_country) > 1)
    return None


@cache
def _zone_tab_order() -> dict[str, list[str]]:
    text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    order: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coords, name = line.split("\t")[:3]
            order.setdefault(code, []).append(name)
    return order


def country_zones_in_order(code: str) -> list[str]:
    """A country's zones, most populous first (popular zones, then zone.tab order: the capital's first)."""
    zones = _zone_tab_order().get(code, [])
    popular = {z: i for i, z in enumerate(POPULAR)}
    return sorted(zones, key=lambda z: popular.get(z, len(popular)))
