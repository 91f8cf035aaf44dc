from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import View

from ..models import AuditEntry
from ..registry import home_panels


class HomeView(LoginRequiredMixin, View):
    """The start page: panels contributed by the domain apps (core knows none of them), then the user's own recent
    activity. It grows into the cockpit as apps add panels."""

    template_name = "core/home.html"

    def get(self, request):
        panels = []
        for panel in home_panels:
            result = panel(request)
            if result is not None:
                template, context = result
                panels.append(render_to_string(template, context, request=request))
        recent = AuditEntry.objects.filter(user=request.user).order_by("-seq")[:10]
        return render(request, self.template_name, {"panels": panels, "recent": recent})
