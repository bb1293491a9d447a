"""Names vulture (the dead-code pass) cannot see used: framework callbacks and library switches.

Run: `vulture bot tests benchmarks vulture_whitelist.py --min-confidence 60` (tests and benchmarks are
read so that what only they use does not count as dead; the report names only what is in bot/).
Add a line here only for a false positive, with where it lives and who calls it. Vulture only reads this
file (nothing imports or runs it), so `_` needs no definition.
"""
# ruff: noqa

# discord.py: set to silence its voice warnings (bot/adapters/discord/adapter.py)
_.warn_nacl
_.warn_dave
# discord.py calls these: DynamicItem.from_custom_id, Client.setup_hook / on_message, and the
# slash-command and tree-error callbacks registered by decorator (bot/adapters/discord/client.py)
_.from_custom_id
_.setup_hook
_.on_message
_.encourage
_.on_error
# python-telegram-bot's BaseUpdateProcessor calls it (bot/adapters/telegram/ordering.py)
_.do_process_update
# the __aexit__ signature's traceback argument (bot/store/sqlite_thread.py)
_.tb
# sqlite3 reads the connection's row_factory (bot/store/sqlite_thread.py)
_.row_factory
# fields of the nudge summary's values, read by messages/*/nudges/summary.j2 (bot/engine/nudging.py)
_.next_weekday
_.next_date
_.next_time
