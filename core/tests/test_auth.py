"""Account security (domain.md §10): sign-in and lockout, password policy and expiry, idle timeout, TOTP second
factor, sign-out, and API tokens."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import ngettext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from core.models import AuditEntry, PasswordHistory
from orgs.models import Unit, User

PASSWORD = "Kx7#mQ2!vRp9"
LOGIN = "/login/"
BANNER = "Two-factor authentication is turned off"

pytestmark = pytest.mark.django_db


# ---- fixtures and helpers --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _policy(settings):
    """The defaults of domain.md §10, independent of the environment the tests run in; tokens never throttle."""
    settings.EDUSEC_REQUIRE_2FA = True
    settings.EDUSEC_PASSWORD_MAX_AGE_DAYS = 90
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=10)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; hashers have own tests


@pytest.fixture
def root():
    # treebeard 7 takes the new node as ``instance=`` (or a dict), not as keyword arguments.
    return Unit.objects.add_root(
        instance=Unit(name="示范市教育局", code="329900", unit_type="city", division_code="329900")
    )


@pytest.fixture
def make_user(root):
    def make(username, *roles, password=PASSWORD):
        user = User.objects.create_user(username, password=password, unit=root)
        # Django's create_user stores the hash directly (no set_password, no save-time history), so set it the way
        # the account pages do: this stamps password_changed_at and records the first password in the history.
        user.set_password(password)
        user.save()
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def login(client, username, password=PASSWORD, next=None, **meta):
    data = {"username": username, "password": password}
    if next is not None:
        data["next"] = next
    return client.post(LOGIN, data, **meta)


def token_for(device: TOTPDevice) -> str:
    """The device's current code, as the phone would show it. Clears the replay guard (``last_t``) first so that a
    test can sign in twice within one 30-second step."""
    device.refresh_from_db()
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, drift=0)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    right = int(token_for(device))
    return f"{(right + 500000) % 1000000:06d}"


def enrolled_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="EduSec", confirmed=True)


def entries(action, username=None):
    qs = AuditEntry.objects.filter(action=action)
    return qs.filter(username=username) if username else qs


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


# ---- sign-in ---------------------------------------------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_login_success_is_audited_with_ip(client, make_user):
    user = make_user("cio01", "school_cio")
    response = login(client, "cio01", REMOTE_ADDR="10.20.30.40")
    assert response.status_code == 302 and response["Location"] == reverse("core:home")
    assert signed_in_user_id(client) == str(user.pk)
    entry = entries("login", "cio01").get()
    assert entry.ip == "10.20.30.40" and entry.result == "success" and entry.user_id == user.pk
    assert entry.unit_path == user.unit.path


def test_wrong_password_is_audited_as_login_failed(client, make_user):
    make_user("cio01", "school_cio")
    response = login(client, "cio01", "wrong-Password-1")
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    assert response.context["form"].errors
    entry = entries("login_failed", "cio01").get()
    assert entry.result == "failure" and entry.ip == "127.0.0.1"
    assert not entries("login", "cio01").exists()


def test_unknown_user_failure_is_audited(client, root):
    login(client, "nobody", "whatever-1A")
    assert entries("login_failed", "nobody").get().user_id is None


def test_next_is_respected_only_on_this_site(client, make_user):
    make_user("cio01", "school_cio")
    response = login(client, "cio01", next="/account/")
    assert response["Location"] == "/account/"
    client.post(reverse("core:logout"))
    response = login(client, "cio01", next="https://evil.example/steal")
    assert response["Location"] == reverse("core:home")


def test_five_failures_lock_the_account_until_the_cool_off_ends(client, make_user):
    make_user("cio01", "school_cio")
    for _ in range(4):
        assert login(client, "cio01", "wrong-Password-1").status_code == 200
    fifth = login(client, "cio01", "wrong-Password-1")
    assert fifth.status_code == 429
    assert entries("locked_out", "cio01").exists()

    refused = login(client, "cio01")  # the right password, too late
    assert refused.status_code == 429
    assert signed_in_user_id(client) is None
    text = refused.content.decode()
    assert "locked" in text and "10 minutes" in text
    assert not entries("login", "cio01").exists()

    # Another client (another address) is locked out too: the lock is per account.
    other = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.9.9.9")
    assert login(other, "cio01").status_code == 429

    # Eleven minutes later the lock has lifted.
    AccessAttempt.objects.all().update(attempt_time=timezone.now() - timedelta(minutes=11))
    response = login(client, "cio01")
    assert response.status_code == 302
    assert entries("login", "cio01").count() == 1


def test_lockout_minutes_follow_the_setting(client, make_user, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    make_user("cio01", "school_cio")
    for _ in range(5):
        response = login(client, "cio01", "wrong-Password-1")
    assert response.status_code == 429
    assert "3 minutes" in response.content.decode()


def test_lockout_message_follows_the_language(make_user):
    make_user("cio01", "school_cio")
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(5):
        response = login(zh, "cio01", "wrong-Password-1")
    assert response.status_code == 429
    with translation.override("zh-hans"):
        expected = ngettext(
            "This account is locked after too many failed sign-in attempts. Try again in %(minutes)d minute.",
            "This account is locked after too many failed sign-in attempts. Try again in %(minutes)d minutes.",
            10,
        ) % {"minutes": 10}
    assert escape(expected) in response.content.decode()


def test_success_resets_the_failure_count(client, make_user):
    make_user("cio01", "school_cio")
    for _ in range(4):
        login(client, "cio01", "wrong-Password-1")
    assert login(client, "cio01").status_code == 302
    client.post(reverse("core:logout"))
    for _ in range(4):
        assert login(client, "cio01", "wrong-Password-1").status_code == 200


def test_inactive_user_cannot_sign_in(client, make_user):
    user = make_user("cio01", "school_cio")
    user.is_active = False
    user.save()
    assert login(client, "cio01").status_code == 200
    assert signed_in_user_id(client) is None


# ---- sign-out --------------------------------------------------------------------------------------------------------


def test_logout_is_post_only_audited_and_clears_the_session(client, make_user):
    make_user("cio01", "school_cio")
    login(client, "cio01")
    session_key = client.session.session_key
    assert client.get(reverse("core:logout")).status_code == 405
    assert signed_in_user_id(client) is not None

    response = client.post(reverse("core:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("core:login")
    assert signed_in_user_id(client) is None
    assert not Session.objects.filter(session_key=session_key).exists()
    assert entries("logout", "cio01").get().result == "success"
    assert client.get(reverse("core:account")).status_code == 302


# ---- password policy -------------------------------------------------------------------------------------------------


def change_password(client, old, new):
    return client.post(
        reverse("core:password_change"), {"old_password": old, "new_password1": new, "new_password2": new}
    )


def test_password_policy(client, make_user):
    user = make_user("cio01", "school_cio")
    client.force_login(user)

    too_short = change_password(client, PASSWORD, "aB3$x")
    assert too_short.status_code == 200
    assert too_short.context["form"].has_error("new_password2", "password_too_short")

    two_classes = change_password(client, PASSWORD, "onlylowercase123")
    assert two_classes.status_code == 200
    assert two_classes.context["form"].has_error("new_password2", "password_too_simple")

    wrong_old = change_password(client, "not-the-password-1A", "Fresh#Pass2024")
    assert wrong_old.context["form"].has_error("old_password")

    same = change_password(client, PASSWORD, PASSWORD)
    assert same.context["form"].has_error("new_password2", "password_reused")


def test_password_history_last_three(client, make_user):
    user = make_user("cio01", "school_cio")  # history: P0
    client.force_login(user)
    p0, p1, p2, p3 = PASSWORD, "Second#Pass21", "Third#Pass321", "Fourth#Pass4321"
    for old, new in ((p0, p1), (p1, p2), (p2, p3)):
        response = change_password(client, old, new)
        assert response.status_code == 302, response.context["form"].errors
    assert PasswordHistory.objects.filter(user=user).count() == 3

    reused = change_password(client, p3, p1)  # one of the last three (p3, p2, p1)
    assert reused.status_code == 200
    assert reused.context["form"].has_error("new_password2", "password_reused")

    fourth_oldest = change_password(client, p3, p0)
    assert fourth_oldest.status_code == 302


def test_password_change_keeps_session_and_is_audited(client, make_user):
    user = make_user("cio01", "school_cio")
    login(client, "cio01")
    response = change_password(client, PASSWORD, "Brand#New2024x")
    assert response.status_code == 302 and response["Location"] == reverse("core:account")
    assert client.get(reverse("core:account")).status_code == 200  # still signed in
    entry = entries("password", "cio01").get()
    assert entry.object_repr == "cio01" and entry.object_id == str(user.pk)
    user.refresh_from_db()
    assert user.check_password("Brand#New2024x")
    assert timezone.now() - user.password_changed_at < timedelta(minutes=1)


def test_expired_password_redirects_to_change_page(client, make_user, settings):
    user = make_user("cio01", "school_cio")
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    login(client, "cio01")

    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and response["Location"] == reverse("core:password_change")
    page = client.get(reverse("core:password_change"))
    assert page.status_code == 200 and page.context["password_expired"]
    assert client.get(reverse("core:account")).status_code == 200  # the account page stays reachable

    assert change_password(client, PASSWORD, "Renewed#Pass99").status_code == 302
    assert client.get(reverse("core:home")).status_code == 200


def test_password_expiry_edge_cases(client, make_user, settings):
    user = make_user("cio01", "school_cio")
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=89))
    assert client.get(reverse("core:home")).status_code == 200
    User.objects.filter(pk=user.pk).update(password_changed_at=None)  # never tracked: not forced
    assert client.get(reverse("core:home")).status_code == 200
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=400))
    settings.EDUSEC_PASSWORD_MAX_AGE_DAYS = 0  # expiry off
    assert client.get(reverse("core:home")).status_code == 200
    settings.EDUSEC_PASSWORD_MAX_AGE_DAYS = 90
    assert client.get(reverse("core:home")).status_code == 302
    htmx = client.get(reverse("core:home"), HTTP_HX_REQUEST="true")  # htmx navigates instead of swapping a page in
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == reverse("core:password_change")


# ---- idle timeout ----------------------------------------------------------------------------------------------------


def test_idle_timeout_settings():
    assert settings.SESSION_COOKIE_AGE == settings.EDUSEC_IDLE_TIMEOUT_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_idle_session_is_rejected(client, make_user):
    make_user("cio01", "school_cio")
    login(client, "cio01")
    assert client.get(reverse("core:account")).status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    # Every request slides the expiry: it lies one idle period after the last request.
    remaining = session.expire_date - timezone.now()
    assert (
        timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
        < remaining
        <= timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )

    # No request for longer than the idle timeout.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("core:account"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("core:login"))


# ---- second factor ---------------------------------------------------------------------------------------------------


def test_administrator_must_enrol_then_sign_in_with_code(client, make_user):
    user = make_user("sec01", "security_officer")

    # Without a device: password alone signs in, but every page leads to enrolment.
    assert login(client, "sec01").status_code == 302
    response = client.get(reverse("core:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:otp_enroll"))
    assert client.get("/orgs/units/").status_code == 302

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and page.context["secret"] in body
    assert "<img" not in body.split('id="main"')[-1]  # the QR code is drawn inline, by no outside service
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    assert page.context["secret"].replace(" ", "") in page.context["otpauth_uri"]
    assert page.context["otpauth_uri"].startswith("otpauth://totp/")

    bad = client.post(reverse("core:otp_enroll"), {"token": wrong_token(device), "next": "/"})
    assert bad.status_code == 200 and bad.context["form"].errors
    device.refresh_from_db()
    assert not device.confirmed

    done = client.post(reverse("core:otp_enroll"), {"token": token_for(device), "next": "/"})
    assert done.status_code == 302 and done["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    enrolled = entries("otp", "sec01").filter(result="success").get()
    assert enrolled.changes["event"] == "enrolled"
    assert client.get(reverse("core:home")).status_code == 200  # this session is now verified

    # From now on the password alone does not sign in.
    client.post(reverse("core:logout"))
    step1 = login(client, "sec01", next="/account/")
    assert step1.status_code == 302 and step1["Location"] == reverse("core:login_otp")
    assert signed_in_user_id(client) is None
    assert client.get(reverse("core:account")).status_code == 302
    assert client.get(reverse("core:login_otp")).status_code == 200

    wrong = client.post(reverse("core:login_otp"), {"token": wrong_token(device)})
    assert wrong.status_code == 200 and signed_in_user_id(client) is None
    assert entries("otp", "sec01").filter(result="failure").exists()

    ok = client.post(reverse("core:login_otp"), {"token": token_for(device)})
    assert ok.status_code == 302 and ok["Location"] == "/account/"
    assert signed_in_user_id(client) == str(user.pk)
    assert client.get(reverse("core:home")).status_code == 200
    assert entries("login", "sec01").count() == 2


def test_code_step_cannot_be_skipped(client, make_user):
    user = make_user("sec01", "security_officer")
    enrolled_device(user)
    login(client, "sec01")
    assert client.get(reverse("core:home")).status_code == 302
    assert signed_in_user_id(client) is None
    # Without a password step first there is nothing to verify.
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = fresh.post(reverse("core:login_otp"), {"token": "123456"})
    assert response.status_code == 302 and response["Location"] == reverse("core:login")


def test_wrong_codes_lock_the_account(client, make_user):
    user = make_user("sec01", "security_officer")
    device = enrolled_device(user)
    login(client, "sec01")
    statuses = [client.post(reverse("core:login_otp"), {"token": wrong_token(device)}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert entries("locked_out", "sec01").exists()
    # Locked: the right password and code do not get in.
    assert login(client, "sec01").status_code == 429
    assert signed_in_user_id(client) is None


def test_wrong_codes_add_to_wrong_passwords(client, make_user):
    user = make_user("sec01", "security_officer")
    device = enrolled_device(user)
    for _ in range(3):
        login(client, "sec01", "wrong-Password-1")
    login(client, "sec01")
    assert client.post(reverse("core:login_otp"), {"token": wrong_token(device)}).status_code == 200
    assert client.post(reverse("core:login_otp"), {"token": wrong_token(device)}).status_code == 429


def test_unverified_administrator_session_is_signed_out(client, make_user):
    user = make_user("sec01", "security_officer")
    enrolled_device(user)
    client.force_login(user)  # a session that never passed the second factor
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("core:login"))
    assert signed_in_user_id(client) is None
    page = client.get(response["Location"])
    assert page.status_code == 200 and page.context["info"]


def test_business_role_is_not_forced(client, make_user):
    make_user("cio01", "school_cio")
    login(client, "cio01")
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    assert response.context["require_2fa"] is True
    assert BANNER not in response.content.decode()


def test_business_user_with_device_also_gives_code(client, make_user):
    user = make_user("cio01", "school_cio")
    device = enrolled_device(user)
    assert login(client, "cio01")["Location"] == reverse("core:login_otp")
    assert client.post(reverse("core:login_otp"), {"token": token_for(device)}).status_code == 302
    assert signed_in_user_id(client) == str(user.pk)


@override_settings(EDUSEC_REQUIRE_2FA=False)
def test_without_required_2fa_no_redirect_and_banner(client, make_user):
    make_user("sec01", "security_officer")
    login(client, "sec01")
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    assert response.context["require_2fa"] is False
    assert BANNER in response.content.decode()
    account = client.get(reverse("core:account"))
    assert account.context["otp_required"] is False


def test_reenrolment_needs_current_code(client, make_user):
    user = make_user("sec01", "security_officer")
    old = enrolled_device(user)
    login(client, "sec01")
    client.post(reverse("core:login_otp"), {"token": token_for(old)})

    page = client.get(reverse("core:otp_enroll"))
    assert page.context["stage"] == "reauth"
    assert "qr_svg" not in page.context
    rejected = client.post(reverse("core:otp_enroll"), {"token": wrong_token(old)})
    assert rejected.context["stage"] == "reauth"
    assert TOTPDevice.objects.filter(user=user).count() == 1

    assert client.post(reverse("core:otp_enroll"), {"token": token_for(old)}).status_code == 302
    page = client.get(reverse("core:otp_enroll"))
    assert page.context["stage"] == "enrol"
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(reverse("core:otp_enroll"), {"token": token_for(new)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", "confirmed")) == [(new.pk, True)]
    assert entries("otp", "sec01").filter(result="success").get().changes == {"event": "enrolled", "replaced": True}


def test_account_page(client, make_user):
    user = make_user("sec01", "security_officer")
    device = enrolled_device(user)
    login(client, "sec01")
    client.post(reverse("core:login_otp"), {"token": token_for(device)})
    response = client.get(reverse("core:account"))
    assert response.status_code == 200
    context = response.context
    assert [r["code"] for r in context["roles"]] == ["security_officer"]
    assert context["otp_enabled"] and context["otp_verified"] and context["otp_required"]
    assert context["password_age_days"] == 0
    assert context["password_expires_at"].date() == (user.password_changed_at + timedelta(days=90)).date()
    body = response.content.decode()
    assert "sec01" in body and "示范市教育局" in body
    assert reverse("core:password_change") in body and reverse("core:otp_enroll") in body


# ---- API tokens ------------------------------------------------------------------------------------------------------

TOKEN_URL = "/api/auth/token/"


def api_token(client, username, password=PASSWORD, **extra):
    return client.post(
        TOKEN_URL, {"username": username, "password": password, **extra}, content_type="application/json"
    )


def test_api_token_authenticates(client, make_user):
    user = make_user("cio01", "school_cio")
    response = api_token(client, "cio01")
    assert response.status_code == 200
    data = response.json()
    assert data["expires_in"] == settings.EDUSEC_API_TOKEN_TTL_HOURS * 3600
    assert Token.objects.get(user=user).key == data["token"]
    entry = entries("login", "cio01").get()
    assert entry.changes == {"via": "api_token"}

    api = Client(HTTP_AUTHORIZATION=f"Token {data['token']}")
    listing = api.get("/api/orgs/units/")
    assert listing.status_code == 200

    # A new sign-in revokes the previous token.
    second = api_token(client, "cio01").json()["token"]
    assert second != data["token"]
    assert api.get("/api/orgs/units/").status_code == 401


def test_api_token_form_encoded(client, make_user):
    make_user("cio01", "school_cio")
    response = client.post(TOKEN_URL, {"username": "cio01", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]


def test_api_token_wrong_password(client, make_user):
    make_user("cio01", "school_cio")
    response = api_token(client, "cio01", "wrong-Password-1")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert entries("login_failed", "cio01").get().result == "failure"
    assert api_token(client, "cio01", "").status_code == 400  # blank password: a validation error


def test_api_token_locked(client, make_user):
    make_user("cio01", "school_cio")
    statuses = [api_token(client, "cio01", "wrong-Password-1").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    response = api_token(client, "cio01")
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]
    assert not Token.objects.exists()


def test_api_token_second_factor(client, make_user):
    user = make_user("sec01", "security_officer")
    no_device = api_token(client, "sec01")
    assert no_device.status_code == 403 and no_device.json()["detail"]

    device = enrolled_device(user)
    missing = api_token(client, "sec01")
    assert missing.status_code == 400 and "otp_token" in missing.json()
    wrong = api_token(client, "sec01", otp_token=wrong_token(device))
    assert wrong.status_code == 400 and "otp_token" in wrong.json()
    assert entries("otp", "sec01").filter(result="failure").exists()
    ok = api_token(client, "sec01", otp_token=token_for(device))
    assert ok.status_code == 200 and ok.json()["token"]


@override_settings(EDUSEC_REQUIRE_2FA=False)
def test_api_token_without_required_2fa(client, make_user):
    make_user("sec01", "security_officer")
    assert api_token(client, "sec01").status_code == 200


def test_expired_api_token_is_refused(client, make_user, settings):
    make_user("cio01", "school_cio")
    key = api_token(client, "cio01").json()["token"]
    age = timedelta(hours=settings.EDUSEC_API_TOKEN_TTL_HOURS, minutes=1)
    Token.objects.filter(key=key).update(created=timezone.now() - age)
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/orgs/units/")
    assert response.status_code == 401
    assert not Token.objects.filter(key=key).exists()


def test_api_schema_documents_token_endpoint(client, make_user, settings):
    settings.EDUSEC_REQUIRE_2FA = False
    user = make_user("sec01", "security_officer")
    client.force_login(user)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/auth/token/"]["post"]
    assert {"200", "400", "403", "429"} <= set(operation["responses"])
    assert operation.get("security") in (None, [], [{}])
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert {"username", "password", "otp_token"} <= set(schema["components"]["schemas"][request_schema]["properties"])
