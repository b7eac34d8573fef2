"""The Event Service HTTP API (seed 004): publish, publish a batch, ask where an event is.

For staff users and service accounts (users with the `outbox.publish_event` permission);
everyone else gets 403.
"""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ERROR_RESPONSES
from outbox.asyncapi import asyncapi_document
from outbox.catalog import PRIORITIES, UnknownEventType
from outbox.context import correlation_id_clean
from outbox.models import DeadLetter
from outbox.selectors import event_status_get
from outbox.services import EventInvalid, EventSpec, events_publish

MAX_BATCH = 500


class CanPublishEvents(BasePermission):
    message = "Only staff and service accounts may use the Event Service API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_staff or user.has_perm("outbox.publish_event"))
        )


class EventInputSerializer(serializers.Serializer):
    event_type = serializers.CharField(max_length=100)
    data = serializers.DictField()
    key = serializers.CharField(max_length=200, required=False)
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False)
    correlation_id = serializers.CharField(max_length=128, required=False)

    def validate_correlation_id(self, value: str) -> str:
        if correlation_id_clean(value) != value:
            raise serializers.ValidationError("Letters, digits and . _ : - only.")
        return value


def _specs_publish(items: list[dict[str, Any]], many: bool) -> list[str]:
    specs = [EventSpec(**item) for item in items]
    try:
        with transaction.atomic(durable=True):
            rows = events_publish(specs)
    except UnknownEventType as exc:
        _raise_invalid({"event_type": [str(exc)]}, exc.index, many)
    except EventInvalid as exc:
        _raise_invalid(exc.fields, exc.index, many)
    return [str(row.event_id) for row in rows]


def _raise_invalid(fields: dict[str, Any], index: int | None, many: bool) -> None:
    if many:
        raise ValidationError({"events": {str(index): fields}})
    raise ValidationError(fields)


class EventPublishApi(APIView):
    permission_classes = [CanPublishEvents]

    @extend_schema(
        summary="Publish an event",
        request=EventInputSerializer,
        responses={
            201: inline_serializer(
                "EventPublished",
                {"event_id": serializers.UUIDField(), "status": serializers.CharField()},
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = EventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        (event_id,) = _specs_publish([serializer.validated_data], many=False)
        return Response({"event_id": event_id, "status": "pending"}, status.HTTP_201_CREATED)


class EventPublishBatchApi(APIView):
    permission_classes = [CanPublishEvents]

    @extend_schema_serializer(component_name="EventBatch")
    class InputSerializer(serializers.Serializer):
        events = EventInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH)

    @extend_schema(
        summary=f"Publish up to {MAX_BATCH} events, all or none",
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "EventsPublished",
                {"event_ids": serializers.ListField(child=serializers.UUIDField())},
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event_ids = _specs_publish(serializer.validated_data["events"], many=True)
        return Response({"event_ids": event_ids}, status.HTTP_201_CREATED)


class EventDetailApi(APIView):
    permission_classes = [CanPublishEvents]

    @extend_schema_serializer(component_name="EventStatus")
    class OutputSerializer(serializers.Serializer):
        class EventConsumerStatusSerializer(serializers.Serializer):
            group = serializers.CharField()
            status = serializers.ChoiceField(
                choices=["processed", "dead_lettered", "retrying", "pending"]
            )
            processed_at = serializers.DateTimeField(allow_null=True)
            attempts = serializers.IntegerField(allow_null=True)
            last_error = serializers.CharField(allow_null=True, allow_blank=True)
            dead_letter_id = serializers.IntegerField(allow_null=True)
            dead_letter_status = serializers.ChoiceField(
                choices=DeadLetter.Status.choices, allow_null=True
            )

        event_id = serializers.UUIDField()
        event_type = serializers.CharField()
        status = serializers.ChoiceField(choices=["pending", "parked", "published"])
        topic = serializers.CharField()
        key = serializers.CharField()
        partition = serializers.IntegerField(allow_null=True)
        offset = serializers.IntegerField(allow_null=True)
        created_at = serializers.DateTimeField()
        published_at = serializers.DateTimeField(allow_null=True)
        attempts = serializers.IntegerField()
        last_error = serializers.CharField(allow_blank=True)
        consumers = EventConsumerStatusSerializer(many=True)

    @extend_schema(
        summary="Where an event is: pending, parked, or published (topic, partition, offset)",
        responses={
            200: OutputSerializer,
            404: OpenApiResponse(description="Unknown, or published before the retention window"),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request: Request, event_id: str) -> Response:
        found = event_status_get(event_id=event_id)
        if found is None:
            raise NotFound(f"No event {event_id} (or it left the retention window).")
        return Response(self.OutputSerializer(found).data)


class AsyncApiDocumentApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(summary="The event catalog as an AsyncAPI 3 document", responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(asyncapi_document())
