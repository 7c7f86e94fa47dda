"""ICTS cases over the API: the work queue, assignment, the package, review; OBIM's transmitted packages."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from cpms.core import serializers as fields
from cpms.core.files import file_response
from cpms.core.openapi import FILE_RESPONSES
from cpms.core.problems import domain_problem
from cpms.core.serializers import read_filters
from ident_bridge import icd
from ident_bridge.models import OutboxMessage

from . import services
from .models import IctsCase, PackageAttachment, ResponsePackage
from .permissions import (access_case_for_user, access_transmitted_case_for_obim, read_case_for_user, read_package_attachment,
                          read_transmitted_case_for_obim)
from .selectors import case_accuracy, obim_queue, obim_queue_page, work_queue, work_queue_page
from .workflow import CaseStatus


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = PackageAttachment
        fields = ["id", "filename", "media_type", "kind", "sha256", "size", "uploaded_at"]


class PackageSerializer(serializers.ModelSerializer):
    attachments = AttachmentSerializer(many=True, read_only=True)
    delivery_status = serializers.CharField(source="outbox_message.delivery_status", default="", read_only=True)

    class Meta:
        model = ResponsePackage
        fields = ["reviewer_name", "reviewer_organization", "reviewer_email", "reviewer_phone", "person", "submitted_at",
                  "approved_at", "transmitted_at", "delivery_status", "attachments"]


class CaseListSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner_request.partner_id", read_only=True)
    request_ref = serializers.CharField(source="partner_request.request_ref", read_only=True)
    # null until someone takes the case (the schema says so: a client must not expect a string).
    assigned_analyst = serializers.CharField(source="assigned_analyst.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = IctsCase
        fields = ["id", "case_number", "partner", "request_ref", "priority", "due_at", "status", "assigned_analyst"]


class CaseDetailSerializer(CaseListSerializer):
    package = PackageSerializer(read_only=True, allow_null=True)  # null until an analyst starts the response
    subject = serializers.JSONField(source="partner_request.subject", read_only=True)
    subject_as_received = serializers.JSONField(source="partner_request.subject_as_received", read_only=True)
    requested_items = serializers.JSONField(source="partner_request.requested_items", read_only=True)
    discrepancies = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = CaseListSerializer.Meta.fields + ["blocked_reason", "subject", "subject_as_received", "requested_items",
                                                   "discrepancies", "package"]

    def get_discrepancies(self, obj) -> list[dict]:
        return [d.__dict__ for d in case_accuracy(obj)]


class AssignSerializer(serializers.Serializer):
    analyst = fields.Text(max_length=150, required=False, help_text="username; omit to take the case yourself")


class PackageWriteSerializer(serializers.Serializer):
    reviewer_name = fields.Text(max_length=200)
    reviewer_organization = fields.Text(max_length=200, required=False, default="USCIS")
    reviewer_email = fields.Email(required=False, allow_blank=True, default="")
    reviewer_phone = fields.Text(max_length=40, required=False, allow_blank=True, default="")
    person = serializers.DictField()


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class FilePart(serializers.FileField):
    """A multipart file part of at least one byte: Django's parser drops an empty file part altogether (it arrives as
    no file), so the schema says a file has content, and an empty one is the schema's refusal, not a surprise."""


class UploadSerializer(serializers.Serializer):
    # A file part (format: binary), not a URL: the schema's `file` is what a multipart upload carries.
    file = FilePart(help_text="a JPEG, PNG, TIFF or PDF (checked by its first bytes), at most ICTS_UPLOAD_MAX_BYTES")
    kind = fields.Choice(choices=icd.ATTACHMENT_KINDS)


class ReviewSerializer(serializers.Serializer):
    verdict = fields.Choice(choices=["approved", "returned"])
    comments = fields.Text(max_length=4000, required=False, allow_blank=True, default="")


class CaseFilterSerializer(serializers.Serializer):
    """The work queue's filters (as the queue page's): each one given must have a value the schema lists."""

    status = fields.Choice(choices=CaseStatus.choices, required=False, help_text="omit for the active cases")
    priority = fields.Choice(choices=icd.PRIORITIES, required=False)
    partner = fields.Text(max_length=3, required=False)
    mine = fields.QueryBoolean(required=False, default=False)
    overdue = fields.QueryBoolean(required=False, default=False)
    due_soon = fields.QueryBoolean(required=False, default=False)


class ObimFilterSerializer(serializers.Serializer):
    delivery = fields.Choice(choices=[c for c in OutboxMessage.Delivery.values if c], required=False,
                             help_text="the partner's acknowledgement of delivery")


def _problem(exc: services.IctsError):
    return domain_problem(exc, exc.http_status)


@extend_schema(tags=["icts"])
class IctsCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    def _filters(self) -> dict:
        return {"status": "", "priority": "", "partner": "", **read_filters(CaseFilterSerializer, self.request)}

    def get_queryset(self):
        return work_queue(self.request.user, **self._filters())

    def get_object(self):
        return access_case_for_user(self.request.user, self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        return Response(CaseDetailSerializer(read_case_for_user(request, self.kwargs["pk"])).data)

    def get_serializer_class(self):
        return CaseDetailSerializer if self.action == "retrieve" else CaseListSerializer

    @extend_schema(parameters=[CaseFilterSerializer])
    def list(self, request, *args, **kwargs):
        # The work queue's page from the grants in their order (as the page does); no COUNT(*).
        filters = self._filters()
        rows = self.paginator.paginate_grant_page(request, lambda **kw: work_queue_page(request.user, **filters, **kw))
        return self.paginator.get_paginated_response(self.get_serializer(rows, many=True).data)

    def _done(self, request):
        return Response(CaseDetailSerializer(access_case_for_user(request.user, self.kwargs["pk"])).data)

    @extend_schema(request=AssignSerializer, responses=CaseDetailSerializer, summary="Take the case, or (reviewer) assign it")
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        case = self.get_object()
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        analyst = request.user
        if data.validated_data.get("analyst"):
            analyst = get_user_model().objects.filter(username=data.validated_data["analyst"], is_active=True).first()
            if analyst is None:
                return _problem(services.IctsError("No such analyst.", field="analyst"))
        try:
            services.case_assign(actor=request.user, case=case, analyst=analyst)
        except services.IctsError as exc:
            return _problem(exc)
        return self._done(request)

    @extend_schema(request=PackageWriteSerializer, responses=CaseDetailSerializer, summary="Save the response (uniform template)")
    @action(detail=True, methods=["put"])
    def package(self, request, pk=None):
        case = self.get_object()
        data = PackageWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.package_save(actor=request.user, case=case, **data.validated_data)
        except services.IctsError as exc:
            return _problem(exc)
        return self._done(request)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses=CaseDetailSerializer,
                   summary="Add a scanned document (type checked by magic number)")
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        case = self.get_object()
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        too_big = services.attachment_too_big(upload.size)
        if too_big:
            return _problem(too_big)
        try:
            services.package_add_attachment(actor=request.user, case=case, filename=upload.name, data=upload.read(),
                                            kind=data.validated_data["kind"], declared_type=upload.content_type or "")
        except services.IctsError as exc:
            return _problem(exc)
        return self._done(request)

    @extend_schema(request=None, responses=CaseDetailSerializer, summary="Submit the response for review")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        try:
            services.package_submit(actor=request.user, case=self.get_object())
        except services.IctsError as exc:
            return _problem(exc)
        return self._done(request)

    @extend_schema(request=ReviewSerializer, responses=CaseDetailSerializer, summary="Approve (then transmit) or return with comments")
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        case = self.get_object()
        data = ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.package_review(actor=request.user, case=case, **data.validated_data)
        except services.IctsError as exc:
            return _problem(exc)
        return self._done(request)

    @extend_schema(responses=FILE_RESPONSES, summary="Download a document")
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<att>\d+)")
    def attachment(self, request, pk=None, att=None):
        return _file(read_package_attachment(request, pk, att))


def _file(att: PackageAttachment):
    return file_response(att.file, media_type=att.media_type, filename=att.filename)


class ObimPackageSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner_request.partner_id", read_only=True)
    request_ref = serializers.CharField(source="partner_request.request_ref", read_only=True)
    transmitted_at = serializers.DateTimeField(source="package.transmitted_at", read_only=True)
    message_id = serializers.CharField(source="package.outbox_message.message_id", read_only=True)
    delivery_status = serializers.CharField(source="package.outbox_message.delivery_status", read_only=True)
    send_status = serializers.CharField(source="package.outbox_message.status", read_only=True)

    class Meta:
        model = IctsCase
        fields = ["id", "case_number", "partner", "request_ref", "transmitted_at", "message_id", "send_status", "delivery_status",
                  "status"]


@extend_schema(tags=["obim"])
class ObimPackageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ObimPackageSerializer

    def get_queryset(self):
        return obim_queue(self.request.user, delivery=read_filters(ObimFilterSerializer, self.request).get("delivery", ""))

    @extend_schema(parameters=[ObimFilterSerializer])
    def list(self, request, *args, **kwargs):
        # Read from OBIM's grants in the order of transmission, not sorted across every package ever sent.
        delivery = read_filters(ObimFilterSerializer, request).get("delivery", "")
        rows = self.paginator.paginate_grant_page(request, lambda **kw: obim_queue_page(request.user, delivery=delivery, **kw))
        return self.paginator.get_paginated_response(self.get_serializer(rows, many=True).data)

    def get_object(self):
        return access_transmitted_case_for_obim(self.request.user, self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(read_transmitted_case_for_obim(request, self.kwargs["pk"])).data)

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT}, summary="The package exactly as sent (the ICD message bytes)")
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        case = read_transmitted_case_for_obim(request, pk, action="download")
        response = HttpResponse(bytes(case.package.outbox_message.raw), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{case.case_number}-request.reply.json"'
        response["Cache-Control"] = "private, no-store"
        return response
