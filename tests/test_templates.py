"""Templates remember finished texts only where the same inputs always give the same text."""

from __future__ import annotations

from pathlib import Path

from bot.domain import Markup
from bot.templates import Templates


def _messages(root: Path) -> Templates:
    for locale in ("en", "es"):
        folder = root / locale
        folder.mkdir(parents=True)
        (folder / "labels.toml").write_text('ok = "OK"\n', encoding="utf-8")
    (root / "en" / "count.j2").write_text("{{ number }} of {{ total }} <b>\n", encoding="utf-8")
    (root / "es" / "count.j2").write_text("{{ number }} de {{ total }}\n", encoding="utf-8")
    (root / "en" / "said.j2").write_text("You said {{ words }}\n", encoding="utf-8")
    return Templates(root)


def test_a_remembered_render_matches_each_input_and_markup(tmp_path: Path) -> None:
    t = _messages(tmp_path)
    assert t.render("count", "en", Markup.HTML, number=1, total=6) == "1 of 6 &lt;b&gt;"
    assert t.render("count", "en", Markup.PLAIN, number=1, total=6) == "1 of 6 <b>"
    assert t.render("count", "en", Markup.HTML, number=2, total=6) == "2 of 6 &lt;b&gt;"
    assert t.render("count", "en", Markup.HTML, number=True, total=6) == "True of 6 &lt;b&gt;"
    assert t.render("count", "en", Markup.HTML, number=1, total=6) == "1 of 6 &lt;b&gt;"
    assert t.render("count", "es-MX", Markup.PLAIN, number=1, total=6) == "1 de 6"
    assert t.render("count", "pt_BR", Markup.PLAIN, number=1, total=6) == "1 of 6 <b>"


def test_texts_with_words_in_them_are_not_remembered(tmp_path: Path) -> None:
    t = _messages(tmp_path)
    assert t.render("said", "en", Markup.PLAIN, words="hello") == "You said hello"
    assert t.render("said", "en", Markup.PLAIN, words="bye") == "You said bye"
    assert not any("hello" in str(key) for key in t._finished)
    assert t.render("count", "en", Markup.PLAIN, number=3, total=6) in t._finished.values()
