"""Event types of the accounts app and the topic they travel on."""

from outbox.topics import topic_declare

USER_TOPIC = topic_declare(app="accounts", aggregate="user")
