"""``{% load notification_tags %}{% notification_bell %}``: the bell in the top bar (core/templates/core/base.html).

The bell is rendered with the page and not polled: a request every minute would keep an idle session alive and defeat
the idle timeout (EDUSEC_IDLE_TIMEOUT_MINUTES)."""

from django import template

from ..events import event_label as _event_label

register = template.Library()


@register.inclusion_tag("core/channels/bell.html", takes_context=True)
def notification_bell(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    from ..views import bell_context

    return {**bell_context(user), "show": True, "request": request, "csrf_token": context.get("csrf_token")}


@register.filter
def event_label(code):
    return _event_label(str(code or ""))
