"""Password rules beyond Django's (NIST SP 800-63B: refuse what is easy to guess; length over composition)."""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError


class NotRepetitiveValidator:
    """One repeated character or a simple run (`aaaaaaaaaaaa`, `123456789012`)."""

    def validate(self, password: str, user=None) -> None:
        distinct = len(set(password.lower()))
        if password and distinct <= max(3, len(password) // 6):
            raise ValidationError("This password repeats too few characters. Use a phrase of several words instead.",
                                  code="password_repetitive")

    def get_help_text(self) -> str:
        return "Your password cannot be a few characters repeated."


class NotGuessableValidator:
    """A common password with digits or symbols around it (`Password2026`), or the username dressed up
    (`olivia-olivia`): the first things a guesser tries."""

    _common = None

    def validate(self, password: str, user=None) -> None:
        if NotGuessableValidator._common is None:
            NotGuessableValidator._common = CommonPasswordValidator().passwords
        core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", password.lower())
        if core and core in NotGuessableValidator._common:
            raise ValidationError("This password is a common password with a few characters added. Use a phrase of several "
                                  "words instead.", code="password_common_variant")
        username = (getattr(user, "username", "") or "").lower()
        if username and len(re.sub(r"[\W\d_]+", "", password.lower().replace(username, ""))) < 4:
            raise ValidationError("This password is mostly your username. Use a phrase of several words instead.",
                                  code="password_username")

    def get_help_text(self) -> str:
        return "Your password cannot be a common password or your username with a few characters added."
