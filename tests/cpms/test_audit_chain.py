"""The audit chain: intact after normal work; any changed, removed, inserted or reordered entry is detected."""

import io

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
    from cpms.audit.anchor import anchor_write

    anchor_write()  # beat does this every AUDIT_ANCHOR_SECONDS
    report = verify()
    assert report.intact and report.anchored, report.problems
    assert report.links == LogEntry.objects.count() + AccessLogEntry.objects.count() >= 7


def test_verify_audit_command_reports_intact(history, capsys):
    from cpms.audit.anchor import anchor_write

    anchor_write()
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
    report = verify(allow_unanchored=True)  # the chain itself; anchors have tests of their own
    assert report.intact, report.problems
    assert report.links == ChainLink.objects.count() == LogEntry.objects.count() + AccessLogEntry.objects.count()


# --- anchors: the truncation the chain alone cannot see ---------------------------------------------------------


def test_a_removed_tail_with_the_head_moved_back_is_reported_by_the_anchor(history):
    """The attack verify() alone misses: delete the last links and entries with the triggers off, and move the head back
    to the last link left. The anchor written earlier (beat, or the last verification) still names the removed link."""
    from cpms.audit.anchor import anchor_write

    anchored = anchor_write()
    keep = anchored.seq - 3
    kept = ChainLink.objects.get(seq=keep)
    tail = list(ChainLink.objects.filter(seq__gt=keep).values_list("kind", "entry_id"))
    for kind, entry_id in tail:
        table = "auditlog_logentry" if kind == "logentry" else "audit_accesslogentry"
        behind_the_trigger(f"DELETE FROM {table} WHERE id = %s", [entry_id])
    behind_the_trigger("DELETE FROM audit_chainlink WHERE seq > %s", [keep])
    behind_the_trigger("UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1", [keep, kept.hash])
    problems = verify().problems
    assert problems == [f"the chain ends at link {keep}, but it reached link {anchored.seq} when anchored at {anchored.at}: "
                        f"links {keep + 1}..{anchored.seq} were removed",
                        f"the chain holds {keep} entries, but it held {anchored.seq} when anchored at {anchored.at}: "
                        "3 were removed"]
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_audit", stdout=out)
    assert "were removed" in out.getvalue()


def remove_tail(keep: int) -> None:
    """Delete every link after `keep` and its entry with the triggers off, and move the head back to link `keep`."""
    kept = ChainLink.objects.get(seq=keep) if keep else None
    for kind, entry_id in ChainLink.objects.filter(seq__gt=keep).values_list("kind", "entry_id"):
        behind_the_trigger(f"DELETE FROM {'auditlog_logentry' if kind == 'logentry' else 'audit_accesslogentry'} "
                           "WHERE id = %s", [entry_id])
    behind_the_trigger("DELETE FROM audit_chainlink WHERE seq > %s", [keep])
    if kept:
        behind_the_trigger("UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1", [keep, kept.hash])
    else:
        behind_the_trigger("DELETE FROM audit_chainhead")


@pytest.mark.parametrize("anchor_file", ["missing", "empty"])
def test_without_an_anchor_a_removed_tail_is_not_called_intact(history, settings, anchor_file):
    """ICD-independent, issue 16: with no anchor (file missing or emptied) the end of the chain cannot be verified, and
    verify_audit says so and exits 1 rather than calling a chain with its tail cut off intact."""
    if anchor_file == "empty":
        open(settings.AUDIT_ANCHOR_FILE, "w").close()
    remove_tail(ChainHead.objects.get().seq - 2)
    report = verify()
    assert not report.intact and not report.anchored
    assert report.problems == [f"no anchor of the chain's head was found in AUDIT_ANCHOR_FILE ({settings.AUDIT_ANCHOR_FILE}): "
                               "the end of the chain cannot be verified, so links removed from its end, or a chain emptied "
                               "whole, would go unnoticed"]
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_audit", stdout=out)
    assert exit_.value.code == 1 and "cannot be verified" in out.getvalue() and "intact" not in out.getvalue()


def test_allow_unanchored_accepts_an_unverified_end_once_and_anchors_it(history, settings):
    out = io.StringIO()
    call_command("verify_audit", "--allow-unanchored", stdout=out)
    assert "Audit chain intact" in out.getvalue() and "end of the chain was not verified" in out.getvalue()
    from cpms.privacy.models import ChainVerification

    assert ChainVerification.objects.get().anchored is False
    call_command("verify_audit", stdout=out)  # the anchor written after the first run vouches for the end now
    assert ChainVerification.objects.order_by("-pk").first().anchored is True


@pytest.mark.parametrize("anchored", [True, False])
def test_a_wiped_chain_is_reported(history, anchored):
    """Every entry, link and the head removed: with an anchor the count and the position say so; without one, the
    chain of 0 entries is unverifiable, never 'intact: 0 entries'."""
    from cpms.audit.anchor import anchor_write

    written = anchor_write() if anchored else None
    remove_tail(0)
    report = verify()
    assert report.links == 0 and not report.intact
    if anchored:
        assert f"the chain holds 0 entries, but it held {written.entries} when anchored at {written.at}: " \
               f"{written.entries} were removed" in report.problems
    else:
        assert any("cannot be verified" in p for p in report.problems)


def test_an_anchor_never_goes_behind_a_link_anchored_earlier(history):
    """After the tail is cut, beat's next anchor would vouch for the shortened head; it is refused instead, so the
    evidence (the higher anchored link) stays in the part of the file verify() reads."""
    from cpms.audit.anchor import AnchorBehind, anchor_write, anchors
    from cpms.privacy.services import chain_verify

    high = anchor_write()
    remove_tail(high.seq - 2)
    with pytest.raises(AnchorBehind, match="links were removed"):
        anchor_write()
    assert not chain_verify(triggered_by="test").intact  # and a failed verification anchors nothing either
    assert max(a.seq for a in anchors()[0]) == high.seq


@pytest.mark.parametrize("table", ["auditlog_logentry", "audit_accesslogentry", "audit_chainlink", "audit_chainhead"])
def test_truncate_of_an_audit_table_is_refused(history, table):
    """The test connections allow TRUNCATE for Django's flush (cpms.settings.test); a session that does not, as every
    production session, is refused, the table owner included."""
    with pytest.raises(DatabaseError, match="cannot be emptied"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own transaction has deferred checks pending
        cur.execute("SET LOCAL cpms.audit_truncate = ''")
        cur.execute(f"TRUNCATE {table} CASCADE")
    assert ChainLink.objects.exists() and ChainHead.objects.exists()


def test_an_anchor_written_without_the_key_is_reported(history, settings):
    from cpms.audit.anchor import anchor_write

    anchor_write()
    with open(settings.AUDIT_ANCHOR_FILE, "a") as f:
        f.write('{"at":"2026-12-05T00:00:00.000000Z","seq":1,"hash":"' + "0" * 64 + '","mac":"' + "f" * 64 + '"}\n')
    assert any("does not verify" in p for p in verify().problems)


def test_verification_anchors_what_it_verified(history, settings):
    from cpms.audit.anchor import anchors
    from cpms.privacy.services import chain_verify

    assert chain_verify(triggered_by="test", allow_unanchored=True).intact  # the first one of a new installation
    good, problems = anchors()
    assert problems == [] and good[-1].seq == ChainHead.objects.get().seq


# --- the two database roles -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_cannot_change_or_disable_the_audit_tables():
    """docs/audit.md's grants: the runtime role inserts and reads audit rows, nothing else; the owner runs migrations."""
    import secrets

    import psycopg
    from django.core.management import call_command as manage

    role = f"cpms_rt_{secrets.token_hex(3)}"
    out = io.StringIO()
    manage("db_roles", runtime=role, stdout=out)  # prints the SQL; the test applies it
    sql = out.getvalue()
    params = connection.get_connection_params()
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN")
        cur.execute(sql)
    PersonFactory()  # a row in every audit table: logentry, chain link, and below an access entry
    UserFactory()
    try:
        conninfo = {k: v for k, v in params.items() if k in ("host", "port", "dbname")} | {"user": role}
        with psycopg.connect(**conninfo, autocommit=True) as rt:
            assert rt.execute("SELECT count(*) FROM auditlog_logentry").fetchone()[0] > 0
            rt.execute("INSERT INTO audit_accesslogentry (at, user_id, action, object_type, object_id, path, method, context) "
                       "SELECT now(), id, 'view', 'core.person', '1', '', '', '{}' FROM auth_user LIMIT 1")
            refused = []
            for statement in ("UPDATE auditlog_logentry SET object_repr = 'x'", "DELETE FROM auditlog_logentry",
                              "TRUNCATE audit_chainlink", "UPDATE audit_chainlink SET hash = 'x'",
                              "DELETE FROM audit_accesslogentry", "ALTER TABLE auditlog_logentry DISABLE TRIGGER ALL",
                              "DROP TRIGGER auditlog_logentry_append_only ON auditlog_logentry",
                              "SET session_replication_role = replica"):
                try:
                    rt.execute(statement)
                except psycopg.errors.InsufficientPrivilege:
                    refused.append(statement)
            assert len(refused) == 8, refused
            rt.execute("UPDATE core_person SET given_names = given_names")  # ordinary tables: the application's to change
    finally:
        with connection.cursor() as cur:
            cur.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_new_installations_first_verification_finds_an_anchor(history, settings):
    """cpms_worker runs the schedule in order at start: the anchor comes before the verification, so a fresh demo's
    audit page says intact, not 'cannot be verified'."""
    from cpms.core.management.commands.cpms_worker import periodic_tasks
    from cpms.privacy.models import ChainVerification

    for entry in periodic_tasks(60.0):
        if entry.task.name in ("cpms.audit.tasks.anchor", "cpms.privacy.tasks.chain_verify"):
            entry.task()
    assert ChainVerification.objects.get().intact
