"""One way to tell people (issue 17): `cpms.core.notifications.notify`, with links reversed from URL names."""

import re
from pathlib import Path

from cpms.core.models import Notification
from cpms.core.notifications import notify
from cpms.core.roles import Role
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def test_notify_reaches_users_ids_and_a_roles_active_members_once_each(db):
    a, b = UserFactory(role="icts_analyst"), UserFactory(role="icts_analyst")
    UserFactory(role="icts_analyst", is_active=False)
    officer = UserFactory(role="officer")
    assert notify(Role.ICTS_ANALYST, "a new request", to=("icts-case", 7)) == 2
    assert notify([officer, officer.pk, None], "x" * 400) == 1
    rows = Notification.objects.order_by("id")
    assert {r.user_id for r in rows[:2]} == {a.pk, b.pk} and rows[0].url == "/icts/cases/7/"
    assert rows[2].user_id == officer.pk and len(rows[2].message) == 300 and rows[2].url == ""


def test_no_service_writes_a_notification_or_a_link_by_hand():
    """Every notification goes through notify(); a link is a URL name, never an f-string path."""
    offenders = []
    for path in [*ROOT.glob("cpms/**/*.py"), *ROOT.glob("icts/**/*.py")]:
        if "migrations" in path.parts or path.name == "notifications.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"Notification\.objects\.(create|bulk_create)", r"(?<!class )Notification\(", r'url=f"/'):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []
