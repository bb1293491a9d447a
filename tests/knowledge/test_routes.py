"""Routes to therapy per country: every shipped file loads, doubtful entries are refused, and each
country with crisis resources has a sourced route for practical barriers and for needing a specialist."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.domain import Markup
from bot.engine import Engine
from bot.knowledge import routes as routes_module
from bot.knowledge.routes import RouteBook, RouteError, book, routes_for
from bot.safety import ResourceBook
from bot.store import store_from_url

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


@pytest.fixture
def shipped_routes_replaced(tmp_path, monkeypatch):
    """The routes folder the bot reads at start-up, replaced by `tmp_path` for one test."""
    monkeypatch.setattr(routes_module, "_default_directory", lambda: tmp_path)
    book.cache_clear()
    yield tmp_path
    book.cache_clear()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('reasons = ["practical"]', 'reasons = ["practical"]\nverified = false'), "marked verified = false"),
        (('source = "example.org (n.d.)"', ""), "source are required"),
    ],
)
def test_start_up_refuses_a_doubtful_routes_file_in_one_line(
    shipped_routes_replaced, tmp_path, capsys, change, message
):
    old, new = change
    _write(shipped_routes_replaced, GOOD.replace(old, new))
    code = main(["chat", "--db", str(tmp_path / "kg.db")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("keepgoing: configuration problem: routes/GB.toml route #1: ")
    assert message in err


def test_the_engine_checks_routes_when_it_is_built(shipped_routes_replaced, templates, detector, resources):
    _write(shipped_routes_replaced, GOOD.replace('how = "Refer yourself online"', 'how = "UNVERIFIED"'))
    with pytest.raises(RouteError, match="UNVERIFIED"):
        Engine(store_from_url("sqlite:///:memory:"), templates, detector, resources)


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("country", [*sorted(book().countries()), "ZZ", None])
def test_the_plan_renders_routes_for_every_country_and_the_fallback_without(templates, locale, country):
    from dataclasses import replace

    from bot.check import LIMITS, sample_person
    from bot.engine import reflection

    person = replace(sample_person(), country=country, locale=locale)  # every reason recognised
    says = reflection.plan(person, offer_note=True)
    names = [say.template for say in says]
    expected = routes_for(country, "practical", locale) + routes_for(country, "specialist", locale)
    assert ("plan_routes" in names) == bool(expected)
    for say in says:
        for markup, limit in LIMITS.items():
            text = templates.render(say.template, locale, markup, **say.values)
            assert 0 < len(text) <= limit
            if say.template == "plan_routes":
                assert text.count("•") == min(3, len({r.name for r in expected}))
    plan_text = templates.render("plan", locale, Markup.PLAIN, **says[0].values)
    assert "sliding" in plan_text or "ingresos" in plan_text  # the general lower-cost step stays


@pytest.mark.parametrize(
    ("locale", "heading"), [("en", "If you served in the armed forces:"), ("es", "fuerzas armadas")]
)
def test_routes_for_veterans_are_listed_under_their_own_heading(templates, locale, heading):
    from dataclasses import replace

    from bot.check import sample_person
    from bot.engine import reflection

    person = replace(sample_person(), country="GB", locale=locale)
    routes = reflection.plan_routes(person)
    veterans = [r.name for r in routes if r.kind == "veterans"]
    general = [r.name for r in routes if r.kind != "veterans"]
    assert veterans and general  # GB: NHS Talking Therapies and Op COURAGE
    text = templates.render("plan_routes", locale, Markup.PLAIN, routes=routes)
    below = text.split(heading)
    assert len(below) == 2
    assert all(name in below[1] for name in veterans)
    assert not any(name in below[1] for name in general)
    only_veterans = templates.render(
        "plan_routes", locale, Markup.PLAIN, routes=[r for r in routes if r.kind == "veterans"]
    )
    assert only_veterans.startswith(heading if locale == "en" else "Si serviste")
