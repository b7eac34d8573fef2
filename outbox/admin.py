"""Admin of the event backbone: the outbox (with parked rows to re-send) and what was sent."""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from outbox.models import OutboxEvent, PublishedEvent
from outbox.services import outbox_event_resend


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "event_type", "status", "key", "attempts", "created_at", "last_error")
    list_filter = ("status", "event_type", "topic")
    search_fields = ("=event_id", "=aggregate_id", "=key", "=correlation_id")
    ordering = ("-id",)
    actions = ["resend"]
    exclude = ("value",)
    readonly_fields = [
        field.name for field in OutboxEvent._meta.fields if field.name != "value"
    ] + ["envelope"]

    @admin.display(description="envelope")
    def envelope(self, event: OutboxEvent) -> str:
        pretty = json.dumps(json.loads(bytes(event.value)), indent=2, ensure_ascii=False)
        return format_html("<pre>{}</pre>", pretty)

    @admin.action(description="Re-send the selected parked events")
    def resend(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        parked = queryset.filter(status=OutboxEvent.Status.PARKED)
        for event in parked:
            outbox_event_resend(event=event)
        self.message_user(
            request,
            f"{parked.count() or 'No'} parked event(s) given back to the relay.",
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PublishedEvent)
class PublishedEventAdmin(admin.ModelAdmin):
    list_display = (
        "event_id",
        "event_type",
        "topic",
        "kafka_partition",
        "kafka_offset",
        "published_at",
    )
    list_filter = ("event_type", "topic")
    search_fields = ("=event_id", "=key")
    date_hierarchy = "published_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
