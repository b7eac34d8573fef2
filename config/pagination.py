"""Page-number pagination of every list endpoint: `page`, and `page_size` up to 100."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


def page_response(
    request: Request, view: APIView, queryset: QuerySet[Any], serializer_class: type[Serializer]
) -> Response:
    """One page of `queryset`, serialized, with `count`, `next` and `previous`."""
    paginator = PagePagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
