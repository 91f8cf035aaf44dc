"""Password rules of domain.md §10: at least three character classes and no reuse of the last N passwords."""

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def character_classes(password: str) -> int:
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(classes)


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                _("The password must mix at least %(n)d of: lower-case letters, upper-case letters, digits, symbols.")
                % {"n": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("Mix at least %(n)d of: lower-case letters, upper-case letters, digits, symbols.") % {
            "n": self.min_classes
        }


class PasswordHistoryValidator:
    """Refuses the current and the previous ``history`` passwords; records each new password's hash when it is set."""

    def __init__(self, history: int = 3):
        self.history = history

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        from .models import PasswordHistory

        previous = list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[: self.history])
        if any(check_password(password, encoded) for encoded in previous):
            raise ValidationError(
                _("The password must differ from your last %(n)d passwords.") % {"n": self.history},
                code="password_reused",
            )

    def password_changed(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        from .models import PasswordHistory

        PasswordHistory.objects.create(user=user, password=user.password)
        stale = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[self.history :]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()

    def get_help_text(self):
        return _("Do not reuse any of your last %(n)d passwords.") % {"n": self.history}
