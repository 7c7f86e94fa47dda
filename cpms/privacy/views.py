"""The privacy officer's console: accounting of disclosures, access log, audit-chain status, protected-status
decisions and referrals (decided on the request's page, posted here)."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cpms.audit.models import AccessLogEntry
from cpms.audit.services import access_record
from cpms.core.labels import DISCLOSED_LABELS, KIND_LABELS, label
from cpms.core.models import Person
from cpms.core.pdf import html_to_pdf
from cpms.disclosure.models import DisclosureRecord
from cpms.disclosure.selectors import decision_list_rows, decision_rows, decisions_for
from cpms.disclosure.services import Outcome
from cpms.partner_requests import services as partner_requests
from cpms.queries.permissions import access_query_for_privacy
from cpms.queries.selectors import queries_held_for_privacy
from cpms.queries.services import QueryError, query_referral_resolve
from cpms.queries.workflow import query_can_resolve
from cpms.partner_requests.forms import ReferralResolveForm
from cpms.partner_requests.permissions import access_request_for_user
from cpms.partner_requests.selectors import referral_queue, request_page

from . import selectors, timeline
from .forms import AccountingFilterForm, DecisionFilterForm, HeldQueryForm, TimelineFilterForm
from .tasks import chain_verify


def _require_privacy_officer(request):
    if not selectors.may_use_console(request.user):
        raise Http404("No such page.")


@login_required
@require_GET
def accounting_search(request):
    """The accounting system-wide (a period, filtered, one keyset page at a time), and a person's own by A-Number or FIN."""
    _require_privacy_officer(request)
    term = request.GET.get("q", "").strip()
    if term:
        person = selectors.find_person(term)
        if person:
            return redirect("privacy-accounting", pk=person.pk)
        messages.error(request, f"No person has the A-Number or FIN “{term}”. Check it and search again.")
    form = AccountingFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    rows, next_before = ([], None) if form.is_bound and not form.is_valid() else selectors.disclosures_page(
        selectors.disclosures(**filters), before=request.GET.get("before", ""))
    access_record(user=request.user, obj=DisclosureRecord, action=AccessLogEntry.Action.VIEW, request=request,
                  context={"report": "accounting", "filters": _jsonable(filters)})
    query = request.GET.copy()
    query.pop("before", None)
    query.pop("q", None)
    return render(request, "privacy/accounting_search.html", {
        "q": term, "form": form, "rows": rows, "next_before": next_before, "base_query": query.urlencode(),
        "filtered": bool(filters), "first_page": not request.GET.get("before")})


def _jsonable(filters: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}


@login_required
@require_GET
def accounting_all_csv(request):
    """Every entry the filters select, as CSV, streamed; the export itself is on record in the access log."""
    _require_privacy_officer(request)
    form = AccountingFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return redirect(f"{reverse('privacy-accounting-search')}?{request.GET.urlencode()}")
    filters = form.filters() if form.is_bound else {}
    access_record(user=request.user, obj=DisclosureRecord, action=AccessLogEntry.Action.EXPORT, request=request,
                  context={"report": "accounting.csv", "filters": _jsonable(filters)})

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def lines():
        yield writer.writerow(["person", "a_number", "fin"] + CSV_COLUMNS)
        for r in selectors.disclosures(**filters).iterator(chunk_size=2000):
            yield writer.writerow([str(r.person), r.person.a_number or "", r.person.fin or ""] + _csv_row(r))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="accounting-of-disclosures.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _report(request, pk):
    _require_privacy_officer(request)
    person = get_object_or_404(Person, pk=pk)
    subject_copy = request.GET.get("copy") == "subject"
    return person, subject_copy, selectors.accounting_for_person(person, subject_copy=subject_copy)


@login_required
@require_GET
def accounting(request, pk):
    person, subject_copy, records = _report(request, pk)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.VIEW, person_id=person.pk, request=request,
                  context={"report": "accounting", "subject_copy": subject_copy})
    return render(request, "privacy/accounting.html",
                  {"person": person, "rows": selectors.accounting_rows(records[:500]), "subject_copy": subject_copy,
                   **selectors.accounting_counts(records)})


CSV_COLUMNS = ["disclosed", "disclosed_at", "outcome", "outcome_detail", "queued_at", "exchange", "reference", "partner",
               "recipient", "nature", "purpose", "data_elements", "attachments", "agreement", "legal_authority",
               "law_enforcement_request", "retain_until"]


@login_required
@require_GET
def accounting_csv(request, pk):
    person, subject_copy, records = _report(request, pk)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.EXPORT, person_id=person.pk, request=request,
                  context={"report": "accounting.csv", "subject_copy": subject_copy})
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="accounting-{person.a_number or person.pk}.csv"'
    response["Cache-Control"] = "private, no-store"
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for r in records.iterator(chunk_size=1000):
        writer.writerow(_csv_row(r))
    return response


def _csv_row(r) -> list:
    return ["yes" if r.is_disclosed else "no", r.disclosed_at.isoformat() if r.is_disclosed else "",
            r.get_delivery_display(), r.delivery_detail, r.queued_at.isoformat(),
            r.get_message_type_display(), r.reference, r.partner.name, r.recipient, r.nature, r.purpose,
            "; ".join(label(DISCLOSED_LABELS, e) for e in r.data_elements),
            "; ".join(f"{label(KIND_LABELS, a['kind'])}: {a['filename']} (SHA-256 {a['sha256']})" for a in r.attachments),
            r.agreement.label, r.legal_authority, "yes" if r.law_enforcement_request else "no", r.retain_until.isoformat()]


@login_required
@require_GET
def accounting_pdf(request, pk):
    person, subject_copy, records = _report(request, pk)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.EXPORT, person_id=person.pk, request=request,
                  context={"report": "accounting.pdf", "subject_copy": subject_copy})
    html = render_to_string("privacy/accounting_print.html", {
        "person": person, "rows": selectors.accounting_rows(records), "subject_copy": subject_copy, "printed_by": request.user,
        "printed_at": timezone.now()})
    pdf = html_to_pdf(html)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="accounting-{person.a_number or person.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def access_log(request):
    _require_privacy_officer(request)
    errors = []
    date_from = parse_date(request.GET.get("from", "")) if request.GET.get("from") else None
    date_to = parse_date(request.GET.get("to", "")) if request.GET.get("to") else None
    if request.GET.get("from") and date_from is None:
        errors.append("“From” must be a date like 2026-11-25.")
    if request.GET.get("to") and date_to is None:
        errors.append("“To” must be a date like 2026-11-25.")
    person = None
    person_term = request.GET.get("person", "").strip()
    if person_term:
        person = selectors.find_person(person_term)
        if person is None:
            errors.append(f"No person has the A-Number or FIN “{person_term}”.")
    before = request.GET.get("before", "")
    rows, next_before = ([], None) if errors else selectors.access_log(
        user_term=request.GET.get("user", "").strip(), person=person, date_from=date_from, date_to=date_to,
        before_id=int(before) if before.isdigit() else None)
    query = request.GET.copy()
    query.pop("before", None)
    return render(request, "privacy/access_log.html", {
        "rows": rows, "next_before": next_before, "errors": errors, "params": request.GET, "base_query": query.urlencode()})


@login_required
@require_http_methods(["GET", "POST"])
def audit_status(request):
    """GET shows the latest verification; POST starts a new one in the worker."""
    _require_privacy_officer(request)
    if request.method == "POST":
        chain_verify.delay(request.user.get_username())
        messages.success(request, "Verification started; its result appears here when it is done.")
        return redirect("privacy-audit")
    return render(request, "privacy/audit.html", {"verification": selectors.latest_verification()})




# --- protected-status decisions and referrals ---------------------------------------------------------------

DECISIONS_PER_PAGE = 25
REFERRALS_PER_PAGE = 25


@login_required
@require_GET
def decisions(request):
    _require_privacy_officer(request)
    form = DecisionFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(decisions_for(request.user, **filters), DECISIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "privacy/decisions.html", {"form": form, "page": page, "rows": decision_list_rows(page.object_list),
                                                      "query": query.urlencode(), "filtered": any(filters.values())})


@login_required
@require_GET
def referrals(request):
    _require_privacy_officer(request)
    page = Paginator(referral_queue(request.user), REFERRALS_PER_PAGE).get_page(request.GET.get("page"))
    held = Paginator(queries_held_for_privacy(request.user), REFERRALS_PER_PAGE).get_page(request.GET.get("held_page"))
    return render(request, "privacy/referrals.html", {"page": page, "held": held, "query": ""})


@login_required
@require_GET
def referral(request, pk):
    """Notifications link here; the request page is where the referral is decided."""
    req = access_request_for_user(request.user, pk)
    return redirect("partner-request", pk=req.pk)


@login_required
@require_POST
def referral_resolve(request, pk):
    req = access_request_for_user(request.user, pk)
    form = ReferralResolveForm(request.POST)
    if form.is_valid():
        try:
            decision = partner_requests.referral_resolve(actor=request.user, req=req, **form.cleaned_data)
        except partner_requests.RequestError as exc:
            if exc.code == "floor" or not exc.field:
                return _render_request(request, req, form=form, refusal=exc.message)
            form.add_domain_error(exc)
        else:
            if decision.outcome == Outcome.SHARE:
                messages.success(request, f"Shared: an ICTS case is open for {req.partner_id} request {req.request_ref}.")
            else:
                messages.success(request, f"Withheld: {req.partner.name} is answered “no match” for {req.request_ref}.")
            return redirect("partner-request", pk=req.pk)
    return _render_request(request, req, form=form)


def _render_request(request, req, *, form, refusal=None):
    """The request's page again, with the decision form as posted (the page belongs to partner requests)."""
    return render(request, "partner_requests/request_detail.html",
                  {**request_page(req, user=request.user), "form": form, "refusal": refusal})


# --- queries held before they were sent ---------------------------------------------------------------------


def _render_held_query(request, query, *, form=None, refusal=None, status=200):
    access_record(user=request.user, obj=query, action=AccessLogEntry.Action.VIEW, person_id=query.person_id, request=request,
                  context={"screening": True})
    return render(request, "privacy/held_query.html", {
        "query": query, "decisions": decision_rows(query.decisions), "can_resolve": query_can_resolve(query),
        "form": form or HeldQueryForm(), "refusal": refusal,
    }, status=status)


@login_required
@require_GET
def held_query(request, pk):
    return _render_held_query(request, access_query_for_privacy(request.user, pk))


@login_required
@require_POST
def held_query_resolve(request, pk):
    query = access_query_for_privacy(request.user, pk)
    form = HeldQueryForm(request.POST)
    if form.is_valid():
        try:
            query_referral_resolve(actor=request.user, query=query, **form.cleaned_data)
        except QueryError as exc:
            if exc.field and exc.code != "floor":
                form.add_domain_error(exc)
            else:
                return _render_held_query(request, query, form=form, refusal=exc.message)
        else:
            if query.status == "submitted":
                messages.success(request, f"Sent: query {query.query_ref} went to {query.partner.name} through IDENT.")
            else:
                messages.success(request, f"Withheld: query {query.query_ref} will never be sent. The officer is told.")
            return redirect("privacy-held-query", pk=query.pk)
    return _render_held_query(request, query, form=form)


# --- one person: find, then read the whole timeline ---------------------------------------------------------

TIMELINE_PER_PAGE = 50
TIMELINE_EXPORT_MAX = 10_000


@login_required
@require_GET
def people(request):
    _require_privacy_officer(request)
    term = request.GET.get("q", "").strip()[:100]
    found = timeline.find_people(term) if term else []
    if term and len(found) == 1:
        return redirect("privacy-person", pk=found[0].pk)
    return render(request, "privacy/people.html", {"q": term, "people": found})


def _timeline_input(request, pk):
    _require_privacy_officer(request)
    person = get_object_or_404(Person, pk=pk)
    form = TimelineFilterForm(request.GET or None)
    return person, form, form.filters()


@login_required
@require_GET
def person_timeline(request, pk):
    person, form, filters = _timeline_input(request, pk)
    events, next_cursor = timeline.person_timeline(person, filters=filters, cursor=timeline.Cursor.parse(request.GET.get("after")),
                                                   limit=TIMELINE_PER_PAGE)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.VIEW, person_id=person.pk, request=request,
                  context={"report": "timeline", "purpose": "privacy_oversight"})
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "privacy/person.html", {"person": person, "form": form, "events": events,
                                                   "next": next_cursor.token() if next_cursor else "",
                                                   "base_query": query.urlencode(), "first_page": "after" not in request.GET})


def _all_events(person, filters):
    """Every event for an export, page by page (bounded: an export is a document, not a dump)."""
    events, cursor = [], None
    while len(events) < TIMELINE_EXPORT_MAX:
        page, cursor = timeline.person_timeline(person, filters=filters, cursor=cursor, limit=500)
        events += page
        if cursor is None:
            break
    return events[:TIMELINE_EXPORT_MAX]


@login_required
@require_GET
def person_timeline_csv(request, pk):
    person, form, filters = _timeline_input(request, pk)
    events = _all_events(person, filters)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.EXPORT, person_id=person.pk, request=request,
                  context={"report": "timeline.csv", "purpose": "privacy_oversight"})
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="timeline-{person.a_number or person.pk}.csv"'
    response["Cache-Control"] = "private, no-store"
    writer = csv.writer(response)
    writer.writerow(["at", "kind", "what", "detail", "partner", "by", "reference"])
    for e in events:
        writer.writerow([e.at.isoformat(), e.kind_label, e.title, e.detail, e.partner, e.user, e.reference])
    return response


@login_required
@require_GET
def person_timeline_pdf(request, pk):
    person, form, filters = _timeline_input(request, pk)
    events = _all_events(person, filters)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.EXPORT, person_id=person.pk, request=request,
                  context={"report": "timeline.pdf", "purpose": "privacy_oversight"})
    html = render_to_string("privacy/person_print.html", {"person": person, "events": events, "printed_by": request.user,
                                                          "printed_at": timezone.now(), "capped": len(events) >= TIMELINE_EXPORT_MAX})
    pdf = html_to_pdf(html)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="timeline-{person.a_number or person.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
