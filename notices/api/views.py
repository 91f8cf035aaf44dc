"""The notices and rectifications endpoints with their workflow actions.

``/api/notices/notices/`` — CRUD of drafts, ``draft`` (from findings), and per notice ``recipients``, ``issue``,
``withdraw``, ``document`` (DOCX or PDF). ``/api/notices/rectifications/`` — read, and per rectification the steps of
``notices.workflow``. Objects are looked up through ``restrict(user, "view")``, so another unit's answers 404; what
the rules refuse answers 403 (not allowed) or 400 (not possible now, or bad input)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.views import RestrictedModelViewSet, workflow_errors

from .. import workflow
from ..models import Notice, NoticeState, Rectification
from . import serializers as s


def _document(obj, user, fmt):
    from core import audit
    from core.models import AuditAction

    from .. import documents_data

    name, content_type, data = documents_data.render(obj, user, fmt)
    audit.record(AuditAction.EXPORT, obj=obj, user=user, changes={"document": fmt})
    response = HttpResponse(data, content_type=content_type)
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


class NoticeViewSet(RestrictedModelViewSet):
    def _notice(self, pk) -> Notice:
        return get_object_or_404(Notice.objects.restrict(self.request.user, "view").select_related("unit"), pk=pk)

    def _answer(self, notice, code=status.HTTP_200_OK):
        notice.refresh_from_db()
        return Response(s.NoticeSerializer(notice, context=self.get_serializer_context()).data, status=code)

    def perform_destroy(self, instance):
        if instance.state != NoticeState.DRAFT:
            raise exceptions.ValidationError(
                {"non_field_errors": ["Only a draft can be deleted; withdraw an issued notice."]}
            )
        instance.delete()

    @extend_schema(
        summary="Draft notices from findings", request=s.DraftSerializer, responses={201: s.NoticeSerializer(many=True)}
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def draft(self, request):
        data = s.DraftSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        v = data.validated_data
        draft = workflow.DraftInput(
            title=v["title"], body=v["body"], severity=v["severity"], required_evidence=v["required_evidence"],
            signer=v["signer"], kind=v["kind"], deadline=v["deadline"],
        )  # fmt: skip
        with workflow_errors():
            notices = workflow.draft_from_findings(
                request.user, v["issuer"], v["findings"], draft, one_per_unit=v["one_per_unit"]
            )
        context = self.get_serializer_context()
        return Response(s.NoticeSerializer(notices, many=True, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Set the recipient units of a hand-written draft",
        request=s.RecipientsSerializer,
        responses=s.NoticeSerializer,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def recipients(self, request, pk=None):
        notice = self._notice(pk)
        data = s.RecipientsSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with workflow_errors():
            workflow.set_recipients(notice, request.user, data.validated_data["units"])
        return self._answer(notice)

    @extend_schema(
        summary="Issue: number, deadline, rectifications, notifications", request=None, responses=s.NoticeSerializer
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def issue(self, request, pk=None):
        notice = self._notice(pk)
        with workflow_errors():
            notice = workflow.issue(notice, request.user)
        return self._answer(notice)

    @extend_schema(summary="Withdraw an issued notice", request=s.ReasonSerializer, responses=s.NoticeSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def withdraw(self, request, pk=None):
        notice = self._notice(pk)
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with workflow_errors():
            workflow.withdraw(notice, request.user, data.validated_data["reason"])
        return self._answer(notice)

    @extend_schema(
        summary="The notice as an official document",
        parameters=[OpenApiParameter("kind", str, enum=["docx", "pdf"], default="docx")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated])
    def document(self, request, pk=None):
        fmt = request.query_params.get("kind", "docx")  # not "format": DRF reads that for content negotiation
        if fmt not in ("docx", "pdf"):
            raise exceptions.ValidationError({"kind": ["docx or pdf"]})
        return _document(self._notice(pk), request.user, fmt)


class RectificationViewSet(RestrictedModelViewSet):
    """Rectifications are created by issuing notices and changed only by their steps."""

    http_method_names = ["get", "post", "head", "options"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def create(self, request, *args, **kwargs):
        raise exceptions.MethodNotAllowed("POST", detail="Rectifications are created by issuing a notice.")

    def _rect(self, pk) -> Rectification:
        return get_object_or_404(
            Rectification.objects.restrict(self.request.user, "view").select_related("unit", "notice", "notice__unit"),
            pk=pk,
        )

    def _answer(self, rectification):
        rectification.refresh_from_db()
        return Response(s.RectificationSerializer(rectification, context=self.get_serializer_context()).data)

    def _simple(self, pk, step):
        rectification = self._rect(pk)
        with workflow_errors():
            step(rectification, self.request.user)
        return self._answer(rectification)

    @extend_schema(
        summary="On-time and closure rates per recipient unit in the caller's subtree, for one year",
        parameters=[OpenApiParameter("year", int, description="Year of the notices; default: this year")],
        responses=s.RateSerializer(many=True),
    )
    @action(detail=False, methods=["get"], permission_classes=[IsAuthenticated])
    def rates(self, request):
        from django.utils import timezone

        from ..models import RectificationState
        from ..views import rates_by_unit

        year = request.query_params.get("year", "")
        if year and not year.isdigit():
            raise exceptions.ValidationError({"year": ["A year such as 2026."]})
        rows = (
            Rectification.objects.restrict(request.user, "view")
            .filter(notice__year=int(year) if year else timezone.localdate().year)
            .exclude(state=RectificationState.WITHDRAWN)
            .select_related("unit")
        )
        return Response(s.RateSerializer(rates_by_unit(rows, timezone.now()), many=True).data)

    @extend_schema(summary="Acknowledge receipt (recipient)", request=None, responses=s.RectificationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def acknowledge(self, request, pk=None):
        return self._simple(pk, workflow.acknowledge)

    @extend_schema(
        summary="Assign to a person of the unit or the contractor (recipient)",
        request=s.RectificationAssignSerializer,
        responses=s.RectificationSerializer,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def assign(self, request, pk=None):
        rectification = self._rect(pk)
        data = s.RectificationAssignSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with workflow_errors():
            workflow.assign(
                rectification,
                request.user,
                assignee=data.validated_data.get("assignee"),
                contractor=data.validated_data["contractor"],
            )
        return self._answer(rectification)

    @extend_schema(
        summary="Write the report and what was done per item (recipient)",
        request=s.ReportSerializer,
        responses=s.RectificationSerializer,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def report(self, request, pk=None):
        rectification = self._rect(pk)
        data = s.ReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        actions = {}
        for key, text in v["actions"].items():
            if not str(key).isdigit():
                raise exceptions.ValidationError({"actions": [f"{key}: not an item ID"]})
            actions[int(key)] = text
        with workflow_errors():
            workflow.save_report(
                rectification,
                request.user,
                report=v["report"],
                responsible=v["responsible"],
                contact=v["contact"],
                actions=actions,
            )
        return self._answer(rectification)

    @extend_schema(
        summary="Attach an evidence file (recipient)",
        request={"multipart/form-data": s.EvidenceSerializer},
        responses=s.RectificationSerializer,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def evidence(self, request, pk=None):
        from core.attachments import EvidenceFileField

        rectification = self._rect(pk)
        data = s.EvidenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = None
        if data.validated_data["item"] is not None:
            item = rectification.items.filter(pk=data.validated_data["item"]).first()
            if item is None:
                raise exceptions.ValidationError({"item": ["Not an item of this rectification."]})
        try:
            upload = EvidenceFileField().clean(data.validated_data["file"])
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"file": exc.messages}) from exc
        with workflow_errors():
            workflow.add_evidence(rectification, request.user, upload, item=item)
        return self._answer(rectification)

    @extend_schema(summary="Submit for review (recipient)", request=None, responses=s.RectificationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def submit(self, request, pk=None):
        return self._simple(pk, workflow.submit)

    @extend_schema(summary="Start the review (issuer side)", request=None, responses=s.RectificationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated], url_path="start-review")
    def start_review(self, request, pk=None):
        return self._simple(pk, workflow.start_review)

    @extend_schema(
        summary="Re-probe the monitoring items now (issuer side)", request=None, responses=s.RectificationSerializer
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reprobe(self, request, pk=None):
        return self._simple(pk, workflow.reprobe)

    @extend_schema(summary="Close (销号) (issuer side)", request=s.CloseSerializer, responses=s.RectificationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def close(self, request, pk=None):
        rectification = self._rect(pk)
        data = s.CloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decisions = {}
        for key, value in data.validated_data["decisions"].items():
            if not str(key).isdigit():
                raise exceptions.ValidationError({"decisions": [f"{key}: not an item ID"]})
            decisions[int(key)] = value
        with workflow_errors():
            workflow.close(rectification, request.user, decisions, data.validated_data["note"])
        return self._answer(rectification)

    @extend_schema(
        summary="Return with reasons (issuer side)", request=s.ReturnSerializer, responses=s.RectificationSerializer
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated], url_path="return")
    def return_(self, request, pk=None):
        rectification = self._rect(pk)
        data = s.ReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with workflow_errors():
            workflow.return_(
                rectification, request.user, data.validated_data["reason"], data.validated_data["rejected"]
            )
        return self._answer(rectification)

    @extend_schema(
        summary="Change this recipient's deadline (issuer side)",
        request=s.DeadlineSerializer,
        responses=s.RectificationSerializer,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def deadline(self, request, pk=None):
        rectification = self._rect(pk)
        data = s.DeadlineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with workflow_errors():
            workflow.change_deadline(rectification, request.user, data.validated_data["deadline"])
        return self._answer(rectification)

    @extend_schema(
        summary="Documents: the notice (this unit's copy) as DOCX/PDF, or the report (回执) as DOCX",
        parameters=[OpenApiParameter("kind", str, enum=["notice-docx", "notice-pdf", "receipt"], default="receipt")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated])
    def document(self, request, pk=None):
        kind = request.query_params.get("kind", "receipt")
        if kind not in ("notice-docx", "notice-pdf", "receipt"):
            raise exceptions.ValidationError({"kind": ["notice-docx, notice-pdf or receipt"]})
        return _document(self._rect(pk), request.user, kind)
