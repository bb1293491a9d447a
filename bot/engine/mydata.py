"""The /mydata export: every stored row about a person, as versioned JSON.

The file's layout is documented by a JSON Schema shipped next to the store (`bot/store/mydata.schema.json`).
`rows` holds every row of every personal table exactly as stored; the other sections read the same data
in plain terms (the person, their nudges and check-in, each nudge slot, the update ids kept to
spot a redelivery).
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain import UserData
from bot.engine import safety_plan as sp
from bot.engine.say import Say
from bot.nudges.zone_names import zone_label
from bot.safety import CrisisResources
from bot.store.records import UPDATE_ID_RETENTION

SCHEMA = "keepgoing.mydata/2"
FILENAME = "keepgoing-my-data.json"
TEMPLATE = "mydata"

Rows = Mapping[str, Sequence[Mapping[str, Any]]]


def schema_document() -> dict[str, Any]:
    """The JSON Schema that documents the export (shipped in the package)."""
    text = (importlib.resources.files("bot.store") / "mydata.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def summary(data: UserData, retention_days: int, resources: CrisisResources) -> list[Say]:
    """/mydata's replies before the file is attached (`with_export`): what is stored, in plain terms,
    and the safety plan in a message of its own (it can be long)."""
    person = data.person
    says = [
        Say(
            TEMPLATE,
            values={
                "person": person,
                "answers": dict(person.flow.answers) if person else {},
                "ending": person.flow.ending if person else None,
                "schedule": data.schedule,
                "retention_days": retention_days,
                "safety_plan": person.safety_plan if person else None,
                "check_in": sp.check_in_values(data.followup, person.locale if person else None),
            },
        )
    ]
    if person is not None and person.safety_plan is not None:
        says.append(Say("safety_plan/in_mydata", values=sp.plan_values(person, resources)))
    return says


def with_export(says: list[Say], data: UserData, rows: Rows, now: datetime) -> list[Say]:
    """The replies with the /mydata file built from `rows` (and counts the summary template shows)."""
    export = export_json(data, rows, now)
    extra = {
        "nudges_logged": len(rows.get("nudge_log", ())),
        "update_ids": len(rows.get("processed_updates", ())),
        "update_id_hours": int(UPDATE_ID_RETENTION.total_seconds() // 3600),
        "zone_name": zone_label(data.schedule.timezone, data.person.locale if data.person else None)
        if data.schedule
        else "",
    }
    return [
        replace(say, values={**say.values, **extra}, attachment=(FILENAME, export))
        if say.template == TEMPLATE
        else say
        for say in says
    ]


def export_json(data: UserData, rows: Rows, now: datetime) -> bytes:
    """Everything stored about a person, as JSON (the /mydata file, schema `keepgoing.mydata/2`)."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "exported_at": _iso(now),
        "person": _person(data),
        "nudges": _nudges(data),
        "check_in": _check_in(data),
        "nudge_log": [
            {
                "kind": row["target_kind"],
                "slot_at": row["slot_at"],
                "outcome": row["outcome"],
                "message": row["template"],
                "recorded_at": row["recorded_at"],
            }
            for row in rows.get("nudge_log", ())
        ],
        "update_ids": [
            {"update_key": row["update_key"], "handled_at": row["handled_at"]}
            for row in rows.get("processed_updates", ())
        ],
        "update_id_retention_hours": int(UPDATE_ID_RETENTION.total_seconds() // 3600),
        "rows": {table: [dict(row) for row in found] for table, found in rows.items()},
    }
    return json.dumps(out, indent=2, ensure_ascii=False, default=str).encode()


def _person(data: UserData) -> dict[str, Any] | None:
    p = data.person
    if p is None:
        return None
    return {
        "platform": p.key.platform,
        "user_id": p.key.user_id,
        "chat_id": p.chat_id,
        "locale": p.locale,
        "country": p.country,
        "under_18": p.youth,
        "consented_at": _iso(p.consented_at),
        "plan_made_at": _iso(p.plan_at),
        "note": p.note,
        "created_at": _iso(p.created_at),
        "last_seen_at": _iso(p.last_seen_at),
        "conversation": p.flow.to_json(),
        "safety_plan": p.safety_plan.to_json() if p.safety_plan else None,
    }


def _nudges(data: UserData) -> dict[str, Any] | None:
    s = data.schedule
    if s is None:
        return None
    return {
        "rhythm": s.rhythm.value,
        "local_time": s.local_time,
        "timezone": s.timezone,
        "quiet_hours": f"{s.quiet_start}-{s.quiet_end}",
        "next_due_at": _iso(s.next_due_at),
        "paused_until": _iso(s.paused_until),
        "sent_count": s.sent_count,
        "unanswered": s.unanswered,
        "milestone": s.milestone,
        "recent_messages": list(s.recent_templates),
    }


def _check_in(data: UserData) -> dict[str, Any] | None:
    f = data.followup
    if f is None:
        return None
    return {
        "due_at": _iso(f.next_due_at),
        "local_time": f.local_time,
        "timezone": f.timezone,
        "sent": f.next_due_at is None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
