"""Queries over the REST API: list, create (round 1), detail with every round, ask for round 3."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cpms.core.files import file_response
from cpms.core.openapi import FILE_RESPONSES
from cpms.core.models import BenefitCase, Person
from cpms.core.permissions import access_case_for_user
from cpms.core import serializers as fields
from cpms.core.serializers import read_filters
from cpms.core.problems import domain_problem
from ident_bridge import icd

from . import services
from .models import PRIORITY_CHOICES, REASON_CHOICES, FdnsReferral, InternationalQuery, PartnerResponse, QueryRound, ResponseAttachment
from .permissions import (access_query_for_action, access_query_for_user, access_referral_for_user, read_attachment_for_user,
                          read_query_for_user)
from .selectors import my_cases, my_cases_page, queries_list, query_timeline
from .workflow import QueryStatus


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


class CaseFilterSerializer(serializers.Serializer):
    search = fields.Text(required=False, max_length=100, help_text="receipt number, A-Number, or part of the family name")


@extend_schema(tags=["cases"])
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The cases the caller is assigned to (officers) or supervises."""

    serializer_class = CaseSerializer

    def get_queryset(self):
        return my_cases(self.request.user, search=self._filters().get("search", ""))

    def _filters(self) -> dict:
        return read_filters(CaseFilterSerializer, self.request)

    def get_object(self):
        access_case_for_user(self.request.user, self.kwargs["pk"])  # 404 for missing and forbidden alike
        return self.get_queryset().get(pk=self.kwargs["pk"])

    @extend_schema(parameters=[CaseFilterSerializer])
    def list(self, request, *args, **kwargs):
        # Read from the case grants in their order (as the "My cases" page), not filtered and sorted across every case.
        search = self._filters().get("search", "")
        rows = self.paginator.paginate_grant_page(request, lambda **kw: my_cases_page(request.user, search=search, **kw))
        return self.paginator.get_paginated_response(self.get_serializer(rows, many=True).data)


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ResponseAttachment
        fields = ["id", "filename", "media_type", "kind", "sha256", "size", "download_url"]

    def get_download_url(self, obj) -> str:
        return reverse("api-query-attachment", kwargs={"pk": obj.response.query_id, "att": obj.pk})


class ResponseSerializer(serializers.ModelSerializer):
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = PartnerResponse
        fields = ["responder", "responded_at", "person", "received_at", "attachments"]


class RoundSerializer(serializers.ModelSerializer):
    response = serializers.SerializerMethodField()
    delivery_status = serializers.SerializerMethodField()

    class Meta:
        model = QueryRound
        fields = ["number", "started_at", "answered_at", "outcome", "requested_items", "justification", "delivery_status", "response"]

    def get_delivery_status(self, obj) -> str:
        return obj.outbox_message.delivery_status if obj.outbox_message_id else ""

    @extend_schema(exclude=True)
    def get_response(self, obj) -> dict | None:
        response = getattr(obj, "response", None) if hasattr(obj, "response") else None
        return ResponseSerializer(response, context=self.context).data if response else None


class QueryListSerializer(serializers.ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(read_only=True)
    partner = serializers.CharField(source="partner_id", read_only=True)

    class Meta:
        model = InternationalQuery
        fields = ["id", "query_ref", "case", "partner", "reason", "priority", "status", "overdue_since", "created_at", "updated_at"]


class QueryDetailSerializer(QueryListSerializer):
    match = serializers.SerializerMethodField()
    rounds = serializers.SerializerMethodField()

    class Meta(QueryListSerializer.Meta):
        fields = QueryListSerializer.Meta.fields + ["match", "rounds"]

    def get_match(self, obj) -> dict | None:
        match = getattr(obj, "match", None) if hasattr(obj, "match") else None
        return {"partner_person_id": match.partner_person_id, "biographic": match.biographic} if match else None

    def get_rounds(self, obj) -> list[dict]:
        return RoundSerializer(query_timeline(obj), many=True, context=self.context).data


class QueryCreateSerializer(serializers.Serializer):
    case = fields.Integer()
    partner = fields.Text(max_length=3, help_text="the partner's ISO 3166-1 alpha-3 code")
    reason = fields.Choice(choices=REASON_CHOICES)
    priority = fields.Choice(choices=PRIORITY_CHOICES)
    encounter_id = fields.Pattern(r"^[A-Z0-9-]{6,40}$", required=False, allow_blank=True)


class Round3Serializer(serializers.Serializer):
    requested_items = serializers.ListField(child=fields.Choice(choices=icd.REQUESTED_ITEMS), min_length=1)
    justification = fields.Text(max_length=4000)


class ReferralSerializer(serializers.ModelSerializer):
    analyst = serializers.SlugRelatedField(slug_field="username", read_only=True)
    referred_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    revoked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = FdnsReferral
        fields = ["id", "analyst", "referred_by", "reason", "created_at", "expires_at", "is_active", "revoked_at", "revoked_by",
                  "revoke_reason"]


class ReferralCreateSerializer(serializers.Serializer):
    analyst = fields.Text(max_length=150, help_text="the FDNS analyst's username")
    reason = fields.Text(max_length=2000)
    days = fields.Integer(min_value=1, max_value=services.REFERRAL_MAX_DAYS, default=30)


class ReferralRevokeSerializer(serializers.Serializer):
    reason = fields.Text(max_length=2000, required=False, allow_blank=True, default="")


class QueryFilterSerializer(serializers.Serializer):
    """The query list's filters: each one given must have a value the schema lists (an empty one is refused, not
    read as "no filter")."""

    status = fields.Choice(choices=QueryStatus.choices, required=False)
    status__in = serializers.ListField(child=fields.Choice(choices=QueryStatus.choices), required=False,
                                       max_length=len(QueryStatus.choices),  # bounded: a URL has a length limit (414)
                                       help_text="any of these statuses (repeat the parameter)")
    partner = fields.Text(max_length=3, required=False)
    case = fields.QueryInteger(required=False)
    priority = fields.Choice(choices=PRIORITY_CHOICES, required=False)


@extend_schema(tags=["queries"])
class QueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    def get_queryset(self):
        return queries_list(self.request.user)

    @extend_schema(parameters=[QueryFilterSerializer])
    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(self.get_queryset().filter(**read_filters(QueryFilterSerializer, request)))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def get_serializer_class(self):
        return {"retrieve": QueryDetailSerializer, "create": QueryCreateSerializer, "round3": Round3Serializer}.get(
            self.action, QueryListSerializer
        )

    def get_object(self):
        return access_query_for_user(self.request.user, self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        query = read_query_for_user(request, self.kwargs["pk"])
        return Response(QueryDetailSerializer(query, context={"request": request}).data)

    @extend_schema(
        request=QueryCreateSerializer,
        responses={201: QueryDetailSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                     description="Repeat a create safely: the same key returns the same query.")],
        summary="Ask a partner for a fingerprint query of the person on a case (round 1)",
    )
    def create(self, request):
        data = QueryCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = access_case_for_user(request.user, data.validated_data["case"])
        key = request.headers.get("Idempotency-Key", "").strip()[:64] or None
        try:
            query = services.query_submit(
                actor=request.user, case=case, partner_code=data.validated_data["partner"],
                reason=data.validated_data["reason"], priority=data.validated_data["priority"],
                encounter_id=data.validated_data.get("encounter_id", ""), submission_key=key,
            )
        except services.QueryError as exc:
            return domain_problem(exc, exc.http_status)
        query = access_query_for_user(request.user, query.pk)
        out = QueryDetailSerializer(query, context={"request": request}).data
        return Response(out, status=status.HTTP_201_CREATED, headers={"Location": reverse("api-query-detail", kwargs={"pk": query.pk})})

    @extend_schema(request=Round3Serializer, responses={202: QueryDetailSerializer},
                   summary="Ask the partner for a third (last) round")
    @action(detail=True, methods=["post"], url_path="round3")
    def round3(self, request, pk=None):
        query = access_query_for_action(request.user, pk)
        data = Round3Serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.query_request_round3(actor=request.user, query=query, **data.validated_data)
        except services.QueryError as exc:
            return domain_problem(exc, exc.http_status)
        query = access_query_for_user(request.user, query.pk)
        return Response(QueryDetailSerializer(query, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=FILE_RESPONSES, summary="Download an attachment exactly as received")
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<att>\d+)", url_name="attachment")
    def attachment(self, request, pk=None, att=None):
        attachment = read_attachment_for_user(request, pk, att)
        return file_response(attachment.file, media_type=attachment.media_type, filename=attachment.filename)

    @extend_schema(methods=["get"], responses=ReferralSerializer(many=True), summary="The query's FDNS referrals")
    @extend_schema(methods=["post"], request=ReferralCreateSerializer, responses={201: ReferralSerializer},
                   summary="Refer the query's results to an FDNS analyst, for a limited time")
    @action(detail=True, methods=["get", "post"], url_path="referrals", url_name="referrals", pagination_class=None)
    def referrals(self, request, pk=None):
        query = access_query_for_action(request.user, pk)
        if request.method == "GET":
            rows = query.fdns_referrals.select_related("analyst", "referred_by", "revoked_by").order_by("-created_at", "-id")
            return Response(ReferralSerializer(rows, many=True).data)
        data = ReferralCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        analyst = get_user_model().objects.filter(username=data.validated_data["analyst"], is_active=True).first()
        try:
            referral = services.referral_create(actor=request.user, query=query, analyst=analyst,
                                                reason=data.validated_data["reason"], days=data.validated_data["days"])
        except services.QueryError as exc:
            return domain_problem(exc, exc.http_status)
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReferralRevokeSerializer, responses={200: ReferralSerializer}, summary="Revoke an FDNS referral now")
    @action(detail=True, methods=["post"], url_path=r"referrals/(?P<referral>\d+)/revoke", url_name="referral-revoke")
    def referral_revoke(self, request, pk=None, referral=None):
        query = access_query_for_action(request.user, pk)
        row = access_referral_for_user(request.user, referral)
        if row.query_id != query.pk:
            raise Http404("No such referral.")
        data = ReferralRevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.referral_revoke(actor=request.user, referral=row, reason=data.validated_data["reason"])
        return Response(ReferralSerializer(row).data)
