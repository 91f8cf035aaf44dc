"""Progress of a background task, polled by pages that started a long job."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views import View

from ..models import TaskRun


class TaskRunView(LoginRequiredMixin, View):
    """GET /tasks/<pk>/ → ``{"state", "progress", "message"}``, for the user who started the run (404 for anyone
    else); the response says how far a job is, never what it produced."""

    def get(self, request, pk):
        runs = TaskRun.objects.all() if request.user.is_superuser else TaskRun.objects.filter(user=request.user)
        run = get_object_or_404(runs, pk=pk)
        return JsonResponse({"state": run.state, "progress": run.progress, "message": run.message})
