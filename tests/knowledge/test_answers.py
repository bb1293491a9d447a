"""Plain replies, reasons and endings: tables replies.tsv and stories.tsv, written before the word lists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot
from bot import domain
from bot.engine import reflection
from bot.knowledge import answers
from bot.knowledge.answers import (
    AnswerBook,
    AnswersError,
    match_answer,
    recognise_ending,
    recognise_reason,
    recognise_reasons,
)

HERE = Path(__file__).parent
OFFERED = {
    "reflection": ("yes", "partly", "no", "unsure", "skip", "back", "stop"),
    "yesno": ("yes", "no"),
    "ending": (*reflection.ENDINGS, "skip", "back", "stop"),
    "valid": ("look", "plan", "back", "stop"),
}


def _rows(name: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            locale, kind, expected, text = line.split("\t")
            rows.append((locale, kind, expected, text))
    return rows


REPLIES = _rows("replies.tsv")
STORIES = _rows("stories.tsv")


def _expected(value: str) -> str | None:
    return None if value == "-" else value


def test_the_vocabulary_is_defined_once_in_the_domain():
    """No module but bot/domain.py spells out the reason, ending or answer lists (three words of one
    list in one literal tuple, list or set is a copy; two, such as ("yes", "no"), are not)."""
    lists = (domain.REASONS, domain.ENDINGS, domain.ANSWERS)
    copies = []
    for path in sorted((Path(bot.__file__).parent).rglob("*.py")):
        if path.name == "domain.py" and path.parent.name == "bot":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if any(len(words & set(names)) >= 3 for names in lists):
                    copies.append(f"{path.name}:{node.lineno}")
    assert copies == []
    assert answers.REASONS is domain.REASONS and reflection.ENDINGS is domain.ENDINGS


@pytest.mark.parametrize("locale", ["en", "es"])
def test_at_least_sixty_replies_per_locale_map_to_a_choice(locale):
    mapped = [r for r in REPLIES if r[0] == locale and r[2] != "-"]
    assert len(mapped) >= 60


@pytest.mark.parametrize(("locale", "offered", "expected", "text"), REPLIES)
def test_reply_maps_to_the_offered_choice(locale, offered, expected, text):
    assert match_answer(text, OFFERED[offered], locale) == _expected(expected)


@pytest.mark.parametrize("locale", ["en", "es"])
def test_reply_table_score(locale, capsys):
    rows = [r for r in REPLIES if r[0] == locale]
    right = sum(match_answer(t, OFFERED[o], locale) == _expected(e) for _, o, e, t in rows)
    with capsys.disabled():
        print(f"\nreplies {locale}: {right}/{len(rows)} mapped as expected")
    assert right == len(rows)


@pytest.mark.parametrize(("locale", "kind", "expected", "text"), STORIES)
def test_story_names_its_reason_or_ending(locale, kind, expected, text):
    recognise = recognise_reason if kind == "reason" else recognise_ending
    assert recognise(text, locale) == _expected(expected)


def test_only_offered_values_come_back():
    # "a bit" reads as partly; to a yes/no question that is not Yes.
    assert match_answer("a bit", ("yes", "no"), "en") is None
    assert match_answer("no idea", ("yes", "no"), "en") is None
    assert match_answer("skip this", ("yes", "partly", "no", "unsure"), "en") is None


def test_negations_are_not_no():
    for text in ("not sure", "no idea", "I'm not really sure", "no sé", "no lo sé", "no estoy segura"):
        assert match_answer(text, OFFERED["reflection"], "es") == "unsure", text


def test_mixed_answers_read_as_partly():
    for text in ("yes but only a little", "yeah, a bit", "maybe a little", "sí, pero solo un poco"):
        assert match_answer(text, OFFERED["reflection"], "es") == "partly", text


def test_english_words_understood_in_spanish_and_regional_locales():
    assert match_answer("nope", OFFERED["reflection"], "es") == "no"
    assert match_answer("kind of", OFFERED["reflection"], "es-MX") == "partly"
    assert match_answer("sort of", OFFERED["reflection"], "en-GB") == "partly"
    assert match_answer("sort of", OFFERED["reflection"], "pt") == "partly"  # no Portuguese words: English


def test_a_story_naming_two_reasons_is_not_clear():
    text = "I couldn't afford it, and I never clicked with her anyway"
    assert recognise_reason(text, "en") is None
    assert recognise_reasons(text, "en") == ["rapport", "practical"]


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "?!",
        "the weather is nice",
        "how do I cook rice",
        "print('hello')",
        "Arsenal won 2-0",
        "el partido de ayer",
        "receta de tortilla",
        "12345",
    ],
)
def test_unrelated_text_is_nothing(locale, text):
    assert match_answer(text, OFFERED["reflection"], locale) is None
    assert recognise_reason(text, locale) is None
    assert recognise_ending(text, locale) is None


def test_loader_refuses_unknown_reasons(tmp_path):
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "answers.toml").write_text(
        '[answer.yes]\nwords = ["yes"]\n[reason]\nmoney = ["cost"]\n', encoding="utf-8"
    )
    with pytest.raises(AnswersError):
        AnswerBook.load("xx", tmp_path)


def test_loader_refuses_a_value_without_words(tmp_path):
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "answers.toml").write_text("[answer.yes]\nwords = []\n", encoding="utf-8")
    with pytest.raises(AnswersError):
        AnswerBook.load("xx", tmp_path)


def test_not_following_is_no_choice_rather_than_no():
    assert match_answer("I don't understand", OFFERED["reflection"], "en") is None
    assert match_answer("no entiendo", OFFERED["reflection"], "es") is None
    assert match_answer("¿cómo?", OFFERED["reflection"], "es") is None
    assert match_answer("sí, como siempre", OFFERED["reflection"], "es") == "yes"
    assert "unclear" not in reflection.ANSWERS  # the value no button carries
