"""The project's one error shape: {"error": {"code": ..., "message": ..., "fields": {...}}}.

DRF exceptions are translated by `api_exception_handler`; Django's own 400/403/404/500 pages
answer JSON under /api/ (and for clients that ask for JSON) through the handlers in urls.py.
"""

import logging
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class ApiError(exceptions.APIException):
    """An error a view answers with its own status, code, message and fields (a 409 for a
    conflict with the resource's state, a 403 for a business refusal)."""

    def __init__(
        self, *, status_code: int, code: str, message: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.fields = fields or {}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, reshaped; anything it does not know is logged and answers a JSON 500."""
    # DRF answers Django's Http404 and PermissionDenied too; reshape them like its own. A
    # model's or service's ValidationError is the caller's bad input: a 400, never a 500.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        detail = serializers.as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail["non_field_errors"] = detail.pop(NON_FIELD_ERRORS)
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = ApiError(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="request_too_large",
            message="The request body is too large.",
        )
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request is malformed.")
    response = exception_handler(exc, context)
    if response is None:
        logger.error("Unhandled API error", exc_info=exc)
        body = error_body("server_error", "Internal server error.")
        return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, ApiError):
        response.data = error_body(exc.code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields, message = _validation_fields(exc.detail)
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(str(code), _first_message(exc.detail))
    return response


def _validation_fields(detail: Any) -> tuple[dict[str, Any], str]:
    if isinstance(detail, dict):
        fields = dict(detail)
        general = fields.pop("non_field_errors", None)
        message = _first_message(general) if general else "Invalid input."
        return fields, message
    return {}, _first_message(detail)


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_message(next(iter(detail.values())))
    return str(detail)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Catch-all under /api/: JSON even with DEBUG on (Django's debug 404 page is HTML)."""
    body = error_body("not_found", f"No endpoint at {request.path}.")
    return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        body = error_body("bad_request", "The request could not be understood.")
        return JsonResponse(body, status=status.HTTP_400_BAD_REQUEST)
    return bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        body = error_body("permission_denied", "You do not have permission to do this.")
        return JsonResponse(body, status=status.HTTP_403_FORBIDDEN)
    return permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        body = error_body("not_found", f"No endpoint at {request.path}.")
        return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        body = error_body("server_error", "Internal server error.")
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _wants_json(request):
        body = error_body("csrf_failed", f"CSRF check failed: {reason}")
        return JsonResponse(body, status=status.HTTP_403_FORBIDDEN)
    from django.views.csrf import csrf_failure as django_csrf_failure  # noqa: PLC0415

    return django_csrf_failure(request, reason)


# OpenAPI: the error shape, for `@extend_schema(responses={..., **ERROR_RESPONSES})`.
_ERROR_SCHEMA = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(),
            },
        )
    },
)
ERROR_RESPONSES = {
    400: OpenApiResponse(_ERROR_SCHEMA, "Invalid input (code `invalid`, `parse_error`)"),
    401: OpenApiResponse(_ERROR_SCHEMA, "Not authenticated"),
    403: OpenApiResponse(_ERROR_SCHEMA, "Not allowed"),
    404: OpenApiResponse(_ERROR_SCHEMA, "Not found"),
    409: OpenApiResponse(_ERROR_SCHEMA, "Conflicts with the resource's state"),
    415: OpenApiResponse(_ERROR_SCHEMA, "Unsupported media type (send application/json)"),
}
