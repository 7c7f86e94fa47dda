"""Pages every role shares: the system-use notification, the landing redirect, notifications."""


from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .home import sections_for
from .search import MAX_TERM
from .search import search as search_for
from .middleware import SESSION_KEY
from .selectors import notifications_for
from .services import notifications_mark_read

CASES_PER_PAGE = 25
NOTIFICATIONS_PER_PAGE = 25


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def system_use(request):
    """The U.S. Government system-use notification: accepted once per session, before login."""
    if request.method == "POST":
        request.session[SESSION_KEY] = timezone.now().isoformat()
        return redirect(_safe_next(request) or reverse("login"))
    return render(request, "core/system_use.html", {"next": _safe_next(request)})


@login_required
@require_GET
def home(request):
    """Each role's work at a glance: counts that link to the filtered lists (the sections come from the apps that
    own the work, cpms.core.home). Someone with no role yet is told whom to ask."""
    sections = sections_for(request.user)
    return render(request, "core/home.html", {"sections": sections})


@login_required
@require_GET
def help_page(request):
    """What each status the user meets means, the names of things, and whom to ask (cpms.core.help)."""
    from .help import GLOSSARY, sections_for, whom_to_ask

    return render(request, "core/help.html", {"sections": sections_for(request.user), "glossary": GLOSSARY,
                                              "whom": whom_to_ask(request.user)})


@login_required
@require_GET
def search(request):
    """The header's search: everything the user may see that matches one term, grouped by kind (each app's finder,
    cpms.core.search), each group linking to its full list when there is more."""
    term = " ".join(request.GET.get("q", "").split())[:MAX_TERM]
    return render(request, "core/search.html", {"term": term, "groups": search_for(request.user, term),
                                                "header_search_term": term})


@login_required
@require_GET
def notifications(request):
    page = Paginator(notifications_for(request.user), NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page, "unread": any(n.read_at is None for n in page.object_list)})


@login_required
@require_GET
def notification_open(request, pk):
    """A notification is read when it is opened: marked, then on to what it is about."""
    note = notifications_for(request.user).filter(pk=pk).first()
    if note is None:
        raise Http404("No such notification.")
    notifications_mark_read(actor=request.user, ids=[note.pk])
    if note.query_id:
        return redirect("query-detail", pk=note.query_id)
    if note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts={request.get_host()}):
        return redirect(note.url)
    return redirect("notifications")


@login_required
@require_POST
def notifications_read(request):
    """"Mark all as read" (or the ids posted, at most a page of them)."""
    ids = [int(v) for v in request.POST.getlist("ids")[:NOTIFICATIONS_PER_PAGE] if v.isdigit()] or None
    notifications_mark_read(actor=request.user, ids=ids)
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    return redirect("notifications")
