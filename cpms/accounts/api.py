from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken


class CredentialsSerializer(AuthTokenSerializer):
    """DRF's serializer, authenticating with Django's own request: django-axes marks that one when the account or
    address is locked (DRF's Request wrapper would hide the mark from axes' middleware)."""

    def validate(self, attrs):
        request = self.context["request"]
        user = authenticate(request=getattr(request, "_request", request), username=attrs.get("username"),
                            password=attrs.get("password"))
        if not user:
            raise serializers.ValidationError("Unable to sign in with those credentials.", code="authorization")
        attrs["user"] = user
        return attrs


@extend_schema(tags=["auth"], summary="Exchange a username and password for an API token")
class TokenView(ObtainAuthToken):
    serializer_class = CredentialsSerializer

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if getattr(request._request, "axes_locked_out", False):
            from .views import locked_out

            return locked_out(request._request)
        return response
