"""Read side of partner requests: the privacy officer's lists, and the read models of a request that its page, the
ICTS case page and the privacy console show (built here, not in views)."""

from cpms.core.labels import ELEMENT_LABELS, REQUESTED_ITEM_LABELS, country_label
from cpms.cis.classes import immigration_status_words
from cpms.core.models import Gender
from cpms.core.roles import Role, has_role
from cpms.disclosure.selectors import decision_rows

from .normalise import accuracy_check
from .permissions import requests_visible_to
from .workflow import RequestStatus, request_can_augment, request_can_resolve

__all__ = ["request_can_augment", "request_can_resolve"]  # the predicates, for icts (which reads through selectors)


def referral_queue(user):
    return requests_visible_to(user).filter(status=RequestStatus.REFERRED).select_related("partner", "person").order_by("received_at")


def request_decisions(req):
    return req.decisions.select_related("ruleset", "decided_by").order_by("decided_at", "id")


def _display(value) -> list[str]:
    """A subject or person element as lines of text: lists one item per line, objects as their values."""
    if isinstance(value, dict):
        return [", ".join(str(v) for v in value.values() if v not in (None, ""))]
    if isinstance(value, list):
        return [line for item in value for line in _display(item)]
    return [str(value)]


def element_lines(element: str, value) -> list[str]:
    """One ICD data element's value as people read it: countries by name with their code, gender in words."""
    if element == "country_of_birth" and isinstance(value, str):
        return [country_label(value)]
    if element == "countries_of_citizenship" and isinstance(value, list):
        return [country_label(c) for c in value if isinstance(c, str)]
    if element == "gender" and isinstance(value, str):
        return [dict(Gender.choices).get(value, value)]
    if element == "immigration_status" and isinstance(value, dict) and value.get("status"):
        return [str(value["status"]) + (f" (as of {value['as_of']})" if value.get("as_of") else "")]
    return _display(value)


def subject_rows(data: dict, *, labels: dict | None = None) -> list[tuple[str, list[str]]]:
    """Rows for a table of a subject or a package's person. Without labels the keys and values are shown exactly as
    sent (the partner's own template); with them, the elements and their values are in words."""
    if labels is None:
        return [(key, _display(value)) for key, value in (data or {}).items()]
    return [(labels.get(key, key), element_lines(key, value)) for key, value in (data or {}).items()]


def requested_item_labels(req) -> list[str]:
    return [REQUESTED_ITEM_LABELS.get(i, i) for i in req.requested_items]


def may_read_augmentation_answers(user) -> bool:
    """A partner's answer to an augmentation is partner data: the ICTS staff working the request (who reach it through
    their case grant) read it; a privacy officer sees that it exists, not what it says."""
    return has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER)


def augmentation_rows(req, *, content: bool) -> list[dict]:
    """Each augmentation with its requested items and, when `content`, the partner's answer as rows (one query)."""
    out = []
    for aug in req.augmentations.select_related("requested_by", "response").prefetch_related("response__attachments"):
        response = getattr(aug, "response", None)
        shown = response if content else None
        out.append({"aug": aug, "requested": [REQUESTED_ITEM_LABELS.get(i, i) for i in aug.requested_items],
                    "answered": response is not None, "response": shown,
                    "rows": subject_rows(shown.person, labels=ELEMENT_LABELS) if shown else [],
                    "attachments": list(shown.attachments.all()) if shown else []})
    return out


def cis_immigration_status(req) -> dict | None:
    """The person's immigration status as CIS gave it with the latest decision on this request (the answer kept as
    evidence: a page does not ask PCQS again), dated that day; None when CIS gave nothing to say. The transmission
    asks CIS afresh before anything leaves."""
    decision = req.decisions.filter(cis_answer__isnull=False).order_by("-decided_at", "-id").first()
    status = immigration_status_words(decision.cis_answer) if decision else ""
    return {"status": status, "as_of": decision.decided_at.date().isoformat()} if status else None


def request_accuracy(req) -> list:
    """Where the partner's (normalised) data and the USCIS record disagree; nothing to compare without a match."""
    return accuracy_check(req.subject, req.person) if req.person else []


def accuracy_rows(req) -> list[dict]:
    """The accuracy check as a page shows it: the element and both values in words (countries by name)."""
    return [{"label": ELEMENT_LABELS.get(d.element, d.element.replace("_", " ").capitalize()),
             "partner": ", ".join(element_lines(d.element, d.partner)), "uscis": ", ".join(element_lines(d.element, d.uscis)),
             "note": d.note} for d in request_accuracy(req)]


def request_page(req, *, user) -> dict:
    """What a request's page shows: as received and normalised, the requested items, the augmentations and, for a
    privacy officer, every decision with CIS's answer."""
    is_privacy = has_role(user, Role.PRIVACY_OFFICER)
    return {
        "req": req, "icts_case": getattr(req, "icts_case", None),
        "received_rows": subject_rows(req.subject_as_received), "normalised_rows": subject_rows(req.subject, labels=ELEMENT_LABELS),
        "requested_labels": requested_item_labels(req),
        "decisions": decision_rows(req.decisions) if is_privacy else [],
        "augmentations": augmentation_rows(req, content=may_read_augmentation_answers(user)),
        "is_privacy": is_privacy, "can_resolve": is_privacy and request_can_resolve(req), "can_augment": request_can_augment(req),
    }
