from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cpms.core.errorpages import api_not_found


def healthz(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("ident_bridge.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("cpms.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the page keeps the CSP without inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),  # after every API route: the rest of /api/ is a 404 problem document
    path("", include("cpms.accounts.urls")),
    path("", include("cpms.core.urls")),
    path("", include("cpms.queries.urls")),
    path("", include("cpms.privacy.urls")),
    path("", include("icts.urls")),
    path("", include("cpms.partner_requests.urls")),
]

handler400 = "cpms.core.errorpages.bad_request"
handler403 = "cpms.core.errorpages.permission_denied"
handler404 = "cpms.core.errorpages.page_not_found"
handler500 = "cpms.core.errorpages.server_error"
