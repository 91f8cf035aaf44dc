import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .idn import ascii_host


class BaseFilterSet(django_filters.FilterSet):
    """One FilterSet per model serves the list page, the API and exports. ``q`` searches ``search_fields``."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    search_fields: tuple = ()
    # Of ``search_fields``, those holding host names in their stored punycode form (core/idn.py): a search in the
    # host's own script (第一中学.公益) finds them too.
    host_search_fields: tuple = ()

    def search(self, queryset, name, value):
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        if self.host_search_fields and not value.isascii() and (ascii_value := ascii_host(value)).isascii():
            for field in self.host_search_fields:
                condition |= Q(**{f"{field}__icontains": ascii_value})
        return queryset.filter(condition)

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        if user is not None:
            for flt in self.filters.values():
                # Choices of related-object filters come from the user's subtree only.
                qs = getattr(flt, "queryset", None)
                if qs is not None and hasattr(qs, "restrict"):
                    flt.queryset = qs.restrict(user, "view")


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter whose empty choice reads "All" rather than "Unknown"."""

    def __init__(self, *args, **kwargs):
        from django import forms

        kwargs.setdefault("widget", forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]))
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.INT)  # the unit's ID
class UnitSubtreeFilter(django_filters.ModelChoiceFilter):
    """Rows of the chosen unit and all units below it."""

    def __init__(self, *args, path_lookup="unit__path", **kwargs):
        self.path_lookup = path_lookup
        kwargs.setdefault("label", _("Unit (with subordinates)"))
        kwargs.setdefault("method", self.filter_subtree)
        super().__init__(*args, **kwargs)

    def filter_subtree(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(**{f"{self.path_lookup}__startswith": value.path})
