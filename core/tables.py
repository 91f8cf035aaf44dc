import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .crypto import mask_value


class SelectColumn(tables.CheckBoxColumn):
    """The leftmost checkbox column used by bulk edit and bulk delete."""

    def __init__(self, **kwargs):
        super().__init__(
            accessor="pk",
            attrs={
                "input": {"name": "pk", "class": "form-check-input", "aria-label": _("Select row")},
                "th__input": {"class": "form-check-input", "data-toggle-all": "pk", "aria-label": _("Select all")},
            },
            orderable=False,
            exclude_from_export=True,
            **kwargs,
        )


class MaskedColumn(tables.Column):
    """A sensitive value, masked in every list (domain.md §10)."""

    def render(self, value):
        return mask_value(str(value))


class ChoiceListColumn(tables.Column):
    """A JSON list of choice values shown as their labels."""

    def __init__(self, choices, **kwargs):
        self.labels = dict(choices)
        super().__init__(orderable=False, **kwargs)

    def render(self, value):
        return "、".join(str(self.labels.get(v, v)) for v in value or [])


class BaseTable(tables.Table):
    """Every list's table: a selection column and a linked name. ``Meta.default_columns`` sets what shows until the
    user chooses columns (remembered per user)."""

    select = SelectColumn()

    class Meta:
        attrs = {"class": "table table-vcenter card-table table-striped table-hover"}
        default_columns: tuple = ()

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    @classmethod
    def selectable_columns(cls):
        return [(name, col.verbose_name or name) for name, col in cls.base_columns.items() if name != "select"]

    def apply_columns(self, chosen):
        """Show ``chosen`` columns (or the defaults), always keeping the selection column."""
        chosen = [c for c in (chosen or self.Meta.default_columns) if c in self.base_columns]
        if not chosen:
            return
        for name in self.base_columns:
            if name != "select" and name not in chosen:
                self.columns.hide(name)
        self.sequence = ["select", *chosen, "..."]
        self._sequence = self.sequence


def bool_icon(value):
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>', "green" if value else "secondary", _("Yes") if value else _("No")
    )
