-- People: one row per person per platform. Reflection answers are choices inside `flow` (JSON).
CREATE TABLE people (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    country TEXT,
    youth INTEGER NOT NULL DEFAULT 0,
    consented_at TEXT,
    plan_at TEXT,
    note TEXT,
    flow TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX people_last_seen ON people (last_seen_at);

-- Platform deliveries already handled, so a redelivered update changes nothing.
CREATE TABLE processed_updates (
    platform TEXT NOT NULL,
    update_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (platform, update_key)
);
CREATE INDEX processed_updates_user ON processed_updates (platform, user_id);
CREATE INDEX processed_updates_age ON processed_updates (handled_at);

-- Nudge schedules: a person's encouragement or a community channel's weekly post.
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    rhythm TEXT NOT NULL,
    local_time TEXT NOT NULL,
    timezone TEXT NOT NULL,
    quiet_start TEXT NOT NULL,
    quiet_end TEXT NOT NULL,
    locale TEXT NOT NULL,
    next_due_at TEXT,
    paused_until TEXT,
    unanswered INTEGER NOT NULL DEFAULT 0,
    sent_count INTEGER NOT NULL DEFAULT 0,
    recent_templates TEXT NOT NULL DEFAULT '[]',
    milestone TEXT,
    created_at TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    UNIQUE (platform, target_kind, target_id)
);
CREATE INDEX schedules_due ON schedules (next_due_at) WHERE next_due_at IS NOT NULL;

-- What each nudge slot became: sent, unreachable, skipped. One row per slot, so a slot is sent once.
CREATE TABLE nudge_log (
    schedule_id INTEGER NOT NULL,
    platform TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    slot_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    template TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (schedule_id, slot_at)
);
CREATE INDEX nudge_log_target ON nudge_log (platform, target_kind, target_id);
