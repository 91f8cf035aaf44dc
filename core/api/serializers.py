from rest_framework import serializers

from ..crypto import mask_value


class ScopedModelSerializer(serializers.ModelSerializer):
    """Related-object choices are limited to what the caller may see, so nothing can be attached to a foreign unit;
    model ``clean()`` runs on every write so the API enforces the same rules as the forms."""

    url = serializers.SerializerMethodField()
    display = serializers.SerializerMethodField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None and hasattr(queryset, "restrict") and user is not None:
                field.queryset = queryset.restrict(user, "view")
            child = getattr(field, "child_relation", None)
            if child is not None and hasattr(child.queryset, "restrict") and user is not None:
                child.queryset = child.queryset.restrict(user, "view")

    def get_url(self, obj) -> str:
        return obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""

    def get_display(self, obj) -> str:
        return str(obj)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = self.instance or model()
        m2m = {}
        for key, value in attrs.items():
            if key == "password":  # hashed by the serializer's create/update, never assigned raw
                continue
            field = model._meta.get_field(key) if key in {f.name for f in model._meta.get_fields()} else None
            if field is not None and field.many_to_many:
                m2m[key] = value
                continue
            setattr(instance, key, value)
        instance.full_clean(exclude=self._clean_exclude(model))
        return attrs

    def _clean_exclude(self, model):
        # Unique checks are left to the database/serializer validators; skip fields this serializer does not write.
        return [f.name for f in model._meta.fields if f.name not in self.fields] + ["password"]


class MaskedField(serializers.CharField):
    """A sensitive value: written in clear, read back masked."""

    def to_representation(self, value):
        return mask_value(str(value or ""))
