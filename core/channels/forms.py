from django import forms
from django.utils.translation import gettext_lazy as _

from ..forms import ScopedModelForm
from ..models import ChannelEndpoint, ChannelSubscription
from .events import event_choices
from .masking import mask_secret, mask_url


def sync_subscriptions(endpoint, codes) -> tuple[list[str], list[str]]:
    """Make the endpoint's subscriptions exactly ``codes``, row by row so each change is audited. Returns (added,
    removed)."""
    wanted = set(codes)
    current = {s.event_type: s for s in ChannelSubscription.objects.filter(endpoint=endpoint)}
    added = sorted(wanted - set(current))
    removed = sorted(set(current) - wanted)
    for code in removed:
        current[code].delete()
    for code in added:
        ChannelSubscription(endpoint=endpoint, unit=endpoint.unit, event_type=code).save()
    return added, removed


class ChannelEndpointForm(ScopedModelForm):
    """The stored address and secret are never sent back to the browser: the fields start empty, and leaving them
    empty keeps what is stored."""

    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events this channel receives"),
    )
    clear_secret = forms.BooleanField(label=_("Remove the stored secret"), required=False)

    field_order = ["unit", "name", "kind", "webhook_url", "secret", "clear_secret", "email_to", "message_format"]

    class Meta:
        model = ChannelEndpoint
        fields = [
            "unit",
            "name",
            "kind",
            "webhook_url",
            "secret",
            "email_to",
            "message_format",
            "event_types",
            "include_subunits",
            "enabled",
            "remarks",
        ]
        widgets = {
            "webhook_url": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "secret": forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            "email_to": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "webhook_url": _(
                "The robot's webhook address as the group settings show it (WeCom: …/webhook/send?key=…; DingTalk: "
                "…/robot/send?access_token=…; Feishu: …/bot/v2/hook/…). Not needed for e-mail."
            ),
            "secret": _(
                "DingTalk “加签” secret (SEC…), Feishu signature secret, or the secret of a signed webhook. WeCom "
                "robots have none."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.fields["webhook_url"].required = False
        self.fields["secret"].required = False
        if instance.pk:
            self.initial["event_types"] = instance.event_types
            # Never render what is stored: show a masked hint instead.
            self.initial["webhook_url"] = ""
            self.initial["secret"] = ""
            if instance.webhook_url:
                self.fields["webhook_url"].widget.attrs["placeholder"] = mask_url(instance.webhook_url)
                self.fields["webhook_url"].help_text = _("Stored: %(url)s. Leave empty to keep it.") % {
                    "url": mask_url(instance.webhook_url)
                }
            if instance.secret:
                self.fields["secret"].widget.attrs["placeholder"] = mask_secret(instance.secret)
                self.fields["secret"].help_text = _("A secret is stored (%(secret)s). Leave empty to keep it.") % {
                    "secret": mask_secret(instance.secret)
                }
        if not (instance.pk and instance.secret):
            del self.fields["clear_secret"]

    def clean_webhook_url(self):
        value = (self.cleaned_data.get("webhook_url") or "").strip()
        return value or (self.instance.webhook_url if self.instance.pk else "") or ""

    def clean_secret(self):
        value = self.cleaned_data.get("secret") or ""
        if value.strip() != value:
            value = value.strip()
        return value or (self.instance.secret if self.instance.pk else "") or ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_secret"):
            cleaned["secret"] = ""
        if cleaned.get("kind") == "email":
            cleaned["webhook_url"] = ""
            cleaned["secret"] = ""
        elif cleaned.get("kind"):
            cleaned["email_to"] = ""
        return cleaned

    def _save_m2m(self):
        super()._save_m2m()
        sync_subscriptions(self.instance, self.cleaned_data.get("event_types") or [])


class ChannelSubscriptionForm(ScopedModelForm):
    event_type = forms.ChoiceField(label=_("event type"), choices=event_choices)

    class Meta:
        model = ChannelSubscription
        fields = ["endpoint", "event_type"]

    def clean(self):
        cleaned = super().clean()
        endpoint = cleaned.get("endpoint")
        if endpoint is not None:
            self.instance.unit = endpoint.unit
        return cleaned


class PreferencesForm(forms.Form):
    """One row per event type: in the platform / by e-mail."""

    def __init__(self, *args, user, events, preferences, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.events = events
        self.rows = []
        for index, event in enumerate(events):
            pref = preferences.get(event.code)
            in_app = forms.BooleanField(
                required=False, initial=pref.in_app if pref else True, label=_("In the platform")
            )
            email = forms.BooleanField(required=False, initial=pref.email if pref else False, label=_("By e-mail"))
            if not user.email:
                email.disabled = True
            self.fields[f"in_app_{index}"] = in_app
            self.fields[f"email_{index}"] = email
            self.rows.append((event, self[f"in_app_{index}"], self[f"email_{index}"]))

    def choices(self) -> dict[str, tuple[bool, bool]]:
        return {
            event.code: (bool(self.cleaned_data.get(f"in_app_{i}")), bool(self.cleaned_data.get(f"email_{i}")))
            for i, event in enumerate(self.events)
        }
