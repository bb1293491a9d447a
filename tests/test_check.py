"""`keepgoing check` as a translator meets it: missing and extra templates or labels fail, stale ones warn."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.check import TRANSLATIONS_DIR, run_check
from bot.paths import MESSAGES_DIR


@pytest.fixture
def messages(tmp_path: Path) -> Path:
    """A private copy of messages/ that a test may break."""
    copy = tmp_path / "messages"
    shutil.copytree(MESSAGES_DIR, copy)
    return copy


def _labels_without(path: Path, key: str) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.replace(" ", "").startswith(f"{key}=")]
    assert len(kept) == len(lines) - 1, f"label {key} not found once in {path}"
    return "\n".join(kept) + "\n"


def test_a_missing_spanish_template_fails(messages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (messages / "es" / "welcome.j2").unlink()
    assert run_check(messages) == 1
    assert "es: missing template welcome" in capsys.readouterr().err


def test_a_missing_spanish_label_fails(messages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = messages / "es" / "labels.toml"
    labels.write_text(_labels_without(labels, "skip"), encoding="utf-8")
    assert run_check(messages) == 1
    assert "es: missing label skip" in capsys.readouterr().err


def test_an_extra_spanish_template_fails(messages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (messages / "es" / "only_in_spanish.j2").write_text("Hola.\n", encoding="utf-8")
    assert run_check(messages) == 1
    assert "extra template only_in_spanish" in capsys.readouterr().err


def test_changed_english_warns_until_the_translation_is_marked(
    messages: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    english = messages / "en" / "welcome.j2"
    english.write_text(english.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert run_check(messages) == 0
    assert "es: stale template welcome" in capsys.readouterr().err
    assert run_check(messages, mark="es") == 0
    assert "stale template" not in capsys.readouterr().err
    assert (messages / TRANSLATIONS_DIR / "es.toml").is_file()


def test_the_plan_is_checked_with_each_countrys_routes(
    messages: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = messages / "en" / "plan_routes.j2"
    routes.write_text(
        routes.read_text(encoding="utf-8") + "{% for r in routes %}" + "x" * 2100 + "{% endfor %}"
    )
    assert run_check(messages) == 1
    assert "en/plan_routes (GB)" in capsys.readouterr().err
