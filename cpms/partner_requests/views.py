"""Partner requests (as received and normalised, with every protected-status decision), the privacy officer's
decisions and referrals, and augmentation. Thin: parse, access helper, one service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cpms.cis.classes import ApplicationStatus, ProtectedClass
from cpms.core.roles import Role, has_role
from cpms.core.labels import ELEMENT_LABELS, REQUESTED_ITEM_LABELS

from .forms import AugmentForm, DecisionFilterForm, ReferralResolveForm
from .permissions import access_request_for_user
from .selectors import decisions_for, referral_queue, request_decisions
from .services import RequestError, augmentation_request, referral_resolve
from .workflow import request_can_augment, request_can_resolve

DECISIONS_PER_PAGE = 25
REFERRALS_PER_PAGE = 25


def _require_privacy_officer(user) -> None:
    """The privacy lists answer 404 to other roles, like the requests on them."""
    if not has_role(user, Role.PRIVACY_OFFICER):
        raise Http404("No such page.")


def _display(value) -> list[str]:
    """A subject or person element as lines of text: lists one item per line, objects as their values."""
    if isinstance(value, dict):
        return [", ".join(str(v) for v in value.values() if v not in (None, ""))]
    if isinstance(value, list):
        return [line for item in value for line in _display(item)]
    return [str(value)]


def subject_rows(data: dict, *, labels: dict | None = None) -> list[tuple[str, list[str]]]:
    """Rows for a table of a subject or a package's person. Without labels the keys are shown exactly as sent."""
    return [((labels or {}).get(key, key), _display(value)) for key, value in (data or {}).items()]


def _cis_classes(answer: dict | None) -> list[dict]:
    labels, statuses = dict(ProtectedClass.choices), dict(ApplicationStatus.choices)
    return [
        {"label": labels.get(c.get("protected_class"), c.get("protected_class")),
         "status": statuses.get(c.get("application_status"), c.get("application_status")),
         "appeals_exhausted": c.get("appeals_exhausted"), "consent_partners": c.get("consent_partners") or [],
         "feared_countries": c.get("feared_countries") or []}
        for c in (answer or {}).get("classes", [])
    ]


def augmentation_views(req) -> list[dict]:
    """Each augmentation with its requested items and the partner's answer as rows (one query for all)."""
    out = []
    for aug in req.augmentations.select_related("requested_by", "response").prefetch_related("response__attachments"):
        response = getattr(aug, "response", None)
        out.append({"aug": aug, "requested": [REQUESTED_ITEM_LABELS.get(i, i) for i in aug.requested_items],
                    "response": response, "rows": subject_rows(response.person, labels=ELEMENT_LABELS) if response else [],
                    "attachments": list(response.attachments.all()) if response else []})
    return out


def _render_request(request, req, *, form=None, refusal=None, status=200):
    is_privacy = has_role(request.user, Role.PRIVACY_OFFICER)
    can_resolve = is_privacy and request_can_resolve(req)
    return render(request, "partner_requests/request_detail.html", {
        "req": req, "icts_case": getattr(req, "icts_case", None),
        "received_rows": subject_rows(req.subject_as_received), "normalised_rows": subject_rows(req.subject, labels=ELEMENT_LABELS),
        "requested_labels": [REQUESTED_ITEM_LABELS.get(i, i) for i in req.requested_items],
        "decisions": [(d, _cis_classes(d.cis_answer)) for d in request_decisions(req)] if is_privacy else [],
        "augmentations": augmentation_views(req),
        "is_privacy": is_privacy, "can_resolve": can_resolve, "can_augment": request_can_augment(req),
        "form": form or (ReferralResolveForm() if can_resolve else None), "refusal": refusal,
    }, status=status)


@login_required
@require_GET
def partner_request(request, pk):
    return _render_request(request, access_request_for_user(request.user, pk))


@login_required
@require_GET
def privacy_referral(request, pk):
    """Notifications link here; the request page is where the referral is decided."""
    req = access_request_for_user(request.user, pk)
    return redirect("partner-request", pk=req.pk)


@login_required
@require_POST
def privacy_referral_resolve(request, pk):
    req = access_request_for_user(request.user, pk)
    form = ReferralResolveForm(request.POST)
    if form.is_valid():
        try:
            decision = referral_resolve(actor=request.user, req=req, **form.cleaned_data)
        except RequestError as exc:
            if exc.code == "floor" or not exc.field:
                return _render_request(request, req, form=form, refusal=exc.message)
            form.add_request_error(exc)
        else:
            if decision.outcome == "share":
                messages.success(request, f"Shared: an ICTS case is open for {req.partner_id} request {req.request_ref}.")
            else:
                messages.success(request, f"Withheld: {req.partner.name} is answered “no match” for {req.request_ref}.")
            return redirect("partner-request", pk=req.pk)
    return _render_request(request, req, form=form)


@login_required
@require_GET
def privacy_decisions(request):
    _require_privacy_officer(request.user)
    form = DecisionFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(decisions_for(request.user, **filters), DECISIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "privacy/decisions.html", {"form": form, "page": page, "query": query.urlencode(),
                                                      "filtered": any(filters.values())})


@login_required
@require_GET
def privacy_referrals(request):
    _require_privacy_officer(request.user)
    page = Paginator(referral_queue(request.user), REFERRALS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "privacy/referrals.html", {"page": page, "query": ""})


@login_required
@require_http_methods(["GET", "POST"])
def partner_request_augment(request, pk):
    req = access_request_for_user(request.user, pk)
    refusal = None
    if request.method == "GET":
        form = AugmentForm()
    else:
        form = AugmentForm(request.POST)
        if form.is_valid():
            try:
                augmentation_request(actor=request.user, req=req, **form.cleaned_data)
            except RequestError as exc:
                if exc.field:
                    form.add_request_error(exc)
                else:
                    refusal = exc.message
            else:
                messages.success(request, f"Augmentation request sent to {req.partner.name} through IDENT.")
                icts_case = getattr(req, "icts_case", None)
                if icts_case is not None and has_role(request.user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
                    return redirect("icts-case", pk=icts_case.pk)
                return redirect("partner-request", pk=req.pk)
    return render(request, "partner_requests/augment.html", {"req": req, "form": form, "refusal": refusal,
                                                             "icts_case": getattr(req, "icts_case", None)})
