"""Template helpers for the generic pages: ``{% load edusec %}``.

- ``{% config_url config "edit" object %}``: a registered model's URL (templates cannot call ``config.url(view, obj)``).
- ``{{ form.field|bootstrap }}``: label, widget with Bootstrap classes, errors and help text.
- ``{{ form.field|add_input_class }}``: the widget alone, with its Bootstrap class (for compact layouts).
- ``{{ value|display_value:field }}``: a detail-page value: "—" when empty, links for objects with a page.
- ``{{ request.path|url_active:item.url }}`` and ``{{ group|nav_group_active:request.path }}``: navigation state.
"""

import datetime
import decimal

from django import forms, template
from django.db import models
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

register = template.Library()

EMPTY = "—"


@register.simple_tag
def config_url(config, view, obj=None):
    """``{% config_url config "detail" object %}`` → ``config.url("detail", object)``; ``as name`` works too."""
    return config.url(view, obj)


# ---- form fields ----------------------------------------------------------------------------------------------------


def _widget_kind(widget) -> str:
    if isinstance(widget, forms.HiddenInput):
        return "hidden"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, (forms.RadioSelect, forms.CheckboxSelectMultiple)):
        return "choices"
    if isinstance(widget, forms.MultiWidget):
        return "multi"
    if isinstance(widget, (forms.Select, forms.SelectMultiple)):  # NullBooleanSelect is a Select
        return "select"
    return "input"


_KIND_CLASS = {
    "checkbox": "form-check-input",
    "choices": "form-check-input",
    "select": "form-select",
    "multi": "form-control",
    "input": "form-control",
}


def _widget_attrs(bound_field, kind, extra_class=""):
    """Attributes merged into the widget's own: Bootstrap class, validity, and what describes the field."""
    widget = bound_field.field.widget
    classes = [widget.attrs.get("class", ""), _KIND_CLASS.get(kind, ""), extra_class]
    if bound_field.errors:
        classes.append("is-invalid")
    attrs = {"class": " ".join(c for c in classes if c).strip()}
    described = []
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}_help")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described and bound_field.auto_id:
        attrs["aria-describedby"] = " ".join(described)
    return attrs


@register.filter
def add_input_class(bound_field, extra_class=""):
    """The widget alone, with its Bootstrap class: ``{{ form.name|add_input_class:"form-control-sm" }}``."""
    if not isinstance(bound_field, forms.BoundField):
        return bound_field
    kind = _widget_kind(bound_field.field.widget)
    if kind == "hidden":
        return bound_field.as_widget()
    return bound_field.as_widget(attrs=_widget_attrs(bound_field, kind, extra_class))


@register.filter
def bootstrap(bound_field, extra_class=""):
    """A whole form group: ``{{ form.name|bootstrap }}``. Hidden fields render as their bare input."""
    if not isinstance(bound_field, forms.BoundField):
        return bound_field
    kind = _widget_kind(bound_field.field.widget)
    if kind == "hidden":
        return bound_field.as_widget()
    attrs = _widget_attrs(bound_field, kind, extra_class)
    options = []
    widget_html = ""
    if kind == "choices":
        for sub in bound_field.subwidgets:
            sub.data["attrs"] = {**sub.data.get("attrs", {}), **attrs}
            options.append({"tag": sub.tag(wrap_label=False), "label": sub.choice_label, "id": sub.id_for_label})
    else:
        widget_html = bound_field.as_widget(attrs=attrs)
    return render_to_string(
        "core/partials/form_field.html",
        {
            "field": bound_field,
            "kind": kind,
            "widget": widget_html,
            "options": options,
            "required": bound_field.field.required,
        },
    )


# ---- values on detail pages -----------------------------------------------------------------------------------------


def _object_url(value) -> str:
    url = ""
    if hasattr(value, "get_absolute_url"):
        try:
            url = value.get_absolute_url()
        except Exception:  # a model whose URL cannot be built still shows its name
            url = ""
    if not url and isinstance(value, models.Model):
        from ..registry import object_url

        url = object_url(value)
    return url


@register.filter
def object_link(value):
    """``str(value)``, linked to its page when it has one."""
    if value is None or value == "":
        return EMPTY
    url = _object_url(value)
    return format_html('<a href="{}">{}</a>', url, value) if url else str(value)


@register.filter
def display_value(value, field=None):
    """A value for the attribute table of a detail page."""
    if value is None or value == "" or value == [] or value == {} or value == ():
        return EMPTY
    if isinstance(value, bool):
        return format_html(
            '<span class="badge bg-{}-lt">{}</span>', "green" if value else "secondary", _("Yes") if value else _("No")
        )
    if isinstance(value, models.Model):
        return object_link(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name.rsplit("/", 1)[-1] if value.name else EMPTY
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return formats.date_format(value, "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, (int, float, decimal.Decimal)):
        return formats.number_format(value)
    if isinstance(value, (list, tuple, set)):
        # A JSON list of choice values shows labels when the model declares ``<field>_choices`` (e.g. Unit.stages).
        labels = dict(getattr(getattr(field, "model", None), f"{getattr(field, 'name', '')}_choices", None) or ())
        return format_html_join("、", "{}", ((str(labels.get(v, v)),) for v in value))
    if isinstance(field, models.URLField) and str(value).lower().startswith(("http://", "https://")):
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', value, value)
    if isinstance(field, models.EmailField):
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    if "\n" in str(value):
        return format_html('<div style="white-space: pre-line">{}</div>', value)
    return str(value)


# ---- navigation -----------------------------------------------------------------------------------------------------


@register.filter
def url_active(path, url) -> bool:
    """True when ``path`` is ``url`` or below it (a list URL stays active on its detail pages)."""
    return bool(url) and url != "/" and str(path).startswith(str(url))


@register.filter
def nav_group_active(group, path) -> bool:
    return any(url_active(path, item.get("url")) for item in group.get("items", []))
