"""Crisis resources: every file valid and verified, and the right country chosen for a person."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import bot
from bot.safety import INTL, ResourceBook, ResourceError

DIRECTORY = Path(bot.__file__).parent.parent / "messages" / "resources"
COUNTRIES = ["AU", "CA", "DE", "ES", "FR", "GB", "IE", "IN", "MX", "NZ", "US"]


@pytest.fixture(scope="module")
def book() -> ResourceBook:
    return ResourceBook.load()


def test_default_directory_has_every_country(book: ResourceBook) -> None:
    assert book.countries() == COUNTRIES
    assert sorted(p.stem for p in DIRECTORY.glob("*.toml")) == sorted([*COUNTRIES, INTL])


@pytest.mark.parametrize("code", COUNTRIES)
def test_every_country_has_crisis_and_emergency(book: ResourceBook, code: str) -> None:
    res = book.for_person(code, "", "")
    assert res.country == code
    assert res.primary.kind == "crisis"
    assert res.emergency.kind == "emergency"
    assert res.international.kind == "directory"
    assert "findahelpline.com" in res.international.contact
    for r in (res.primary, res.emergency):
        assert r.name.strip() and r.contact.strip()


@pytest.mark.parametrize("path", sorted(DIRECTORY.glob("*.toml")), ids=lambda p: p.name)
def test_no_unverified_value_anywhere(path: Path) -> None:
    assert "UNVERIFIED" not in path.read_text(encoding="utf-8").upper()
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert doc["country"] == path.stem
    for entry in doc["resource"]:
        assert entry["kind"] in {"crisis", "text", "youth", "emergency", "directory"}


def test_kiran_is_not_listed() -> None:
    text = (DIRECTORY / "IN.toml").read_text(encoding="utf-8")
    assert "1800-599-0019" not in text
    doc = tomllib.loads(text)
    assert all("KIRAN" not in e["name"].upper() for e in doc["resource"])


def test_known_primary_lines(book: ResourceBook) -> None:
    assert "988" in book.for_person("US", "", "").primary.contact
    assert "741741" in (book.for_person("US", "", "").text or _none()).contact
    assert "988" in book.for_person("CA", "", "").primary.contact
    assert "116 123" in book.for_person("GB", "", "").primary.contact
    assert "116 123" in book.for_person("IE", "", "").primary.contact
    assert "999" in book.for_person("GB", "", "").emergency.contact
    assert "911" in book.for_person("US", "", "").emergency.contact
    assert "112" in book.for_person("ES", "", "").emergency.contact


def _none() -> object:
    raise AssertionError("expected a resource")


# --- choosing the country ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stated", "locale", "default", "expected"),
    [
        ("GB", "en-US", "US", "GB"),  # stated country wins over locale and default
        ("gb", "", "US", "GB"),
        ("UK", "", "US", "GB"),  # common alias
        (" ie ", "", "", "IE"),
        ("BR", "en-US", "US", INTL),  # stated but unknown: never another country's numbers
        (None, "en-GB", "US", "GB"),  # region part of the locale
        (None, "es_MX", "US", "MX"),
        (None, "en-ie", "US", "IE"),
        (None, "pt-BR", "US", "US"),  # region unknown, language unknown: default
        (None, "de", "US", "DE"),  # bare language that points to one country
        (None, "fr", "", "FR"),
        (None, "de-AT", "", "DE"),  # region unknown, language known
        (None, "en", "AU", "AU"),  # ambiguous language: default
        (None, "es", "", INTL),  # ambiguous language, no default
        (None, "", "NZ", "NZ"),
        (None, "", "", INTL),
        (None, "", "XX", INTL),  # unknown default
        ("", "en-GB", "US", "GB"),  # empty stated counts as not stated
        (None, "zh-Hant-TW", "US", "US"),
        (None, "en-US", INTL, "US"),
    ],
)
def test_choose_country(
    book: ResourceBook, stated: str | None, locale: str, default: str, expected: str
) -> None:
    assert book.choose_country(stated, locale, default) == expected


def test_unknown_country_gets_international(book: ResourceBook) -> None:
    res = book.for_person("BR", "pt-BR", "", youth=True)
    assert res.country == INTL
    assert res.primary.kind == "directory"
    assert "findahelpline.com" in res.primary.contact
    assert res.international.name == "Befrienders Worldwide"  # not the same directory twice
    # Somewhere unlisted (Brazil here): their own emergency number, with 112 only where it applies
    assert (
        res.emergency.contact
        == "Call your local emergency number (112 in every EU country, also answered in the UK)"
    )
    assert res.text is None and res.youth is None


# --- youth ------------------------------------------------------------------------------------


def test_youth_only_when_asked(book: ResourceBook) -> None:
    assert book.for_person("GB", "", "").youth is None
    youth = book.for_person("GB", "", "", youth=True).youth
    assert youth is not None and "Childline" in youth.name and youth.kind == "youth"


@pytest.mark.parametrize("code", ["US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "ES", "IN"])
def test_youth_lookup(book: ResourceBook, code: str) -> None:
    youth = book.for_person(code, "", "", youth=True).youth
    assert youth is not None and youth.kind == "youth"


def test_no_youth_line_where_none_is_verified(book: ResourceBook) -> None:
    res = book.for_person("MX", "", "", youth=True)
    assert res.youth is None
    assert res.primary.kind == "crisis"


@pytest.mark.parametrize("code", ["FR", "ES", "MX", "IN"])
def test_no_text_line_where_none_exists(book: ResourceBook, code: str) -> None:
    assert book.for_person(code, "", "").text is None


# --- validation -------------------------------------------------------------------------------

_INTL = """country = "INTL"
[[resource]]
kind = "directory"
name = "Find A Helpline"
contact = "findahelpline.com"
[[resource]]
kind = "emergency"
name = "112"
contact = "Call 112"
"""


def _write(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / f"{name}.toml").write_text(body, encoding="utf-8")


def test_load_from_custom_directory(tmp_path: Path) -> None:
    _write(tmp_path, "INTL", _INTL)
    _write(
        tmp_path,
        "NL",
        'country = "NL"\n[[resource]]\nkind = "crisis"\nname = "113"\ncontact = "Call 113"\n'
        '[[resource]]\nkind = "emergency"\nname = "112"\ncontact = "Call 112"\n',
    )
    book = ResourceBook.load(tmp_path)
    assert book.countries() == ["NL"]
    assert book.for_person(None, "nl-NL", "").primary.name == "113"


@pytest.mark.parametrize(
    "body",
    [
        'country = "NL"\n[[resource]]\nkind = "crisis"\nname = "x"\ncontact = "UNVERIFIED 113"\n'
        '[[resource]]\nkind = "emergency"\nname = "112"\ncontact = "Call 112"\n',
        'country = "NL"\n[[resource]]\nkind = "crisis"\nname = "x"\ncontact = "Call 113"\n',
        'country = "NL"\n[[resource]]\nkind = "hotline"\nname = "x"\ncontact = "Call 113"\n',
        'country = "XX"\n[[resource]]\nkind = "crisis"\nname = "x"\ncontact = "Call 113"\n',
        'country = "NL"\n[[resource]]\nkind = "crisis"\nname = "x"\ncontact = ""\n',
    ],
)
def test_invalid_files_fail_at_load(tmp_path: Path, body: str) -> None:
    _write(tmp_path, "INTL", _INTL)
    _write(tmp_path, "NL", body)
    with pytest.raises(ResourceError):
        ResourceBook.load(tmp_path)


def test_intl_file_is_required(tmp_path: Path) -> None:
    with pytest.raises(ResourceError):
        ResourceBook.load(tmp_path)
    _write(tmp_path, "US", (DIRECTORY / "US.toml").read_text(encoding="utf-8"))
    with pytest.raises(ResourceError):
        ResourceBook.load(tmp_path)


def test_contacts_follow_the_persons_language() -> None:
    book = ResourceBook.load()
    spanish = book.for_person(None, "es-MX", "US")
    assert spanish.primary.contact == "Llama al 800 911 2000"
    assert spanish.emergency.contact == "Llama al 911" and spanish.primary.hours == "24 horas"
    english = book.for_person(None, "en-MX", "US")
    assert english.primary.contact == "Call 800 911 2000"
    assert book.for_person("US", "es", "US").text is not None
    assert "HOLA" in book.for_person("US", "es", "US").text.contact  # type: ignore[union-attr]
    assert book.for_person("GB", "de", "US").primary.contact.startswith("Call")  # no German text: as written


def test_every_resource_has_spanish_contact_text() -> None:
    for path in sorted(DIRECTORY.glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        for entry in doc["resource"]:
            if entry["contact"].startswith(("Call", "Text")):
                assert "contact" in entry.get("es", {}), f"{path.name}: {entry['name']}"


def test_translation_tables_are_validated(tmp_path: Path) -> None:
    (tmp_path / "INTL.toml").write_text(
        'country = "INTL"\n[[resource]]\nkind = "directory"\nname = "x"\ncontact = "x"\n'
        '[resource.es]\nname = "not allowed"\n'
    )
    with pytest.raises(ResourceError):
        ResourceBook.load(tmp_path)
