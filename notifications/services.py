"""Writes of the notifications app: keyword-only `<entity>_<action>` functions, each atomic,
each writing its outbox events in the same transaction."""
