from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken

from .models import BenefitCase, Person
from .permissions import access_case_for_user
from .selectors import my_cases, my_cases_page


class PersonSerializer(serializers.ModelSerializer):
    date_of_birth = serializers.CharField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "a_number", "fin", "family_name", "given_names", "aliases", "date_of_birth", "country_of_birth",
                  "citizenships", "gender"]


class CaseSerializer(serializers.ModelSerializer):
    person = PersonSerializer(read_only=True)
    open_queries = serializers.IntegerField(read_only=True)
    overdue_queries = serializers.IntegerField(read_only=True)

    class Meta:
        model = BenefitCase
        fields = ["id", "receipt_number", "kind", "is_open", "created_at", "person", "open_queries", "overdue_queries"]


@extend_schema(tags=["cases"])
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The cases the caller is assigned to (officers) or supervises."""

    serializer_class = CaseSerializer

    def get_queryset(self):
        return my_cases(self.request.user, search=self.request.query_params.get("search", "").strip())

    def get_object(self):
        access_case_for_user(self.request.user, self.kwargs["pk"])  # 404 for missing and forbidden alike
        return self.get_queryset().get(pk=self.kwargs["pk"])

    @extend_schema(parameters=[OpenApiParameter("search", str, required=False,
                                                description="receipt number, A-Number, or part of the family name")])
    def list(self, request, *args, **kwargs):
        # Read from the case grants in their order (as the "My cases" page), not filtered and sorted across every case.
        search = request.query_params.get("search", "").strip()
        rows = self.paginator.paginate_grant_page(request, lambda **kw: my_cases_page(request.user, search=search, **kw))
        return self.paginator.get_paginated_response(self.get_serializer(rows, many=True).data)


@extend_schema(tags=["auth"], summary="Exchange a username and password for an API token")
class TokenView(ObtainAuthToken):
    pass
