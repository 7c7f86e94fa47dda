"""The officer's query pages. Thin: parse, access helper, one service or selector, render."""

from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from urllib.parse import urlencode

from cpms.core.files import file_response
from cpms.core.permissions import access_case_for_user, page_number
from cpms.core.roles import Role, has_role

from .forms import CaseListForm, QueryNewForm, ReferralForm, ReferralRevokeForm, Round3Form
from .pdf import render_query_pdf
from cpms.audit.models import AccessLogEntry
from cpms.audit.services import read_recorded

from .permissions import (access_query_for_action, access_query_for_user, access_referral_for_user, queries_actionable_by,
                          read_attachment_for_user, read_query_for_user)
from cpms.core.models import Partner

from .selectors import CASE_SHOWS, my_cases_page, partner_options_for, queries_for_case, referrals_for_analyst
from .services import (QueryError, query_close, query_request_round3, query_submit, referral_create,
                       referral_revoke, round3_refusal)
from .ui_selectors import query_view
from .workflow import QueryStatus


CASES_PER_PAGE = 25


@login_required
@require_GET
def my_cases_view(request):
    """An officer's cases; a supervisor's team's cases, with the officers each is assigned to."""
    form = CaseListForm(request.GET)
    search, show = form.values()
    page = my_cases_page(request.user, search=search, show=show, number=page_number(request.GET.get("page")),
                         per_page=CASES_PER_PAGE)
    params = {k: v for k, v in (("q", search), ("show", show)) if v}
    return render(request, "core/my_cases.html", {
        "form": form, "search": search, "show": show, "show_label": CASE_SHOWS.get(show, ("",))[0], "page": page,
        "query": urlencode(params), "team": has_role(request.user, Role.SUPERVISOR),
    })


@login_required
@require_GET
def case_detail(request, pk):
    case = access_case_for_user(request.user, pk)
    return render(request, "core/case_detail.html", {"case": case, "queries": queries_for_case(request.user, case),
                                                     "partner_options": partner_options_for(case.person)})


@login_required
@require_http_methods(["GET", "POST"])
def query_new(request, pk):
    case = access_case_for_user(request.user, pk)
    options = partner_options_for(case.person)
    # Offered: those the rules allow, and those where the query would wait for CIS or a privacy officer.
    partners = Partner.objects.filter(code__in=[o.partner.code for o in options if o.may_query or o.will_wait]).order_by("name")
    if request.method == "GET":
        form = QueryNewForm(partners=partners, initial={"submission_key": uuid4().hex})
    else:
        form = QueryNewForm(request.POST, partners=partners)
        if form.is_valid():
            data = form.cleaned_data
            try:
                query = query_submit(
                    actor=request.user, case=case, partner_code=data["partner"].code, reason=data["reason"],
                    priority=data["priority"], encounter_id=data["encounter_id"], submission_key=data["submission_key"],
                )
            except QueryError as exc:
                form.add_query_error(exc)
            else:
                if query.status == QueryStatus.SUBMITTED:
                    messages.success(request, f"Query sent to {query.partner.name} through IDENT.")
                else:
                    messages.warning(request, f"Query {query.query_ref} is held: {query.get_status_display().split(': ', 1)[-1]}. "
                                              "Nothing has been sent to the partner yet; you will be told whether it is sent or withheld.")
                return redirect("query-detail", pk=query.pk)
    return render(request, "queries/query_new.html", {"case": case, "form": form, "has_partners": partners.exists(),
                                                      "partner_options": options})


@login_required
@require_GET
def query_detail(request, pk):
    query = read_query_for_user(request, pk)
    return render(request, "queries/query_detail.html", {"view": query_view(query, can_act=_can_act(request.user, query))})


def _can_act(user, query) -> bool:
    return queries_actionable_by(user).filter(pk=query.pk).exists()


@login_required
@require_GET
def query_timeline_partial(request, pk):
    """Polled by htmx while the partner has not answered. 204 (htmx swaps nothing) while nothing changed."""
    query = access_query_for_user(request.user, pk)
    view = query_view(query, can_act=_can_act(request.user, query))
    if request.GET.get("v") == view.version:
        return HttpResponse(status=204)  # nothing new shown: no read to record
    read_recorded(request, query, person_id=query.person_id, context={"partial": "timeline"})
    return render(request, "queries/_live.html", {"view": view, "partial": True})


@login_required
@require_http_methods(["GET", "POST"])
def query_round3(request, pk):
    """A form that cannot succeed is not offered: after the third round, or while a round is awaited, the page says
    why instead (a POST then changes nothing)."""
    query = access_query_for_action(request.user, pk)
    refusal = None
    unavailable = round3_refusal(query)
    if unavailable is not None:
        refusal = f"{unavailable.message} Nothing was sent." if request.method == "POST" else None
        return render(request, "queries/query_round3.html", {"query": query, "form": None, "refusal": refusal,
                                                             "unavailable": unavailable.message})
    if request.method == "GET":
        form = Round3Form()
    else:
        form = Round3Form(request.POST)
        if form.is_valid():
            try:
                query_request_round3(actor=request.user, query=query, **form.cleaned_data)
            except QueryError as exc:
                if exc.field:
                    form.add_query_error(exc)
                else:
                    refusal = exc.message
                    if exc.code in ("round_limit", "wrong_state"):  # another click got there first: no form to offer
                        form = None
            else:
                messages.success(request, f"Round 3 sent to {query.partner.name} through IDENT.")
                return redirect("query-detail", pk=query.pk)
    return render(request, "queries/query_round3.html", {"query": query, "form": form, "refusal": refusal})


@login_required
@require_http_methods(["GET", "POST"])
def query_close_view(request, pk):
    """Closing is final: the page asks for confirmation and the reason, which the query's history keeps."""
    query = access_query_for_action(request.user, pk)
    error = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        if not reason:
            error = "Say why you close the query: the reason is kept in its history."
        elif len(reason) > 250:
            error = "Shorten the reason to 250 characters or fewer."
        else:
            try:
                query_close(actor=request.user, query=query, reason=f"The officer closed the query: {reason}")
            except QueryError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Query {query.query_ref} is closed.")
            return redirect("query-detail", pk=query.pk)
    return render(request, "queries/query_close.html", {"query": query, "error": error,
                                                        "reason": request.POST.get("reason", "")}, status=400 if error else 200)


@login_required
@require_GET
def query_attachment(request, pk, att):
    attachment = read_attachment_for_user(request, pk, att)
    # A partner's image is CPMS's re-encoded copy (the original is evidence in the raw inbound message), but rows stored
    # before re-encoding hold the bytes as received: always a download; an <img> on the query page still shows a photo.
    return file_response(attachment.file, media_type=attachment.media_type, filename=attachment.filename)


@login_required
@require_GET
def query_print(request, pk):
    query = read_query_for_user(request, pk, action=AccessLogEntry.Action.PRINT)
    response = HttpResponse(render_query_pdf(query_view(query), printed_by=request.user), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{query.query_ref}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def query_refer(request, pk):
    """Refer a query's results to an FDNS fraud analyst, with a reason, for a limited time."""
    query = access_query_for_action(request.user, pk)
    form = ReferralForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            referral = referral_create(actor=request.user, query=query, **form.cleaned_data)
        except QueryError as exc:
            form.add_query_error(exc)
        else:
            messages.success(request, f"Referred to {referral.analyst.get_full_name() or referral.analyst.get_username()} "
                                      f"until {referral.expires_at:%-d %b %Y}.")
            return redirect("query-detail", pk=query.pk)
    return render(request, "queries/query_refer.html", {"query": query, "form": form})


@login_required
@require_POST
def referral_revoke_view(request, pk):
    referral = access_referral_for_user(request.user, pk)
    form = ReferralRevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        referral_revoke(actor=request.user, referral=referral, reason=reason)
    except QueryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The referral to {referral.analyst.get_full_name() or referral.analyst.get_username()} is revoked.")
    return redirect("query-detail", pk=referral.query_id)


@login_required
@require_GET
def fdns_referrals(request):
    """An FDNS analyst's active referrals (the only queries they can open)."""
    if not has_role(request.user, Role.FDNS_ANALYST):
        raise Http404("No such page.")
    page = Paginator(referrals_for_analyst(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "queries/fdns_referrals.html", {"page": page})
