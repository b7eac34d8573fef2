"""Writes of the appointments app: keyword-only `<entity>_<action>` functions, each atomic,
each writing its outbox events in the same transaction."""
