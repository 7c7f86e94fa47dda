"""Authentication events (every sign-in, failure, lockout, sign-out, token issued or revoked) and the sessions a user
holds, so that their number can be limited."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuthEvent(models.Model):
    class Kind(models.TextChoices):
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOCKED_OUT = "locked_out", "Locked out after failed sign-ins"
        LOGOUT = "logout", "Signed out"
        SESSION_EXPIRED = "session_expired", "Session ended (idle or too long)"
        SESSION_EVICTED = "session_evicted", "Session ended (too many at once)"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        UNLOCKED = "unlocked", "Unlocked by an administrator"
        MFA_ENROLLED = "mfa_enrolled", "Second factor enrolled"
        MFA_FAILED = "mfa_failed", "Second-factor code refused"
        MFA_BACKUP_USED = "mfa_backup_used", "Backup code used"
        MFA_RESET = "mfa_reset", "Second factor reset by an administrator"
        TOKEN_ISSUED = "token_issued", "API token issued"
        TOKEN_REVOKED = "token_revoked", "API token revoked"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150, blank=True, help_text="as typed, for failures of unknown accounts")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"]), models.Index(fields=["kind", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username} at {self.at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """The sessions a user signed in with, oldest first: beyond SESSION_LIMIT_PER_USER the oldest are ended."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "created_at", "id"]
        indexes = [models.Index(fields=["user", "created_at"])]
