"""The knowledge base: questions.tsv (written before the entries) finds the right entry; off-topic, none."""

from __future__ import annotations

from pathlib import Path

import pytest
from rapidfuzz import fuzz

from bot.knowledge import kb
from bot.knowledge.kb import KnowledgeBase, KnowledgeError, ask, knowledge, looks_like_question
from bot.knowledge.text import fold

HERE = Path(__file__).parent
LOCALES = ("en", "es")


def _rows(name: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            locale, expected, question = line.split("\t")
            rows.append((locale, expected, question))
    return rows


QUESTIONS = _rows("questions.tsv")
HOLDOUT = _rows("questions_holdout.tsv")
FRESH = _rows("questions_fresh.tsv")
FRESH2 = _rows("questions_fresh2.tsv")
DEV2 = _rows("questions_dev2.tsv")
DEV3 = _rows("questions_dev3.tsv")
DEV4 = _rows("questions_dev4.tsv")
DEV5 = _rows("questions_dev5.tsv")
DEV6 = _rows("questions_dev6.tsv")
DEV7 = _rows("questions_dev7.tsv")
DEV8 = _rows("questions_dev8.tsv")
DEV9 = _rows("questions_dev9.tsv")
DEV10 = _rows("questions_dev10.tsv")
DEV11 = _rows("questions_dev11.tsv")
DEV12 = _rows("questions_dev12.tsv")
DEV13 = _rows("questions_dev13.tsv")
DEV14 = _rows("questions_dev14.tsv")


def _score(rows: list[tuple[str, str, str]], locale: str) -> tuple[int, int, int, int]:
    on = [(e, q) for loc, e, q in rows if loc == locale and e != "-"]
    off = [q for loc, e, q in rows if loc == locale and e == "-"]
    right = sum(1 for e, q in on if (found := ask(q, locale)) is not None and found.id == e)
    rejected = sum(1 for q in off if ask(q, locale) is None)
    return right, len(on), rejected, len(off)


@pytest.mark.parametrize(("locale", "minimum"), [("en", 80), ("es", 40)])
def test_enough_paraphrased_questions_and_off_topic_lines(locale, minimum):
    assert sum(1 for loc, e, _ in QUESTIONS if loc == locale and e != "-") >= minimum
    assert sum(1 for loc, e, _ in QUESTIONS if loc == locale and e == "-") >= 30


@pytest.mark.parametrize("locale", LOCALES)
def test_questions_find_the_right_entry_and_off_topic_gets_none(locale, capsys):
    right, on, rejected, off = _score(QUESTIONS, locale)
    with capsys.disabled():
        print(
            f"\nknowledge {locale}: {right}/{on} questions answered by the right entry ({right / on:.0%}); "
            f"{rejected}/{off} off-topic lines got no answer"
        )
    assert right / on >= 0.9
    assert rejected == off


@pytest.mark.parametrize("locale", LOCALES)
def test_held_out_questions(locale, capsys):
    """Written after tuning and never tuned on: reported to show how well retrieval generalises (≥ 90 %)."""
    right, on, rejected, off = _score(HOLDOUT, locale)
    with capsys.disabled():
        print(
            f"\nknowledge {locale} held out: {right}/{on} right ({right / on:.0%}); "
            f"{rejected}/{off} off-topic rejected"
        )
    assert right / on >= 0.9
    assert rejected / off >= 0.9


# Measured once on 2026-12-04, before any tuning: en 80/94 (85 %), 29/30 off-topic rejected;
# es 70/97 (72 %), 30/30 rejected. Floors sit just below, so a regression fails; raise them when the
# entries improve from other data, and never tune on these rows.
# Measured once on 2026-12-05 after tuning on questions.tsv only (new paraphrases, keywords, Spanish
# phrase synonyms and the "e" stem): en 83/94 (88.3 %), 29/30 rejected; es 82/97 (84.5 %), 29/30 rejected.
# After the Snowball/context-word retrieval (tuned on questions_dev2.tsv), measured 2026-12-06:
# en 84/94 (89.4 %), 30/30 rejected; es 82/97 (84.5 %), 30/30 rejected.
# questions_fresh2.tsv (written blind, 2026-12-05): before that change en 74/119 (62.2 %), 27/30 rejected;
# es 61/110 (55.5 %), 28/30. After it, measured once: en 94/119 (79.0 %), 28/30; es 78/110 (70.9 %), 28/30.
FRESH_FLOORS = {
    "questions_fresh.tsv": {"en": (0.88, 0.95), "es": (0.84, 0.95)},
    "questions_fresh2.tsv": {"en": (0.78, 0.9), "es": (0.7, 0.9)},
}


@pytest.mark.parametrize(("locale", "minimum"), [("en", 80), ("es", 50)])
def test_fresh_table_is_large_enough_and_covers_every_entry(locale, minimum):
    on = [e for loc, e, _ in FRESH if loc == locale and e != "-"]
    assert len(on) >= minimum
    assert sum(1 for loc, e, _ in FRESH if loc == locale and e == "-") >= 30
    assert set(on) == set(knowledge(locale).ids())


@pytest.mark.parametrize("table", sorted(FRESH_FLOORS))
@pytest.mark.parametrize("locale", LOCALES)
def test_fresh_held_out_questions(table, locale, capsys):
    """Written from the entry ids alone, never tuned on: held to the floor last measured."""
    right, on, rejected, off = _score(_rows(table), locale)
    with capsys.disabled():
        print(
            f"\nknowledge {locale} {table}: {right}/{on} right ({right / on:.0%}); "
            f"{rejected}/{off} off-topic rejected"
        )
    accuracy, rejection = FRESH_FLOORS[table][locale]
    assert right / on >= accuracy
    assert rejected / off >= rejection


# questions_dev2.tsv: written blind from entry ids and one-line topics, then tuned on (development).
# Before tuning (suffix cutting, one domain list): en 110/144 (76.4 %), 32/40 off-topic rejected;
# es 103/144 (71.5 %), 37/40. After (Snowball stems, synonyms matched on stems, context words that count
# only among known words, keywords): en 139/144 (96.5 %), 40/40; es 134/144 (93.1 %), 40/40.
# After the dev3 tuning (2026-12-06): en 142/144 (98.6 %), 40/40; es 137/144 (95.1 %), 40/40.
# After the dev4 tuning (2026-12-07): en 142/144 (98.6 %), 40/40; es 139/144 (96.5 %), 40/40.
# questions_dev3.tsv: written blind from entry ids and one-line topics (round 3), then tuned on (development).
# Before tuning, measured 2026-12-06: en 111/144 (77.1 %), 37/40 off-topic rejected;
# es 109/144 (75.7 %), 39/40.
# After (context words that allow one new word in six, numbers aside; filler and text-speak stop words;
# bare "exposure" no longer means PE; phrase synonyms for changing therapist, helplines, session frequency,
# going in circles, the therapist ending it; English loan words in Spanish; keywords): en 137/144 (95.1 %),
# 40/40; es 137/144 (95.1 %), 40/40.
# After the dev4 tuning (2026-12-07): en 137/144 (95.1 %), 40/40; es 138/144 (95.8 %), 40/40.
# questions_dev4.tsv: written blind from entry ids and one-line topics (round 4), then tuned on (development).
# Before tuning, measured 2026-12-07: en 121/144 (84.0 %), 32/40 off-topic rejected;
# es 119/144 (82.6 %), 31/40.
# After (listed phrases count only as a run of words; a domain word among mostly unknown words is not enough;
# speech, physical and retail therapy are not therapy here; "weekly" no longer turns every "week" into a
# session-frequency word; a boss alone is no workplace scheme; phrase synonyms and keywords): en 143/144
# (99.3 %), 40/40; es 141/144 (97.9 %), 37/40.
# questions_dev5.tsv: written blind from entry ids and one-line topics (round 5), then tuned on (development).
# Before tuning, measured 2026-12-07: en 111/138 (80.4 %), 35/40 off-topic rejected;
# es 106/138 (76.8 %), 38/40.
# After (crisis words, "right now" and raising a topic count as therapy only among known words; CBD oil,
# the motorbike CBT course and a WhatsApp group are not CBT or group therapy; keywords): en 137/138
# (99.3 %), 40/40; es 135/138 (97.8 %), 40/40. The other development tables, measured the same day:
# dev2 en 142/144, es 140/144; dev3 en 138/144, es 139/144; dev4 en 143/144, es 141/144 (38/40 off-topic).
# questions_dev6.tsv: written blind from entry ids and one-line topics (round 6: regional Spanish, Spanglish,
# non-native English, teens, older adults, methods described without their names, hard off-topic lines sharing
# words with the topics), then tuned on (development); labels reviewed, none changed.
# Before tuning, measured 2026-12-08: en 80/96 (83.3 %), 26/30 off-topic rejected; es 80/96 (83.3 %), 25/30.
# After (stop phrases dropped whole: "what is it called", "cómo se llama", "me habló de", greetings; an
# unseen number no longer counts against a question; "45 years old" is an adult's age, "11 year old" a
# child's; not therapy: working from home, an online shop or course, a work meeting, a job interview, a class
# group, changing school, a pay rise; "safe with men" is about the therapist, not danger; "options" is no
# longer "optional"; phrase synonyms for an intro call, no insurance, a therapist's age, not being ready yet,
# campus services, confidentiality limits; method descriptions as keywords): en 93/96 (96.9 %), 30/30;
# es 95/96 (99.0 %), 30/30.
# The other development tables, measured the same day, before -> after: questions.tsv en 188/193 -> 188/193,
# es 115/119 -> 115/119; dev2 en 142/144 -> 142/144, es 140/144 -> 142/144; dev3 en 138/144 -> 138/144,
# es 139/144 -> 139/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic both);
# dev5 en 137/138 -> 138/138, es 135/138 -> 135/138; every off-topic figure unchanged.
# questions_dev7.tsv: written blind from entry ids and one-line topics (round 7: questions asked
# mid-conversation, short follow-ups, a story or a yes/no before the question, statements, negations, angry
# askers, mostly Latin American Spanish; hard off-topic lines sharing words and acronyms with the topics),
# then tuned on (development); labels reviewed, none changed.
# Before tuning, measured 2026-12-09: en 77/96 (80.2 %), 21/30 off-topic rejected; es 81/96 (84.4 %), 25/30.
# After (an opener that breaks in, "wait, ..." / "espera, ...", is dropped before a comma or a question word;
# elsewhere words: a pet, a vet, a CPT billing code, PE class, .NET, EAP-TLS wifi, a phone or data plan, a bot
# someone builds, dropping out of college, veto an answer unless therapy, a therapist or PTSD is named;
# numbers are left out of both unseen-word shares; Spanish numbers in words are numbers; stop words and
# phrases for fillers, regional address and hearsay ("wey", "parce", "me dijeron que", "no cacho",
# "be honest", "i thought"); phrase synonyms for reporting, who can see the chat, a therapist's language,
# someone older, the therapist ending or leaving the country, being out of work, changing to another
# therapist; "somatic" as a domain word; keywords): en 94/96 (97.9 %), 30/30; es 95/96 (99.0 %), 30/30.
# The other development tables, measured the same day, before -> after: unchanged (questions.tsv en 188/193,
# es 115/119; dev2 en 142/144, es 142/144; dev3 en 138/144, es 139/144; dev4 en 143/144, es 141/144, 38/40
# off-topic both; dev5 en 138/138, es 135/138; dev6 en 93/96, es 95/96); every off-topic figure unchanged.
# questions_dev8.tsv: written blind from entry ids and one-line topics (round 8: Spanish-heavy, 3 Spanish and
# 1 English question per entry; Mexico, Argentina/Uruguay voseo, Colombia, Chile, Venezuela, Central America,
# the Caribbean, Spain, US Spanglish; usted from older people; misspellings; regional words for the
# psychologist and the health system; methods described without names; hard off-topic lines), then tuned on
# (development); labels reviewed, none changed.
# Before tuning, measured on main: en 45/48 (93.8 %), 13/15 off-topic rejected; es 114/144 (79.2 %), 32/35.
# After (misspellings, text-speak and regional address as stop words: nose, aver, haci, xq, porq, tmb, chamo,
# mae, bo, piba, señorita; place names as stop words; greetings such as "buenas" as openers; "me llama más" is
# no call; "me cuesta" is hard, not expensive; la psico, the health system words (EPS, IMSS, Fonasa, obra
# social, centro de salud) as one word; phrase synonyms for a skills group (DBT), IFS, being discharged ("me
# dio de alta"), never having told the therapist, where to call, a support line, what one tells a therapist
# (private) and what one tells the bot (its data), an older or newly qualified therapist, teletherapy;
# "maltrato" is abuse; a new elsewhere_always list that even a named therapy does not lift: a series on a
# streaming service, what a psychologist earns, a car's clutch or gearbox; elsewhere words for a Facebook or
# Google account and a gym or fitness class; method descriptions as keywords): en 47/48 (97.9 %), 15/15; es
# 142/144 (98.6 %), 35/35.
# The other development tables, measured the same day, before -> after: questions.tsv en 188/193 -> 188/193,
# es 115/119 -> 115/119; dev2 en 142/144 -> 142/144, es 142/144 -> 142/144; dev3 en 138/144 -> 139/144, es
# 139/144 -> 140/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic both); dev5 en
# 138/138 -> 138/138, es 135/138 -> 135/138; dev6 en 93/96 -> 93/96, es 95/96 -> 95/96; dev7 en 94/96 ->
# 94/96, es 95/96 -> 95/96; every off-topic figure unchanged.
# questions_dev9.tsv: written blind from entry ids and one-line topics (round 9: wary, tired or sceptical
# askers, roundabout and conditional questions, asking for a partner or parent, money figures, medical
# words, plain words; English from the UK, Ireland, India, Nigeria, the Philippines, Australia and the US;
# Spanish from Mexico to Spain, Cuba and US Latinos; hard off-topic lines: trauma surgeons and wards, photo
# sessions, earthing mats, data plans, homework, pain medication), then tuned on (development); labels
# reviewed, none changed.
# Before tuning, measured on main: en 75/96 (78.1 %), 25/30 off-topic rejected; es 79/96 (82.3 %), 25/30.
# After (a closer, a filler ending a sentence after a comma, is dropped: "..., pe." is no PE; medicine names
# (sertraline, prazosin, SSRIs; sertralina, prazosina) are medication; "veteran" is the VA, and the VA lifts
# an elsewhere word (vets); a partner, wife or husband is one word; plain words for dissociation ("not in my
# body", "no estoy en mi cuerpo"), for faith and nationality as culture, for going back where one left off,
# for who someone else could call; "the last one", "no offence", "mi mamá pregunta" and "de brazos cruzados"
# are stop phrases; elsewhere: trauma surgeons, centres and wards, traumatismo and the traumatólogo (one
# word now, no longer trauma), earthing or grounding mats, data usage and data jobs, maths homework, pain
# and stomach medicines, learning English, a photo session; electricity and broadband providers always;
# keywords): en 94/96 (97.9 %), 30/30; es 91/96 (94.8 %), 30/30.
# The other development tables, measured the same day, before -> after: questions.tsv en 188/193 -> 189/193,
# es 115/119 -> 115/119; dev2 en 142/144 -> 142/144, es 142/144 -> 142/144; dev3 en 139/144 -> 140/144, es
# 140/144 -> 140/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic both); dev5 en
# 138/138 -> 138/138, es 135/138 -> 135/138; dev6 en 93/96 -> 93/96, es 95/96 -> 95/96; dev7 en 94/96 ->
# 94/96, es 95/96 -> 95/96; dev8 en 47/48 -> 48/48, es 142/144 -> 142/144; every off-topic figure unchanged.
# questions_dev10.tsv: written blind from entry ids and one-line topics (round 10: long messages, 120-280
# characters, the question at the end after sentences of situation; voice-to-text with no punctuation and
# homophones, "weight list", "praise osin", "comma" typed out; hard off-topic rows are long stories about
# physio, speech therapy, a pet's physical trauma, court, a gym, a phone plan, surgery waiting lists), then
# tuned on (development); labels reviewed, none changed (the female-therapist row stays culture).
# Before tuning, measured on main: en 74/96 (77.1 %), 29/30 off-topic rejected; es 81/96 (84.4 %), 29/30.
# After (in a long message, 160 characters or more, of several sentences, the sentences that ask are searched
# once more when they name therapy themselves; this rule alone, on the tuned base, is worth en 85 -> 93 and
# es 88 -> 94; "comma"/"coma" typed out and "wear" are stop words; spoken and misspelt forms: "e m d r",
# "txt", "thru an app", "not redy", "apointment", "sesion", "1st", "rite for me", "lots of ppl", "arent
# helping", "prosesamiento"; a therapist dropping someone or saying they need a higher level of care; "what
# I told you" and "lo q te escribo" as the bot's data; "no me sentía lista" is not ready, no list;
# elsewhere: head trauma and concussion, hip surgery and operations, a hand therapist and plasticine;
# keywords): en 93/96 (96.9 %), 30/30; es 94/96 (97.9 %), 30/30.
# The other development tables, measured the same day, before -> after: questions.tsv en 189/193 -> 189/193,
# es 115/119 -> 115/119; dev2 en 142/144 -> 142/144, es 142/144 -> 142/144; dev3 en 140/144 -> 140/144, es
# 140/144 -> 140/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic both); dev5 en
# 138/138 -> 138/138, es 135/138 -> 135/138; dev6 en 93/96 -> 93/96, es 95/96 -> 95/96; dev7 en 94/96 ->
# 94/96, es 95/96 -> 95/96; dev8 en 48/48 -> 48/48, es 142/144 -> 142/144; dev9 en 94/96 -> 94/96, es 91/96
# -> 92/96; every off-topic figure unchanged.
# questions_dev11.tsv: written blind from entry ids and one-line topics (round 11: half texting style,
# emoji and abbreviations, u/r/ppl/tho/rn/smth, q/xq/tmb/x fa/pa/vdd; half well-read clinical style,
# "evidence-based modality", "therapeutic alliance", "manualised protocol", DSM-5, PCL-5, "alianza
# terapéutica", "psicoeducación"; hard off-topic lines in both styles: gym groups, phone plans, maths
# homework, diabetes drug protocols, systematic reviews, a computer "processing"), then tuned on
# (development); labels reviewed, none changed.
# Before tuning, measured on main: en 69/96 (71.9 %), 29/30 off-topic rejected; es 76/96 (79.2 %), 26/30.
# After (text-speak and clinical filler as stop words: smth, rly, n, ngl, tho, typically, merely,
# rationale, protocol, manualised; vdd, xfa, legítimo, protocolo, pronóstico; clinical terms as the plain
# words the base knows: the therapeutic alliance is rapport, efficacy is working, a modality or
# intervention is therapy, symptom exacerbation is worse, resuming and re-engaging are going back,
# undisclosed is unsaid, non-adherence is skipping homework, termination is ending, "gave up" is dropping
# out, "till", "wks", "w/o"; eficacia, modalidad, intervención, "proceso terapéutico", the asistente is
# the bot, almacena/conservan are storing, tarifas ajustadas a los ingresos, de menor coste, "no sé si me
# sirve"; elsewhere: diabetes and its drugs, systematic reviews and meta-analyses, evidence-based
# medicine, school homework by subject, a computer (ordenador, one word now, so "en orden" stays order);
# keywords for PE's imaginal/in vivo exposure and habituation, EMDR's bilateral stimulation, PTSD's
# criteria, DSM criterion A and small-t trauma, conjoint caregiver sessions, PCL-5): en 94/96 (97.9 %),
# 30/30; es 94/96 (97.9 %), 29/30.
# The other development tables, measured the same day, before -> after: questions.tsv en 189/193 ->
# 189/193, es 115/119 -> 115/119; dev2 en 142/144 -> 143/144, es 142/144 -> 142/144; dev3 en 140/144 ->
# 140/144, es 140/144 -> 140/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic
# both); dev5 en 138/138 -> 138/138, es 135/138 -> 135/138; dev6 en 93/96 -> 93/96, es 95/96 -> 95/96;
# dev7 en 94/96 -> 94/96, es 95/96 -> 95/96; dev8 en 48/48 -> 48/48, es 142/144 -> 142/144; dev9 en 94/96
# -> 94/96, es 92/96 -> 92/96; dev10 en 93/96 -> 94/96, es 94/96 -> 94/96; every off-topic figure
# unchanged.
# questions_dev12.tsv: written blind from entry ids and one-line topics (round 12: lay Spanish and English
# that describe methods instead of naming them, regional Spanish, short questions; 2 Spanish and 1 English
# question per entry), then tuned on (development); labels reviewed, none changed.
# Before tuning, measured on main: en 43/48 (89.6 %), 14/15 off-topic rejected; es 83/96 (86.5 %), 30/30.
# After (vocabulary only, no change to kb.py: CPT's "stuck points/thoughts" and "puntos atascados" as domain
# phrases; PE's "keep retelling" is recounting; trauma that "went on for years" or a "whole childhood" is
# ongoing, not how long therapy lasts; "what I want out of", "lo que quiero/busco" and "me dejé llevar" for
# preferences; an employee help line is the EAP, a "help line" a helpline; a work contract, notice period,
# overtime or payslip is elsewhere; weekday names are stop words, as are "uno" and "haberla"; EMDR described
# as taps on the hands, a light to follow, "la de los ojos"; "cuál me sirve más" is choosing; "estudió más"
# is a professional's training (titulo), no longer a student; "alumnos", "en la u" are students; "tengo algo
# guardado" is unsaid, not the bot's storage; "depende de lo que ganas" is a sliding scale; therapy "junto con
# otras personas que pasaron lo mismo" is a group; "qué me van a preguntar" / "what will they ask" is the
# first session, not the questions to ask; "dejarla plantada" (ghosting) before going back; keywords):
# en 48/48 (100 %), 15/15; es 95/96 (99.0 %), 30/30.
# The other development tables, measured the same day, before -> after: questions.tsv en 189/193 ->
# 189/193, es 115/119 -> 115/119; dev2 en 143/144 -> 143/144, es 142/144 -> 142/144; dev3 en 140/144 ->
# 140/144, es 140/144 -> 140/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic
# es); dev5 en 138/138 -> 138/138, es 135/138 -> 135/138; dev6 en 93/96 -> 93/96, es 95/96 -> 95/96;
# dev7 en 94/96 -> 94/96, es 95/96 -> 95/96; dev8 en 48/48 -> 48/48, es 142/144 -> 142/144; dev9 en 94/96
# -> 94/96, es 92/96 -> 92/96; dev10 en 94/96 -> 94/96, es 94/96 -> 94/96; dev11 en 94/96 -> 94/96, es
# 94/96 -> 95/96 (29/30 off-topic); every off-topic figure unchanged.
# questions_dev13.tsv: written blind from entry ids and one-line topics (round 13: questions wrapped in
# feeling, the person venting first and the question implicit, indirect or hedged, often without a question
# mark; some asked for a partner, parent or friend; off-topic lines that also vent), then tuned on
# (development); labels reviewed, none changed.
# Before tuning, measured on main: en 69/96 (71.9 %), 26/30 off-topic rejected; es 77/96 (80.2 %), 29/30.
# After (a reply holding one of the locale's asking_phrases, "I was wondering if", "would it be weird to", "me
# pregunto si", "quisiera saber", reads as a question anywhere in it; hedges that say nothing of the topic are
# stop phrases: "no clue", "last time", "ended up", "me quedé con la duda", "en qué consiste"; "no sé si"
# alone is no longer "how do I know if it works"; not therapy: a breakup (no "broke"), going back to college
# or "volver a estudiar", forgetting things, a waiting room, an exam, a work presentation, a deadline; a
# former ("old", "last") therapist is backstory, not going back; "mentioned" is hearsay, not raising a topic;
# what a method "involves" is each method's keyword; the asker being a student ("soy estudiante") is student
# services; a "consulta privada" is private practice, not confidentiality; phrase synonyms for picking between
# therapies, "even counts" / "others had it worse", nothing changing, a fourth therapist, not wanting to talk
# about it yet, feeling worse than when I started, the only one who stopped showing up, who they share my
# stuff with, what I'm talking to, where what I've told you goes, "no sabía nada de trauma", "toda una
# infancia", "de principio a fin", "gana muy poco", "ir preparado"; keywords): en 91/96 (94.8 %), 30/30; es
# 92/96 (95.8 %), 30/30.
# The other development tables, measured the same day, before -> after: questions.tsv en 189/193 -> 189/193,
# es 115/119 -> 116/119; dev2 en 143/144 -> 143/144, es 142/144 -> 142/144; dev3 en 140/144 -> 141/144, es
# 140/144 -> 140/144; dev4 en 143/144 -> 143/144, es 141/144 -> 141/144 (38/40 off-topic es); dev5 en 138/138
# -> 138/138, es 135/138 -> 135/138; dev6 en 93/96 -> 93/96, es 95/96 -> 95/96; dev7 en 94/96 -> 95/96, es
# 95/96 -> 95/96; dev8 en 48/48 -> 48/48, es 142/144 -> 142/144; dev9 en 94/96 -> 94/96, es 92/96 -> 92/96;
# dev10 en 94/96 -> 95/96, es 94/96 -> 94/96; dev11 en 94/96 -> 94/96, es 95/96 -> 95/96 (29/30 off-topic es);
# dev12 en 48/48 -> 48/48, es 95/96 -> 95/96; every off-topic figure unchanged.
# questions_dev14.tsv: written blind from entry ids and one-line topics (round 14: Englishes and Spanishes
# rarely heard: Indian, Nigerian, Ghanaian, Kenyan, Filipino, Singaporean, South African, Irish, Scottish,
# Jamaican, Australian English; Spain, Cuba, Dominican Republic, Puerto Rico, Central America, the Andes, US
# Latino Spanish), then tuned on (development); labels reviewed, none changed.
# Before tuning, measured on main: en 86/96 (89.6 %), 27/30 off-topic rejected; es 90/96 (93.8 %), 28/30.
# After (a GP or doctor who "referred me on" is a referral, not a therapist ending; wanting to "end it all",
# "kill myself", "hurt myself", "hacerme daño", "quitarme la vida" is a crisis (in Spanish its own domain
# word, "autolesion", while therapy that "me está haciendo daño" is getting worse); "kept it quiet", "say it
# out loud" is something unsaid; "not able to open up" is not being ready; "this chat" is the bot; "the full
# story" is telling what happened; hearsay that says nothing of the topic is a stop phrase: "me recomendó",
# "me la nombró", "no le pregunté", "mi mamá dice"; so is a "new job"; "puros nervios" is a question about
# PTSD; not therapy: a cough, a chest infection, Excel and spreadsheets, high blood pressure ("presión alta"),
# choosing a school track ("bachillerato de ciencias"); keywords): en 96/96 (100 %), 30/30; es 93/96 (96.9 %),
# 30/30.
# The other development tables, measured the same day, before -> after: questions.tsv and dev2 to dev13
# unchanged except dev10 es 94/96 -> 95/96; every off-topic figure unchanged; replies.tsv and stories.tsv
# still pass.
DEV_FLOORS = {
    "questions_dev2.tsv": {"en": (0.97, 1.0), "es": (0.95, 1.0)},
    "questions_dev3.tsv": {"en": (0.94, 1.0), "es": (0.95, 1.0)},
    "questions_dev4.tsv": {"en": (0.98, 1.0), "es": (0.97, 0.9)},
    "questions_dev5.tsv": {"en": (0.98, 1.0), "es": (0.97, 1.0)},
    "questions_dev6.tsv": {"en": (0.96, 1.0), "es": (0.98, 1.0)},
    "questions_dev7.tsv": {"en": (0.97, 1.0), "es": (0.98, 1.0)},
    "questions_dev8.tsv": {"en": (0.97, 1.0), "es": (0.98, 1.0)},
    "questions_dev9.tsv": {"en": (0.97, 1.0), "es": (0.95, 1.0)},
    "questions_dev10.tsv": {"en": (0.96, 1.0), "es": (0.97, 1.0)},
    "questions_dev11.tsv": {"en": (0.97, 1.0), "es": (0.97, 0.96)},
    "questions_dev12.tsv": {"en": (1.0, 1.0), "es": (0.98, 1.0)},
    "questions_dev13.tsv": {"en": (0.94, 1.0), "es": (0.95, 1.0)},
    "questions_dev14.tsv": {"en": (1.0, 1.0), "es": (0.96, 1.0)},
}
# Rows each development table must hold per locale (on-topic, off-topic): dev6 and dev7 are smaller (96, 30),
# and dev8 is Spanish-heavy, so its sizes differ by locale.
DEV_SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "questions_dev6.tsv": {"en": (96, 30), "es": (96, 30)},
    "questions_dev7.tsv": {"en": (96, 30), "es": (96, 30)},
    "questions_dev8.tsv": {"en": (48, 15), "es": (144, 35)},
    "questions_dev9.tsv": {"en": (96, 30), "es": (96, 30)},
    "questions_dev10.tsv": {"en": (96, 30), "es": (96, 30)},
    "questions_dev11.tsv": {"en": (96, 30), "es": (96, 30)},
    "questions_dev12.tsv": {"en": (48, 15), "es": (96, 30)},
    "questions_dev13.tsv": {"en": (96, 30), "es": (96, 30)},
    "questions_dev14.tsv": {"en": (96, 30), "es": (96, 30)},
}


@pytest.mark.parametrize("table", DEV_FLOORS)
@pytest.mark.parametrize("locale", LOCALES)
def test_development_questions_find_the_right_entry(table, locale):
    right, on, rejected, off = _score(_rows(table), locale)
    least_on, least_off = DEV_SIZES.get(table, {}).get(locale, (130, 40))
    assert on >= least_on and off >= least_off
    accuracy, rejection = DEV_FLOORS[table][locale]
    assert right / on >= accuracy, f"{table} {locale}: {right}/{on}"
    assert rejected / off >= rejection, f"{table} {locale}: {rejected}/{off} off-topic rejected"


def test_in_a_long_story_the_sentences_that_ask_weigh_more(monkeypatch):
    story = (
        "I've been seeing someone for a while and we talk about my week, my job, my sister and my sleep. "
        "Some weeks are fine, others are awful, and the sessions feel long. "
    )
    assert kb._asked(story + "Is it normal to switch therapists?") == "Is it normal to switch therapists?"
    assert kb._asked("Two lines. Short?") == ""  # a short message is all question
    assert (
        kb._asked("one long voice message with no stops at all " * 5) == ""
    )  # one sentence: nothing to weigh
    assert kb._asked(story + "so what now") == "so what now"  # no question mark: the last sentence
    # The asking sentences add their words once more, only when they name therapy themselves.
    base = knowledge("en")
    asked = story + "What questions should I ask a potential therapist?"
    vague = story + "Could you explain what it involves?"
    weighted = base.search(asked, limit=1)[0]
    before_vague = base.search(vague, limit=1)[0].score
    monkeypatch.setattr(kb, "ASKED_WEIGHT", 0)
    assert weighted.entry.id == "questions_to_ask"
    assert weighted.score > base.search(asked, limit=1)[0].score
    assert before_vague == pytest.approx(base.search(vague, limit=1)[0].score)


def test_a_listed_phrase_counts_only_as_a_run_of_words():
    # "sliding scale" and "mental health" are domain phrases; "sliding" or "health" alone is not therapy.
    assert ask("how do I solve a sliding tile puzzle", "en") is None
    assert ask("is my health insurance good", "en") is None
    assert ask("cuanto cuesta una consulta de salud dental", "es") is None
    found = ask("what is a sliding scale fee?", "en")
    assert found is not None and found.id == "sliding_scale"
    found = ask("salud mental para estudiantes gratis?", "es")
    assert found is not None and found.id == "student_services"
    # "abandono" once made every "dejar" (to let, to leave) a domain word.
    assert ask("cuanto tiempo se deja descansar la carne asada", "es") is None


def test_a_domain_word_among_mostly_unknown_words_is_not_enough():
    assert ask("the grounding cable in our house fuse box is loose", "en") is None
    assert ask("my dog takes meds for his arthritis, can he have them with food", "en") is None
    assert ask("le doy la medicación de la artritis a mi gato con la comida?", "es") is None
    found = ask("grounding techniques?", "en")  # short questions are exempt
    assert found is not None and found.id == "grounding"
    found = ask("does the eye movement thing work or is it pseudoscience", "en")
    assert found is not None and found.id == "emdr"


def test_other_therapies_and_a_boss_are_not_talking_therapy():
    assert ask("my son needs speech therapy, when should we start", "en") is None
    assert ask("how long does physical therapy take after knee surgery", "en") is None
    assert ask("cuantas sesiones de fisioterapia necesito para la rodilla", "es") is None
    assert ask("cuando empezar terapia de lenguaje con mi hija", "es") is None
    assert ask("how do I ask my boss for a pay rise", "en") is None
    assert ask("how do i bring up a pay raise with my boss?", "en") is None
    assert ask("how do I bring up my kids?", "en") is None  # raising children, not raising a topic
    assert ask("como le pido un aumento de sueldo a mi jefe", "es") is None
    found = ask("will my boss find out if I use the employee assistance programme", "en")
    assert found is not None and found.id == "eap"
    found = ask("se entera mi jefe si uso el programa de ayuda al empleado", "es")
    assert found is not None and found.id == "eap"


def test_work_shops_courses_and_meetings_are_not_therapy():
    assert ask("can i still work from home if my internet keeps dropping", "en") is None
    assert ask("best online store for cheap phone cases", "en") is None
    assert ask("is it rude to end a zoom meeting early", "en") is None
    assert ask("what should i ask at the end of a job interview", "en") is None
    assert ask("¿qué curso online barato me recomiendas para aprender inglés?", "es") is None
    assert ask("mi grupo de la universidad no hace nada del trabajo, ¿qué hago?", "es") is None
    assert ask("¿cómo termino bien un correo formal para una empresa?", "es") is None
    assert ask("¿cómo saco el tema de un aumento con mi jefe?", "es") is None
    found = ask("does online therapy work from home as well as in person?", "en")
    assert found is not None and found.id == "online_therapy"


def test_stop_phrases_are_dropped_whole():
    en = knowledge("en").tokenise
    assert en("what is it called") == [] and en("good afternoon") == []
    assert "call" in en("I called the helpline, they will call me back")
    es = knowledge("es").tokenise
    assert es("¿cómo se llama?") == [] and "llamada" in es("una llamada gratis")
    assert es("mi psiquiatra me habló de la PE") == es("mi psiquiatra, la PE")


def test_an_age_is_a_child_or_an_adult_not_a_number():
    en = knowledge("en").tokenise
    assert en("my 11 year old") == en("my kid") and "adult" in en("I am 45 years old")
    found = ask("I am 45 years old, is it too late to try EMDR?", "en")
    assert found is not None and found.id == "emdr"
    found = ask("my 9 yo saw something awful, is there trauma therapy for her", "en")
    assert found is not None and found.id == "tf_cbt"


def test_safe_with_men_is_about_the_therapist_not_a_crisis():
    found = ask("can I ask for a female therapist? I don't feel safe with men", "en")
    assert found is not None and found.id in {"culture", "preferences"}
    found = ask("I don't feel safe right now", "en")
    assert found is not None and found.id == "crisis_help"


def test_an_opener_that_breaks_in_is_not_a_word_of_the_question():
    en = knowledge("en").tokenise
    assert en("wait, what's CPT?") == en("what's CPT?") == en("wait whats cpt")
    assert "waiting" in en("wait times for therapy are long") and "waiting" in en("how long is the wait?")
    found = ask("wait whats emdr", "en")
    assert found is not None and found.id == "emdr"
    es = knowledge("es").tokenise
    assert es("espera, ¿qué es la CPT?") == es("¿qué es la CPT?")
    assert "espera" in es("¿cuánto dura la espera?")


def test_a_pet_a_billing_code_or_software_is_about_something_else():
    assert ask("my cat freaks out during thunderstorms, is there medication for cats", "en") is None
    assert ask("is there anxiety medication for dogs", "en") is None
    assert ask("wait, what does the CPT code on my medical bill mean", "en") is None
    assert ask("whats the difference between .NET framework and .NET core", "en") is None
    assert ask("what is EAP-TLS in my wifi settings", "en") is None
    assert ask("write me a discord bot that plays music", "en") is None
    assert ask("mi perro tiene convulsiones, ¿qué medicamento le suele dar el veterinario?", "es") is None
    assert ask("¿qué significa el código CPT en la factura del hospital?", "es") is None
    # Naming therapy, a therapist or PTSD lifts the veto.
    assert ask("I have had PTSD since a dog attacked me, what can help?", "en") is not None
    found = ask("can I bring my dog to therapy?", "en")
    assert found is not None
    found = ask("are you a bot?", "en")
    assert found is not None and found.id == "about_bot"


def test_a_streaming_series_a_salary_or_a_car_is_elsewhere_even_with_therapy_named():
    assert ask("dónde puedo ver la serie En terapia de HBO en línea", "es") is None
    assert ask("cuánto gana un psicólogo al mes?", "es") is None
    assert ask("is the tv show about a therapist on netflix any good", "en") is None
    assert ask("my car needs therapy, the clutch slips", "en") is None
    assert ask("cómo borro los datos de facebook de mi cuenta", "es") is None
    # Earning little, or a therapy seen on social media, is still about therapy.
    found = ask("hay psicólogos que cobran menos si uno gana poco?", "es")
    assert found is not None and found.id == "sliding_scale"
    found = ask("what even is dbt, everyone on tiktok talks about it", "en")
    assert found is not None and found.id == "dbt"


def test_spanish_regional_words_and_misspellings():
    es = knowledge("es").tokenise
    assert es("la psico") == es("la psicóloga")
    assert es("nose si sirve xq tmb") == es("si sirve")
    assert "barato" not in es("me cuesta mucho hacer los ejercicios")
    assert "barato" in es("cuánto me cuesta una sesión")
    assert es("buenas, ¿qué es el EMDR?") == es("¿qué es el EMDR?")
    assert es("me llama más la arteterapia") == es("la arteterapia")
    assert es("por la EPS") == es("por el IMSS") == es("en el centro de salud")
    found = ask("el terapeuta me dio de alta y siento q todavía no estoy bien", "es")
    assert found is not None and found.id == "therapist_ended"


def test_numbers_in_words_are_numbers():
    es = knowledge("es").tokenise
    assert es("cuatro meses") == es("4 meses")
    assert "4" not in es("un terapeuta nuevo")  # "nueve" is left out: its stem is "nuevo"'s
    found = ask("me dijeron que hay lista de espera de cuatro meses, ¿qué hago mientras?", "es")
    assert found is not None and found.id == "waiting_list"


def test_a_week_or_a_month_is_not_how_often():
    en = knowledge("en").tokenise
    assert "frequency" not in en("see you next week") + en("been going for 4 months")
    assert "frequency" in en("weekly sessions") and "frequency" in en("how often")


def test_context_words_count_only_among_known_words():
    assert ask("how long does it take?", "en") is not None
    assert ask("what's the first session of parliament about", "en") is None
    assert ask("cual es la mejor forma de aprender ingles", "es") is None


def test_a_long_message_may_hold_one_new_word_in_six_but_exposure_alone_is_not_pe():
    found = ask("the waiting list here is months long, anything that helps while i wait?", "en")
    assert found is not None and found.id == "waiting_list"
    found = ask("me dieron turno para dentro de 3 meses, que hago mientras tanto?", "es")
    assert found is not None and found.id == "waiting_list"
    assert ask("how do I set the exposure on my camera", "en") is None
    assert ask("cuanto tiempo de exposicion necesita una foto de noche", "es") is None
    found = ask("is exposure therapy safe for me?", "en")
    assert found is not None and found.id == "pe"


def test_stemmed_synonyms_find_inflections_but_not_stop_words():
    en = knowledge("en").tokenise
    assert en("my counsellors") == en("my therapist")
    es = knowledge("es").tokenise
    assert "dejar" not in es("para mí")  # "para" is a stop word, although it stems like "parar"
    assert "medicacion" not in es("mi médico")  # "medic" is both médico and medicamento: typed forms only


# dev2 rows that, written blind, came out as an entry's own example question, which was there before dev2
# (the obvious "what is PTSD?"); every other dev2 row must stay unlike the entries' wording.
DEV2_SAME_AS_ENTRY = frozenset(
    {
        "what is cognitive processing therapy",
        "what is TF-CBT",
        "which trauma therapy is best for me",
        "what is ptsd",
        "do therapists do free consultations",
        "how do i tell my therapist it's not working",
        "is it normal to switch therapists",
        "donde consigo terapia gratis o barata",
        "que son las clinicas universitarias de psicologia",
        "what is group therapy like",
        "como es la terapia grupal",
        "what's an EAP",
        "how often are trauma therapy sessions",
        "cada cuanto son las sesiones de terapia de trauma",
        "¿Cuánto dura cada sesión?",
        "que pasa en la primera sesion de terapia",
        "la terapia te hace sentir peor antes de mejorar?",
        "is there medication for ptsd",
        "when can a therapist break confidentiality",
    }
)


# dev3 rows that, written blind, came out as (or within a word of) an entry's own example question, which
# was there before dev3.
DEV3_SAME_AS_ENTRY = frozenset(
    {
        "qué pasa en la primera sesión de terapia?",
        "hay medicamentos para el TEPT?",
        "when can a therapist break confidentiality",
        "are you an ai therapist?",
        "como borro mis datos?",
    }
)


# dev4 rows that, written blind, came out within a word of an entry's own example question, which was there
# before dev4.
DEV4_SAME_AS_ENTRY = frozenset(
    {
        "is it normal to switch therapists",
        "is it common to quit therapy early",
    }
)

# dev5 rows likewise (the entries' example questions were there before dev5; checked with git diff).
DEV5_SAME_AS_ENTRY = frozenset(
    {
        "is it normal to switch therapists",
        "what info do you keep about me",
        "cuánto dura la terapia de trauma?",
        "qué pasa en la primera sesión de terapia?",
    }
)

# dev8 likewise (the entries' example questions were there before dev8; git diff shows none changed).
DEV8_SAME_AS_ENTRY = frozenset({"how often are trauma therapy sessions usually"})
# dev12 likewise: four short English rows, written blind, came out as an entry's own question
# (the entries' questions are unchanged).
DEV12_SAME_AS_ENTRY = frozenset(
    {
        "is it normal to switch therapists",
        "what happens at the first appointment",
        "what is this bot",
        "i need help right now",
    }
)


# dev14 likewise: two rows, written blind, came out within a word of an entry's own question (the entries'
# questions are unchanged).
DEV14_SAME_AS_ENTRY = frozenset(
    {"what data do you keep about me", "¿Qué pasa en la primera sesión de terapia?"}
)


@pytest.mark.parametrize("locale", LOCALES)
def test_test_questions_are_not_the_entries_own_wording(locale):
    base = knowledge(locale)
    dev2 = [row for row in DEV2 if row[2] not in DEV2_SAME_AS_ENTRY]
    dev3 = [row for row in DEV3 if row[2] not in DEV3_SAME_AS_ENTRY]
    dev4 = [row for row in DEV4 if row[2] not in DEV4_SAME_AS_ENTRY]
    dev5 = [row for row in DEV5 if row[2] not in DEV5_SAME_AS_ENTRY]
    dev8 = [row for row in DEV8 if row[2] not in DEV8_SAME_AS_ENTRY]
    dev12 = [row for row in DEV12 if row[2] not in DEV12_SAME_AS_ENTRY]
    dev14 = [row for row in DEV14 if row[2] not in DEV14_SAME_AS_ENTRY]
    # dev9, dev10, dev11 and dev13 need no such set either.
    # dev6 and dev7 need no such set: none of their rows came out within a word of an entry's own question.
    tables = (
        QUESTIONS
        + HOLDOUT
        + FRESH
        + FRESH2
        + dev2
        + dev3
        + dev4
        + dev5
        + DEV6
        + DEV7
        + dev8
        + DEV9
        + DEV10
        + DEV11
        + dev12
        + DEV13
        + dev14
    )
    for loc, expected, question in tables:
        if loc == locale and expected != "-":
            closest = max(fuzz.ratio(fold(question), fold(x)) for x in base.entry(expected).questions)
            assert closest < 90, question


def test_every_off_topic_question_on_the_tables_is_a_wrong_answer_avoided():
    # The honest "I don't know": an unrelated question never borrows an answer about therapy.
    assert ask("how do I make lasagne", "en") is None
    assert ask("¿qué tiempo hará mañana?", "es") is None
    assert ask("good evening", "en") is None


@pytest.mark.parametrize("locale", LOCALES)
def test_answers_are_short_and_sourced(locale):
    base = knowledge(locale)
    assert len(base.entries) >= 40
    for entry in base.entries:
        assert 0 < len(entry.answer) <= kb.MAX_ANSWER, entry.id
        assert entry.source.strip(), entry.id
        assert entry.questions, entry.id


def test_both_locales_have_the_same_entries():
    assert knowledge("en").ids() == knowledge("es").ids()


def test_the_topics_asked_for_are_there():
    ids = set(knowledge("en").ids())
    assert {
        "cpt",
        "pe",
        "emdr",
        "tf_cbt",
        "dbt",
        "cbt",
        "net",
        "find_specialist",
        "questions_to_ask",
        "tell_not_working",
        "raise_unnamed",
        "switching",
        "cheaper",
        "sliding_scale",
        "group_therapy",
        "online_therapy",
        "student_services",
        "eap",
        "not_ready",
        "how_long",
        "first_session",
        "between_sessions",
        "homework_hard",
        "therapist_ended",
        "waiting_list",
        "medication",
        "confidentiality",
        "worse_first",
        "is_it_working",
        "about_bot",
    } <= ids


def test_acronyms_and_their_names_are_one_word():
    tokenise = knowledge("en").tokenise
    assert tokenise("what is PE?") == tokenise("what is prolonged exposure?")
    assert tokenise("TF-CBT") == tokenise("trauma-focused CBT")
    es = knowledge("es").tokenise
    assert es("¿qué es el TEPT?") == es("¿qué es el trastorno de estrés postraumático?")


def test_spanish_question_in_a_regional_locale_and_unknown_locale_falls_back():
    found = ask("¿qué es el EMDR?", "es-MX")
    assert found is not None and found.id == "emdr"
    found = ask("what is EMDR?", "pt-BR")
    assert found is not None and found.id == "emdr"


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en", "is there anything cheaper?", True),
        ("en", "what is PE", True),
        ("en", "How long does it take", True),
        ("en", "can I switch therapists", True),
        ("en", "tell me about EMDR", True),
        ("en", "yeah kind of", False),
        ("en", "I couldn't afford it anymore", False),
        ("en", "no", False),
        ("es", "¿qué es el EMDR", True),
        ("es", "cómo encuentro terapeuta", True),
        ("es", "puedo cambiar de psicóloga", True),
        ("es", "más o menos", False),
        ("es", "ya no podía pagarlo", False),
        # A way of asking without a question mark, after venting, anywhere in it; a hedge is no question.
        ("en", "someone mentioned DBT and I was wondering if that's for people like me", True),
        ("en", "I can barely talk about it, would it be weird to ask for EMDR", True),
        ("en", "not sure if it was the money", False),
        ("es", "me recomendaron la EMDR y me pregunto si me serviría", True),
        ("es", "no sé si fue la plata", False),
    ],
)
def test_looks_like_question(locale, text, expected):
    assert looks_like_question(text, locale) is expected


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "xx").mkdir(exist_ok=True)
    (tmp_path / "xx" / "knowledge.toml").write_text(body, encoding="utf-8")
    return tmp_path


def test_loader_refuses_a_long_answer(tmp_path):
    long = "word " * 130
    root = _write(tmp_path, f'[[entry]]\nid = "a"\nquestions = ["q?"]\nanswer = "{long}"\nsource = "s"\n')
    with pytest.raises(KnowledgeError):
        KnowledgeBase.load("xx", root)


def test_loader_refuses_a_missing_source(tmp_path):
    root = _write(tmp_path, '[[entry]]\nid = "a"\nquestions = ["q?"]\nanswer = "An answer."\n')
    with pytest.raises(KnowledgeError):
        KnowledgeBase.load("xx", root)


def test_loader_refuses_duplicate_ids(tmp_path):
    entry = '[[entry]]\nid = "a"\nquestions = ["q?"]\nanswer = "An answer."\nsource = "s"\n'
    root = _write(tmp_path, entry + entry)
    with pytest.raises(KnowledgeError):
        KnowledgeBase.load("xx", root)


def test_loader_refuses_malformed_ages(tmp_path):
    entry = '[[entry]]\nid = "a"\nquestions = ["q?"]\nanswer = "An answer."\nsource = "s"\n'
    root = _write(tmp_path, 'ages = { words = "years old", child = "kid" }\n' + entry)
    with pytest.raises(KnowledgeError):
        KnowledgeBase.load("xx", root)


def test_a_closing_filler_is_no_acronym_and_physical_trauma_care_is_elsewhere():
    es = knowledge("es").tokenise
    assert "pe" not in es("¿cómo encuentro un psicólogo que sepa de trauma? todos atienden de todo, pe.")
    assert "pe" in es("¿cómo elijo entre CPT, PE y EMDR?")
    assert "trauma" not in es("tiene un traumatismo en la cadera")
    assert ask("¿qué cuidados necesita un traumatismo de cadera en casa?", "es") is None
    assert ask("how many years does it take to train as a trauma surgeon", "en") is None
    assert ask("do grounding mats help you sleep", "en") is None
    found = ask("my GP mentioned sertraline for PTSD, what is it?", "en")
    assert found is not None and found.id == "medication"
    found = ask("¿la sertralina sirve para el estrés postraumático?", "es")
    assert found is not None and found.id == "medication"


def test_venting_around_a_question():
    # Venting that shares a word with a topic is not that topic: a breakup is no money, going back to study is
    # not going back to therapy, forgetting is no request to forget, a waiting room is no waiting list.
    assert ask("my girlfriend broke up with me last night and I feel like an idiot", "en") is None
    assert ask("quiero volver a estudiar en la universidad el año que viene, será tarde", "es") is None
    en, es = knowledge("en").tokenise, knowledge("es").tokenise
    assert "student" not in en("thinking of going back to college")
    assert "forget" not in en("my dad keeps forgetting things")
    assert "waiting" not in en("sitting in a waiting room")
    assert "confidencial" not in es("la consulta privada me sale carísima")
    # The question inside the feeling: a former therapist is backstory, what a method involves is the method.
    found = ask("my old therapist mentioned EMDR and I nodded along, never understood what it involves", "en")
    assert found is not None and found.id == "emdr"
    found = ask("I feel like the only one who stopped showing up to therapy", "en")
    assert found is not None and found.id == "dropout_common"
    found = ask("soy estudiante y quiero saber si en la facultad hay psicólogos gratis", "es")
    assert found is not None and found.id == "student_services"


def test_words_that_sit_next_to_other_topics_go_where_they_mean():
    # What a therapist will ask me is the first session; what I should ask one is choosing.
    found = ask("¿qué me van a preguntar cuando vaya al psicólogo?", "es")
    assert found is not None and found.id == "first_session"
    found = ask("qué preguntas le hago a un terapeuta antes de empezar", "es")
    assert found is not None and found.id == "questions_to_ask"
    # Something kept for years is unsaid, not the bot's storage; how much someone studied is training.
    found = ask("tengo algo guardado y no sé cómo decírselo a la psicóloga", "es")
    assert found is not None and found.id == "raise_unnamed"
    found = ask("¿cuánto estudia un psicólogo?", "es")
    assert found is not None and found.id == "therapist_types"
    # Stuck points are CPT's; being stuck in traffic, a work contract or a weekday is not therapy.
    found = ask("what are stuck thoughts", "en")
    assert found is not None and found.id == "cpt"
    assert ask("me quedé atascado en el tráfico", "es") is None
    assert ask("can my employer change my work contract without notice", "en") is None
    assert "jueves" not in knowledge("es").tokenise("mi primera cita es el jueves")
