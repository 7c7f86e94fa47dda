from .roles import Role, has_role
from .selectors import unread_notification_count


def cpms(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": unread_notification_count(user),
        "is_officer": has_role(user, Role.OFFICER, Role.SUPERVISOR),
    }
