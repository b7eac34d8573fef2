"""Thin DRF views of the accounts app."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ERROR_RESPONSES


class TokenObtainApi(ObtainAuthToken):
    """`POST /api/auth/token` with username and password answers `{"token": ...}`."""

    @extend_schema_serializer(component_name="AuthToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        summary="Obtain an API token",
        request=ObtainAuthToken.serializer_class,
        responses={200: OutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().post(request, *args, **kwargs)


class MeApi(APIView):
    """The authenticated user's own account."""

    @extend_schema_serializer(component_name="Me")
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        username = serializers.CharField()
        email = serializers.EmailField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        role = serializers.CharField()

    @extend_schema(summary="My account", responses={200: OutputSerializer, **ERROR_RESPONSES})
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)
