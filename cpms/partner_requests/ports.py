"""What the partner-request workflow needs from the case desk (ICTS), which registers itself when it starts.

The CPMS apps never import icts (import-linter, pyproject.toml): a request that may be shared is handed to whatever
registered here. icts.apps registers `icts.services` and `icts.permissions`; `manage.py check` reports a missing one
(partner_requests.E001) at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class CaseDesk:
    open_case: Callable  # (*, partner_request) -> case: a request that may be shared becomes a case
    resume_after_referral: Callable  # (*, actor, partner_request): a stopped transmission is cleared
    close_withheld: Callable  # (*, actor, partner_request, reason): a stopped transmission is withheld
    request_ids_visible_to: Callable  # (user) -> queryset of partner_request ids the user reaches through cases


_desk: CaseDesk | None = None


def register_case_desk(desk: CaseDesk) -> None:
    global _desk
    _desk = desk


def case_desk() -> CaseDesk:
    if _desk is None:
        raise ImproperlyConfigured("No case desk is registered for partner requests (icts must be in INSTALLED_APPS).")
    return _desk


@checks.register()
def check_case_desk(app_configs=None, **kwargs):
    if _desk is None:
        return [checks.Error("No case desk is registered: a partner's request that may be shared would go nowhere.",
                             hint="Install the icts app (it registers itself in IctsConfig.ready()).",
                             id="partner_requests.E001")]
    return []
