"""The only code that writes ICTS cases and response packages."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cpms.audit.services import audited_update
from cpms.core.errors import DomainError
from cpms.core.models import Agreement, Notification
from cpms.core.notifications import notify
from cpms.core.roles import Role, has_role
from cpms.disclosure import services as disclosure
from cpms.disclosure.services import Decision, Outcome
from cpms.partner_requests import services as requests_services
from cpms.core.files import store_content_addressed
from cpms.core.labels import ELEMENT_LABELS, KIND_LABELS, label
from ident_bridge import filecheck, icd
from ident_bridge.outbox import OutboundMessageTooLarge, outbox_enqueue
from ident_bridge.publish import on_commit_publish

from .models import PRIORITY_RANK, IctsCase, PackageAttachment, ResponsePackage, Review
from .permissions import case_grants_assign, case_grants_open, case_grants_transmitted
from .workflow import REASSIGNABLE, CaseStatus, case_edit_refusal, transition
from .workflow import WORKFLOW as CASE_WORKFLOW

log = logging.getLogger(__name__)


class IctsError(DomainError):
    pass


def _about(case: IctsCase) -> str:
    """What every notification about a case names first: the case, the partner's request and the person."""
    req = case.partner_request
    person = str(req.person) if req.person_id else f"FIN {req.fin}"
    return f"ICTS case {case.case_number} ({req.partner.name} request {req.request_ref}, {person})"


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


# --- opening and assignment --------------------------------------------------------------------------------


def case_open(*, partner_request) -> IctsCase:
    """A request that may be shared becomes a case in the analysts' queue, due by its priority."""
    days = settings.ICTS_DUE_DAYS.get(partner_request.priority, 5.0)
    case = IctsCase.objects.create(
        partner_request=partner_request,
        case_number=f"ICTS-{timezone.now():%Y}-{secrets.token_hex(4).upper()}",
        priority=partner_request.priority,
        priority_rank=PRIORITY_RANK[partner_request.priority],
        due_at=partner_request.received_at + timedelta(days=days),
        received_at=partner_request.received_at,
    )
    CASE_WORKFLOW.start(case, reason=f"opened for {partner_request.partner_id} request {partner_request.request_ref}")
    case_grants_open(case)
    notify(Role.ICTS_ANALYST, f"{_about(case)}: a new {partner_request.priority}-priority request to answer, due "
                             f"{case.due_at:%-d %b %Y %H:%M} UTC.", to=("icts-case", case.pk))
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
        if locked.status not in REASSIGNABLE:
            raise IctsError(f"A case that is '{CaseStatus(locked.status).label}' cannot be reassigned.", code="wrong_state")
        previous = locked.assigned_analyst
        if previous == analyst:
            raise IctsError("This case is already assigned to you." if actor == analyst else
                            f"This case is already assigned to {analyst.get_full_name() or analyst.get_username()}.",
                            code="wrong_state")
        if actor == analyst and previous is not None:  # taking is for unassigned cases; a reviewer reassigns
            raise IctsError(f"{previous.get_full_name() or previous.get_username()} took this case first; a reviewer can "
                            "reassign it.", code="wrong_state")
        locked.assigned_analyst = analyst
        locked.save(update_fields=["assigned_analyst", "updated_at"])
        case_grants_assign(locked, analyst=analyst, previous=previous)
        if locked.status == CaseStatus.OPEN:
            transition(locked, CaseStatus.PREPARING, actor=actor, reason=f"assigned to {analyst.get_full_name() or analyst.get_username()}")
        if analyst != actor:
            notify([analyst], f"{_about(locked)}: assigned to you by {_name(actor)}.", to=("icts-case", locked.pk))
        if previous and previous != analyst:
            notify([previous], f"{_about(locked)}: reassigned to {_name(analyst)} by {_name(actor)}.", to=("icts-case", locked.pk))
    return locked


def cases_assign(*, actor, case_ids: list[int], analyst) -> list[IctsCase]:
    """A reviewer gives several cases to one analyst: all of them or none (the first refusal rolls back the rest
    and names its case). A case already with that analyst is left as it is. The cases are locked in id order, so
    two reviewers assigning overlapping pages cannot deadlock."""
    from .permissions import cases_visible_to

    if not has_role(actor, Role.ICTS_REVIEWER):
        raise IctsError("Only a reviewer can assign cases to someone else.", code="forbidden")
    cases = list(cases_visible_to(actor).filter(pk__in=case_ids).select_related("assigned_analyst").order_by("pk"))
    if len(cases) != len(set(case_ids)):
        raise IctsError("One of the ticked cases cannot be found any more: reload the queue and tick them again.",
                        code="not_found")
    assigned = []
    with transaction.atomic():
        for case in cases:
            if case.assigned_analyst_id == analyst.pk:
                continue
            try:
                assigned.append(case_assign(actor=actor, case=case, analyst=analyst))
            except IctsError as exc:
                raise IctsError(f"Case {case.case_number}: {exc.message} Nothing was assigned; untick it and try again.",
                                code=exc.code, field=exc.field) from exc
    return assigned


# --- the package -------------------------------------------------------------------------------------------

def _require_preparer(actor, case: IctsCase) -> None:
    refusal = case_edit_refusal(case, actor)
    if refusal:
        code, message = refusal
        raise IctsError(message, code=code)


def package_save(*, actor, case: IctsCase, reviewer_name: str, reviewer_email: str = "", reviewer_phone: str = "",
                 reviewer_organization: str = "USCIS", person: dict) -> ResponsePackage:
    """Save the response on the uniform template (a draft until submitted)."""
    _require_preparer(actor, case)
    if not (reviewer_name or "").strip():
        raise IctsError("Give the reviewer's name: the partner sees it on the response.", field="reviewer_name")
    person = {k: v for k, v in person.items() if v not in (None, "", [], {})}
    errors = icd.person_errors(person)
    if errors:
        raise IctsError("Some data elements are not in the ICD's form: " + "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
                        field="person", fields=[e.pointer.strip("/").split("/")[0] for e in errors])
    package, _ = ResponsePackage.objects.update_or_create(case=case, defaults={
        "reviewer_name": reviewer_name.strip(), "reviewer_email": reviewer_email.strip(), "reviewer_phone": reviewer_phone.strip(),
        "reviewer_organization": reviewer_organization.strip() or "USCIS", "person": person, "prepared_by": actor,
    })
    return package


def attachment_too_big(size: int) -> IctsError | None:
    """The upload limit (ICD §7: 10 MiB decoded per attachment), the one place it is written: the form and the API ask
    before reading the bytes, the service checks the bytes it gets."""
    limit = settings.ICTS_UPLOAD_MAX_BYTES
    if size <= limit:
        return None
    return IctsError(f"The file is {size:,} bytes; the limit is {limit:,} bytes (ICD §7). Scan it at a lower resolution or "
                     "split it.", field="file")


_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def package_add_attachment(*, actor, case: IctsCase, filename: str, data: bytes, kind: str,
                           declared_type: str = "") -> PackageAttachment:
    """A scanned document: its type is what its content is, not what the name or the browser claims; a PDF with
    active content is refused, an image is re-encoded (ident_bridge.filecheck) and stored as re-encoded."""
    _require_preparer(actor, case)
    package = getattr(case, "package", None)
    if package is None:
        raise IctsError("Save the response form before adding documents.", code="wrong_state")
    if kind not in icd.ATTACHMENT_KINDS:
        raise IctsError("Choose what kind of document this is.", field="kind")
    if len(data) == 0:
        raise IctsError("The file is empty.", field="file")
    too_big = attachment_too_big(len(data))
    if too_big:
        raise too_big
    try:
        checked = filecheck.inspect(data, filename=filename, declared_type=declared_type, reencode=True)
    except filecheck.UnsafeFile as exc:
        raise IctsError(str(exc), field="file") from None
    media_type, data = checked.media_type, checked.data
    if package.attachments.count() >= icd.MAX_ATTACHMENTS:
        raise IctsError(f"A response carries at most {icd.MAX_ATTACHMENTS} documents.", field="file")
    digest = hashlib.sha256(data).hexdigest()
    clean = _SAFE_NAME.sub("_", (filename or "document").replace("/", "_").replace("\\", "_"))[:200].strip() or "document"
    with transaction.atomic():
        locked = IctsCase.objects.select_for_update().get(pk=case.pk)  # two uploads at once: one check at a time
        _require_preparer(actor, locked)
        if package.attachments.count() >= icd.MAX_ATTACHMENTS:
            raise IctsError(f"A response carries at most {icd.MAX_ATTACHMENTS} documents.", field="file")
        if package.attachments.filter(sha256=digest).exists():
            raise IctsError("This exact file is already attached.", field="file")
        att = PackageAttachment(package=package, filename=clean, media_type=media_type, kind=kind, sha256=digest,
                                size=len(data), uploaded_by=actor)
        att.file.name = store_content_addressed(att.file.field.generate_filename(att, digest), data)
        att.save()
    return att


def package_remove_attachment(*, actor, case: IctsCase, attachment_id: int) -> None:
    with transaction.atomic():
        locked = IctsCase.objects.select_for_update().get(pk=case.pk)
        _require_preparer(actor, locked)
        attachment = PackageAttachment.objects.filter(pk=attachment_id, package__case=locked).first()
        if attachment is None:
            raise IctsError("That document is no longer attached (it was removed already).", code="wrong_state")
        attachment.delete()


# Sent already: what IDENT received is on record as it was (OBIM's copy); nothing of it is rewritten.
_SENT = (CaseStatus.TRANSMITTED, CaseStatus.DELIVERED, CaseStatus.DELIVERY_FAILED, CaseStatus.CLOSED)


def package_attachments_redraw() -> list[str]:
    """Images uploaded before uploads were drawn again from their pixels alone (issue 16) are drawn again now, for
    every package not yet sent, so none leaves with what its file hid. Returns what was done, a line each; an image
    that carries nothing but its pixels already is left alone (idempotent: a JPEG is not recompressed again)."""
    done = []
    pending = (PackageAttachment.objects.filter(media_type__startswith="image/").exclude(package__case__status__in=_SENT)
               .order_by("pk").values_list("package__case_id", "pk"))
    for case_id, pk in pending.iterator(chunk_size=500):
        with transaction.atomic():
            case = IctsCase.objects.select_for_update().get(pk=case_id)  # not while it is being transmitted
            att = PackageAttachment.objects.filter(pk=pk).exclude(package__case__status__in=_SENT).first()
            if att is None:
                continue
            stored = att.file.open("rb").read()
            try:
                data = filecheck.redrawn(stored, att.media_type)
            except filecheck.UnsafeFile as exc:
                done.append(f"{case.case_number} {att.filename}: not redrawn ({exc}); the analyst must remove it")
                continue
            if data is None:
                continue
            digest = icd.sha256_hex(data)
            if PackageAttachment.objects.filter(package_id=att.package_id, sha256=digest).exists():
                # Its pixels are already in the package (another upload of the same picture): the copy goes.
                att.delete()
                done.append(f"{case.case_number} {att.filename}: removed, the same picture as another document of the package")
                continue
            att.sha256, att.size = digest, len(data)
            att.file.name = store_content_addressed(att.file.field.generate_filename(att, digest), data)
            att.save(update_fields=["sha256", "size", "file"])
            done.append(f"{case.case_number} {att.filename}: redrawn ({len(stored)} bytes, now {len(data)})")
    return done


def exceeds_agreement(package: ResponsePackage, agreement: Agreement | None) -> list[str]:
    """What the package carries that the partner's agreement does not authorise, as codes: data elements as they are
    named in the ICD, attachment kinds as `attachments/<kind>` (never trimmed: the analyst removes them)."""
    if agreement is None:
        return []
    over = [k for k in package.person if k not in set(agreement.authorised_data_elements)]
    kinds = sorted({a.kind for a in package.attachments.all()} - set(agreement.authorised_attachment_kinds))
    return over + [f"attachments/{k}" for k in kinds]


def _check_against_agreement(case: IctsCase, package: ResponsePackage) -> Agreement:
    req = case.partner_request
    agreement = disclosure.active_request_agreement(req.partner_id)
    if agreement is None:
        raise IctsError(f"No agreement in force lets USCIS answer {req.partner.name}'s requests; the response cannot be sent.",
                        code="no_agreement")
    over = exceeds_agreement(package, agreement)
    if over:
        elements = [label(ELEMENT_LABELS, k) for k in over if not k.startswith("attachments/")]
        kinds = [label(KIND_LABELS, k.split("/", 1)[1]) for k in over if k.startswith("attachments/")]
        parts = ([f"the data elements {', '.join(elements)}"] if elements else []) + \
                ([f"documents of the kind {', '.join(kinds)}"] if kinds else [])
        raise IctsError(
            f"The agreement with {req.partner.name} does not authorise {' and '.join(parts)}. "
            "Remove them from the response; nothing is removed for you.",
            field="person", code="exceeds_agreement", fields=over,
        )
    return agreement


def package_submit(*, actor, case: IctsCase) -> IctsCase:
    with transaction.atomic():
        locked = IctsCase.objects.select_for_update().get(pk=case.pk)
        _require_preparer(actor, locked)  # the state as it is now, not as the page saw it
        package = getattr(locked, "package", None)
        if package is None or not package.person:
            raise IctsError("Fill in the response before submitting it for review.", code="wrong_state")
        _check_against_agreement(locked, package)
        audited_update(ResponsePackage, package.pk, submitted_at=timezone.now(), touch=False)
        transition(locked, CaseStatus.IN_REVIEW, actor=actor, reason="submitted for review")
        notify(Role.ICTS_REVIEWER, f"{_about(locked)}: the response is ready for review (submitted by {_name(actor)}).",
               to=("icts-case", locked.pk))
    case.status = locked.status
    return case


def package_review(*, actor, case: IctsCase, verdict: str, comments: str = "") -> Review:
    """A reviewer approves (then CPMS transmits) or returns with comments. Nobody reviews their own work.
    One verdict per submission: a second click, or a second reviewer at the same moment, is refused (wrong_state)."""
    if not has_role(actor, Role.ICTS_REVIEWER):
        raise IctsError("Only ICTS reviewers can approve or return a response.", code="forbidden")
    comments = (comments or "").strip()
    if verdict not in Review.Verdict.values:
        raise IctsError("Choose approve or return.", field="verdict")
    if verdict == Review.Verdict.RETURNED and not comments:
        raise IctsError("Say what the analyst should change.", field="comments")
    with transaction.atomic():
        locked = IctsCase.objects.select_for_update().get(pk=case.pk)
        if locked.status != CaseStatus.IN_REVIEW:
            raise IctsError(f"This response is no longer waiting for review: the case is '{CaseStatus(locked.status).label}' "
                            "(another reviewer, or an earlier click, decided it). Nothing was changed.", code="wrong_state")
        package = ResponsePackage.objects.select_for_update().get(case=locked)
        if package.prepared_by_id == actor.pk:
            raise IctsError("You prepared this response; another reviewer must review it.", code="forbidden")
        if verdict == Review.Verdict.APPROVED:
            _check_against_agreement(locked, package)
            transition(locked, CaseStatus.APPROVED, actor=actor, reason="approved")
            audited_update(ResponsePackage, package.pk, approved_by=actor, approved_at=timezone.now(), touch=False)
            from .tasks import package_transmit_task

            on_commit_publish(package_transmit_task.delay, locked.pk)
        else:
            transition(locked, CaseStatus.RETURNED, actor=actor, reason="returned with comments")
            notify([locked.assigned_analyst_id], f"{_about(locked)}: the response was returned by {_name(actor)}: {comments}",
                   to=("icts-case", locked.pk))
        review = Review.objects.create(package=package, reviewer=actor, verdict=verdict, comments=comments)
    case.status = locked.status
    return review


# --- after a privacy officer's decision on a stopped transmission -----------------------------------------


def case_resume_after_referral(*, actor, partner_request) -> IctsCase:
    """A privacy officer shared a request whose transmission was stopped: the case is approved again and transmitted
    after a fresh protected-status check (package_transmit). The same case, never a second one."""
    case = IctsCase.objects.select_for_update().get(partner_request=partner_request)
    if case.status != CaseStatus.BLOCKED:
        raise IctsError(f"ICTS case {case.case_number} is '{CaseStatus(case.status).label}', not stopped.", code="wrong_state")
    transition(case, CaseStatus.APPROVED, actor=actor, reason="privacy officer cleared the transmission")
    audited_update(IctsCase, case.pk, blocked_reason="")
    from .tasks import package_transmit_task

    on_commit_publish(package_transmit_task.delay, case.pk)
    return case


def case_close_withheld(*, actor, partner_request, reason: str) -> IctsCase | None:
    """A privacy officer withheld a request whose transmission was stopped: the case closes with the reason (the
    partner is answered "no match" by the partner-request workflow)."""
    case = IctsCase.objects.select_for_update().filter(partner_request=partner_request).first()
    if case is None:
        return None
    if case.status != CaseStatus.BLOCKED:
        raise IctsError(f"ICTS case {case.case_number} is '{CaseStatus(case.status).label}', not stopped.", code="wrong_state")
    transition(case, CaseStatus.CLOSED, actor=actor, reason=f"withheld by a privacy officer: {reason}")
    if case.assigned_analyst_id:
        notify([case.assigned_analyst_id], f"{_about(case)}: closed, a privacy officer withheld the response; the partner "
                                           "is answered “no match”.", to=("icts-case", case.pk))
    return case


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
    answer = disclosure.lookup_cis(req.person)
    ev, ruleset = disclosure.reply_decision(person=req.person, fin=req.fin, partner_code=req.partner_id, answer=answer)
    opened_by = disclosure.latest_share_decision(req)
    with transaction.atomic():
        case = IctsCase.objects.select_for_update(of=("self",)).select_related("partner_request__person").get(pk=case_id)
        if case.status != CaseStatus.APPROVED:
            return case.status
        req = case.partner_request
        if ev.outcome == Outcome.NO_DECISION and answer is None:  # PCQS does not answer: the sweep tries again
            return "waiting for CIS"
        # CIS's answer being unchanged since the share decision covers an incomplete one that a privacy officer shared
        # knowingly.
        changed = disclosure.cis_answer_changed(answer, opened_by)
        disclosure.decision_record(partner_request=req, stage=Decision.Stage.TRANSMISSION, evaluation=ev, ruleset=ruleset,
                                   answer=answer)
        if ev.outcome == Outcome.WITHHOLD or (ev.outcome != Outcome.SHARE and changed):
            why = "Protected status changed since the case opened. " + " ".join(
                r["why"] if r["why"].endswith(".") else f"{r['why']}." for r in ev.reasons)
            audited_update(IctsCase, case.pk, blocked_reason=why[:2000])
            transition(case, CaseStatus.BLOCKED, reason=why)
            requests_services.request_record_blocked(req, why=why, case_number=case.case_number)
            return CaseStatus.BLOCKED
        package = ResponsePackage.objects.select_for_update().get(case=case)
        try:
            agreement = _check_against_agreement(case, package)
        except IctsError as exc:
            transition(case, CaseStatus.RETURNED, reason=exc.message)
            notify([case.assigned_analyst_id], f"{_about(case)}: not transmitted, returned to you: {exc.message}",
                   to=("icts-case", case.pk))
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
    try:
        row = outbox_enqueue(message_type="request.reply", partner=req.partner_id, body=body, ref=req.request_ref)
    except OutboundMessageTooLarge as exc:  # nothing was written: the analyst reduces the documents
        why = f"The response is {exc.size:,} bytes encoded; IDENT accepts at most {exc.limit:,}. Remove or reduce documents."
        transition(case, CaseStatus.RETURNED, reason=why)
        notify([case.assigned_analyst_id], f"{_about(case)}: not transmitted, returned to you: {why}", to=("icts-case", case.pk))
        return CaseStatus.RETURNED
    # Privacy Act accounting (5 U.S.C. 552a(c)), in the same transaction as the message itself.
    disclosure.disclosure_record(
        person=req.person, partner=req.partner, agreement=agreement, outbox_message=row, disclosed_at=now,
        nature="Response to the partner's request for additional information",
        data_elements=list(package.person),
        attachments=[{"filename": a.filename, "kind": a.kind, "media_type": a.media_type, "sha256": a.sha256} for a in attachments],
        purpose=f"Partner's request {req.request_ref}: {req.get_reason_display()}",
        recipient=f"{req.partner.name} ({req.requestor.get('organization') or req.requestor.get('name')}) through DHS IDENT",
        law_enforcement_request=req.reason in ("enforcement", "absconder"), package=package, reference=req.request_ref,
        disclosed_by=package.approved_by,
    )
    audited_update(ResponsePackage, package.pk, outbox_message=row, transmitted_at=now, touch=False)
    transition(case, CaseStatus.TRANSMITTED, reason="stored and sent through IDENT")
    case_grants_transmitted(case)
    requests_services.request_record_transmitted(req, case_number=case.case_number, reply_message=row)
    return CaseStatus.TRANSMITTED


def package_record_delivery(*, outbox) -> None:
    """`delivery.ack` (or a final refusal) for a transmitted package: OBIM analysts see the delivery status; when it
    did not arrive, the analyst and the reviewer who approved it are told."""
    package = ResponsePackage.objects.filter(outbox_message=outbox).select_related("case").first()
    if package is None:
        return
    case = IctsCase.objects.select_for_update().get(pk=package.case_id)
    delivered = outbox.delivery_status == outbox.Delivery.DELIVERED
    if case.status != CaseStatus.TRANSMITTED and not (delivered and case.status == CaseStatus.DELIVERY_FAILED):
        return
    transition(case, CaseStatus.DELIVERED if delivered else CaseStatus.DELIVERY_FAILED,
               reason=outbox.delivery_detail or outbox.last_error or ("delivered" if delivered else "not delivered"))
    if not delivered:
        notify([case.assigned_analyst_id, package.approved_by_id],
               f"{_about(case)}: the response did not reach {case.partner_request.partner.name}: "
               f"{outbox.delivery_detail or outbox.last_error or 'not delivered'}", kind=Notification.Kind.FAILED,
               to=("icts-case", case.pk))


def transmit_due(*, limit: int = 50) -> int:
    """Approved cases whose transmission task was lost or waits for CIS."""
    stale = timezone.now() - timedelta(seconds=settings.INBOUND_STALE_SECONDS)
    ids = list(IctsCase.objects.filter(status=CaseStatus.APPROVED, updated_at__lte=stale).values_list("pk", flat=True)[:limit])
    for pk in ids:
        package_transmit(pk)
    return len(ids)
