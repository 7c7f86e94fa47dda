"""The only code that writes ICTS cases and response packages."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from cpms.audit.services import audited_update
from cpms.core.models import Agreement, Notification
from cpms.core.roles import Role, has_role
from cpms.disclosure.models import Decision, DisclosureRecord
from cpms.disclosure.rules import Outcome
from cpms.partner_requests import services as requests_services
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from cpms.partner_requests.workflow import transition as request_transition
from cpms.queries.services import store_content_addressed
from ident_bridge import icd
from ident_bridge.outbox import outbox_enqueue

from .models import PRIORITY_RANK, IctsCase, PackageAttachment, ResponsePackage, Review
from .permissions import case_grants_assign, case_grants_open, case_grants_transmitted
from .workflow import EDITABLE, CaseStatus, transition

log = logging.getLogger(__name__)


class IctsError(Exception):
    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid", fields: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.fields = fields or []


# --- opening and assignment --------------------------------------------------------------------------------


def case_open(*, partner_request: PartnerRequest) -> IctsCase:
    """A request that may be shared becomes a case in the analysts' queue, due by its priority."""
    days = settings.ICTS_DUE_DAYS.get(partner_request.priority, 5.0)
    case = IctsCase.objects.create(
        partner_request=partner_request,
        case_number=f"ICTS-{timezone.now():%Y}-{secrets.token_hex(4).upper()}",
        priority=partner_request.priority,
        priority_rank=PRIORITY_RANK[partner_request.priority],
        due_at=partner_request.received_at + timedelta(days=days),
    )
    case_grants_open(case)
    requests_services.notify_role(Role.ICTS_ANALYST, f"New {partner_request.priority}-priority ICTS case {case.case_number} "
                                  f"({partner_request.partner_id}).", url=f"/icts/cases/{case.pk}/")
    return case


def case_assign(*, actor, case: IctsCase, analyst) -> IctsCase:
    """An analyst takes a case (self-assign), or a reviewer gives it to an analyst."""
    if not has_role(analyst, Role.ICTS_ANALYST):
        raise IctsError("Cases can be assigned only to ICTS analysts.", field="analyst")
    if actor != analyst and not has_role(actor, Role.ICTS_REVIEWER):
        raise IctsError("Only a reviewer can assign a case to someone else.", code="forbidden")
    if actor == analyst and not has_role(actor, Role.ICTS_ANALYST):
        raise IctsError("Only ICTS analysts can take cases.", code="forbidden")
    with transaction.atomic():
        locked = IctsCase.objects.select_for_update().get(pk=case.pk)
        if locked.status not in (CaseStatus.OPEN, CaseStatus.PREPARING, CaseStatus.RETURNED):
            raise IctsError(f"A case that is '{CaseStatus(locked.status).label}' cannot be reassigned.", code="wrong_state")
        previous = locked.assigned_analyst
        locked.assigned_analyst = analyst
        locked.save(update_fields=["assigned_analyst", "updated_at"])
        case_grants_assign(locked, analyst=analyst, previous=previous)
        if locked.status == CaseStatus.OPEN:
            transition(locked, CaseStatus.PREPARING, actor=actor, reason=f"assigned to {analyst.get_username()}")
        if analyst != actor:
            Notification.objects.create(user=analyst, kind=Notification.Kind.ACTION, url=f"/icts/cases/{locked.pk}/",
                                        message=f"ICTS case {locked.case_number} was assigned to you.")
        if previous and previous != analyst:
            Notification.objects.create(user=previous, kind=Notification.Kind.ACTION, url=f"/icts/cases/{locked.pk}/",
                                        message=f"ICTS case {locked.case_number} was reassigned to {analyst.get_username()}.")
    return locked


# --- the package -------------------------------------------------------------------------------------------

_PERSON_VALIDATOR: Draft202012Validator | None = None


def _person_errors(person: dict) -> list[icd.ICDError]:
    global _PERSON_VALIDATOR
    if _PERSON_VALIDATOR is None:
        schema = json.loads(icd.SCHEMA_PATH.read_text(encoding="utf-8"))
        _PERSON_VALIDATOR = Draft202012Validator({"$ref": "#/$defs/person", "$defs": schema["$defs"]})
    return [icd.ICDError("/" + "/".join(map(str, e.absolute_path)), e.message) for e in _PERSON_VALIDATOR.iter_errors(person)]


def _require_preparer(actor, case: IctsCase) -> None:
    if case.assigned_analyst_id != actor.pk:
        raise IctsError("Only the analyst assigned to this case can prepare its response.", code="forbidden")
    if case.status not in EDITABLE:
        raise IctsError(f"The response cannot be changed while the case is '{CaseStatus(case.status).label}'.", code="wrong_state")


def package_save(*, actor, case: IctsCase, reviewer_name: str, reviewer_email: str = "", reviewer_phone: str = "",
                 reviewer_organization: str = "USCIS", person: dict) -> ResponsePackage:
    """Save the response on the uniform template (a draft until submitted)."""
    _require_preparer(actor, case)
    if not (reviewer_name or "").strip():
        raise IctsError("Give the reviewer's name: the partner sees it on the response.", field="reviewer_name")
    person = {k: v for k, v in person.items() if v not in (None, "", [], {})}
    errors = _person_errors(person)
    if errors:
        raise IctsError("Some data elements are not in the ICD's form: " + "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
                        field="person", fields=[e.pointer.strip("/").split("/")[0] for e in errors])
    package, _ = ResponsePackage.objects.update_or_create(case=case, defaults={
        "reviewer_name": reviewer_name.strip(), "reviewer_email": reviewer_email.strip(), "reviewer_phone": reviewer_phone.strip(),
        "reviewer_organization": reviewer_organization.strip() or "USCIS", "person": person, "prepared_by": actor,
    })
    return package


_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def package_add_attachment(*, actor, case: IctsCase, filename: str, data: bytes, kind: str) -> PackageAttachment:
    """A scanned document: its type is what its magic number says, not what the browser claims."""
    _require_preparer(actor, case)
    package = getattr(case, "package", None)
    if package is None:
        raise IctsError("Save the response form before adding documents.", code="wrong_state")
    if kind not in icd.ATTACHMENT_KINDS:
        raise IctsError("Choose what kind of document this is.", field="kind")
    if len(data) == 0:
        raise IctsError("The file is empty.", field="file")
    if len(data) > settings.ICTS_UPLOAD_MAX_BYTES:
        raise IctsError(f"The file is {len(data):,} bytes; the limit is {settings.ICTS_UPLOAD_MAX_BYTES:,} bytes (ICD §7).", field="file")
    media_type = icd.sniff_media_type(data)
    if media_type is None:
        raise IctsError("Only JPEG, PNG, TIFF or PDF files can be sent; this file is none of them.", field="file")
    if package.attachments.count() >= icd.MAX_ATTACHMENTS:
        raise IctsError(f"A response carries at most {icd.MAX_ATTACHMENTS} documents.", field="file")
    digest = hashlib.sha256(data).hexdigest()
    if package.attachments.filter(sha256=digest).exists():
        raise IctsError("This exact file is already attached.", field="file")
    clean = _SAFE_NAME.sub("_", (filename or "document").replace("/", "_").replace("\\", "_"))[:200].strip() or "document"
    att = PackageAttachment(package=package, filename=clean, media_type=media_type, kind=kind, sha256=digest, size=len(data),
                            uploaded_by=actor)
    att.file.name = store_content_addressed(att.file.field.generate_filename(att, digest), data)
    att.save()
    return att


def package_remove_attachment(*, actor, case: IctsCase, attachment_id: int) -> None:
    _require_preparer(actor, case)
    PackageAttachment.objects.filter(pk=attachment_id, package__case=case).delete()


def exceeds_agreement(package: ResponsePackage, agreement: Agreement | None) -> list[str]:
    """What the package carries that the partner's agreement does not authorise (names, never trimmed)."""
    if agreement is None:
        return ["(no active agreement allows responses to this partner)"]
    over = [f"data element '{k}'" for k in package.person if k not in set(agreement.authorised_data_elements)]
    kinds = sorted({a.kind for a in package.attachments.all()} - set(agreement.authorised_attachment_kinds))
    over += [f"attachment kind '{k}'" for k in kinds]
    return over


def _check_against_agreement(case: IctsCase, package: ResponsePackage) -> Agreement:
    agreement = requests_services.active_request_agreement(case.partner_request.partner_id)
    over = exceeds_agreement(package, agreement)
    if over:
        raise IctsError(
            f"The response goes beyond what the agreement with {case.partner_request.partner_id} authorises: "
            + ", ".join(over) + ". Remove them; nothing is removed for you.",
            field="person", code="exceeds_agreement", fields=over,
        )
    return agreement


def package_submit(*, actor, case: IctsCase) -> IctsCase:
    _require_preparer(actor, case)
    package = getattr(case, "package", None)
    if package is None or not package.person:
        raise IctsError("Fill in the response before submitting it for review.", code="wrong_state")
    _check_against_agreement(case, package)
    with transaction.atomic():
        audited_update(ResponsePackage, package.pk, submitted_at=timezone.now())
        transition(case, CaseStatus.IN_REVIEW, actor=actor, reason="submitted for review")
    requests_services.notify_role(Role.ICTS_REVIEWER, f"ICTS case {case.case_number} is ready for review.", url=f"/icts/cases/{case.pk}/")
    return case


def package_review(*, actor, case: IctsCase, verdict: str, comments: str = "") -> Review:
    """A reviewer approves (then CPMS transmits) or returns with comments. Nobody reviews their own work."""
    if not has_role(actor, Role.ICTS_REVIEWER):
        raise IctsError("Only ICTS reviewers can approve or return a response.", code="forbidden")
    package = case.package
    if package.prepared_by_id == actor.pk:
        raise IctsError("You prepared this response; another reviewer must review it.", code="forbidden")
    comments = (comments or "").strip()
    if verdict == Review.Verdict.RETURNED and not comments:
        raise IctsError("Say what the analyst should change.", field="comments")
    if verdict not in Review.Verdict.values:
        raise IctsError("Choose approve or return.", field="verdict")
    with transaction.atomic():
        if verdict == Review.Verdict.APPROVED:
            _check_against_agreement(case, package)
            transition(case, CaseStatus.APPROVED, actor=actor, reason="approved")
            audited_update(ResponsePackage, package.pk, approved_by=actor, approved_at=timezone.now())
            from .tasks import package_transmit_task

            transaction.on_commit(lambda: package_transmit_task.delay(case.pk))
        else:
            transition(case, CaseStatus.RETURNED, actor=actor, reason="returned with comments")
            Notification.objects.create(user_id=case.assigned_analyst_id, kind=Notification.Kind.ACTION, url=f"/icts/cases/{case.pk}/",
                                        message=f"ICTS case {case.case_number} was returned with comments.")
        return Review.objects.create(package=package, reviewer=actor, verdict=verdict, comments=comments)


# --- transmission ------------------------------------------------------------------------------------------


def package_transmit(case_id: int) -> str:
    """Check protected status again, then store and send the package with its accounting, in one transaction.

    If CIS now says something that forbids sharing, or the agreement no longer covers the package, nothing is
    sent and the case says why. If PCQS does not answer, nothing is sent and the sweep tries again.
    """
    case = IctsCase.objects.select_related("partner_request__person").get(pk=case_id)
    if case.status != CaseStatus.APPROVED:
        return case.status
    req = case.partner_request
    answer = requests_services.lookup_cis(req.person)
    ev, ruleset = requests_services.decide(req, answer)
    opened_by = req.decisions.filter(outcome=Outcome.SHARE).order_by("-decided_at").first()
    with transaction.atomic():
        case = IctsCase.objects.select_for_update(of=("self",)).select_related("partner_request__person").get(pk=case_id)
        if case.status != CaseStatus.APPROVED:
            return case.status
        req = case.partner_request
        if ev.outcome == Outcome.NO_DECISION:
            return "waiting for CIS"
        changed = opened_by is None or (answer.as_evidence() if answer else None) != opened_by.cis_answer
        if ev.outcome == Outcome.WITHHOLD or (ev.outcome != Outcome.SHARE and changed):
            Decision.objects.create(partner_request=req, stage=Decision.Stage.TRANSMISSION, outcome=ev.outcome, ruleset=ruleset,
                                    reasons=ev.reasons, cis_answer=answer.as_evidence() if answer else None)
            why = "Protected status changed since the case opened: " + "; ".join(r["why"] for r in ev.reasons)
            audited_update(IctsCase, case.pk, blocked_reason=why[:2000])
            transition(case, CaseStatus.BLOCKED, reason=why)
            request_transition(req, RequestStatus.REFERRED, reason=why)
            requests_services.notify_role(Role.PRIVACY_OFFICER, f"Transmission of {case.case_number} was stopped: {why}"[:300],
                                          url=f"/privacy/referrals/{req.pk}/")
            return CaseStatus.BLOCKED
        Decision.objects.create(partner_request=req, stage=Decision.Stage.TRANSMISSION, outcome=ev.outcome, ruleset=ruleset,
                                reasons=ev.reasons, cis_answer=answer.as_evidence() if answer else None)
        package = ResponsePackage.objects.select_for_update().get(case=case)
        try:
            agreement = _check_against_agreement(case, package)
        except IctsError as exc:
            transition(case, CaseStatus.RETURNED, reason=exc.message)
            Notification.objects.create(user_id=case.assigned_analyst_id, kind=Notification.Kind.ACTION, url=f"/icts/cases/{case.pk}/",
                                        message=f"{case.case_number} was not transmitted: {exc.message}"[:300])
            return CaseStatus.RETURNED
        return _transmit(case, package, agreement)


def _transmit(case: IctsCase, package: ResponsePackage, agreement: Agreement) -> str:
    req = case.partner_request
    now = timezone.now()
    attachments = list(package.attachments.all())
    body = {
        "request_ref": req.request_ref,
        "outcome": "response",
        "package": {
            "reviewer": package.reviewer_contact(),
            "responded_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "person": package.person,
            "attachments": [
                icd.attachment(filename=a.filename, media_type=a.media_type, kind=a.kind, data=a.file.open("rb").read())
                for a in attachments
            ],
        },
    }
    size = len(icd.canonical_bytes(icd.envelope("request.reply", req.partner_id, body)))
    if size > icd.MAX_BODY_BYTES:
        why = f"The response is {size:,} bytes encoded; IDENT accepts at most {icd.MAX_BODY_BYTES:,}. Remove or reduce documents."
        transition(case, CaseStatus.RETURNED, reason=why)
        Notification.objects.create(user_id=case.assigned_analyst_id, kind=Notification.Kind.ACTION, url=f"/icts/cases/{case.pk}/",
                                    message=f"{case.case_number} was not transmitted: {why}"[:300])
        return CaseStatus.RETURNED
    row = outbox_enqueue(message_type="request.reply", partner=req.partner_id, body=body, ref=req.request_ref)
    # Privacy Act accounting (5 U.S.C. 552a(c)), in the same transaction as the message itself.
    DisclosureRecord.objects.create(
        person=req.person, partner_id=req.partner_id, agreement=agreement, disclosed_at=now,
        nature="Response to the partner's request for additional information (ICD request.reply)",
        data_elements=sorted(package.person),
        attachments=[{"filename": a.filename, "kind": a.kind, "media_type": a.media_type, "sha256": a.sha256} for a in attachments],
        purpose=f"Partner's request {req.request_ref}: {req.get_reason_display()}",
        recipient=f"{req.partner.name} ({req.requestor.get('organization') or req.requestor.get('name')}) through DHS IDENT",
        legal_authority=agreement.legal_authority or agreement.title,
        law_enforcement_request=req.reason in ("enforcement", "absconder"),
        package=package, outbox_message=row,
        retain_until=DisclosureRecord.retention_for(now.date(), req.person.retain_until),
    )
    audited_update(ResponsePackage, package.pk, outbox_message=row, transmitted_at=now)
    audited_update(PartnerRequest, req.pk, reply_message=row)
    transition(case, CaseStatus.TRANSMITTED, reason="stored and sent through IDENT")
    case_grants_transmitted(case)
    request_transition(req, RequestStatus.ANSWERED, reason=f"response {case.case_number} transmitted")
    return CaseStatus.TRANSMITTED


def package_record_delivery(*, outbox) -> None:
    """`delivery.ack` (or a final refusal) for a transmitted package: OBIM analysts see the delivery status."""
    package = ResponsePackage.objects.filter(outbox_message=outbox).select_related("case").first()
    if package is None or package.case.status != CaseStatus.TRANSMITTED:
        return
    delivered = outbox.delivery_status == outbox.Delivery.DELIVERED
    transition(package.case, CaseStatus.DELIVERED if delivered else CaseStatus.DELIVERY_FAILED,
               reason=outbox.delivery_detail or outbox.last_error or ("delivered" if delivered else "not delivered"))


def transmit_due(*, limit: int = 50) -> int:
    """Approved cases whose transmission task was lost or waits for CIS."""
    stale = timezone.now() - timedelta(seconds=settings.INBOUND_STALE_SECONDS)
    ids = list(IctsCase.objects.filter(status=CaseStatus.APPROVED, updated_at__lte=stale).values_list("pk", flat=True)[:limit])
    for pk in ids:
        package_transmit(pk)
    return len(ids)
