from django.urls import path
from rest_framework.routers import SimpleRouter

from cpms.accounts.api import TokenView
from cpms.partner_requests.api import PartnerRequestViewSet
from cpms.queries.api import CaseViewSet, QueryViewSet
from icts.api import IctsCaseViewSet, ObimPackageViewSet

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="api-case")
router.register("queries", QueryViewSet, basename="api-query")
router.register("partner-requests", PartnerRequestViewSet, basename="api-partner-request")
router.register("icts/cases", IctsCaseViewSet, basename="api-icts-case")
router.register("obim/packages", ObimPackageViewSet, basename="api-obim-package")

urlpatterns = [path("auth/token/", TokenView.as_view(), name="api-token"), *router.urls]
