from django import template

from ..crypto import mask_value

register = template.Library()


@register.filter
def masked(value):
    """``{{ person.phone|masked }}`` → 138****5678: sensitive values are never shown in full on a page."""
    return mask_value(str(value)) if value else "—"
