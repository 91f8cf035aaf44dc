"""The monitoring endpoints beyond plain CRUD.

Checks: list, retrieve and PATCH of the schedule and thresholds (they are created and removed by the ledger), plus
``POST checks/<id>/probe/`` (probe now, in the background), ``POST checks/<id>/accept-baseline/`` (content checks) and
``GET checks/board/`` (the status board). Events are read-only. Rows are reached through ``restrict``: another unit's
check answers 404; an action the caller's roles do not allow answers 403.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.views import RestrictedModelViewSet

from .. import views as pages
from .. import vocabulary as v
from ..models import Check
from .serializers import BaselineSerializer, BoardSerializer, ProbeStartedSerializer

_detail = inline_serializer("MonitoringActionDetail", {"detail": serializers.CharField()})


class _Restricted(viewsets.GenericViewSet):
    """Rows from ``restrict`` only, joins from the registration (as ``RestrictedModelViewSet``)."""

    config = None
    get_queryset = RestrictedModelViewSet.get_queryset
    perform_update = RestrictedModelViewSet.perform_update


def board_response(request) -> Response:
    user = request.user
    if not user.has_perm("monitoring.view_check"):
        raise exceptions.PermissionDenied()
    districts = pages.board_districts(user)
    district_id = request.query_params.get("district", "")
    district = next((d for d in districts if str(d.pk) == district_id), None)
    if district_id and district is None:
        raise exceptions.NotFound()
    state = request.query_params.get("state", "")
    if state and state not in pages.SITE_RANK:
        raise exceptions.ValidationError({"state": [f"one of {', '.join(pages.SITE_RANK)}"]})
    data = pages.board_data(user, district=district, state=state, districts=districts)
    return Response(BoardSerializer(data).data)  # the page's extra keys (paths, colours) are left out


BOARD_SCHEMA = extend_schema(
    summary="The region status board",
    description=(
        "Summary counters of the caller's subtree (sites up and down, open monitoring findings, sites with hidden "
        "links, defacement or harmful keywords now) and one tile per unit with monitored websites, coloured by the "
        "worst state of its sites, grouped by district."
    ),
    parameters=[
        OpenApiParameter("district", OpenApiTypes.INT, description="Only this district (a unit ID)."),
        OpenApiParameter(
            "state", OpenApiTypes.STR, enum=list(pages.SITE_RANK), description="Only tiles in this state."
        ),
    ],
    responses={200: BoardSerializer, 403: OpenApiResponse(_detail), 404: OpenApiResponse(_detail)},
)


class CheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, _Restricted):
    """Checks: read, PATCH the editable fields, and the actions."""

    http_method_names = ["get", "patch", "post", "head", "options"]

    def _check(self, pk, action="view") -> Check:
        return get_object_or_404(
            Check.objects.restrict(self.request.user, action).select_related("website", "unit"), pk=pk
        )

    @extend_schema(
        operation_id="monitoring_checks_probe",
        summary="Probe now",
        description=(
            "Probes this check in the background (task `monitoring.probe_site`) and answers at once with the task's "
            "ID. Allowed to the roles that look after checks or maintenance windows."
        ),
        request=None,
        responses={202: ProbeStartedSerializer, 403: OpenApiResponse(_detail), 404: OpenApiResponse(_detail)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def probe(self, request, pk=None):
        check = self._check(pk)
        if not pages.can_probe(request.user):
            raise exceptions.PermissionDenied()
        if not check.enabled:
            raise exceptions.ValidationError({"non_field_errors": ["the check is switched off"]})
        run = pages.start_probe(check.website_id, [check.pk])
        return Response({"task": run.pk, "checks": [check.pk]}, status=202)

    @extend_schema(
        operation_id="monitoring_checks_accept_baseline",
        summary="Accept the current page as the site's baseline",
        description=(
            "Content checks only. The latest stored copy of the page (or, when the page changed since, a fresh "
            "fetch) becomes the reviewed baseline against which defacement is judged; the page is analysed again at "
            "the next probe. Needs change permission on checks (administrators, security officers). Audited."
        ),
        request=None,
        responses={
            200: BaselineSerializer,
            400: OpenApiResponse(_detail, description="Not a content check, or the page could not be fetched."),
            403: OpenApiResponse(_detail),
            404: OpenApiResponse(_detail),
        },
    )
    @action(detail=True, methods=["post"], url_path="accept-baseline", permission_classes=[IsAuthenticated])
    def accept_baseline(self, request, pk=None):
        check = self._check(pk)
        if not pages.can_accept_baseline(request.user):
            raise exceptions.PermissionDenied()
        if check.kind != v.CONTENT:
            raise exceptions.ValidationError({"non_field_errors": ["only a content check has a baseline"]})
        try:
            baseline, event = pages.accept_baseline(check, request.user)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"non_field_errors": exc.messages}) from exc
        return Response(
            {
                "check_id": check.pk,
                "reviewed_by": request.user.get_username(),
                "reviewed_at": baseline.reviewed_at,
                "snapshot": baseline.snapshot_id,
                "event": event.pk,
            }
        )

    @BOARD_SCHEMA
    @action(detail=False, methods=["get"], permission_classes=[IsAuthenticated], pagination_class=None)
    def board(self, request):
        return board_response(request)


class CheckEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Restricted):
    """Events are what the monitor saw: read-only."""


class ProbeRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Restricted):
    """Raw probe results, when kept: read-only."""


class BoardView(APIView):
    """``GET /api/monitoring/board/``: the same answer as ``GET /api/monitoring/checks/board/``."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="monitoring_board_retrieve")
    @BOARD_SCHEMA
    def get(self, request):
        return board_response(request)
