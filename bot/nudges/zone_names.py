"""Zones and times as people say and read them, per locale, from Babel's CLDR data.

City names in each locale ("Nueva York", "Londres"), country names ("Alemania"), a few big cities that are
not zone names of their own ("Munich", "Múnich"), and labels and clock times the way each locale writes them
("3:05 PM" in American English, "15:05" in Spanish). `Etc/*` zones are never shown by name: "UTC+2".
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time, get_timezone_location

LOCALES = ("en", "es")  # the chat's locales: names typed in any of them are understood

# Big cities that are not the city of a zone, in the names people use in each locale.
# fmt: off
CITIES: dict[str, tuple[str, ...]] = {
    "Europe/Berlin": ("Munich", "Múnich", "München", "Hamburg", "Hamburgo", "Frankfurt", "Fráncfort",
                      "Cologne", "Colonia", "Köln", "Stuttgart", "Düsseldorf"),
    "Europe/Madrid": ("Barcelona", "Valencia", "Sevilla", "Seville", "Bilbao", "Málaga", "Zaragoza",
                      "Palma", "Alicante", "Granada", "Valladolid"),
    "Atlantic/Canary": ("Las Palmas", "Tenerife", "Santa Cruz de Tenerife", "Gran Canaria", "Canarias",
                        "Canary Islands"),
    "Europe/London": ("Manchester", "Birmingham", "Edinburgh", "Edimburgo", "Glasgow", "Liverpool", "Leeds",
                      "Bristol", "Cardiff", "Belfast"),
    "Europe/Paris": ("Marseille", "Marsella", "Lyon", "Toulouse", "Nice", "Niza", "Bordeaux", "Burdeos"),
    "Europe/Rome": ("Milan", "Milán", "Naples", "Nápoles", "Turin", "Turín", "Florence", "Florencia",
                    "Venice", "Venecia"),
    "Europe/Zurich": ("Geneva", "Ginebra", "Basel", "Basilea", "Bern", "Berna"),
    "America/New_York": ("Boston", "Washington", "Philadelphia", "Filadelfia", "Miami", "Atlanta",
                         "Baltimore", "Pittsburgh", "Orlando", "Charlotte"),
    "America/Chicago": ("Dallas", "Houston", "San Antonio", "Austin", "Minneapolis", "Nueva Orleans",
                        "New Orleans", "Kansas City", "St. Louis", "San Luis"),
    "America/Denver": ("Salt Lake City", "Albuquerque", "El Paso"),
    "America/Los_Angeles": ("San Francisco", "San Diego", "Seattle", "Portland", "Las Vegas", "San José",
                            "San Jose", "Sacramento"),
    "America/Toronto": ("Montreal", "Montréal", "Ottawa", "Quebec", "Quebec City"),
    "America/Mexico_City": ("Ciudad de México", "CDMX", "Guadalajara", "Puebla", "León", "Querétaro"),
    "America/Monterrey": ("Monterrey",),
    "America/Bogota": ("Medellín", "Medellin", "Cali", "Barranquilla", "Cartagena"),
    "America/Argentina/Buenos_Aires": ("Córdoba", "Rosario", "Mendoza", "La Plata"),
    "America/Sao_Paulo": ("Rio de Janeiro", "Río de Janeiro", "Brasília", "Brasilia", "Belo Horizonte"),
    "America/Lima": ("Arequipa", "Cusco", "Cuzco"),
    "America/Santiago": ("Valparaíso", "Valparaiso", "Concepción"),
    "Asia/Kolkata": ("Mumbai", "Bombay", "Delhi", "New Delhi", "Nueva Delhi", "Bangalore", "Bengaluru",
                     "Chennai", "Hyderabad", "Pune"),
    "Asia/Shanghai": ("Beijing", "Pekín", "Shenzhen", "Guangzhou", "Cantón"),
    "Australia/Sydney": ("Canberra",),
}
# fmt: on


def _key(text: str) -> str:
    from bot.nudges.zones import fold  # one folding rule for every lookup

    return fold(text)


@cache
def _locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(tag.split("_")[0] if "_" in tag else "en")


def locale_for(locale: str | None, country: str | None = None) -> Locale:
    """The Babel locale for a chat locale and the person's country: en + US is 12-hour, en + GB 24-hour."""
    base = (locale or "en").split("_")[0].split("-")[0]
    if country:
        return _locale(f"{base}_{country.upper()}")
    return _locale(base)


@cache
def named_places() -> dict[str, list[str]]:
    """Folded name -> zones: each zone's city in every chat locale, the extra cities, country names."""
    from bot.nudges.zones import zone_countries

    found: dict[str, list[str]] = {}

    def add(name: str, zone: str) -> None:
        zones = found.setdefault(_key(name), [])
        if zone not in zones:
            zones.append(zone)

    for zone in zone_countries():
        for tag in LOCALES:
            add(get_timezone_location(zone, locale=tag, return_city=True), zone)
    for zone, names in CITIES.items():
        for name in names:
            add(name, zone)
    return found


@cache
def countries_by_name() -> dict[str, str]:
    """Folded country name in every chat locale -> ISO code ("alemania" -> "DE")."""
    found: dict[str, str] = {}
    for tag in LOCALES:
        for code, name in _locale(tag).territories.items():
            if len(code) == 2 and code.isalpha():
                found.setdefault(_key(name), code)
    return found


OFFSET_ZONE = re.compile(r"^Etc/GMT([+-])(\d{1,2})$")


def offset_text(offset: timedelta) -> str:
    """ "UTC+2", "UTC-3:30", "UTC"."""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def is_fixed(zone: str) -> bool:
    """A zone with no summer time and no place: UTC and the `Etc/GMT±N` offsets."""
    return zone in ("UTC", "Etc/UTC", "Etc/GMT", "GMT") or bool(OFFSET_ZONE.match(zone))


def zone_label(zone: str, locale: str | None = "en", country: str | None = None) -> str:
    """How a zone is shown: "Berlin, Germany" / "Berlín, Alemania", "UTC+2" (never "Etc/GMT-2")."""
    if is_fixed(zone):
        return offset_text(ZoneInfo(zone).utcoffset(datetime(2000, 1, 1)) or timedelta(0))
    from bot.nudges.zones import zone_countries

    where = locale_for(locale)
    city = get_timezone_location(zone, locale=where, return_city=True)
    codes = sorted(zone_countries().get(zone, ()))
    if len(codes) != 1:
        return city
    return f"{city}, {where.territories.get(codes[0], codes[0])}"


def _plain(text: str) -> str:
    """Babel's narrow and no-break spaces ("3:05\u202fPM") as ordinary spaces, for every chat platform."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def clock_text(at: datetime | time, locale: str | None = "en", country: str | None = None) -> str:
    """A time of day as the locale writes it: "3:05 PM" (en-US), "15:05" (en-GB), "15:05" (es)."""
    return _plain(format_time(at, format="short", locale=locale_for(locale, country)))


def date_text(at: datetime, locale: str | None = "en", country: str | None = None) -> str:
    """A day as the locale writes it, with its weekday: "Monday, March 2" / "lunes, 2 de marzo"."""
    return _plain(format_skeleton("MMMMEEEEd", at, locale=locale_for(locale, country)))
