"""The findings endpoint with its workflow actions (``/api/findings/findings/<pk>/<action>/``).

The actions call the same rules as the finding's page (``findings.workflow``). The finding is looked up through
``restrict(user, "view")``, so a finding outside the caller's subtree answers 404; what the rules refuse answers 403
(not allowed: role, requester, position) or 400 (not possible now, or bad input).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.views import RestrictedModelViewSet, workflow_errors

from .. import workflow
from ..models import Finding
from .serializers import (
    AssignResultSerializer,
    AssignSerializer,
    FindingSerializer,
    RejectSerializer,
    RequestExceptionSerializer,
)

_detail = inline_serializer("FindingWorkflowDetail", {"detail": serializers.CharField()})
_errors = inline_serializer(
    "FindingWorkflowErrors",
    {
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
        "requested_status": serializers.ListField(child=serializers.CharField(), required=False),
        "reason": serializers.ListField(child=serializers.CharField(), required=False),
        "until": serializers.ListField(child=serializers.CharField(), required=False),
        "unit": serializers.ListField(child=serializers.CharField(), required=False),
    },
)


def _responses(ok, refused: str, impossible: str) -> dict:
    return {
        200: ok,
        400: OpenApiResponse(_errors, description=impossible),
        403: OpenApiResponse(_detail, description=refused),
        404: OpenApiResponse(_detail, description="No such finding in the caller's units."),
    }


class FindingViewSet(RestrictedModelViewSet):
    """Base of the generated findings viewset (``ModelConfig.api_viewset``): CRUD plus the workflow actions."""

    def _finding(self, pk) -> Finding:
        return get_object_or_404(
            Finding.objects.restrict(self.request.user, "view").select_related("unit", "system"), pk=pk
        )

    def _answer(self, finding):
        finding.refresh_from_db()
        return Response(FindingSerializer(finding, context=self.get_serializer_context()).data)

    @extend_schema(
        operation_id="findings_findings_request_exception",
        summary="Request a false positive or an accepted risk",
        description=(
            "Needs change permission on the finding. Only an open, confirmed or reopened finding without a pending "
            "request; `until` is required when `requested_status` is `risk_accepted` (after today, at most one year "
            "ahead). The status changes only when a unit above approves."
        ),
        request=RequestExceptionSerializer,
        responses=_responses(
            FindingSerializer, "The caller may not change this finding.", "Invalid input, or not possible now."
        ),
    )
    @action(detail=True, methods=["post"], url_path="request-exception", permission_classes=[IsAuthenticated])
    def request_exception(self, request, pk=None):
        finding = self._finding(pk)
        data = RequestExceptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with workflow_errors():
            workflow.request(finding, request.user, values["requested_status"], values["reason"], values.get("until"))
        return self._answer(finding)

    @extend_schema(
        operation_id="findings_findings_approve",
        summary="Approve the pending request",
        description=(
            "Needs the approve permission, a unit strictly above the finding's unit (the top unit approves its own) "
            "and must not be the requester. The finding takes the requested status; an accepted risk is reopened "
            "automatically after `accepted_until`."
        ),
        request=None,
        responses=_responses(
            FindingSerializer,
            "Not an approver of this finding (role, unit, or the caller made the request).",
            "No pending request, or the finding is no longer open.",
        ),
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def approve(self, request, pk=None):
        finding = self._finding(pk)
        with workflow_errors():
            workflow.approve(finding, request.user)
        return self._answer(finding)

    @extend_schema(
        operation_id="findings_findings_reject",
        summary="Reject the pending request",
        description="Same approvers as approve. The status stays; the reason is kept in the audit log.",
        request=RejectSerializer,
        responses=_responses(
            FindingSerializer,
            "Not an approver of this finding (role, unit, or the caller made the request).",
            "No pending request, or no reason given.",
        ),
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reject(self, request, pk=None):
        finding = self._finding(pk)
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with workflow_errors():
            workflow.reject(finding, request.user, data.validated_data["reason"])
        return self._answer(finding)

    @extend_schema(
        operation_id="findings_findings_assign",
        summary="Assign an unattributed finding to a unit",
        description=(
            "Needs the assign permission. Moves the finding to `unit` (the caller's own unit or one below it) and "
            "marks it attributed. When that unit already has the same finding (same fingerprint), the two are "
            "merged into that one (`merged` is true) and the moved copy is deleted."
        ),
        request=AssignSerializer,
        responses=_responses(
            AssignResultSerializer,
            "The caller may not assign findings.",
            "Unit outside the caller's subtree, or the finding is already attributed.",
        ),
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def assign(self, request, pk=None):
        finding = self._finding(pk)
        data = AssignSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with workflow_errors():
            result = workflow.assign(finding, request.user, data.validated_data["unit"])
        result.finding.refresh_from_db()
        context = self.get_serializer_context()
        return Response(
            {
                "merged": result.merged,
                "detail": result.message,
                "finding": FindingSerializer(result.finding, context=context).data,
            }
        )
