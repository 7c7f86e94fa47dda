"""Partner requests on demand: `manage.py sim_send_request`, the simulator's own page (/_sim/), and the
partners' answers to CPMS's augmentations and replies.

The simulator runs in-process on a free port against test_simulator's `FakeCPMS`, which checks every message
the way CPMS must (signature, schema, direction, attachments). No database.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import png_bytes
import requests
from django.core.management import CommandError, call_command

from ident_bridge import icd
from ident_bridge.simulator import Simulator, galleries, partners
from tests.ident_bridge.test_simulator import SECRET, FakeCPMS, control, free_port, post, wait_until

REPO = Path(__file__).resolve().parents[2]
DEMO_FINS = [fin for fin, _ in galleries.DEMO_REQUEST_FINS]


@pytest.fixture
def cpms() -> Iterator[FakeCPMS]:
    fake = FakeCPMS()
    yield fake
    fake.stop()
    assert not fake.refused, f"CPMS refused simulator messages: {fake.refused}"


@pytest.fixture
def sim(cpms: FakeCPMS, tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(cpms.url, SECRET, tmp_path / "sim.sqlite3", 0.0, timeout=2.0)
    simulator.start_in_thread("127.0.0.1", 0)
    yield simulator
    assert simulator.store.processing_errors() == []
    simulator.stop()


def send_command(*args: str) -> tuple[str, str]:
    """Run `sim_send_request` in-process; returns (stdout, stderr). CommandError propagates."""
    out, err = io.StringIO(), io.StringIO()
    call_command("sim_send_request", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def page(sim: Simulator, path: str = "/_sim/") -> requests.Response:
    response = control(sim, "GET", path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return response


def request_received(cpms: FakeCPMS, request_ref: str) -> dict:
    return wait_until(lambda: next(
        (m for m in cpms.messages("request.received") if m["body"]["request_ref"] == request_ref), None))


# --- the command ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "fin", "template", "subject_name"),
    [
        ("CAN", "FIN1000000001", "CAN-v1", ("surname", "Haddad")),
        ("AUS", "FIN1000000002", "AUS-v1", ("family_name", "Nguyễn")),
        ("CAN", "FIN1000000007", "uniform-v1", ("family_name", "Okafor")),
    ],
)
def test_command_sends_schema_valid_request_received_in_each_template(
    sim: Simulator, cpms: FakeCPMS, partner: str, fin: str, template: str, subject_name: tuple[str, str]
) -> None:
    ref = f"{partner}-2026-{template.upper().replace('-', '')}"
    out, err = send_command(
        "--partner", partner, "--fin", fin, "--template", template, "--request-ref", ref,
        "--items", "biographic, immigration_history,photographs", "--reason", "asylum_claimant", "--priority", "low",
        "--simulator-url", sim.base_url,
    )
    message = request_received(cpms, ref)
    assert icd.schema_errors(message) == []
    body = message["body"]
    assert (message["partner"], body["fin"], body["template"]) == (partner, fin, template)
    assert body["requested_items"] == ["biographic", "immigration_history", "photographs"]
    assert (body["reason"], body["priority"]) == ("asylum_claimant", "low")
    key, name = subject_name
    assert body["subject"][key] == name
    assert f"Sent request.received {ref}" in out
    assert message["message_id"] in out  # and the simulator's answer, the queued message, is printed
    assert err == ""


def test_command_defaults_and_generated_ref(sim: Simulator, cpms: FakeCPMS) -> None:
    out, _ = send_command("--partner", "NZL", "--fin", "FIN9999999999", "--template", "uniform-v1", "--simulator-url", sim.base_url)
    [message] = cpms.wait_for(1, "request.received")
    body = message["body"]
    assert body["request_ref"].startswith("NZL-") and body["request_ref"] in out
    assert body["requested_items"] == ["biographic", "immigration_status", "document_images"]
    assert (body["reason"], body["priority"]) == ("refugee_claimant", "high")


def test_command_all_demo_sends_one_per_demo_fin_in_rotating_templates(sim: Simulator, cpms: FakeCPMS) -> None:
    out, _ = send_command("--all-demo", "--partner", "AUS", "--simulator-url", sim.base_url)
    messages = cpms.wait_for(len(DEMO_FINS), "request.received")
    assert [m["body"]["fin"] for m in messages] == DEMO_FINS
    assert {m["partner"] for m in messages} == {"AUS"}
    assert [m["body"]["template"] for m in messages[:4]] == ["uniform-v1", "CAN-v1", "AUS-v1", "uniform-v1"]
    assert all(icd.schema_errors(m) == [] for m in messages)
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["FIN", "partner", "template", "request_ref", "result"]
    for message, (fin, label) in zip(messages, galleries.DEMO_REQUEST_FINS, strict=True):
        [row] = [line for line in lines if line.startswith(fin)]
        assert message["body"]["request_ref"] in row and "sent" in row and label in row
    assert f"Sent {len(DEMO_FINS)} request(s)" in out


def test_command_all_demo_defaults_to_canada(sim: Simulator, cpms: FakeCPMS) -> None:
    send_command("--all-demo", "--simulator-url", sim.base_url)
    assert {m["partner"] for m in cpms.wait_for(len(DEMO_FINS), "request.received")} == {"CAN"}


def test_command_refusal_prints_every_pointer_and_fails(sim: Simulator, cpms: FakeCPMS) -> None:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="/fin") as refused:
        call_command("sim_send_request", "--partner", "CAN", "--fin", "fin-1", "--template", "CAN-v1",
                     "--items", "biographic,everything", "--simulator-url", sim.base_url, stdout=out, stderr=err)
    assert "/requested_items/1" in str(refused.value)
    assert "refused" in err.getvalue()
    assert "  /fin: must be 10 to 16 upper-case letters or digits" in err.getvalue().splitlines()
    assert "  /requested_items/1: must be one of" in err.getvalue()
    assert out.getvalue() == ""
    assert sim.store.requests_list() == [] and cpms.messages() == []


def test_command_reused_ref_is_refused_with_its_pointer(sim: Simulator, cpms: FakeCPMS) -> None:
    args = ("--partner", "AUS", "--fin", "FIN1000000002", "--template", "AUS-v1", "--request-ref", "AUS-2026-000123",
            "--simulator-url", sim.base_url)
    send_command(*args)
    with pytest.raises(CommandError, match="/request_ref: AUS-2026-000123 is already used"):
        send_command(*args)
    assert len(cpms.wait_for(1, "request.received")) == 1


def test_command_exits_1_with_pointers_from_the_shell(sim: Simulator) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "cpms.settings.test")}
    done = subprocess.run(
        [sys.executable, "manage.py", "sim_send_request", "--partner", "GBR", "--fin", "TOO-SHORT", "--template", "uniform-v1",
         "--simulator-url", sim.base_url],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "/fin: must be 10 to 16 upper-case letters or digits" in done.stderr
    assert "CommandError: Not sent" in done.stderr


def test_command_when_the_simulator_is_not_running_says_so() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match="not running at .*ident_simulator"):
        send_command("--partner", "CAN", "--fin", "FIN1000000001", "--template", "CAN-v1", "--simulator-url", url)
    with pytest.raises(CommandError, match="not running"):
        send_command("--all-demo", "--simulator-url", url)


def test_command_checks_its_arguments_before_sending() -> None:
    with pytest.raises(CommandError, match="--partner, --fin, --template required"):
        send_command("--simulator-url", "http://127.0.0.1:9")
    with pytest.raises(CommandError, match="leave out --fin"):
        send_command("--all-demo", "--fin", "FIN1000000001", "--simulator-url", "http://127.0.0.1:9")
    with pytest.raises(CommandError, match="single --fin"):
        send_command("--partner", "CAN", "--fin", "FIN1000000001", "FIN1000000002", "--template", "CAN-v1",
                     "--request-ref", "CAN-1", "--simulator-url", "http://127.0.0.1:9")


def test_command_against_something_else_than_the_simulator(cpms: FakeCPMS) -> None:
    with pytest.raises(CommandError, match="is --simulator-url"):
        send_command("--partner", "CAN", "--fin", "FIN1000000001", "--template", "CAN-v1",
                     "--simulator-url", cpms.url.removesuffix("/ident/v1"))
    assert [status for status, _ in cpms.refused] == [401]  # CPMS, rightly, does not take unsigned posts
    cpms.refused.clear()


# --- the page -------------------------------------------------------------------------------------------------


def test_page_offers_the_form_with_demo_and_gallery_fins(sim: Simulator) -> None:
    html = page(sim).text
    assert page(sim, "/_sim/ui").text == html
    assert '<form method="post" action="/_sim/ui/send">' in html
    for fin, _ in galleries.DEMO_REQUEST_FINS:
        assert f'<option value="{fin}"' in html
    for gallery in galleries.GALLERIES.values():
        assert all(f'<option value="{fin}"' in html for fin in gallery)
    for value in (*icd.PARTNERS, *partners.TEMPLATES, *icd.REASONS, *icd.PRIORITIES):
        assert f"<option>{value}</option>" in html or f"<option selected>{value}</option>" in html
    for item in icd.REQUESTED_ITEMS:
        assert f'name="items" value="{item}"' in html
    assert "No request sent yet." in html and "Nothing received from CPMS yet." in html
    # Self-contained: no script, no external stylesheet, image or font.
    assert "<script" not in html and "<link" not in html and "src=" not in html and "@import" not in html
    headers = control(sim, "GET", "/_sim/").headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert control(sim, "POST", "/_sim/").status_code == 405


def test_page_escapes_what_it_shows(sim: Simulator, cpms: FakeCPMS) -> None:
    sim.send_partner_request(partner="AUS", fin="FIN1000000002", template="AUS-v1", request_ref="AUS-2026-000777")
    request_received(cpms, "AUS-2026-000777")
    evil = '<script>alert("x")</script>'
    package = {
        "reviewer": {"name": evil, "organization": "USCIS"},
        "responded_at": icd.now_rfc3339(),
        "person": {"family_name": "Nguyễn", "given_names": evil},
        "attachments": [],
    }
    reply = icd.envelope("request.reply", "AUS", {"request_ref": "AUS-2026-000777", "outcome": "response", "package": package})
    assert post(sim, reply).status_code == 202
    wait_until(lambda: sim.store.recent_received()[0]["processed"])
    html = control(sim, "GET", "/_sim/", params={"error": evil, "fin": '"><script>x</script>'}).text
    assert "<script" not in html
    assert "reviewer: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<p class="flash error" role="alert">&lt;script&gt;' in html
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html


def test_form_post_sends_the_request_and_redirects_to_the_page(sim: Simulator, cpms: FakeCPMS) -> None:
    form = {"partner": "CAN", "fin": " fin1000000005 ", "template": "CAN-v1", "items": ["biographic", "photographs"],
            "reason": "visa_applicant", "priority": "medium", "request_ref": ""}
    sent = control(sim, "POST", "/_sim/ui/send", data=form, allow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["Location"].startswith("/_sim/?ok=Sent+request.received+CAN-")
    [message] = cpms.wait_for(1, "request.received")
    body = message["body"]
    assert icd.schema_errors(message) == []
    assert (body["fin"], body["template"], body["requested_items"]) == ("FIN1000000005", "CAN-v1", ["biographic", "photographs"])
    assert (body["reason"], body["priority"], body["subject"]["surname"]) == ("visa_applicant", "medium", "李")
    wait_until(lambda: sim.store.requests_overview()[0]["delivery"]["status"] == "sent")
    html = control(sim, "GET", sent.headers["Location"]).text  # what the browser shows after the redirect
    assert f"Sent request.received {body['request_ref']}" in html
    assert f"<td><code>{body['request_ref']}</code></td><td>CAN</td><td><code>FIN1000000005</code></td><td>CAN-v1</td>" in html
    assert "sent (1 attempt(s))" in html and "no reply yet" in html
    assert '<option selected>medium</option>' in html  # the form keeps the last choices


def test_form_post_refused_redirects_with_the_pointers_and_keeps_the_form(sim: Simulator, cpms: FakeCPMS) -> None:
    form = {"partner": "CAN", "fin": "FIN1000000001", "template": "CAN-v1", "reason": "other", "priority": "low",
            "request_ref": "bad ref!"}
    refused = control(sim, "POST", "/_sim/ui/send", data=form, allow_redirects=False)
    assert refused.status_code == 303
    html = control(sim, "GET", refused.headers["Location"]).text
    assert "Not sent. /request_ref: must be" in html and "/requested_items: must be a non-empty list" in html
    assert 'value="bad ref!"' in html and 'value="FIN1000000001"' in html
    assert sim.store.requests_list() == [] and cpms.messages() == []


def test_form_post_from_another_site_or_not_a_form_is_refused(sim: Simulator) -> None:
    form = {"partner": "CAN", "fin": "FIN1000000001", "template": "CAN-v1", "items": "biographic"}
    other_site = control(sim, "POST", "/_sim/ui/send", data=form, headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert other_site.status_code == 403
    same_site = control(sim, "POST", "/_sim/ui/send", data=form, headers={"Origin": sim.base_url}, allow_redirects=False)
    assert same_site.status_code == 303
    assert control(sim, "POST", "/_sim/ui/send", json=form).status_code == 415
    assert len(sim.store.requests_list()) == 1


# --- the partner's answers to CPMS ---------------------------------------------------------------------------


@pytest.mark.parametrize(("partner", "fin", "template"), [("AUS", "FIN1000000007", "AUS-v1"), ("CAN", "FIN1000000002", "CAN-v1")])
def test_augment_is_answered_with_schema_valid_query_response_naming_the_augment_ref(
    sim: Simulator, cpms: FakeCPMS, partner: str, fin: str, template: str
) -> None:
    send_command("--partner", partner, "--fin", fin, "--template", template, "--request-ref", f"{partner}-REQ-1",
                 "--simulator-url", sim.base_url)
    subject = request_received(cpms, f"{partner}-REQ-1")["body"]["subject"]
    augment = icd.envelope("request.augment", partner, {
        "request_ref": f"{partner}-REQ-1", "augment_ref": "AUG-2026-000042",
        "requested_items": ["biographic", "immigration_status", "document_images"], "justification": "Identity check",
    })
    assert post(sim, augment).status_code == 202
    [response] = cpms.wait_for(1, "query.response")
    assert icd.schema_errors(response) == []
    body = response["body"]
    assert body["augment_ref"] == "AUG-2026-000042"
    assert "query_ref" not in body and "round" not in body
    assert response["partner"] == partner
    # The answer is about the person the partner asked about.
    assert body["person"]["partner_person_id"] == subject.get("client_id", subject.get("uci"))
    assert body["person"]["family_name"] == subject.get("family_name", subject.get("surname"))
    assert [a["kind"] for a in body["attachments"]] == ["visa"]
    assert wait_until(lambda: sim.store.requests_overview()[0]["augment_refs"]) == ["AUG-2026-000042"]


def test_reply_with_a_package_is_stored_and_shown(sim: Simulator, cpms: FakeCPMS) -> None:
    sim.send_partner_request(partner="CAN", fin="FIN1000000001", template="CAN-v1", request_ref="CAN-2026-000555")
    sim.send_partner_request(partner="CAN", fin="FIN1000000003", template="CAN-v1", request_ref="CAN-2026-000556")
    cpms.wait_for(2, "request.received")
    photo = icd.attachment(filename="photo.png", media_type="image/png", kind="photograph", data=png_bytes())
    package = {
        "reviewer": {"name": "Ian Chen", "organization": "USCIS ICTS"},
        "responded_at": icd.now_rfc3339(),
        "person": {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12"},
        "attachments": [photo],
    }
    reply = icd.envelope("request.reply", "CAN", {"request_ref": "CAN-2026-000555", "outcome": "response", "package": package})
    withheld = icd.envelope("request.reply", "CAN", {"request_ref": "CAN-2026-000556", "outcome": "no_match"})
    assert post(sim, reply).status_code == 202
    assert post(sim, withheld).status_code == 202
    wait_until(lambda: all(m["processed"] for m in sim.store.recent_received()) and len(cpms.messages("delivery.ack")) == 2)
    by_ref = {r["request_ref"]: r for r in sim.store.requests_overview()}
    assert by_ref["CAN-2026-000555"]["reply_outcome"] == "response"
    assert by_ref["CAN-2026-000555"]["reply_package"] == package
    assert (by_ref["CAN-2026-000556"]["reply_outcome"], by_ref["CAN-2026-000556"]["reply_package"]) == ("no_match", None)
    html = page(sim).text
    assert "<strong>response</strong>" in html
    assert "3 element(s): date_of_birth, family_name, given_names" in html
    assert "1 attachment(s) (photograph)" in html and "reviewer: Ian Chen" in html
    assert "<strong>no_match</strong>" in html
    # The latest messages from CPMS, newest first, with the reference each carries.
    assert html.index("<td>request.reply</td><td>CAN</td><td>CAN-2026-000556 · no_match</td>") < html.index(
        "<td>request.reply</td><td>CAN</td><td>CAN-2026-000555 · response</td>")


# --- whom the requests are about ------------------------------------------------------------------------------


def test_demo_fins_are_one_documented_list() -> None:
    assert DEMO_FINS == [f"FIN100000000{n}" for n in range(1, 10)] + ["FIN9999999999"]
    assert all(label for _, label in galleries.DEMO_REQUEST_FINS)


@pytest.mark.parametrize("partner", icd.PARTNERS)
@pytest.mark.parametrize("fin", DEMO_FINS)
def test_every_demo_request_renders_schema_valid_in_every_template(partner: str, fin: str) -> None:
    for template in partners.TEMPLATES:
        # partners.outgoing checks the schema and raises on a violation.
        message = partners.request_received(galleries.request_subject(partner, fin), partner=partner, template=template,
                                            request_ref="R-1", requested_items=["biographic"], reason="other",
                                            priority="low", now=0.0).message
        assert message["body"]["fin"] == fin
    assert galleries.request_subject(partner, fin) == galleries.request_subject(partner, fin)


def test_demo_persons_are_named_but_do_not_change_query_matches() -> None:
    generic_names = {family for family, *_ in galleries._GENERIC_SUBJECTS}
    for fin in DEMO_FINS[:-1]:  # every USCIS person of the demo: a named subject, whichever partner asks
        for partner in ("CAN", "AUS"):
            subject = galleries.request_subject(partner, fin)
            assert subject.family_name not in generic_names and subject.partner == partner and subject.fin == fin
    assert galleries.request_subject("AUS", "FIN1000000007").family_name == "Okafor"
    assert galleries.request_subject("CAN", "FIN1000000002").family_name == "Nguyễn"  # AUS's gallery person…
    assert galleries.request_subject("CAN", "FIN1000000002").immigration_status is None  # …without AUS's records
    assert galleries.request_subject("CAN", "FIN1000000001") == galleries.lookup("CAN", "FIN1000000001")
    # An officer's query still finds only the gallery persons (docs/simulator.md's table).
    assert all(galleries.lookup(p, fin) is None for p in icd.PARTNERS for fin in ("FIN1000000004", "FIN1000000006",
                                                                                 "FIN1000000007", "FIN1000000008", "FIN1000000009"))
