"""The audit chain: intact after normal work; any changed, removed, inserted or reordered entry is detected."""

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from cpms.audit.chain import verify
from cpms.audit.models import AccessLogEntry, ChainHead, ChainLink
from cpms.audit.services import access_record
from tests.factories import PersonFactory, UserFactory


@pytest.fixture
def history(db):
    user = UserFactory(role="privacy_officer")
    people = [PersonFactory() for _ in range(3)]
    people[0].family_name = "Changed"
    people[0].save()
    for p in people:
        access_record(user=user, obj=p, action=AccessLogEntry.Action.VIEW, person_id=p.pk)
    return {"user": user, "people": people}


def behind_the_trigger(sql: str, params=()):
    """What a database superuser could do: switch triggers off for the session and edit the table."""
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            cur.execute(sql, params)
        finally:
            cur.execute("SET session_replication_role = DEFAULT")


def test_normal_work_leaves_an_intact_chain(history):
    report = verify()
    assert report.intact, report.problems
    assert report.links == LogEntry.objects.count() + AccessLogEntry.objects.count() >= 7


def test_verify_audit_command_reports_intact(history, capsys):
    call_command("verify_audit")
    assert "Audit chain intact" in capsys.readouterr().out


@pytest.mark.parametrize("table,column", [("auditlog_logentry", "object_repr"), ("audit_accesslogentry", "path"),
                                          ("audit_chainlink", "digest")])
def test_the_application_cannot_update_or_delete_audit_rows(history, table, column):
    for sql in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)


def test_edited_logentry_is_detected(history, capsys):
    entry = LogEntry.objects.order_by("id").first()
    behind_the_trigger("UPDATE auditlog_logentry SET object_repr = 'innocent' WHERE id = %s", [entry.pk])
    report = verify()
    assert any(f"entry {entry.pk} was changed" in p for p in report.problems)
    with pytest.raises(SystemExit):
        call_command("verify_audit")
    assert "BROKEN" in capsys.readouterr().out


def test_edited_access_entry_is_detected(history):
    entry = AccessLogEntry.objects.order_by("id").first()
    behind_the_trigger("UPDATE audit_accesslogentry SET user_id = user_id, path = '/elsewhere' WHERE id = %s", [entry.pk])
    assert any(f"access entry {entry.pk} was changed" in p for p in verify().problems)


def test_removed_entry_is_detected(history):
    entry = AccessLogEntry.objects.order_by("id").last()
    behind_the_trigger("DELETE FROM audit_accesslogentry WHERE id = %s", [entry.pk])
    assert any("was removed" in p for p in verify().problems)


def test_removed_link_in_the_middle_is_detected(history):
    behind_the_trigger("DELETE FROM audit_chainlink WHERE seq = 3")
    problems = verify().problems
    assert any("missing" in p for p in problems) and any("not in the chain" in p for p in problems)


def test_removed_links_at_the_end_are_detected(history):
    last = ChainHead.objects.get().seq
    behind_the_trigger("DELETE FROM audit_chainlink WHERE seq = %s", [last])
    assert any("head says" in p for p in verify().problems)


def test_reordered_entries_are_detected(history):
    a, b = ChainLink.objects.filter(kind="access").order_by("seq")[:2]
    swap = "UPDATE audit_chainlink SET entry_id = %s, digest = %s WHERE seq = %s"
    behind_the_trigger(swap, [-1, a.digest, a.seq])  # the (kind, entry_id) pair is unique: swap through a free value
    behind_the_trigger(swap, [a.entry_id, a.digest, b.seq])
    behind_the_trigger(swap, [b.entry_id, b.digest, a.seq])
    problems = verify().problems
    assert any(f"link {a.seq}: its hash does not match" in p for p in problems)


def test_entry_inserted_behind_the_application_is_detected(history):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO audit_accesslogentry (at, user_id, action, object_type, object_id, path, method, context) "
            "VALUES (now(), %s, 'view', 'core.person', '1', '', '', '{}')", [history["user"].pk])
    assert any("not in the chain" in p for p in verify().problems)


def test_a_rewritten_chain_without_the_key_does_not_verify(history):
    """An attacker with the database but not AUDIT_CHAIN_KEY recomputes links with plain SHA-256: detected."""
    import hashlib

    entry = AccessLogEntry.objects.order_by("id").last()
    link = ChainLink.objects.get(kind="access", entry_id=entry.pk)
    forged = hashlib.sha256(f"{link.prev_hash}|access|{entry.pk}|{link.digest}".encode()).hexdigest()
    behind_the_trigger("UPDATE audit_chainlink SET hash = %s WHERE seq = %s", [forged, link.seq])
    assert any("its hash does not match" in p for p in verify().problems)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_a_rolled_back_savepoint_keep_the_chain_whole():
    """Appends are one guarded statement on the head this connection last saw: other connections moving the head, and a
    savepoint that rolled back this connection's own last link, both send it back to the locked read."""
    from tests.concurrency import run_at_once

    user = UserFactory(role="privacy_officer")
    people = [PersonFactory() for _ in range(4)]

    def writer(person):
        def write():
            for _ in range(5):
                with transaction.atomic():
                    access_record(user=user, obj=person, action=AccessLogEntry.Action.VIEW, person_id=person.pk)
                    person.given_names += "x"
                    person.save()
        return write

    assert all(outcome == "ok" for outcome, _ in run_at_once(*(writer(p) for p in people)))
    with transaction.atomic():
        access_record(user=user, obj=people[0], action=AccessLogEntry.Action.VIEW, person_id=people[0].pk)
        try:
            with transaction.atomic():
                access_record(user=user, obj=people[1], action=AccessLogEntry.Action.VIEW, person_id=people[1].pk)
                raise RuntimeError("the service refuses after its read was recorded")
        except RuntimeError:
            pass
        access_record(user=user, obj=people[2], action=AccessLogEntry.Action.VIEW, person_id=people[2].pk)
    report = verify()
    assert report.intact, report.problems
    assert report.links == ChainLink.objects.count() == LogEntry.objects.count() + AccessLogEntry.objects.count()
