"""Progress of a background task, polled by pages that started a long job."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views import View

from ..models import TaskRun


class TaskRunView(LoginRequiredMixin, View):
    """GET /tasks/<pk>/ → ``{"state", "progress", "message"}``. TaskRun records no owner, so any signed-in user may
    poll any run by its id; the response says how far a job is, never what it produced."""

    def get(self, request, pk):
        run = get_object_or_404(TaskRun, pk=pk)
        return JsonResponse({"state": run.state, "progress": run.progress, "message": run.message})
