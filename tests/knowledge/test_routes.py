"""Routes to therapy per country: every shipped file loads, doubtful entries are refused, and each
country with crisis resources has a sourced route for practical barriers and for needing a specialist."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.routes import RouteBook, RouteError, book, routes_for
from bot.safety import ResourceBook

GOOD = """
country = "GB"

[[route]]
kind = "self_referral"
name = "A service"
how = "Refer yourself online"
reasons = ["practical"]
source = "example.org (n.d.)"
es = "Pide cita en línea"
"""


def _write(folder: Path, text: str, code: str = "GB") -> Path:
    path = folder / f"{code}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _resource_countries() -> list[str]:
    return [c for c in ResourceBook.load().countries() if c != "INTL"]


@pytest.mark.parametrize("country", _resource_countries())
@pytest.mark.parametrize("reason", ["practical", "specialist"])
def test_every_resource_country_has_a_sourced_route_for_the_reason(country, reason):
    found = routes_for(country, reason, "en")
    assert found, f"{country} has no route for {reason}"
    assert all(r.source and r.how and r.name for r in found)


def test_route_countries_are_the_resource_countries():
    assert sorted(book().countries()) == sorted(_resource_countries())


@pytest.mark.parametrize("country", _resource_countries())
def test_every_route_is_described_in_spanish(country):
    english = routes_for(country, None, "en")
    spanish = routes_for(country, None, "es-MX")
    assert len(english) == len(spanish)
    assert all(e.how != s.how for e, s in zip(english, spanish, strict=True))


def test_uk_self_referral_for_practical_barriers():
    names = [r.name for r in routes_for("uk", "practical", "en")]
    assert any("NHS Talking Therapies" in n for n in names)


def test_unknown_or_missing_country_has_no_routes():
    assert routes_for("ZZ", "practical", "en") == []
    assert routes_for(None, "practical", "en") == []


def test_a_good_file_loads(tmp_path):
    _write(tmp_path, GOOD)
    routes = RouteBook.load(tmp_path).routes_for("GB", "practical", "es")
    assert [r.how for r in routes] == ["Pide cita en línea"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('source = "example.org (n.d.)"', ""), "required"),
        (('source = "example.org (n.d.)"', 'source = "  "'), "required"),
        (('reasons = ["practical"]', 'reasons = ["practical"]\nverified = false'), "verified"),
        (('how = "Refer yourself online"', 'how = "UNVERIFIED: call 0000"'), "UNVERIFIED"),
        (('es = "Pide cita en línea"', 'es = "pendiente (unverified)"'), "UNVERIFIED"),
        (('kind = "self_referral"', 'kind = "magic"'), "kind"),
        (('reasons = ["practical"]', 'reasons = ["money"]'), "reasons"),
        (('reasons = ["practical"]', "reasons = []"), "reasons"),
        (('country = "GB"', 'country = "IE"'), "country"),
        (('es = "Pide cita en línea"', 'spanish = "Pide cita"'), "unknown key"),
    ],
)
def test_doubtful_entries_are_refused_at_load(tmp_path, change, message):
    old, new = change
    _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(RouteError, match=message):
        RouteBook.load(tmp_path)


def test_a_file_without_entries_is_refused(tmp_path):
    _write(tmp_path, 'country = "GB"\n')
    with pytest.raises(RouteError, match="no"):
        RouteBook.load(tmp_path)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(RouteError):
        RouteBook.load(tmp_path)
