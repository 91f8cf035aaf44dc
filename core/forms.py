from django import forms
from django.utils.translation import gettext_lazy as _


def restrict_related_choices(form_fields, user):
    """Limit every model-choice field to objects the user may see: nothing can point into a foreign subtree."""
    for field in form_fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is not None and hasattr(queryset, "restrict"):
            field.queryset = queryset.restrict(user, "view")


class ScopedModelForm(forms.ModelForm):
    """Base of every registered model's form. Takes the acting ``user``."""

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        if user is not None:
            restrict_related_choices(self.fields, user)


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("XLSX file"), help_text=_("Fill in the template downloaded from this page."))

    MAX_SIZE = 10 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_SIZE:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        head = upload.read(4)
        upload.seek(0)
        if head != b"PK\x03\x04":  # checked by content: an XLSX file is a ZIP archive
            raise forms.ValidationError(_("This is not an XLSX file. Download the template and fill it in."))
        return upload


def bulk_edit_form_for(config, user):
    """A form with the model form's bulk-editable fields, all optional: only filled fields are applied."""
    base = config.form
    fields = config.bulk_edit_fields if hasattr(config, "bulk_edit_fields") else []

    class BulkEditForm(forms.Form):
        pass

    model_form = base(user=user)
    for name in fields:
        field = model_form.fields[name]
        if isinstance(field, forms.BooleanField):
            # A checkbox cannot say "leave unchanged"; a three-way select can.
            field = forms.NullBooleanField(
                label=field.label,
                required=False,
                widget=forms.Select(choices=[("", "---------"), ("true", _("Yes")), ("false", _("No"))]),
            )
        field.required = False
        if isinstance(field, forms.TypedChoiceField) or isinstance(field, forms.ChoiceField):
            choices = [c for c in field.choices if c[0] != ""]
            field.choices = [("", "---------"), *choices]
        BulkEditForm.base_fields[name] = field
    return BulkEditForm
