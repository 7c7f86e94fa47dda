from django.urls import path
from rest_framework.routers import SimpleRouter

from cpms.core.api import CaseViewSet, TokenView
from cpms.queries.api import QueryViewSet

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="api-case")
router.register("queries", QueryViewSet, basename="api-query")

urlpatterns = [path("auth/token/", TokenView.as_view(), name="api-token"), *router.urls]
