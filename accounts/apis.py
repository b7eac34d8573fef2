"""Thin DRF views of the accounts app: validate input, call one service, serialize output."""

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsManager
from accounts.services import (
    token_revoke,
    user_delete,
    user_email_verify,
    user_register,
    user_role_change,
    user_update,
    user_verification_email_send,
)
from config.errors import ERROR_RESPONSES


@extend_schema_serializer(component_name="User")
class UserOutputSerializer(serializers.ModelSerializer):
    email_verified = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "phone", "role",
            "is_active", "email_verified", "email_verified_at", "created_at", "updated_at",
        ]  # fmt: skip

    def get_email_verified(self, user: User) -> bool:
        return user.email_verified_at is not None


class TokenObtainApi(ObtainAuthToken):
    """`POST /api/auth/token` with username and password answers `{"token": ...}`;
    `DELETE /api/auth/token` revokes the caller's token."""

    @extend_schema_serializer(component_name="AuthToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    def get_permissions(self) -> list:
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(
        summary="Obtain an API token",
        request=ObtainAuthToken.serializer_class,
        responses={200: OutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().post(request, *args, **kwargs)

    @extend_schema(summary="Revoke my API token", responses={204: None, **ERROR_RESPONSES})
    def delete(self, request: Request) -> Response:
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="Registration")
    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+$", max_length=150)
        password = serializers.CharField(max_length=128, write_only=True)
        email = serializers.EmailField(max_length=254)
        first_name = serializers.CharField(max_length=150, required=False, default="")
        last_name = serializers.CharField(max_length=150, required=False, default="")
        phone = serializers.RegexField(r"^\+?[0-9 ()-]{4,31}$", required=False, default="")

    @extend_schema(
        summary="Register as a customer (a verification link is mailed)",
        request=InputSerializer,
        responses={201: UserOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if User.objects.filter(username=serializer.validated_data["username"]).exists():
            raise ValidationError({"username": ["This username is taken."]})
        with transaction.atomic(durable=True):
            user = user_register(**serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    """The authenticated user's own account: read, update, delete."""

    @extend_schema_serializer(component_name="ProfileUpdate")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, required=False)
        first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        phone = serializers.RegexField(r"^\+?[0-9 ()-]{4,31}$", required=False, allow_blank=True)

    @extend_schema(summary="My account", responses={200: UserOutputSerializer, **ERROR_RESPONSES})
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)

    @extend_schema(
        summary="Update my profile (a new email must be verified again)",
        request=InputSerializer,
        responses={200: UserOutputSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            user = user_update(user=request.user, **serializer.validated_data)
        return Response(UserOutputSerializer(user).data)

    @extend_schema(
        summary="Delete my account (deactivated; order history is kept)",
        responses={204: None, **ERROR_RESPONSES},
    )
    def delete(self, request: Request) -> Response:
        with transaction.atomic(durable=True):
            user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerificationEmailApi(APIView):
    @extend_schema(
        summary="Send me a new verification link",
        request=None,
        responses={202: None, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        if request.user.email_verified_at is not None:
            raise ValidationError({"email": ["Already verified."]})
        user_verification_email_send(user=request.user)
        return Response(status=status.HTTP_202_ACCEPTED)


class EmailVerifyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Verify an email address with the mailed link",
        parameters=[OpenApiParameter("token", str, required=True)],
        responses={200: UserOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        if not token or len(token) > 500:
            raise ValidationError({"token": ["This link is not valid."]})
        with transaction.atomic(durable=True):
            user = user_email_verify(token=token)
        return Response(UserOutputSerializer(user).data)


class UserFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="username or email")

    class Meta:
        model = User
        fields = ["role", "is_active"]

    def filter_search(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(Q(username__icontains=value) | Q(email__icontains=value))


class UserListApi(ListAPIView):
    """Managers list users (paginated; filter by role, active, search)."""

    permission_classes = [IsManager]
    serializer_class = UserOutputSerializer
    filterset_class = UserFilter
    queryset = User.objects.order_by("username")

    @extend_schema(
        summary="List users (managers)",
        responses={200: UserOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class UserRoleApi(APIView):
    permission_classes = [IsManager]

    @extend_schema_serializer(component_name="RoleChange")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=User.Role.choices)

    @extend_schema(
        summary="Change a user's role (managers)",
        request=InputSerializer,
        responses={
            200: UserOutputSerializer,
            404: OpenApiResponse(description="No such user"),
            **ERROR_RESPONSES,
        },
    )
    def patch(self, request: Request, user_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = get_object_or_404(User, pk=user_id)
        with transaction.atomic(durable=True):
            user = user_role_change(user=user, role=serializer.validated_data["role"])
        return Response(UserOutputSerializer(user).data)
