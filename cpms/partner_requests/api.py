"""Partner requests over the API: list and detail (as received and normalised, with decisions), augmentation,
and a privacy officer's decision on a referral."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cpms.core import serializers as fields
from cpms.core.problems import domain_problem
from cpms.core.serializers import read_filters
from cpms.core.roles import Role, has_role
from cpms.disclosure.models import Decision
from ident_bridge import icd

from . import services
from .models import Augmentation, PartnerRequest
from .permissions import access_request_for_user, read_request_for_user, requests_visible_to
from .selectors import may_read_augmentation_answers, request_decisions
from .workflow import RequestStatus


class DecisionSerializer(serializers.ModelSerializer):
    rule_version = serializers.IntegerField(source="ruleset.version", allow_null=True, read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, read_only=True)

    class Meta:
        model = Decision
        fields = ["stage", "outcome", "rule_version", "reasons", "cis_answer", "decided_by", "justification", "decided_at"]


class AugmentationSerializer(serializers.ModelSerializer):
    response = serializers.SerializerMethodField()

    class Meta:
        model = Augmentation
        fields = ["augment_ref", "requested_items", "justification", "created_at", "answered_at", "response"]

    def get_response(self, obj) -> dict | None:
        """The partner's answer, for the ICTS staff working the request; a privacy officer sees that it exists
        (answered_at), not what it says (partner data is sequestered: need to know)."""
        r = getattr(obj, "response", None) if hasattr(obj, "response") else None
        if r is None or not may_read_augmentation_answers(self.context["request"].user):
            return None
        return {"responder": r.responder, "responded_at": r.responded_at, "person": r.person,
                "attachments": [{"filename": a.filename, "kind": a.kind, "sha256": a.sha256} for a in r.attachments.all()]} if r else None


class RequestListSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner_id", read_only=True)

    class Meta:
        model = PartnerRequest
        fields = ["id", "partner", "request_ref", "template", "reason", "priority", "fin", "status", "received_at"]


class RequestDetailSerializer(RequestListSerializer):
    decisions = serializers.SerializerMethodField()
    augmentations = AugmentationSerializer(many=True, read_only=True)

    class Meta(RequestListSerializer.Meta):
        fields = RequestListSerializer.Meta.fields + ["requestor", "requested_at", "encounter_id", "requested_items",
                                                      "subject_as_received", "subject", "decisions", "augmentations"]

    def get_decisions(self, obj) -> list[dict]:
        """Protected-status evidence is for privacy officers only (8 U.S.C. 1367, 8 CFR 208.6)."""
        if not has_role(self.context["request"].user, Role.PRIVACY_OFFICER):
            return []
        return DecisionSerializer(request_decisions(obj), many=True).data


class AugmentSerializer(serializers.Serializer):
    requested_items = serializers.ListField(child=fields.Choice(choices=icd.REQUESTED_ITEMS), min_length=1)
    justification = fields.Text(max_length=4000)


class ResolveSerializer(serializers.Serializer):
    outcome = fields.Choice(choices=["share", "withhold"])
    justification = fields.Text(max_length=4000)


class RequestFilterSerializer(serializers.Serializer):
    """The list's filters: each one given must have a value the schema lists (an empty one is refused)."""

    status = fields.Choice(choices=RequestStatus.choices, required=False)
    partner = fields.Text(max_length=3, required=False)
    priority = fields.Choice(choices=icd.PRIORITIES, required=False)


@extend_schema(tags=["partner requests"])
class PartnerRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    def get_queryset(self):
        return requests_visible_to(self.request.user).select_related("partner").order_by("-received_at", "-id")

    @extend_schema(parameters=[RequestFilterSerializer])
    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(self.get_queryset().filter(**read_filters(RequestFilterSerializer, request)))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def get_object(self):
        return access_request_for_user(self.request.user, self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        req = read_request_for_user(request, self.kwargs["pk"])
        return Response(RequestDetailSerializer(req, context=self.get_serializer_context()).data)

    def get_serializer_class(self):
        return {"retrieve": RequestDetailSerializer, "augment": AugmentSerializer, "resolve": ResolveSerializer}.get(
            self.action, RequestListSerializer)

    @extend_schema(request=AugmentSerializer, responses={202: RequestDetailSerializer},
                   summary="Ask the partner for more on the matched person (request.augment)")
    @action(detail=True, methods=["post"])
    def augment(self, request, pk=None):
        req = self.get_object()
        data = AugmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.augmentation_request(actor=request.user, req=req, **data.validated_data)
        except services.RequestError as exc:
            return domain_problem(exc, exc.http_status)
        return Response(RequestDetailSerializer(self.get_object(), context=self.get_serializer_context()).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ResolveSerializer, responses={200: RequestDetailSerializer},
                   summary="A privacy officer decides a referred request")
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        req = self.get_object()
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.referral_resolve(actor=request.user, req=req, **data.validated_data)
        except services.RequestError as exc:
            return domain_problem(exc, exc.http_status)
        return Response(RequestDetailSerializer(self.get_object(), context=self.get_serializer_context()).data)
