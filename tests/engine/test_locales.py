"""The Spanish locale end to end: welcome, reflection, crisis, typed labels, stop words, and completeness."""

from __future__ import annotations

import tomllib

import pytest

from bot.engine import Engine
from bot.nudges.words import load_words
from bot.templates import MESSAGES_DIR, Templates
from tests.chat import Chat

SAFE_Q = "¿Estás a salvo ahora mismo?"
REASONS = ("ready", "rapport", "specialist", "focus", "practice", "practical")
TOML_FILES = ("labels.toml", "commands.toml", "discord_commands.toml", "nudges/words.toml")


async def reach_plan_es(chat: Chat, answers: dict[str, str] | None = None) -> None:
    """The whole reflection in Spanish, pressing Spanish labels only."""
    answers = answers or {}
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press(answers.get("country", "España"))
    await chat.press(answers.get("ending", "Dejé de ir"))
    for reason in REASONS:
        await chat.press(answers.get(reason, "No mucho"))


@pytest.mark.parametrize("locale", ["es", "es-MX", "es_AR"])
async def test_spanish_platform_language_gets_the_spanish_welcome(engine: Engine, locale: str) -> None:
    chat = Chat(engine, locale=locale)
    await chat.send("/start")
    assert "Hola, soy Keep Going" in chat.text
    assert "no soy terapia" in chat.text and "servicio de crisis" in chat.text
    assert "/mydata" in chat.text and "/forget" in chat.text and "/help" in chat.text
    assert chat.labels == ["Sí, empecemos", "¿Qué guardas sobre mí?"]
    await chat.press("¿Qué guardas")
    assert "Qué guardo y por qué" in chat.text
    await chat.press("Sí, empecemos")
    assert "¿en qué país estás?" in chat.text
    assert "España" in chat.labels and "México" in chat.labels and "En otro lugar" in chat.labels


async def test_reflection_with_spanish_buttons_reaches_a_spanish_plan(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await reach_plan_es(chat, {"specialist": "Sí, encaja", "practical": "En parte", "ready": "No lo sé"})
    text = chat.text
    assert "Aquí tienes tu plan" in text
    assert "necesitar atención especializada" in text and "obstáculos prácticos (en parte)" in text
    assert "CPT (terapia de procesamiento cognitivo)" in text and "tarifas según ingresos" in text
    assert "no era el momento" not in text  # "No lo sé" is not counted as recognised
    assert "no tenías claras" in text
    assert "Preguntas que podrías hacer" in text
    assert "Next steps" not in text and "Here is your plan" not in text
    assert chat.labels == ["Sí, actívalos", "No, gracias"]  # the nudge offer, in Spanish too
    stored = (await engine.store.load(chat.who.key)).person
    assert stored is not None and stored.country == "ES" and stored.locale == "es"
    assert stored.flow.answers["specialist"] == "yes" and stored.flow.answers["ready"] == "unsure"
    await chat.send("/mydata")
    assert (
        "Necesitaba atención especializada: sí" in chat.text
        and "Cómo terminó la terapia: Dejé de ir" in chat.text
    )


async def test_reflection_questions_are_spanish_with_spanish_buttons(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("Irlanda")
    assert "Te mostraré las líneas de ayuda de donde estás: Irlanda" in chat.text
    assert "¿Qué se parece más a lo que pasó?" in chat.text
    await chat.press("Dejé de ir")
    assert "1 de 6" in chat.text
    assert chat.labels == [
        "Sí, encaja",
        "En parte",
        "No mucho",
        "No lo sé",
        "Atrás",
        "Saltar",
        "Dejarlo por ahora",
    ]
    await chat.press("En parte")
    assert "2 de 6" in chat.text and "Atrás" in chat.labels
    await chat.press("Dejarlo por ahora")
    assert "Todo lo que elegiste hasta ahora queda guardado" in chat.text


async def test_valid_ending_in_spanish(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("Saltar")
    await chat.press("Me sentía mejor")
    assert "buena para terminar una terapia" in chat.text
    await chat.press("Ir directo a mi plan")
    assert "terminó por una buena razón" in chat.text and "Puedes volver pronto" in chat.text


async def test_crisis_gets_spanish_text_around_the_helplines(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("España")
    await chat.press("Dejé de ir")
    await chat.send("ya no quiero vivir")
    text = chat.text
    assert "Me alegra de verdad que me lo hayas contado" in text and SAFE_Q in text
    assert "024" in text and "Desde cualquier país:" in text and "En una emergencia:" in text
    assert "findahelpline" in text.lower()
    assert "Are you safe" not in text and "Anywhere in the world" not in text
    assert chat.labels[:2] == ["Ahora estoy a salvo", "No estoy a salvo"]
    assert chat.labels[2:] == [
        "Probar un ejercicio para calmarme",
        "Hacer un plan de seguridad",
        "Puedes escribirme mañana para ver cómo estoy",
    ]
    await chat.press("Ahora estoy a salvo")
    assert "Gracias por decírmelo" in chat.text and "¿Quieres seguir donde estábamos" in chat.text


async def test_crisis_for_es_mx_without_a_country_shows_mexican_lines(engine: Engine) -> None:
    chat = Chat(engine, locale="es-MX")
    await chat.send("quiero morirme")  # before /start: no country chosen, nothing stored
    assert SAFE_Q in chat.text
    assert "Línea de la Vida" in chat.text and "911" in chat.text
    assert "Samaritans" not in chat.text  # not the operator's default country (GB)
    await chat.send("/help")
    assert "Si necesitas hablar con alguien ahora" in chat.text and "Línea de la Vida" in chat.text


async def test_not_safe_in_spanish(engine: Engine) -> None:
    chat = Chat(engine, locale="es-MX")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.send("quiero morirme")
    await chat.send("no estoy a salvo")  # typed, like pressing the button
    assert "Por favor, busca ayuda ahora" in chat.text and "Línea de la Vida" in chat.text


async def test_typing_a_spanish_label_works_like_pressing(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.send("sí, empecemos")
    assert "¿en qué país estás?" in chat.text
    await chat.send("méxico")
    assert "Te mostraré las líneas de ayuda de donde estás: México" in chat.text
    await chat.send("Dejé de ir.")
    assert "1 de 6" in chat.text
    await chat.send("en parte")
    assert "2 de 6" in chat.text
    person = (await engine.store.load(chat.who.key)).person
    assert person is not None and person.country == "MX" and person.flow.answers["ready"] == "partly"


async def test_note_clear_word_is_spanish(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await reach_plan_es(chat)
    await chat.send("/note llamar el lunes")
    assert "Guardada" in chat.text
    await chat.send("/note")
    assert "Tu nota: llamar el lunes" in chat.text and "/note borrar" in chat.text
    await chat.send("/note borrar")
    assert "tu nota está borrada" in chat.text


async def opt_in_es(chat: Chat) -> None:
    await reach_plan_es(chat)
    await chat.press("Sí, actívalos")
    assert "¿Cada cuánto" in chat.text
    await chat.press("Todos los días")
    assert "¿A qué hora" in chat.text
    await chat.press("9:30")  # Spanish clocks: H:mm
    assert "zona horaria" in chat.text
    await chat.send("Madrid")
    assert "Te iré escribiendo" in chat.text
    assert "a las 9:30 (hora de Madrid, España), todos los días" in chat.text


@pytest.mark.parametrize(
    "words", ["basta", "Para!", "STOP", "No más mensajes, por favor", "deja de escribirme", "darme de baja"]
)
async def test_spanish_stop_words_stop_nudges_at_any_step(engine: Engine, words: str) -> None:
    chat = Chat(engine, locale="es")
    await opt_in_es(chat)
    assert (await engine.store.load(chat.who.key)).schedule is not None
    await chat.send("/restart")  # back in the middle of a reflection question
    await chat.send(words)
    assert "No te enviaré más mensajes" in chat.text
    assert "cómo terminó tu última terapia" in chat.text  # and the question is still there
    assert (await engine.store.load(chat.who.key)).schedule is None


async def test_spanish_stop_words_without_nudges_change_nothing(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("Irlanda")
    await chat.press("Dejé de ir")
    await chat.send("basta")
    assert "No te enviaré" not in chat.text and "1 de 6" in chat.text


async def test_spanish_quiet_hours_and_times_are_understood(engine: Engine) -> None:
    chat = Chat(engine, locale="es")
    await opt_in_es(chat)
    await chat.send("/nudges")
    await chat.press("Cambiar las horas de silencio")
    await chat.send("10 de la noche a 8 de la mañana")
    assert "entre las 22:00 y las 08:00" in chat.text
    await chat.send("/nudges")
    await chat.press("Cambiar las horas de silencio")
    await chat.send("23:00 hasta 07:30")
    assert "entre las 23:00 y las 07:30" in chat.text
    words = load_words(locale="es")
    assert words.is_stop("Ya basta") and not words.is_stop("para mí fue difícil")


def test_every_english_template_and_label_has_a_spanish_counterpart(templates: Templates) -> None:
    assert "es" in templates.locales
    assert set(templates.template_names("es")) == set(templates.template_names("en"))
    assert set(templates.label_keys("es")) == set(templates.label_keys("en"))
    for key in templates.label_keys("es"):
        label = templates.label(key, "es", time="23:45", zone="Europe/Madrid", start="21:00", end="09:00")
        assert 1 <= len(label) <= 80, key


@pytest.mark.parametrize("name", TOML_FILES)
def test_every_english_toml_key_has_a_spanish_counterpart(name: str) -> None:
    english = MESSAGES_DIR / "en" / name
    spanish = MESSAGES_DIR / "es" / name
    if not english.is_file():
        pytest.skip(f"no en/{name}")
    en = tomllib.loads(english.read_text(encoding="utf-8"))
    es = tomllib.loads(spanish.read_text(encoding="utf-8"))
    assert set(es) == set(en)
    for key, value in es.items():
        assert isinstance(value, type(en[key])), key
        if name in ("commands.toml", "discord_commands.toml"):
            assert 1 <= len(value) <= (256 if name == "commands.toml" else 100), key


def test_every_english_file_has_a_spanish_file_and_no_more() -> None:
    """Everything under messages/en (templates, TOML files) is mirrored under messages/es."""
    english = {p.relative_to(MESSAGES_DIR / "en") for p in (MESSAGES_DIR / "en").rglob("*") if p.is_file()}
    spanish = {p.relative_to(MESSAGES_DIR / "es") for p in (MESSAGES_DIR / "es").rglob("*") if p.is_file()}
    assert english == spanish


async def test_es_mx_who_skips_the_country_gets_mexican_lines_in_help(engine: Engine) -> None:
    """The locale's region decides the helplines when no country is chosen (operator default is GB)."""
    chat = Chat(engine, locale="es-MX")
    await chat.send("/start")
    await chat.press("Sí, empecemos")
    await chat.press("Saltar")
    await chat.send("/help")
    assert "800 911 2000" in chat.text and "findahelpline.com" in chat.text
    assert "Lo que puedo hacer:" in chat.text
