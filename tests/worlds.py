"""One populated world with every persona and every kind of object, for the authorization matrix and the
grant tests: an officer's case with a partner's answer (files included) referred to an FDNS analyst, an ICTS
case being prepared, a transmitted one (a disclosure), and a request waiting for a privacy officer.

With `every_state=True` (the authorization matrix) it also holds each object in every state that changes who may
see it, in `World.states`: ICTS cases open (the pool), preparing, in review, transmitted and delivered; queries
before a referral, while referred, and after the referral was revoked."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import Permission

from cpms.cis.classes import ProtectedClass
from cpms.core.roles import Role
from cpms.disclosure.models import RuleSet
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from cpms.queries import services as query_services
from icts import services as icts_services
from icts.models import IctsCase
from ident_bridge.inbound import inbound_process
from ident_bridge import icd
from tests.factories import (AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, request_message,
                             response_message, result_message, store_inbound)
from tests.fakes import ident_accepts_everything

AUTHORISED = ["family_name", "given_names", "date_of_birth", "gender", "country_of_birth", "a_number", "fin"]

# Every persona the matrix walks: each role's "owner" (holding the object grant), a colleague of the same role
# without it, the admin role, a superuser with no role, and nobody.
PERSONAS = ("anonymous", "officer", "officer_colleague", "supervisor", "icts_analyst", "icts_analyst_colleague",
            "icts_reviewer", "obim_analyst", "fdns_analyst", "fdns_colleague", "privacy_officer", "admin", "superuser")
ROLE_OF = {"officer": Role.OFFICER, "officer_colleague": Role.OFFICER, "supervisor": Role.SUPERVISOR,
           "icts_analyst": Role.ICTS_ANALYST, "icts_analyst_colleague": Role.ICTS_ANALYST, "icts_reviewer": Role.ICTS_REVIEWER,
           "obim_analyst": Role.OBIM_ANALYST, "fdns_analyst": Role.FDNS_ANALYST, "fdns_colleague": Role.FDNS_ANALYST,
           "privacy_officer": Role.PRIVACY_OFFICER, "admin": Role.ADMIN}


@dataclass
class World:
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)
    # state name -> the objects to use instead of `objects`' in that state (e.g. {"icts": <case in review>, ...})
    states: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.objects[key]

    def in_state(self, state: str | None) -> dict:
        return self.objects if state is None else self.objects | self.states[state]


def receive_request(message, capture) -> PartnerRequest:
    with capture(execute=True):
        inbound_process(store_inbound(message).pk)
    return PartnerRequest.objects.get(request_ref=message["body"]["request_ref"])


def _answered_query(w: World, case):
    """A query of the officer's that the partner answered with files (a match, then round 2)."""
    query = query_services.query_submit(actor=w.users["officer"], case=case, partner_code="CAN", reason="asylum_claimant",
                                        priority="high")
    for message, record in ((result_message(query), query_services.round1_record_result),
                            (response_message(query), query_services.round_record_response)):
        record(message=message, inbound=store_inbound(message))
    query.refresh_from_db()
    return query


def _icts_case(w: World, capture, ref: str, *, until: str):
    """An ICTS case for a new request of Canada's, taken as far as `until` (open, preparing, in_review, transmitted,
    delivered), with a document once it is being prepared."""
    analyst, reviewer = w.users["icts_analyst"], w.users["icts_reviewer"]
    case = receive_request(request_message(request_ref=ref), capture).icts_case
    att = None
    if until != "open":
        case = icts_services.case_assign(actor=analyst, case=case, analyst=analyst)
        icts_services.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno",
                                   reviewer_email="r.moreno@uscis.example.gov", person={"family_name": "Haddad"})
        att = icts_services.package_add_attachment(actor=analyst, case=case, filename="passport.jpg", data=jpeg_bytes(),
                                                   kind="passport")
    if until in ("in_review", "transmitted", "delivered"):
        icts_services.package_submit(actor=analyst, case=case)
    if until in ("transmitted", "delivered"):
        with capture(execute=True):
            icts_services.package_review(actor=reviewer, case=case, verdict="approved")
    if until == "delivered":
        case = IctsCase.objects.get(pk=case.pk)
        ack = icd.envelope("delivery.ack", "CAN", {"acked_message_id": str(case.package.outbox_message.message_id),
                                                   "status": "delivered"})
        inbound_process(store_inbound(ack).pk)
    case = IctsCase.objects.get(pk=case.pk)
    assert case.status == until, (ref, case.status)
    return case, att


def build_world(capture, monkeypatch, *, every_state: bool = False) -> World:
    """`capture` is pytest-django's django_capture_on_commit_callbacks (or TestCase.captureOnCommitCallbacks)."""
    ident_accepts_everything(monkeypatch)
    w = World()
    AgreementFactory(partner__code="CAN", authorised_data_elements=AUTHORISED, authorised_attachment_kinds=["photograph", "passport"])
    for persona, role in ROLE_OF.items():
        w.users[persona] = UserFactory(role=role, username=f"m-{persona}")
    w.users["admin"].is_staff = True
    w.users["admin"].save()
    # The admin role administers reference data through the admin (as seed_demo gives it).
    w.users["admin"].user_permissions.set(Permission.objects.filter(content_type__app_label__in=["core", "ident_bridge"],
                                                                    codename__startswith="view_"))
    w.users["superuser"] = UserFactory(username="m-superuser", is_superuser=True, is_staff=True)

    # The officer's case and a query the partner answered with files, referred to one FDNS analyst.
    person = PersonFactory(fin="FIN1000000009", a_number="A399999909", family_name="Haddad")
    case = CaseFactory(officers=[w.users["officer"]], person=person, receipt_number="ZAR2699999901")
    CaseFactory(officers=[w.users["officer_colleague"]], receipt_number="ZAR2699999902")
    with capture(execute=False):
        query = _answered_query(w, case)
    referral = query_services.referral_create(actor=w.users["officer"], query=query, analyst=w.users["fdns_analyst"],
                                              reason="Identity documents disagree", days=30)
    w.objects |= {"case": case, "query": query, "attachment": query.responses.get().attachments.first(), "referral": referral,
                  "person": person, "notification": w.users["officer"].notifications.order_by("id").first()}

    # An ICTS case the analyst is preparing (with a document), and one transmitted to the partner.
    subject = PersonFactory(fin="FIN1000000001", a_number="A399999901")
    cis_record(subject)
    preq = receive_request(request_message(request_ref="CAN-MX-OPEN"), capture)
    icts = icts_services.case_assign(actor=w.users["icts_analyst"], case=preq.icts_case, analyst=w.users["icts_analyst"])
    icts_services.package_save(actor=w.users["icts_analyst"], case=icts, reviewer_name="Rita Moreno",
                               reviewer_email="r.moreno@uscis.example.gov", person={"family_name": "Haddad"})
    icts_att = icts_services.package_add_attachment(actor=w.users["icts_analyst"], case=icts, filename="passport.jpg",
                                                    data=jpeg_bytes(), kind="passport")
    sent_req = receive_request(request_message(request_ref="CAN-MX-SENT"), capture)
    sent = icts_services.case_assign(actor=w.users["icts_analyst"], case=sent_req.icts_case, analyst=w.users["icts_analyst"])
    icts_services.package_save(actor=w.users["icts_analyst"], case=sent, reviewer_name="Rita Moreno",
                               reviewer_email="r.moreno@uscis.example.gov", person={"family_name": "Haddad"})
    sent_att = icts_services.package_add_attachment(actor=w.users["icts_analyst"], case=sent, filename="passport.jpg",
                                                    data=jpeg_bytes(), kind="passport")
    icts_services.package_submit(actor=w.users["icts_analyst"], case=sent)
    with capture(execute=True):
        icts_services.package_review(actor=w.users["icts_reviewer"], case=sent, verdict="approved")
    sent = IctsCase.objects.get(pk=sent.pk)
    assert sent.status in ("transmitted", "delivered"), sent.status
    w.objects |= {"icts": icts, "icts_att": icts_att, "sent": sent, "sent_att": sent_att}
    if every_state:  # before the rules are switched off below: its requests must reach ICTS
        _every_state(w, capture)

    # A query about a U-visa holder: held for a privacy officer before anything is sent.
    held_person = PersonFactory(fin="FIN1000000055", a_number="A399999955")
    cis_record(held_person, ProtectedClass.U)
    held = query_services.query_submit(actor=w.users["officer"], case=CaseFactory(officers=[w.users["officer"]], person=held_person),
                                       partner_code="CAN", reason="asylum_claimant", priority="high")
    assert held.status == "held_privacy", held.status
    w.objects |= {"held": held}

    # A request no rule covers (no active rule set): it waits for a privacy officer. Made last: it switches the rules off.
    cis_record(PersonFactory(fin="FIN1000000077", a_number="A399999977"), ProtectedClass.ASYLUM)
    RuleSet.objects.update(is_active=False)
    referred = receive_request(request_message(request_ref="CAN-MX-REFER", fin="FIN1000000077"), capture)
    assert referred.status == RequestStatus.REFERRED, referred.status
    w.objects |= {"icts": icts, "icts_att": icts_att, "preq": preq, "sent": sent, "sent_att": sent_att, "referred": referred,
                  "subject": subject}
    return w


def _every_state(w: World, capture) -> None:
    """Each object in every state that changes who may see it (World.states), beside the world's own."""
    for state in ("open", "in_review", "delivered"):
        case, att = _icts_case(w, capture, f"CAN-MX-STATE-{state.upper().replace('_', '')}", until=state)
        w.states[state] = {"icts": case, "icts_att": att}
    w.states["preparing"] = {"icts": w["icts"], "icts_att": w["icts_att"]}
    assert w["sent"].status == "transmitted", w["sent"].status
    w.states["transmitted"] = {"icts": w["sent"], "icts_att": w["sent_att"]}

    officer = w.users["officer"]
    with capture(execute=False):
        unreferred = _answered_query(w, CaseFactory(officers=[officer], person=PersonFactory(fin="FIN1000000011")))
        revoked = _answered_query(w, CaseFactory(officers=[officer], person=PersonFactory(fin="FIN1000000012")))
    ended = query_services.referral_create(actor=officer, query=revoked, analyst=w.users["fdns_analyst"],
                                           reason="Identity documents disagree", days=30)
    ended = query_services.referral_revoke(actor=officer, referral=ended, reason="Resolved")
    w.states["unreferred"] = {"query": unreferred, "attachment": unreferred.responses.get().attachments.first()}
    w.states["referred"] = {"query": w["query"], "attachment": w["attachment"], "referral": w["referral"]}
    w.states["revoked"] = {"query": revoked, "attachment": revoked.responses.get().attachments.first(), "referral": ended}
