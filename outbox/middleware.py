"""Request middleware: the correlation id and trace context of every event a request writes."""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from outbox.context import correlation_id_clean, event_context, traceparent_clean, tracestate_clean

CORRELATION_HEADER = "X-Correlation-ID"


class CorrelationIdMiddleware:
    """Reads `X-Correlation-ID` (or makes one), echoes it, and sets the event context."""

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]
    ) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self):
            return self._acall(request)
        with self._context(request) as context:
            response = self.get_response(request)
        response[CORRELATION_HEADER] = context.correlation_id
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        with self._context(request) as context:
            response = await self.get_response(request)
        response[CORRELATION_HEADER] = context.correlation_id
        return response

    @staticmethod
    def _context(request: HttpRequest):  # noqa: ANN205 - a context manager
        headers = request.headers
        return event_context(
            correlation_id=correlation_id_clean(headers.get(CORRELATION_HEADER)),
            traceparent=traceparent_clean(headers.get("traceparent")),
            tracestate=tracestate_clean(headers.get("tracestate")),
            request=request,
            causation_id=None,
            user_id=None,
        )
