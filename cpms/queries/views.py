"""The officer's query pages. Thin: parse, access helper, one service or selector, render."""

from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cpms.core.permissions import access_case_for_user

from .forms import QueryNewForm, Round3Form
from .pdf import render_query_pdf
from cpms.audit.models import AccessLogEntry
from cpms.audit.services import access_record

from .permissions import access_attachment_for_user, access_query_for_user
from .services import QueryError, partners_open_for_queries, query_close, query_request_round3, query_submit
from .ui_selectors import query_view


@login_required
@require_http_methods(["GET", "POST"])
def query_new(request, pk):
    case = access_case_for_user(request.user, pk)
    partners = partners_open_for_queries()
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
                messages.success(request, f"Query sent to {query.partner.name} through IDENT.")
                return redirect("query-detail", pk=query.pk)
    return render(request, "queries/query_new.html", {"case": case, "form": form, "has_partners": partners.exists()})


@login_required
@require_GET
def query_detail(request, pk):
    query = access_query_for_user(request.user, pk)
    access_record(user=request.user, obj=query, action=AccessLogEntry.Action.VIEW, person_id=query.person_id, request=request)
    return render(request, "queries/query_detail.html", {"view": query_view(query)})


@login_required
@require_GET
def query_timeline_partial(request, pk):
    """Polled by htmx while the partner has not answered. 204 (htmx swaps nothing) while nothing changed."""
    query = access_query_for_user(request.user, pk)
    view = query_view(query)
    if request.GET.get("v") == view.version:
        return HttpResponse(status=204)
    access_record(user=request.user, obj=query, action=AccessLogEntry.Action.VIEW, person_id=query.person_id, request=request,
                  context={"partial": "timeline"})
    return render(request, "queries/_live.html", {"view": view})


@login_required
@require_http_methods(["GET", "POST"])
def query_round3(request, pk):
    query = access_query_for_user(request.user, pk)
    refusal = None
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
            else:
                messages.success(request, f"Round 3 sent to {query.partner.name} through IDENT.")
                return redirect("query-detail", pk=query.pk)
    return render(request, "queries/query_round3.html", {"query": query, "form": form, "refusal": refusal})


@login_required
@require_POST
def query_close_view(request, pk):
    query = access_query_for_user(request.user, pk)
    try:
        query_close(actor=request.user, query=query)
    except QueryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Query {query.query_ref} is closed.")
    return redirect("query-detail", pk=query.pk)


@login_required
@require_GET
def query_attachment(request, pk, att):
    attachment = access_attachment_for_user(request.user, pk, att)
    access_record(user=request.user, obj=attachment, action=AccessLogEntry.Action.DOWNLOAD,
                  person_id=attachment.response.query.person_id, request=request)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.media_type, as_attachment=False,
                            filename=attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def query_print(request, pk):
    query = access_query_for_user(request.user, pk)
    access_record(user=request.user, obj=query, action=AccessLogEntry.Action.PRINT, person_id=query.person_id, request=request)
    response = HttpResponse(render_query_pdf(query_view(query), printed_by=request.user), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{query.query_ref}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
