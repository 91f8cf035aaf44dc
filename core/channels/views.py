"""Pages of the notification channels: the user's inbox and settings, the endpoint test action, and the extra panels of
the endpoint and delivery pages (their list/edit/delete pages are the generic ones, see ``registrations``)."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from ..models import ChannelEndpoint, Delivery, Notification, NotificationPreference
from .api import mark_read, record_test, save_preferences
from .events import event_label, event_types
from .forms import PreferencesForm
from .masking import mask_secret, mask_url

BELL_ITEMS = 6


def _safe_url(request, url: str, default: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return default


def bell_context(user) -> dict:
    """The latest notifications and the unread count in one query (the bell is on every page)."""
    unread = Notification.objects.restrict(user).unread().order_by().values("user").annotate(n=Count("pk")).values("n")
    latest = list(
        Notification.objects.restrict(user)
        .select_related("unit")
        .annotate(unread_total=Subquery(unread, output_field=IntegerField()))[:BELL_ITEMS]
    )
    return {"unread_count": (latest[0].unread_total or 0) if latest else 0, "latest": latest}


class BellView(LoginRequiredMixin, View):
    """The bell alone, refreshed by htmx every minute."""

    def get(self, request):
        return render(request, "core/channels/bell.html", {**bell_context(request.user), "request": request})


class NotificationListView(LoginRequiredMixin, View):
    template_name = "core/channels/notification_list.html"

    def get(self, request):
        show = request.GET.get("show", "all")
        notifications = Notification.objects.restrict(request.user).select_related("unit")
        if show == "unread":
            notifications = notifications.unread()
        page = Paginator(notifications, 25).get_page(request.GET.get("page"))
        for item in page.object_list:
            item.event_label = event_label(item.event_type)
        return render(
            request,
            self.template_name,
            {
                "page": page,
                "show": show,
                "unread_count": Notification.objects.restrict(request.user).unread().count(),
            },
        )


class NotificationOpenView(LoginRequiredMixin, View):
    """Follow a notification's link, marking it read on the way."""

    def get(self, request, pk):
        notification = get_object_or_404(Notification.objects.restrict(request.user), pk=pk)
        if notification.read_at is None:
            mark_read(request.user, Notification.objects.filter(pk=pk), request)
        return HttpResponseRedirect(_safe_url(request, notification.url, reverse("core:notification_list")))


class NotificationReadView(LoginRequiredMixin, View):
    def post(self, request, pk):
        get_object_or_404(Notification.objects.restrict(request.user), pk=pk)
        mark_read(request.user, Notification.objects.filter(pk=pk), request)
        return HttpResponseRedirect(_safe_url(request, request.POST.get("next", ""), reverse("core:notification_list")))


class NotificationReadAllView(LoginRequiredMixin, View):
    def post(self, request):
        count = mark_read(request.user, Notification.objects.all(), request)
        if count:
            messages.success(request, _("Marked %(n)d notification(s) read.") % {"n": count})
        return HttpResponseRedirect(_safe_url(request, request.POST.get("next", ""), reverse("core:notification_list")))


class NotificationSettingsView(LoginRequiredMixin, View):
    """My notification settings: for each event type, in the platform and/or by e-mail."""

    template_name = "core/channels/notification_settings.html"

    def get_form(self, data=None):
        events = event_types(subscribable_only=True)
        preferences = {p.event_type: p for p in NotificationPreference.objects.filter(user=self.request.user)}
        return PreferencesForm(data, user=self.request.user, events=events, preferences=preferences)

    def get(self, request):
        return render(request, self.template_name, {"form": self.get_form()})

    def post(self, request):
        form = self.get_form(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        choices = form.choices()
        if not request.user.email:  # disabled fields keep their initial value; nothing to send to anyway
            choices = {code: (in_app, False) for code, (in_app, _email) in choices.items()}
        save_preferences(request.user, choices, request)
        messages.success(request, _("Your notification settings were saved."))
        return HttpResponseRedirect(reverse("core:notification_settings"))


class EndpointTestView(LoginRequiredMixin, View):
    """Send a test message through an endpoint of the user's subtree (needs the right to change it)."""

    def post(self, request, pk):
        if not request.user.has_perm("core.change_channelendpoint"):
            raise PermissionDenied
        endpoint = get_object_or_404(ChannelEndpoint.objects.restrict(request.user, "change"), pk=pk)
        from .service import send_test

        delivery = send_test(endpoint, request.user)
        record_test(delivery, request)
        messages.info(request, _("A test message is on its way; this page shows how it went."))
        return HttpResponseRedirect(delivery.get_absolute_url())


# ---- extra context of the generic detail pages ----------------------------------------------------------------------


def endpoint_detail_context(request, endpoint) -> dict:
    deliveries = Delivery.objects.restrict(request.user, "view").filter(endpoint=endpoint).order_by("-created_at")[:10]
    return {
        "masked_url": mask_url(endpoint.webhook_url or ""),
        "masked_secret": mask_secret(endpoint.secret or ""),
        "subscribed": [event_label(code) for code in endpoint.event_types],
        "recent_deliveries": list(deliveries),
        "can_test": request.user.has_perm("core.change_channelendpoint")
        and ChannelEndpoint.objects.restrict(request.user, "change").filter(pk=endpoint.pk).exists(),
        "deliveries_url": reverse("core:delivery_list") + f"?endpoint={endpoint.pk}",
    }


def delivery_detail_context(request, delivery) -> dict:
    return {
        "attempt_log": list(delivery.attempt_log.all()),
        "event_label": event_label(delivery.event_type),
    }
