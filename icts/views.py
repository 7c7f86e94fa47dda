"""ICTS analysts' and reviewers' pages, and OBIM's transmitted packages. Thin: parse, access helper, one service
or selector, render. Every refusal comes from icts.services and is shown as it is worded there."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html_join
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cpms.core.files import file_response
from cpms.core.labels import time_left
from cpms.core.permissions import page_number
from cpms.core.roles import Role, has_role
from cpms.partner_requests.selectors import (accuracy_rows, augmentation_rows, cis_immigration_status, request_can_augment,
                                             requested_item_labels, subject_rows)
from ident_bridge.models import OutboxMessage

from . import services
from .forms import (ELEMENT_LABELS, KIND_LABELS, AssignForm, BulkAssignForm, PackageForm, QueueFilterForm, ReviewForm, UploadForm,
                    package_data, package_initial)
from .permissions import (access_case_for_user, read_case_for_user, read_package_attachment,
                          read_transmitted_attachment_for_obim, read_transmitted_case_for_obim)
from .selectors import authorised_for, latest_return, obim_queue_page, work_queue_count, work_queue_page
from .workflow import (ACTIVE, CaseStatus, case_can_assign, case_can_edit, case_can_review, case_can_submit,
                       case_can_take, case_is_overdue)

CASES_PER_PAGE = 25
ICTS_ROLES = (Role.ICTS_ANALYST, Role.ICTS_REVIEWER)


def _require_role(user, *roles) -> None:
    """List pages answer 404 to other roles, like the objects on them."""
    if not has_role(user, *roles):
        raise Http404("No such page.")


def _analysts():
    return get_user_model().objects.filter(groups__name=Role.ICTS_ANALYST, is_active=True).order_by("last_name", "first_name")


# --- the work queue ----------------------------------------------------------------------------------------


@login_required
@require_GET
def icts_queue(request):
    _require_role(request.user, *ICTS_ROLES)
    is_reviewer = has_role(request.user, Role.ICTS_REVIEWER)
    if is_reviewer and not request.GET:  # a reviewer's queue opens on the work waiting for a review
        return redirect(f"{reverse('icts-queue')}?status={CaseStatus.IN_REVIEW}")
    form = QueueFilterForm(request.GET)
    filters, sort = form.filters(), form.order()
    page = work_queue_page(request.user, number=page_number(request.GET.get("page")), per_page=CASES_PER_PAGE,
                           sort=sort, **filters)
    count, more = work_queue_count(request.user, **filters)
    now = timezone.now()
    for case in page.object_list:  # each row asks the rules next to the state table (icts.workflow)
        case.can_take, case.can_assign = case_can_take(case, request.user), case_can_assign(case, request.user)
        case.is_overdue = case_is_overdue(case, now)
        case.time_left, case.time_tone = time_left(case.due_at, now) if case.status in ACTIVE else ("", "")
    bulk = [case for case in page.object_list if case.can_assign]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "icts/queue.html", {
        "form": form, "page": page, "query": query.urlencode(), "sort": sort,
        "in_review_only": [k for k, v in filters.items() if v] == ["status"] and filters["status"] == CaseStatus.IN_REVIEW,
        "filtered": any(filters.values()), "count_sentence": _count_sentence(count, more, filtered=any(filters.values())),
        "headers": _sort_headers(request.GET, sort),
        "bulk": bool(bulk), "assign_options": _assign_options() if bulk else "",
        "next": request.get_full_path(),
    })


def _assign_options() -> str:
    """The bulk assignment's analysts as <option>s, escaped and joined once: a template loop over 400 analysts costs
    more than the rest of the page (bench/queues.py: the reviewer's queue against the analyst's)."""
    rows = _analysts().values_list("pk", "first_name", "last_name", "username")
    return format_html_join("", '<option value="{}">{}</option>',
                            ((pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows))


def _count_sentence(count: int, more: bool, *, filtered: bool) -> str:
    subject = f"More than {count:,} cases" if more else f"{count:,} case{'s' if count != 1 else ''}"
    if filtered:
        return f"{subject} {'match' if more or count != 1 else 'matches'} these filters."
    return f"{subject} {'are' if more or count != 1 else 'is'} active."


def _sort_headers(params, sort: str) -> dict:
    """Each sortable column's link (the filters kept, back to page 1) and its aria-sort state."""
    headers = {}
    for column, ascending, descending in (("priority", "priority", "priority"), ("due", "due", "-due"),
                                          ("received", "-received", "received")):
        current = sort in (ascending, descending)
        target = descending if sort == ascending and ascending != descending else ascending
        query = params.copy()
        query.pop("page", None)
        query["sort"] = target
        state = "none"
        if current:
            state = "descending" if sort.startswith("-") else "ascending"
        headers[column] = {"url": f"?{query.urlencode()}", "state": state}
    return headers


@login_required
@require_POST
def icts_bulk_assign(request):
    _require_role(request.user, Role.ICTS_REVIEWER)
    form = BulkAssignForm(request.POST, analysts=_analysts())
    back = _safe_back(request)
    if not form.is_valid():
        for error in form.errors.get("__all__", []) + form.errors.get("analyst", []):
            messages.error(request, error)
        return redirect(back)
    analyst = _analysts().get(pk=form.cleaned_data["analyst"])
    try:
        done = services.cases_assign(actor=request.user, case_ids=form.cleaned_data["cases"], analyst=analyst)
    except services.IctsError as exc:
        messages.error(request, exc.message)
    else:
        who = analyst.get_full_name() or analyst.get_username()
        if done:
            messages.success(request, f"{len(done)} case{'s' if len(done) != 1 else ''} assigned to {who}: "
                                      f"{', '.join(c.case_number for c in done)}.")
        else:
            messages.info(request, f"The ticked cases were already assigned to {who}.")
    return redirect(back)


def _safe_back(request) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/icts/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("icts-queue")


# --- one case ----------------------------------------------------------------------------------------------


def _render_case(request, case, *, review_form=None, status=200):
    req = case.partner_request
    package = getattr(case, "package", None)
    agreement = authorised_for(case)
    user = request.user
    can_assign = case_can_assign(case, user)
    return render(request, "icts/case_detail.html", {
        "case": case, "req": req, "package": package, "agreement": agreement,
        "received_rows": subject_rows(req.subject_as_received),
        "normalised_rows": subject_rows(req.subject, labels=ELEMENT_LABELS),
        "requested_labels": requested_item_labels(req),
        "overdue": case_is_overdue(case, timezone.now()),
        "discrepancies": accuracy_rows(req),
        "authorised_elements": [ELEMENT_LABELS.get(e, e) for e in (agreement.authorised_data_elements if agreement else [])],
        "authorised_kind_labels": [KIND_LABELS.get(k, k) for k in (agreement.authorised_attachment_kinds if agreement else [])],
        "authorised_kinds": agreement.authorised_attachment_kinds if agreement else [],
        "package_rows": subject_rows(package.person, labels=ELEMENT_LABELS) if package else [],
        "attachments": list(package.attachments.all()) if package else [],
        "reviews": list(package.reviews.select_related("reviewer")) if package else [],
        "augmentations": augmentation_rows(req, content=True), "can_augment": request_can_augment(req),
        "can_take": case_can_take(case, user), "can_assign": can_assign,
        "analysts": list(_analysts()) if can_assign else [],
        "can_edit": case_can_edit(case, user), "can_submit": case_can_submit(case, user),
        "can_review": case_can_review(case, user),
        "review_form": review_form or ReviewForm(),
    }, status=status)


@login_required
@require_GET
def icts_case(request, pk):
    return _render_case(request, read_case_for_user(request, pk))


@login_required
@require_POST
def icts_assign(request, pk):
    case = access_case_for_user(request.user, pk)
    form = AssignForm(request.POST)
    analyst = request.user
    if form.is_valid() and form.cleaned_data["analyst"]:
        analyst = _analysts().filter(pk=form.cleaned_data["analyst"]).first()
    if analyst is None or not form.is_valid():
        messages.error(request, "Choose an analyst from the list: only active ICTS analysts can be assigned.")
        return redirect("icts-case", pk=case.pk)
    try:
        services.case_assign(actor=request.user, case=case, analyst=analyst)
    except services.IctsError as exc:
        messages.error(request, exc.message)
    else:
        who = "you" if analyst == request.user else (analyst.get_full_name() or analyst.get_username())
        messages.success(request, f"Case {case.case_number} is assigned to {who}.")
    return redirect("icts-case", pk=case.pk)


@login_required
@require_POST
def icts_submit(request, pk):
    case = access_case_for_user(request.user, pk)
    edits = _save_edits(request, case)
    if edits is not None:
        return _edits_refused(request, case, edits, what="submitted")
    try:
        services.package_submit(actor=request.user, case=case)
    except services.IctsError as exc:
        if exc.code == "exceeds_agreement":  # back to the form, with what the agreement refuses marked
            return _render_package(request, case, refusal=exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The response for {case.case_number} is submitted for review.")
    return redirect("icts-case", pk=case.pk)


@login_required
@require_POST
def icts_review(request, pk):
    case = access_case_for_user(request.user, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.package_review(actor=request.user, case=case, **form.cleaned_data)
        except services.IctsError as exc:
            form.add_icts_error(exc)
        else:
            if form.cleaned_data["verdict"] == "approved":
                messages.success(request, f"Approved. CPMS checks protected status again and sends {case.case_number} "
                                          "through IDENT.")
            else:
                messages.success(request, f"{case.case_number} is returned to the analyst with your comments.")
            return redirect("icts-case", pk=case.pk)
    return _render_case(request, case, review_form=form)


# --- the response package ----------------------------------------------------------------------------------


def _carried(case) -> list[str]:
    package = getattr(case, "package", None)
    return list(package.person) if package else []


def _render_package(request, case, *, form=None, upload_form=None, refusal=None):
    """The response form. Only what the agreement authorises is offered; a refusal at submission (`refusal`, an
    IctsError naming `race` or `attachments/visa`) comes back here with those elements and documents marked."""
    package = getattr(case, "package", None)
    req = case.partner_request
    agreement = authorised_for(case)
    authorised = agreement.authorised_data_elements if agreement else []
    kinds = agreement.authorised_attachment_kinds if agreement else []
    if form is None:
        initial = package_initial(case=case, package=package, authorised=authorised,
                                  cis_status=cis_immigration_status(req) if "immigration_status" in req.requested_items else None)
        if refusal is None:
            form = PackageForm(authorised=authorised, carried=_carried(case), initial=initial)
        else:
            form = PackageForm(package_data(initial), authorised=authorised, carried=_carried(case))
            form.is_valid()
    if refusal is not None:
        form.add_icts_error(refusal)
    return render(request, "icts/package_form.html", {
        "case": case, "req": req, "package": package, "agreement": agreement, "form": form,
        "upload_form": upload_form or UploadForm(kinds=kinds), "attachments": list(package.attachments.all()) if package else [],
        "authorised_kinds": kinds, "authorised_kind_labels": [KIND_LABELS.get(k, k).lower() for k in kinds],
        "refused_kinds": [f.split("/", 1)[1] for f in (refusal.fields if refusal else []) if f.startswith("attachments/")],
        "returned": latest_return(package), "cis_status_requested": "immigration_status" in req.requested_items,
    })


def _editable_or_redirect(request, case):
    if case_can_edit(case, request.user):
        return None
    messages.info(request, "Only the analyst assigned to this case can change its response, and only while it is being "
                           f"prepared or was returned. This case is '{case.get_status_display()}'.")
    return redirect("icts-case", pk=case.pk)


@login_required
@require_http_methods(["GET", "POST"])
def icts_package(request, pk):
    case = read_case_for_user(request, pk)  # a GET shows the partner's request beside the form: a recorded read
    if request.method == "GET":
        return _editable_or_redirect(request, case) or _render_package(request, case)
    form = _save_package_form(request, case)
    if form is None:
        messages.success(request, "The response is saved. Add its documents below, then submit it for review.")
        return redirect("icts-package", pk=case.pk)
    return _render_package(request, case, form=form)


def _save_edits(request, case) -> PackageForm | None:
    """Save the response form's fields when they come with the POST: the upload, remove and submit buttons belong to
    the response form (HTML `form`/`formaction`), so an edit not yet saved is saved first, never thrown away (issue 18,
    finding 4). None when saved (or when the POST carries no response fields); else the form with what to fix."""
    if "reviewer_name" not in request.POST:
        return None
    return _save_package_form(request, case)


def _save_package_form(request, case) -> PackageForm | None:
    """The response form as posted, saved: None when saved, else the form with what to fix."""
    agreement = authorised_for(case)
    form = PackageForm(request.POST, authorised=agreement.authorised_data_elements if agreement else [], carried=_carried(case))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.package_save(actor=request.user, case=case, reviewer_name=data["reviewer_name"],
                                  reviewer_email=data["reviewer_email"], reviewer_phone=data["reviewer_phone"],
                                  reviewer_organization=data["reviewer_organization"], person=form.person)
        except services.IctsError as exc:
            form.add_icts_error(exc)
        else:
            return None
    return form


def _edits_refused(request, case, form, *, what: str):
    """The response's fields did not save: nothing else is done, and the form says what to fix."""
    messages.error(request, f"Nothing was {what}: your changes to the response could not be saved. Fix them below, "
                            "then try again.")
    return _render_package(request, case, form=form)


@login_required
@require_POST
def icts_upload(request, pk):
    case = access_case_for_user(request.user, pk)
    edits = _save_edits(request, case)
    if edits is not None:
        return _edits_refused(request, case, edits, what="uploaded")
    case.refresh_from_db()  # the package may be new
    agreement = authorised_for(case)
    form = UploadForm(request.POST, request.FILES, kinds=agreement.authorised_attachment_kinds if agreement else [])
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            att = services.package_add_attachment(actor=request.user, case=case, filename=upload.name, data=upload.read(),
                                                  kind=form.cleaned_data["kind"], declared_type=upload.content_type or "")
        except services.IctsError as exc:
            form.add_icts_error(exc)
        else:
            messages.success(request, f"{att.filename} is attached ({att.media_type}).")
            return _to_documents(case)
    return _render_package(request, case, upload_form=form)


@login_required
@require_POST
def icts_attachment_remove(request, pk, att):
    case = access_case_for_user(request.user, pk)
    edits = _save_edits(request, case)
    if edits is not None:
        return _edits_refused(request, case, edits, what="removed")
    try:
        services.package_remove_attachment(actor=request.user, case=case, attachment_id=att)
    except services.IctsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The document is removed from the response.")
    return _to_documents(case)


def _to_documents(case):
    """Back to the response form at its Documents section (`#documents`), where the upload or removal shows."""
    return redirect(reverse("icts-package", kwargs={"pk": case.pk}) + "#documents")


def _file(att, *, as_attachment: bool):
    # Images were re-encoded at upload (ident_bridge.filecheck): shown inline; PDFs are always downloads.
    return file_response(att.file, media_type=att.media_type, filename=att.filename,
                         inline=not as_attachment and att.media_type.startswith("image/"))


@login_required
@require_GET
def icts_attachment(request, pk, att):
    return _file(read_package_attachment(request, pk, att), as_attachment=False)


# --- OBIM --------------------------------------------------------------------------------------------------


@login_required
@require_GET
def obim_queue_view(request):
    _require_role(request.user, Role.OBIM_ANALYST)
    delivery = request.GET.get("delivery", "")
    if delivery not in (OutboxMessage.Delivery.DELIVERED, OutboxMessage.Delivery.REJECTED):
        delivery = ""
    page = obim_queue_page(request.user, delivery=delivery, number=page_number(request.GET.get("page")), per_page=CASES_PER_PAGE)
    return render(request, "icts/obim_queue.html", {"page": page, "delivery": delivery,
                                                    "query": f"delivery={delivery}" if delivery else ""})


@login_required
@require_GET
def obim_package(request, pk):
    case = read_transmitted_case_for_obim(request, pk)
    package = case.package
    return render(request, "icts/obim_package.html", {
        "case": case, "package": package, "outbox": package.outbox_message,
        "package_rows": subject_rows(package.person, labels=ELEMENT_LABELS),
        "attachments": list(package.attachments.all()),
    })


@login_required
@require_GET
def obim_package_download(request, pk):
    case = read_transmitted_case_for_obim(request, pk, action="download")
    response = HttpResponse(bytes(case.package.outbox_message.raw), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{case.case_number}-request.reply.json"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def obim_attachment(request, pk, att):
    return _file(read_transmitted_attachment_for_obim(request, pk, att), as_attachment=True)
