"""The API's front door: a token for a password, a second-factor code and the accepted system-use notification."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cpms.core import serializers as fields

from .models import AuthEvent
from .services import auth_event_record


class CredentialsSerializer(serializers.Serializer):
    username = fields.Text(max_length=150)
    password = fields.Text(max_length=4096, verbatim=True, style={"input_type": "password"})
    otp = fields.Text(max_length=8, help_text="The six digits of the authenticator app (or a backup code)")
    accept_system_use = fields.Boolean(
        help_text="true: you accept the U.S. Government system-use notification (GET /system-use/ shows it)")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_in_hours = serializers.FloatField()


@extend_schema(tags=["auth"], summary="Exchange a username, password and second-factor code for an API token",
               request=CredentialsSerializer,
               responses={200: TokenSerializer, 400: OpenApiResponse(description="Problem document: what to correct"),
                          429: OpenApiResponse(description="Problem document: locked after too many failures")})
class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "token"

    def post(self, request):
        from django.conf import settings
        from django_otp import match_token

        from .views import locked_out

        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["accept_system_use"]:
            raise serializers.ValidationError({"accept_system_use": ["Accept the system-use notification to use the API."]})
        django_request = request._request
        # django-axes marks Django's own request when the account or address is locked (DRF's wrapper would hide it).
        user = authenticate(request=django_request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return locked_out(django_request)
        if user is None:
            raise serializers.ValidationError({"password": ["Unable to sign in with that username and password."]})
        if match_token(user, data.validated_data["otp"].replace(" ", "")) is None:
            auth_event_record(AuthEvent.Kind.MFA_FAILED, request=django_request, user=user, detail="API token: code refused")
            raise serializers.ValidationError({"otp": ["That code is not right: enter the six digits your app shows now."]})
        with transaction.atomic():
            Token.objects.filter(user=user).delete()  # rotate: the last token stops working
            token = Token.objects.create(user=user)
            auth_event_record(AuthEvent.Kind.TOKEN_ISSUED, request=django_request, user=user)
        return Response({"token": token.key, "expires_in_hours": settings.API_TOKEN_TTL_HOURS}, status=status.HTTP_200_OK)
