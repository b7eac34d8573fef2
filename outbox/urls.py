"""REST routes of the event backbone, mounted under /api/."""

from django.urls import path

from outbox import apis

urlpatterns = [
    path("events/publish", apis.EventPublishApi.as_view(), name="events-publish"),
    path("events/publish-batch", apis.EventPublishBatchApi.as_view(), name="events-publish-batch"),
    path("events/asyncapi.json", apis.AsyncApiDocumentApi.as_view(), name="events-asyncapi"),
    path("events/<uuid:event_id>", apis.EventDetailApi.as_view(), name="events-detail"),
]
