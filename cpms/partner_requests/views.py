"""A partner's request (as received and normalised, with its augmentations) and augmentation. Thin: parse, access
helper, one service or selector, render. The privacy officer's decisions and referrals are in cpms.privacy."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cpms.core.roles import Role, has_role

from .forms import AugmentForm, ReferralResolveForm
from .permissions import access_request_for_user, read_request_for_user
from .selectors import request_page
from .services import RequestError, augmentation_request


def render_request(request, req, *, form=None, refusal=None, status=200):
    """The request's page; a privacy officer's refused decision is shown on it too (cpms.privacy)."""
    context = request_page(req, user=request.user)
    if context["can_resolve"] and form is None:
        form = ReferralResolveForm()
    return render(request, "partner_requests/request_detail.html", {**context, "form": form, "refusal": refusal}, status=status)


@login_required
@require_GET
def partner_request(request, pk):
    return render_request(request, read_request_for_user(request, pk))


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
                    form.add_domain_error(exc)
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
