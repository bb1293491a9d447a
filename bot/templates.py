"""Every sentence a person reads comes from `messages/<locale>/`: Jinja templates and button labels.

Templates are plain text. The rendered text is escaped as a whole for its target (Telegram HTML,
Discord markdown and mentions, plain console), so neither our words nor a person's own can inject
markup or ping anyone. Missing values are errors (StrictUndefined).
"""

from __future__ import annotations

import html
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, Template

from bot.domain import Button, Choice, Markup
from bot.paths import MESSAGES_DIR

DEFAULT_LOCALE = "en"
_MEMO_SIZE = 4096  # bound on each memo below (locale codes seen, finished texts)
_WORDLESS = frozenset({int, bool, type(None)})  # value types a finished text may be remembered for

_MARKDOWN_SPECIAL = re.compile(r"([\\*_~`|>\[\]#])")
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(?=\d)")


def escape(text: str, markup: Markup) -> str:
    """Escape a whole rendered message for the platform that will show it."""
    if markup is Markup.HTML:
        return html.escape(text, quote=False)
    if markup is Markup.MARKDOWN:
        text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
        return _MENTION.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)
    return text


def base_locale(locale: str) -> str:
    """'en-GB' / 'pt_BR' / 'ES' -> 'en' / 'pt' / 'es'."""
    return re.split(r"[-_]", locale.strip() or DEFAULT_LOCALE)[0].lower()


class Templates:
    """Renders message templates and button labels for a locale, falling back to English."""

    def __init__(self, root: Path = MESSAGES_DIR) -> None:
        self.root = root
        self.locales = sorted(d.name for d in root.iterdir() if d.is_dir() and (d / "labels.toml").is_file())
        if DEFAULT_LOCALE not in self.locales:
            raise FileNotFoundError(f"no {DEFAULT_LOCALE} messages under {root}")
        self._labels = {
            loc: tomllib.loads((root / loc / "labels.toml").read_text(encoding="utf-8"))
            for loc in self.locales
        }
        self._locale_of: dict[str, str] = {}  # platform language code -> supported locale
        self._compiled: dict[tuple[str, str], Template] = {}
        # Finished text of renders whose values carry no words (none, or only numbers and flags): the
        # same inputs always give the same text, so it is rendered, tidied and escaped once.
        self._finished: dict[tuple[Any, ...], str] = {}
        self._buttons: dict[tuple[str, str, str], Button] = {}  # (locale, label key, payload) -> button

    def locale_for(self, locale: str) -> str:
        """The supported locale closest to a platform's language code."""
        found = self._locale_of.get(locale)
        if found is None:
            base = base_locale(locale)
            found = base if base in self.locales else DEFAULT_LOCALE
            if len(self._locale_of) < _MEMO_SIZE:
                self._locale_of[locale] = found
        return found

    @cache  # noqa: B019 - one environment per locale for the life of the process
    def _env(self, locale: str) -> Environment:
        loaders = [FileSystemLoader(self.root / locale)]
        if locale != DEFAULT_LOCALE:
            loaders.append(FileSystemLoader(self.root / DEFAULT_LOCALE))
        env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates are read once; no stat() of every file on every render
        )
        env.globals["label"] = lambda key, **values: self.label(key, locale, **values)
        return env

    def render(self, name: str, locale: str, markup: Markup, **values: Any) -> str:
        """Render `messages/<locale>/<name>.j2` and escape it for `markup`."""
        loc = self.locale_for(locale)
        memo: tuple[Any, ...] | None = None
        if all(type(v) in _WORDLESS for v in values.values()):
            memo = (loc, name, markup, *sorted((k, type(v).__name__, v) for k, v in values.items()))
            done = self._finished.get(memo)
            if done is not None:
                return done
        compiled = self._compiled.get((loc, name))
        if compiled is None:
            compiled = self._compiled[(loc, name)] = self._env(loc).get_template(f"{name}.j2")
        text = escape(_tidy(compiled.render(**values)), markup)
        if memo is not None and len(self._finished) < _MEMO_SIZE:
            self._finished[memo] = text
        return text

    def label(self, key: str, locale: str, **values: Any) -> str:
        """A button label from `labels.toml` (plain text: platforms show labels literally)."""
        compiled = self._label_template(self.locale_for(locale), key)
        return compiled if isinstance(compiled, str) else compiled.render(**values).strip()

    def buttons(self, rows: tuple[tuple[Choice, ...], ...], locale: str) -> tuple[tuple[Button, ...], ...]:
        """Choices as the buttons a platform shows, in rows. A button whose label takes no values is the
        same every time (its label key and payload are ours), so it is made once."""
        loc = self.locale_for(locale)
        return tuple(tuple([self._button(choice, loc) for choice in row]) for row in rows)

    def _button(self, choice: Choice, locale: str) -> Button:
        if choice.values:
            return Button(self.label(choice.label, locale, **choice.values), choice.payload)
        key = (locale, choice.label, choice.payload)
        made = self._buttons.get(key)
        if made is None:
            made = Button(self.label(choice.label, locale), choice.payload)
            if len(self._buttons) < _MEMO_SIZE:
                self._buttons[key] = made
        return made

    @cache  # noqa: B019 - labels are compiled once per locale and key
    def _label_template(self, locale: str, key: str) -> Template | str:
        """A label's compiled template, or the label itself when it has no Jinja in it."""
        source = self._labels[locale].get(key, self._labels[DEFAULT_LOCALE].get(key))
        if source is None:
            raise KeyError(f"unknown label {key!r}")
        if "{" not in source:
            return source.strip()
        return self._env(locale).from_string(source)

    def template_names(self, locale: str = DEFAULT_LOCALE) -> list[str]:
        """Every template name a locale defines (its own files only)."""
        folder = self.root / locale
        return sorted(str(p.relative_to(folder))[: -len(".j2")] for p in folder.rglob("*.j2"))

    def label_keys(self, locale: str = DEFAULT_LOCALE) -> list[str]:
        return sorted(self._labels[locale])


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Trim the edges and fold runs of blank lines that template logic leaves behind."""
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    # The search for a run is a plain substring test: the regex alone scans slowly (8 us for a plan).
    return _BLANK_RUNS.sub("\n\n", text) if "\n\n\n" in text else text
