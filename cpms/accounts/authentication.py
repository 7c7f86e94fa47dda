"""API authentication: a browser session counts only once its second factor is verified; a token expires
API_TOKEN_TTL_HOURS after it was issued (issuing one replaces the last; signing out revokes it)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication


class VerifiedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        from .mfa import trusted_by_proxy

        user = result[0]
        if not (getattr(user, "is_verified", lambda: False)() or trusted_by_proxy(request._request)):
            return None  # password only: not signed in as far as the API is concerned
        return result


class ExpiringTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(hours=settings.API_TOKEN_TTL_HOURS):
            raise exceptions.AuthenticationFailed("This token has expired. Obtain a new one (POST /api/v1/auth/token/).")
        return user, token
