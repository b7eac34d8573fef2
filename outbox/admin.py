"""Admin of the event backbone: the outbox (with parked rows to re-send), what was sent, and
the dead letters consumer groups gave up on (to replay, resolve or discard)."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from outbox.dead_letters import (
    DeadLetterNotPending,
    DeadLetterReplayError,
    dead_letter_discard,
    dead_letter_replay,
    dead_letter_resolve,
)
from outbox.models import DeadLetter, OutboxEvent, PublishedEvent
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


class DeadLetterDiscardForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Why these events will never be applied; kept on each dead letter.",
    )


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """The review desk: read what a group gave up on, then replay, resolve or discard it.
    Nothing is editable; acting needs the change permission of dead letters."""

    list_display = (
        "id",
        "group",
        "event_type",
        "status",
        "error_class",
        "attempts",
        "location",
        "created_at",
    )
    list_filter = ("group", "event_type", "status", "created_at")
    search_fields = ("=event_id", "=aggregate_id")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ["replay", "resolve", "discard"]
    readonly_fields = [field.name for field in DeadLetter._meta.fields] + [
        "location",
        "decision",
        "error",
        "stack_trace",
        "envelope",
        "headers_shown",
        "replay_error",
    ]
    fieldsets = [
        (None, {"fields": ("group", "status", "event_type", "event_id", "aggregate_id", "key")}),
        (
            "Record",
            {
                "fields": (
                    "location",
                    "attempts",
                    "first_attempt_at",
                    "last_attempt_at",
                    "created_at",
                    "envelope",
                    "headers_shown",
                )
            },
        ),
        ("Error", {"fields": ("error", "stack_trace")}),
        (
            "Review",
            {
                "fields": (
                    "decision",
                    "replayed_at",
                    "replayed_by",
                    "replay_error",
                    "discarded_at",
                    "discarded_by",
                    "discard_reason",
                    "resolved_at",
                    "resolved_by",
                )
            },
        ),
    ]

    @admin.display(description="topic/partition/offset")
    def location(self, dead_letter: DeadLetter) -> str:
        return f"{dead_letter.topic}/{dead_letter.partition}/{dead_letter.offset}"

    @admin.display(description="decision")
    def decision(self, dead_letter: DeadLetter) -> str:
        if dead_letter.status == DeadLetter.Status.REPLAYED:
            who, when = dead_letter.replayed_by, dead_letter.replayed_at
        elif dead_letter.status == DeadLetter.Status.DISCARDED:
            who, when = dead_letter.discarded_by, dead_letter.discarded_at
        elif dead_letter.status == DeadLetter.Status.RESOLVED:
            who, when = dead_letter.resolved_by, dead_letter.resolved_at
        else:
            return "Awaiting review"
        at = formats.localize(timezone.localtime(when)) if when else "?"
        return f"{dead_letter.get_status_display()} by {who or '?'} on {at}"

    @admin.display(description="envelope")
    def envelope(self, dead_letter: DeadLetter) -> str:
        value = bytes(dead_letter.value)
        try:
            pretty = json.dumps(json.loads(value), indent=2, ensure_ascii=False)
        except ValueError:  # not UTF-8 or not JSON: why it was dead-lettered, show it as is
            raw = value.decode(errors="replace")
            return format_html("<p>Not JSON; the raw value:</p><pre>{}</pre>", raw)
        return format_html("<pre>{}</pre>", pretty)

    @admin.display(description="headers")
    def headers_shown(self, dead_letter: DeadLetter) -> str:
        if not dead_letter.headers:
            return "-"
        items = format_html_join(
            "", "<li><code>{}</code>: {}</li>", (tuple(pair) for pair in dead_letter.headers)
        )
        return format_html("<ul>{}</ul>", items)

    @admin.display(description="error")
    def error(self, dead_letter: DeadLetter) -> str:
        return format_html("<pre>{}: {}</pre>", dead_letter.error_class, dead_letter.error_message)

    @admin.display(description="traceback")
    def stack_trace(self, dead_letter: DeadLetter) -> str:
        return format_html("<pre>{}</pre>", dead_letter.traceback) if dead_letter.traceback else "-"

    @admin.display(description="last replay error")
    def replay_error(self, dead_letter: DeadLetter) -> str:
        if not dead_letter.last_replay_error:
            return "-"
        return format_html("<pre>{}</pre>", dead_letter.last_replay_error)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        # The form stays read-only for everyone; the model's change permission allows acting.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Replay to its group", permissions=["review"])
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        by = request.user.get_username()
        for dead_letter in queryset.order_by("id"):
            try:
                applied = dead_letter_replay(dead_letter=dead_letter, by=by)
            except DeadLetterReplayError as exc:
                self.message_user(
                    request, f"Dead letter {dead_letter.pk} not replayed: {exc}", messages.ERROR
                )
                continue
            if applied:
                text = f"Dead letter {dead_letter.pk} replayed to {dead_letter.group}."
            else:
                text = (
                    f"Dead letter {dead_letter.pk}: {dead_letter.group} had already applied "
                    "this event; marked replayed."
                )
            self.log_change(request, dead_letter, "Replayed" if applied else "Replayed (duplicate)")
            self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="Mark resolved", permissions=["review"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        by = request.user.get_username()
        resolved = 0
        for dead_letter in queryset.order_by("id"):
            try:
                dead_letter_resolve(dead_letter=dead_letter, by=by)
            except DeadLetterNotPending as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            self.log_change(request, dead_letter, "Marked resolved")
            resolved += 1
        self.message_user(
            request, f"{resolved or 'No'} dead letter(s) marked resolved.", messages.SUCCESS
        )

    @admin.action(description="Discard (asks for a reason)", permissions=["review"])
    def discard(
        self, request: HttpRequest, queryset: QuerySet[DeadLetter]
    ) -> TemplateResponse | None:
        form = DeadLetterDiscardForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            by = request.user.get_username()
            discarded = 0
            for dead_letter in queryset.order_by("id"):
                try:
                    dead_letter_discard(
                        dead_letter=dead_letter, by=by, reason=form.cleaned_data["reason"]
                    )
                except DeadLetterNotPending as exc:
                    self.message_user(request, str(exc), messages.WARNING)
                    continue
                self.log_change(request, dead_letter, f"Discarded: {dead_letter.discard_reason}")
                discarded += 1
            self.message_user(
                request, f"{discarded or 'No'} dead letter(s) discarded.", messages.SUCCESS
            )
            return None  # back to the change list
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "Discard dead letters",
            "opts": self.opts,
            "form": form,
            "dead_letters": queryset.order_by("id"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/outbox/deadletter/discard.html", context)
