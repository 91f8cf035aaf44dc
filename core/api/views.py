from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import exceptions, viewsets

ACTION_FOR = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class RestrictedModelViewSet(viewsets.ModelViewSet):
    """The API face of a registered model: same FilterSet as the list page, rows from ``restrict`` only."""

    config = None

    def get_queryset(self):
        action = ACTION_FOR.get(self.action, "view")
        qs = self.config.model.objects.restrict(self.request.user, action)
        if self.config.select_related:
            qs = qs.select_related(*self.config.select_related)
        if self.config.prefetch_related:
            qs = qs.prefetch_related(*self.config.prefetch_related)
        return qs

    def perform_create(self, serializer):
        extra = {}
        if hasattr(self.config.model, "created_by"):
            extra = {"created_by": self.request.user, "updated_by": self.request.user}
        with transaction.atomic():
            serializer.save(**extra)

    def perform_update(self, serializer):
        extra = {"updated_by": self.request.user} if hasattr(self.config.model, "updated_by") else {}
        with transaction.atomic():
            serializer.save(**extra)


def viewset_for(config):
    attrs = {
        "config": config,
        "serializer_class": config.serializer,
        "filterset_class": config.filterset,
        "queryset": config.model.objects.none(),
        "ordering_fields": "__all__",
    }
    return type(f"{config.model.__name__}ViewSet", (config.api_viewset or RestrictedModelViewSet,), attrs)


@contextmanager
def workflow_errors():
    """Workflow rules raise Django's PermissionDenied and ValidationError with sentences for people; the API answers
    them as 403 and 400 with the same sentences (field-keyed where the rule names a field)."""
    try:
        yield
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc) or None) from exc
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        raise exceptions.ValidationError(detail) from exc
