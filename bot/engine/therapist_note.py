"""The plan as a note to bring to a first session with a new therapist: a Markdown file.

Built from the stored plan with the locale's `files/therapist_note` template, rendered as plain text
(a file keeps its Markdown; nothing in it is sent as chat markup).
"""

from __future__ import annotations

from functools import cache

from bot.domain import Markup, Person
from bot.engine import reflection as r
from bot.templates import Templates

FILE_NAME = "keepgoing-note-for-a-new-therapist.md"
TEMPLATE = "files/therapist_note"


@cache
def _templates() -> Templates:
    return Templates()


def note_file(person: Person, locale: str) -> tuple[str, bytes]:
    """(file name, Markdown content) of the note, from what the person's plan holds."""
    text = _templates().render(TEMPLATE, locale, Markup.PLAIN, **r.plan_values(person))
    return FILE_NAME, (text + "\n").encode()
