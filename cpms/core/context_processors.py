from django.conf import settings

from .roles import Role, has_role
from .selectors import unread_notification_count


def cpms(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not (getattr(request, "second_factor_by_proxy", False) or getattr(user, "is_verified", lambda: True)()):
        # The second factor is still to come: no links, no counts, just sign out (and the idle warning's clock).
        return {"fully_signed_in": False, "session_idle_seconds": settings.SESSION_IDLE_SECONDS}
    # has_role caches the user's groups on the user object: one query for the whole page, not one per link.
    return {
        "fully_signed_in": True,
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "unread_notifications": unread_notification_count(user),
        "is_officer": has_role(user, Role.OFFICER, Role.SUPERVISOR),
        "is_supervisor": has_role(user, Role.SUPERVISOR),
        "is_admin": user.is_staff,  # the Django admin lets in staff only
        "is_icts": has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER),
        "is_obim": has_role(user, Role.OBIM_ANALYST),
        "is_fdns": has_role(user, Role.FDNS_ANALYST),
        "is_privacy_officer": has_role(user, Role.PRIVACY_OFFICER),
    }
