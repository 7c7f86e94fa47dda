"""The privacy officer's console: accounting of disclosures, access log, audit-chain status."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_http_methods

from cpms.audit.models import AccessLogEntry
from cpms.audit.services import access_record
from cpms.core.models import Person

from . import selectors
from .tasks import chain_verify


def _require_privacy_officer(request):
    if not selectors.may_use_console(request.user):
        raise Http404("No such page.")


@login_required
@require_GET
def accounting_search(request):
    _require_privacy_officer(request)
    term = request.GET.get("q", "").strip()
    if term:
        person = selectors.find_person(term)
        if person:
            return redirect("privacy-accounting", pk=person.pk)
        messages.error(request, f"No person has the A-Number or FIN “{term}”. Check it and search again.")
    return render(request, "privacy_console/accounting_search.html", {"q": term})


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
    return render(request, "privacy_console/accounting.html",
                  {"person": person, "records": records[:500], "subject_copy": subject_copy, "total": records.count()})


CSV_COLUMNS = ["disclosed_at", "partner", "recipient", "nature", "purpose", "data_elements", "attachments", "agreement",
               "legal_authority", "law_enforcement_request", "retain_until"]


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
        writer.writerow([r.disclosed_at.isoformat(), r.partner_id, r.recipient, r.nature, r.purpose, ";".join(r.data_elements),
                         ";".join(f"{a['kind']}:{a['filename']}:{a['sha256']}" for a in r.attachments), r.agreement.title,
                         r.legal_authority, "yes" if r.law_enforcement_request else "no", r.retain_until.isoformat()])
    return response


@login_required
@require_GET
def accounting_pdf(request, pk):
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    person, subject_copy, records = _report(request, pk)
    access_record(user=request.user, obj=person, action=AccessLogEntry.Action.EXPORT, person_id=person.pk, request=request,
                  context={"report": "accounting.pdf", "subject_copy": subject_copy})
    html = render_to_string("privacy_console/accounting_print.html", {
        "person": person, "records": records, "subject_copy": subject_copy, "printed_by": request.user, "printed_at": timezone.now()})
    pdf = HTML(string=html, base_url=None, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
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
    return render(request, "privacy_console/access_log.html", {
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
    return render(request, "privacy_console/audit.html", {"verification": selectors.latest_verification()})


