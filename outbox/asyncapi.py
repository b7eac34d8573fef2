"""An AsyncAPI 3 document generated from the catalog, so the published contract cannot drift."""

from typing import Any

from django.conf import settings

from outbox.catalog import PRIORITIES, EventType, event_types
from outbox.topics import declared_topics

HEADERS_SCHEMA = {
    "type": "object",
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid"},
        "ce_type": {"type": "string"},
        "ce_source": {"type": "string"},
        "ce_time": {"type": "string", "format": "date-time"},
        "content-type": {"type": "string", "const": "application/json"},
        "correlation_id": {"type": "string"},
        "traceparent": {
            "type": "string",
            "description": "W3C trace context, when the writer had one",
        },
        "tracestate": {"type": "string"},
    },
    "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type"],
}


def envelope_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of the Kafka record value: the envelope around this type's data."""
    return {
        "type": "object",
        "properties": {
            "event_id": {"type": "string", "format": "uuid"},
            "event_type": {"type": "string", "const": event_type.name},
            "version": {"type": "integer", "const": event_type.version},
            "timestamp": {"type": "string", "format": "date-time"},
            "source": {"type": "string", "const": event_type.source},
            "aggregate_type": {"type": "string", "const": event_type.aggregate_type},
            "aggregate_id": {"type": "string"},
            "correlation_id": {"type": "string"},
            "causation_id": {"type": ["string", "null"], "format": "uuid"},
            "user_id": {"type": ["string", "null"]},
            "priority": {"type": "string", "enum": list(PRIORITIES)},
            "data": event_type.schema,
        },
        "required": [
            "event_id", "event_type", "version", "timestamp", "source", "aggregate_type",
            "aggregate_id", "correlation_id", "causation_id", "user_id", "priority", "data",
        ],
    }  # fmt: skip


def message_id(event_type: EventType) -> str:
    return f"{event_type.name}.v{event_type.version}"


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in declared_topics():
        channels[topic.name] = {
            "address": topic.name,
            "title": f"{topic.app} {topic.aggregate}",
            "description": f"Every event of one {topic.aggregate}, keyed by its id.",
            "messages": {},
            "bindings": {
                "kafka": {
                    "partitions": topic.partitions,
                    "replicas": settings.KAFKA_REPLICATION_FACTOR,
                    "topicConfiguration": {
                        "retention.ms": int(topic.config["retention.ms"]),
                        "cleanup.policy": [topic.cleanup_policy],
                    },
                    "bindingVersion": "0.5.0",
                }
            },
        }
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event_type in event_types():
        mid = message_id(event_type)
        key_description = (
            f"data.{event_type.key_field}" if event_type.key_field else "chosen by the publisher"
        )
        messages[mid] = {
            "name": event_type.name,
            "title": f"{event_type.name} v{event_type.version}",
            "summary": event_type.description,
            "contentType": "application/json",
            "headers": HEADERS_SCHEMA,
            "payload": envelope_schema(event_type),
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"partition key: {key_description}"},
                    "bindingVersion": "0.5.0",
                }
            },
        }
        channel = channels[event_type.topic.name]
        channel["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
        operations[f"publish.{mid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{event_type.topic.name}"},
            "summary": f"{event_type.source} publishes {event_type.name}",
            "messages": [{"$ref": f"#/channels/{event_type.topic.name}/messages/{mid}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Event-driven platform events",
            "version": "1.0.0",
            "description": "Generated from the event catalog (each app's events.py).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": settings.KAFKA_BOOTSTRAP_SERVERS.split(",")[0],
                "protocol": "kafka",
                "description": f"Topics are prefixed with EVENTS_ENV ({settings.EVENTS_ENV}).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
