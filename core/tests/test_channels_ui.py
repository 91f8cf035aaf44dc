"""Notification channels in the UI and the API: the bell, the inbox, "my channels", a unit's endpoints and
subscriptions, the delivery log and the test message; sibling isolation (404), secrets never shown, every write
audited, bad input answered with a message."""

from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.channels import notify, register_event_type
from core.channels.forms import sync_subscriptions
from core.channels.receiver import WebhookReceiver
from core.models import (
    AuditEntry,
    ChannelEndpoint,
    ChannelSubscription,
    Delivery,
    DeliveryState,
    Notification,
    NotificationPreference,
)
from core.testing import BACKEND, ScopedTestCase, make_user

EVENT = "tests.ui_notice"
register_event_type(EVENT, "UI notice (test)")
register_event_type("tests.ui_overdue", "UI overdue (test)")

DT_SECRET = "SECa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8"
DT_TOKEN = "0f9e8d7c6b5a49382716"

CHANNEL_SETTINGS = {
    "EDUSEC_CHANNEL_ALLOW_PUBLIC": False,
    "EDUSEC_TASKS_EAGER": True,
    "EDUSEC_CHANNEL_TIMEOUT": 3,
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "LANGUAGE_CODE": "en",
}


@override_settings(**CHANNEL_SETTINGS)
class ChannelTestCase(ScopedTestCase):
    roles = ("security_officer",)

    def setUp(self):
        super().setUp()
        self.api = APIClient()
        self.api.force_authenticate(self.user)

    def make_endpoint(self, unit, name="钉钉值班群", url=None, secret=DT_SECRET, events=(EVENT,)):
        endpoint = ChannelEndpoint.objects.create(
            unit=unit,
            name=name,
            kind="dingtalk",
            webhook_url=url or f"http://127.0.0.1:9/robot/send?access_token={DT_TOKEN}",
            secret=secret,
        )
        sync_subscriptions(endpoint, events)
        return endpoint


# ---- inbox and bell -------------------------------------------------------------------------------------------------


class NotificationInboxTest(ChannelTestCase):
    def notify_me(self, n, user=None):
        with self.captureOnCommitCallbacks(execute=False):
            for i in range(n):
                notify(EVENT, users=[user or self.user], title=f"通报 {i}", body="请整改", url=f"/findings/{i}/")

    def test_bell_shows_unread_count_and_latest(self):
        self.notify_me(3)
        response = self.client.get(reverse("core:home"))
        self.assertContains(response, 'id="edusec-bell" data-unread="3"')
        self.assertContains(response, "edusec-bell-count")
        self.assertContains(response, "通报 2")
        self.assertContains(response, reverse("core:notification_open", args=[Notification.objects.first().pk]))

    def test_bell_costs_one_query(self):
        from core.channels.views import bell_context

        with self.assertNumQueries(1):
            self.assertEqual(bell_context(self.user)["unread_count"], 0)
        self.notify_me(8)
        Notification.objects.filter(title="通报 7").update(read_at="2026-01-01T00:00:00Z")
        with self.assertNumQueries(1):
            context = bell_context(self.user)
        self.assertEqual(context["unread_count"], 7)
        self.assertEqual(len(context["latest"]), 6)

    def test_bell_without_notifications_has_no_badge(self):
        response = self.client.get(reverse("core:home"))
        self.assertContains(response, 'data-unread="0"')
        self.assertNotContains(response, "edusec-bell-count")

    def test_open_marks_read_and_follows_the_link(self):
        self.notify_me(2)
        first = Notification.objects.get(title="通报 0")
        response = self.client.get(reverse("core:notification_open", args=[first.pk]))
        self.assertRedirects(response, "/findings/0/", fetch_redirect_response=False)
        first.refresh_from_db()
        self.assertIsNotNone(first.read_at)
        self.assertContains(self.client.get(reverse("core:home")), 'data-unread="1"')
        entry = AuditEntry.objects.filter(object_type="core.notification", action="update").latest("seq")
        self.assertEqual(entry.username, self.user.username)
        self.assertEqual(entry.object_id, str(first.pk))

    def test_open_never_redirects_off_site(self):
        with self.captureOnCommitCallbacks(execute=False):
            notify(EVENT, users=[self.user], title="t", url="https://elsewhere.test/phish")
        item = Notification.objects.get()
        response = self.client.get(reverse("core:notification_open", args=[item.pk]))
        self.assertRedirects(response, reverse("core:notification_list"), fetch_redirect_response=False)

    def test_mark_one_and_all_read_in_the_page(self):
        self.notify_me(3)
        page = self.client.get(reverse("core:notification_list") + "?show=unread")
        self.assertContains(page, "通报 0")
        one = Notification.objects.get(title="通报 1")
        self.client.post(reverse("core:notification_read", args=[one.pk]), {"next": "/notifications/"})
        self.assertEqual(Notification.objects.filter(read_at__isnull=True).count(), 2)
        response = self.client.post(reverse("core:notification_read_all"), {"next": "https://elsewhere.test/"})
        self.assertRedirects(response, reverse("core:notification_list"), fetch_redirect_response=False)
        self.assertFalse(Notification.objects.filter(read_at__isnull=True).exists())
        self.assertEqual(AuditEntry.objects.filter(object_type="core.notification").count(), 2)
        unread_page = self.client.get(reverse("core:notification_list") + "?show=unread")
        self.assertEqual(list(unread_page.context["page"].object_list), [])
        self.assertContains(unread_page, 'id="unread-count">0<')

    def test_someone_elses_notification_is_not_found(self):
        self.notify_me(1, user=self.other)
        theirs = Notification.objects.get()
        self.assertEqual(self.client.get(reverse("core:notification_open", args=[theirs.pk])).status_code, 404)
        self.assertEqual(self.client.post(reverse("core:notification_read", args=[theirs.pk])).status_code, 404)
        self.client.post(reverse("core:notification_read_all"))
        theirs.refresh_from_db()
        self.assertIsNone(theirs.read_at)
        self.assertNotContains(self.client.get(reverse("core:notification_list")), "通报 0")
        self.assertEqual(self.api.get(f"/api/core/notifications/{theirs.pk}/").status_code, 404)
        self.assertEqual(self.api.post(f"/api/core/notifications/{theirs.pk}/read/").status_code, 404)

    def test_api_list_filter_and_mark_read(self):
        self.notify_me(3)
        self.notify_me(1, user=self.other)
        data = self.api.get("/api/core/notifications/").json()
        self.assertEqual(data["count"], 3)
        self.assertEqual({r["title"] for r in data["results"]}, {"通报 0", "通报 1", "通报 2"})
        self.assertEqual(data["results"][0]["event_label"], "UI notice (test)")
        self.assertEqual(self.api.get("/api/core/notifications/unread-count/").json(), {"unread": 3})
        target = data["results"][0]["id"]
        marked = self.api.post(f"/api/core/notifications/{target}/read/").json()
        self.assertTrue(marked["read"])
        self.assertEqual(self.api.get("/api/core/notifications/?unread=true").json()["count"], 2)
        self.assertEqual(self.api.post("/api/core/notifications/read-all/").json(), {"marked": 2})
        self.assertEqual(self.api.get("/api/core/notifications/unread-count/").json(), {"unread": 0})
        self.assertEqual(Notification.objects.filter(user=self.other, read_at__isnull=True).count(), 1)

    def test_anonymous_is_refused(self):
        self.client.logout()
        self.assertEqual(self.client.get(reverse("core:notification_list")).status_code, 302)
        self.assertIn(APIClient().get("/api/core/notifications/").status_code, (401, 403))


class MyChannelsTest(ChannelTestCase):
    def test_settings_are_saved_and_audited(self):
        self.user.email = "me@school.test"
        self.user.save()
        page = self.client.get(reverse("core:notification_settings"))
        self.assertContains(page, "me@school.test")
        self.assertContains(page, "UI notice (test)")
        index = [r[0].code for r in page.context["form"].rows].index(EVENT)
        other = [r[0].code for r in page.context["form"].rows].index("tests.ui_overdue")
        data = {f"email_{index}": "on", f"in_app_{other}": "on"}  # EVENT: e-mail only; overdue: in-app only
        response = self.client.post(reverse("core:notification_settings"), data)
        self.assertRedirects(response, reverse("core:notification_settings"))
        pref = NotificationPreference.objects.get(user=self.user, event_type=EVENT)
        self.assertEqual((pref.in_app, pref.email), (False, True))
        entry = AuditEntry.objects.filter(object_type="core.notificationpreference").latest("seq")
        self.assertEqual(entry.changes[EVENT], [{"in_app": True, "email": False}, {"in_app": False, "email": True}])
        with self.captureOnCommitCallbacks(execute=False):
            result = notify(EVENT, units=[self.unit_a], title="只发邮件")
        self.assertFalse(Notification.objects.filter(user=self.user).exists())
        self.assertEqual([d.recipient for d in result.deliveries], [self.user])

    def test_without_an_address_email_cannot_be_chosen(self):
        page = self.client.get(reverse("core:notification_settings"))
        index = [r[0].code for r in page.context["form"].rows].index(EVENT)
        self.client.post(reverse("core:notification_settings"), {f"email_{index}": "on", f"in_app_{index}": "on"})
        self.assertFalse(NotificationPreference.objects.filter(user=self.user, email=True).exists())
        response = self.api.put(
            "/api/core/notification-preferences/", [{"event_type": EVENT, "in_app": True, "email": True}], format="json"
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("email", response.json())

    def test_preferences_api(self):
        self.user.email = "me@school.test"
        self.user.save()
        rows = self.api.get("/api/core/notification-preferences/").json()
        row = next(r for r in rows if r["event_type"] == EVENT)
        self.assertEqual((row["in_app"], row["email"]), (True, False))
        response = self.api.put(
            "/api/core/notification-preferences/",
            [{"event_type": EVENT, "in_app": False, "email": True}],
            format="json",
        )
        self.assertEqual(response.status_code, 200)
        row = next(r for r in response.json() if r["event_type"] == EVENT)
        self.assertEqual((row["in_app"], row["email"]), (False, True))
        bad = self.api.put("/api/core/notification-preferences/", [{"event_type": "nope"}], format="json")
        self.assertEqual(bad.status_code, 400)


# ---- a unit's endpoints ---------------------------------------------------------------------------------------------


class EndpointPagesTest(ChannelTestCase):
    def form_data(self, unit, **extra):
        data = {
            "unit": unit.pk,
            "name": "钉钉值班群",
            "kind": "dingtalk",
            "webhook_url": f"http://127.0.0.1:9/robot/send?access_token={DT_TOKEN}",
            "secret": DT_SECRET,
            "message_format": "markdown",
            "event_types": [EVENT, "tests.ui_overdue"],
            "include_subunits": "on",
            "enabled": "on",
        }
        data.update(extra)
        return data

    def assert_no_credentials(self, response):
        body = response.content.decode()
        self.assertNotIn(DT_SECRET, body)
        self.assertNotIn(DT_TOKEN, body)
        self.assertNotIn(DT_SECRET[3:-2], body)

    def test_create_stores_credentials_encrypted_and_never_shows_them(self):
        response = self.client.post(reverse("core:channelendpoint_add"), self.form_data(self.unit_a))
        self.assertEqual(
            response.status_code, 302, getattr(response, "context", None) and response.context["form"].errors
        )
        endpoint = ChannelEndpoint.objects.get(unit=self.unit_a)
        self.assertEqual(endpoint.secret, DT_SECRET)
        self.assertEqual(sorted(endpoint.event_types), sorted([EVENT, "tests.ui_overdue"]))
        with connection.cursor() as cursor:
            cursor.execute("SELECT webhook_url, secret FROM core_channelendpoint WHERE id = %s", [endpoint.pk])
            raw_url, raw_secret = cursor.fetchone()
        self.assertTrue(raw_secret.startswith("sm4gcm$") and DT_SECRET not in raw_secret)
        self.assertTrue(raw_url.startswith("sm4gcm$") and DT_TOKEN not in raw_url)
        for url in (
            endpoint.get_absolute_url(),
            reverse("core:channelendpoint_edit", args=[endpoint.pk]),
            reverse("core:channelendpoint_list"),
            reverse("core:channelendpoint_list") + "?export=csv",
        ):
            self.assert_no_credentials(self.client.get(url))
        detail = self.client.get(endpoint.get_absolute_url())
        self.assertContains(detail, "access_token=0f")  # masked, recognisable
        self.assertContains(detail, "UI overdue (test)")
        created = AuditEntry.objects.filter(object_type="core.channelendpoint", action="create").get()
        self.assertNotIn(DT_SECRET, str(created.changes))
        self.assertEqual(AuditEntry.objects.filter(object_type="core.channelsubscription", action="create").count(), 2)
        self.assert_no_credentials(self.client.get(reverse("core:audit_detail", args=[created.pk])))

    def test_edit_with_empty_secret_keeps_it_and_changes_subscriptions(self):
        endpoint = self.make_endpoint(self.unit_a)
        data = self.form_data(self.unit_a, webhook_url="", secret="", name="改名", event_types=["tests.ui_overdue"])
        response = self.client.post(reverse("core:channelendpoint_edit", args=[endpoint.pk]), data)
        self.assertEqual(response.status_code, 302)
        endpoint.refresh_from_db()
        self.assertEqual((endpoint.name, endpoint.secret), ("改名", DT_SECRET))
        self.assertIn(DT_TOKEN, endpoint.webhook_url)
        self.assertEqual(endpoint.event_types, ["tests.ui_overdue"])
        self.assertTrue(AuditEntry.objects.filter(object_type="core.channelsubscription", action="delete").exists())
        data["clear_secret"] = "on"
        self.client.post(reverse("core:channelendpoint_edit", args=[endpoint.pk]), data)
        endpoint.refresh_from_db()
        self.assertEqual(endpoint.secret, "")

    def test_bad_input_gets_a_message(self):
        cases = [
            ({"webhook_url": "ftp://127.0.0.1/robot"}, "webhook_url"),
            ({"webhook_url": "https://oapi.example/robot/send?access_token=x"}, "webhook_url"),  # public: not here
            ({"kind": "webhook", "secret": ""}, "secret"),
            ({"kind": "email", "email_to": "sec@school.test, nonsense"}, "email_to"),
            ({"event_types": ["tests.never_registered"]}, "event_types"),
        ]
        for change, field in cases:
            response = self.client.post(reverse("core:channelendpoint_add"), self.form_data(self.unit_a, **change))
            self.assertEqual(response.status_code, 200, change)
            self.assertIn(field, response.context["form"].errors, change)
        self.assertFalse(ChannelEndpoint.objects.exists())

    def test_sibling_endpoint_is_not_found(self):
        mine = self.make_endpoint(self.unit_a, name="mine")
        theirs = self.make_endpoint(self.unit_b, name="theirs")
        listing = self.client.get(reverse("core:channelendpoint_list"))
        self.assertContains(listing, mine.get_absolute_url())
        self.assertNotContains(listing, theirs.get_absolute_url())
        for name in ("channelendpoint", "channelendpoint_edit", "channelendpoint_delete"):
            self.assertEqual(self.client.get(reverse(f"core:{name}", args=[theirs.pk])).status_code, 404, name)
        self.assertEqual(self.client.post(reverse("core:channelendpoint_test", args=[theirs.pk])).status_code, 404)
        response = self.client.post(reverse("core:channelendpoint_add"), self.form_data(self.unit_b, name="x"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("unit", response.context["form"].errors)
        self.assertFalse(Delivery.objects.exists())
        my_subscription = ChannelSubscription.objects.get(endpoint=mine)
        their_subscription = ChannelSubscription.objects.get(endpoint=theirs)
        subscriptions = self.client.get(reverse("core:channelsubscription_list"))
        self.assertContains(subscriptions, my_subscription.get_absolute_url())
        self.assertNotContains(subscriptions, their_subscription.get_absolute_url())
        self.assertEqual(self.client.get(their_subscription.get_absolute_url()).status_code, 404)
        self.assertContains(self.client.get(my_subscription.get_absolute_url()), "UI notice (test)")

    def test_school_network_administrator_reads_but_cannot_change(self):
        school_user = make_user("netadmin_a", self.school_a, ["school_netadmin"])
        endpoint = self.make_endpoint(self.school_a)
        self.client.force_login(school_user, backend=BACKEND)
        self.assertEqual(self.client.get(endpoint.get_absolute_url()).status_code, 200)
        self.assertEqual(self.client.post(reverse("core:channelendpoint_test", args=[endpoint.pk])).status_code, 403)
        self.assertEqual(self.client.get(reverse("core:channelendpoint_add")).status_code, 403)
        self.assertNotContains(self.client.get(endpoint.get_absolute_url()), "Send a test message")


class TestMessageAndDeliveryLogTest(ChannelTestCase):
    def test_send_a_test_message_and_read_its_attempt(self):
        with WebhookReceiver() as receiver:
            route = receiver.add_route("/robot/send", "dingtalk", secret=DT_SECRET, token=DT_TOKEN)
            endpoint = self.make_endpoint(self.unit_a, url=receiver.url("/robot/send") + f"?access_token={DT_TOKEN}")
            with self.captureOnCommitCallbacks(execute=True):
                response = self.client.post(reverse("core:channelendpoint_test", args=[endpoint.pk]))
        delivery = Delivery.objects.get()
        self.assertRedirects(response, delivery.get_absolute_url(), fetch_redirect_response=False)
        delivery.refresh_from_db()
        self.assertEqual(delivery.state, DeliveryState.SENT)
        self.assertTrue(delivery.is_test and delivery.max_attempts == 1)
        (got,) = route.received
        self.assertTrue(got.signature_valid)
        self.assertIn("EduSec", got.json["markdown"]["text"])
        entry = AuditEntry.objects.filter(object_type="core.delivery", action="create").get()
        self.assertEqual(entry.changes["test_message"], True)
        page = self.client.get(delivery.get_absolute_url())
        self.assertContains(page, "errcode 0 (ok)")
        self.assert_attempt_row(page)
        self.assertNotContains(page, DT_SECRET)
        self.assertNotContains(page, DT_TOKEN)

    def assert_attempt_row(self, page):
        self.assertEqual(len(page.context["attempt_log"]), 1)
        self.assertTrue(page.context["attempt_log"][0].success)

    def test_failed_test_message_shows_the_vendor_error(self):
        with WebhookReceiver() as receiver:
            receiver.add_route("/robot/send", "dingtalk", secret="SECsomething-else-entirely")
            endpoint = self.make_endpoint(self.unit_a, url=receiver.url("/robot/send"))
            with self.captureOnCommitCallbacks(execute=True):
                self.client.post(reverse("core:channelendpoint_test", args=[endpoint.pk]))
        delivery = Delivery.objects.get()
        self.assertEqual(delivery.state, DeliveryState.FAILED)  # a test message is tried once
        page = self.client.get(delivery.get_absolute_url())
        self.assertContains(page, "errcode 310000")
        self.assertContains(page, "sign not match")

    def test_delivery_log_is_scoped_and_read_only(self):
        mine = self.make_endpoint(self.unit_a, name="mine")
        theirs = self.make_endpoint(self.unit_b, name="theirs")
        with self.captureOnCommitCallbacks(execute=False):
            notify(EVENT, units=[self.unit_a, self.unit_b], title="两个区")
        my_delivery = Delivery.objects.get(endpoint=mine)
        their_delivery = Delivery.objects.get(endpoint=theirs)
        listing = self.client.get(reverse("core:delivery_list"))
        self.assertContains(listing, my_delivery.get_absolute_url())
        # When it was made, on the bureau's clock and to the second (it showed the raw UTC value).
        made = timezone.localtime(my_delivery.created_at).strftime("%Y-%m-%d %H:%M:%S")
        self.assertContains(listing, made)
        self.assertNotContains(listing, "+00:00")
        self.assertNotContains(listing, their_delivery.get_absolute_url())
        self.assertEqual(self.client.get(their_delivery.get_absolute_url()).status_code, 404)
        self.assertEqual(self.client.get(my_delivery.get_absolute_url()).status_code, 200)
        api = self.api.get("/api/core/channels/deliveries/").json()
        self.assertEqual([d["id"] for d in api["results"]], [my_delivery.pk])
        self.assertEqual(api["results"][0]["event_label"], "UI notice (test)")
        self.assertEqual(self.api.get(f"/api/core/channels/deliveries/{their_delivery.pk}/").status_code, 404)
        self.assertIn(self.api.post("/api/core/channels/deliveries/", {}).status_code, (403, 405))
        self.assertIn(self.api.delete(f"/api/core/channels/deliveries/{my_delivery.pk}/").status_code, (403, 405))
        self.assertTrue(Delivery.objects.filter(pk=my_delivery.pk).exists())


# ---- API: endpoints and subscriptions -------------------------------------------------------------------------------


class EndpointAPITest(ChannelTestCase):
    def payload(self, unit, **extra):
        data = {
            "unit": unit.pk,
            "name": "飞书通知群",
            "kind": "feishu",
            "webhook_url": "http://127.0.0.1:9/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd",
            "secret": "feishu-signing-secret-42",
            "event_types": [EVENT],
        }
        data.update(extra)
        return data

    def test_create_read_update_delete(self):
        response = self.api.post("/api/core/channels/endpoints/", self.payload(self.unit_a), format="json")
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        self.assertNotIn("secret", data)
        self.assertNotIn("webhook_url", data)
        text = response.content.decode()
        self.assertNotIn("feishu-signing-secret-42", text)
        self.assertNotIn("5e3d587e-d78e-4a07-bd07-265f269f86fd", text)
        self.assertTrue(data["secret_masked"].startswith("fei"))
        self.assertEqual(data["event_types"], [EVENT])
        pk = data["id"]
        patched = self.api.patch(
            f"/api/core/channels/endpoints/{pk}/", {"secret": "", "event_types": ["tests.ui_overdue"]}, format="json"
        )
        self.assertEqual(patched.status_code, 200, patched.content)
        self.assertEqual(patched.json()["event_types"], ["tests.ui_overdue"])
        endpoint = ChannelEndpoint.objects.get(pk=pk)
        self.assertEqual(endpoint.secret, "feishu-signing-secret-42")  # empty: kept
        self.assertEqual(endpoint.event_types, ["tests.ui_overdue"])
        self.assertEqual(self.api.delete(f"/api/core/channels/endpoints/{pk}/").status_code, 204)
        actions = set(
            AuditEntry.objects.filter(object_type="core.channelendpoint", object_id=str(pk)).values_list(
                "action", flat=True
            )
        )
        self.assertEqual(actions, {"create", "delete"})

    def test_sibling_unit_is_refused_and_not_found(self):
        response = self.api.post("/api/core/channels/endpoints/", self.payload(self.unit_b), format="json")
        self.assertEqual(response.status_code, 400)
        self.assertIn("unit", response.json())
        theirs = self.make_endpoint(self.unit_b)
        for method in ("get", "patch", "delete"):
            self.assertEqual(
                getattr(self.api, method)(f"/api/core/channels/endpoints/{theirs.pk}/").status_code, 404, method
            )
        self.assertEqual(self.api.post(f"/api/core/channels/endpoints/{theirs.pk}/test/").status_code, 404)
        self.assertEqual(self.api.get("/api/core/channels/endpoints/").json()["count"], 0)

    def test_bad_input_is_a_400_with_a_message(self):
        for change, field in (
            ({"webhook_url": "not a url"}, "webhook_url"),
            ({"event_types": ["tests.never_registered"]}, "event_types"),
            ({"kind": "carrier-pigeon"}, "kind"),
            ({"kind": "email", "email_to": "x"}, "email_to"),
        ):
            response = self.api.post(
                "/api/core/channels/endpoints/", self.payload(self.unit_a, **change), format="json"
            )
            self.assertEqual(response.status_code, 400, change)
            self.assertIn(field, response.json(), change)

    def test_test_action(self):
        endpoint = self.make_endpoint(self.unit_a)
        with self.captureOnCommitCallbacks(execute=False):
            response = self.api.post(f"/api/core/channels/endpoints/{endpoint.pk}/test/")
        self.assertEqual(response.status_code, 202)
        delivery = Delivery.objects.get(pk=response.json()["delivery"])
        self.assertTrue(delivery.is_test)
        self.assertEqual(delivery.endpoint, endpoint)

    def test_subscriptions_crud_and_scope(self):
        mine = self.make_endpoint(self.unit_a, events=())
        theirs = self.make_endpoint(self.unit_b, events=(EVENT,))
        created = self.api.post(
            "/api/core/channels/subscriptions/", {"endpoint": mine.pk, "event_type": EVENT}, format="json"
        )
        self.assertEqual(created.status_code, 201, created.content)
        self.assertEqual(created.json()["unit"], self.unit_a.pk)
        duplicate = self.api.post(
            "/api/core/channels/subscriptions/", {"endpoint": mine.pk, "event_type": EVENT}, format="json"
        )
        self.assertEqual(duplicate.status_code, 400)
        foreign = self.api.post(
            "/api/core/channels/subscriptions/", {"endpoint": theirs.pk, "event_type": EVENT}, format="json"
        )
        self.assertEqual(foreign.status_code, 400)
        their_subscription = ChannelSubscription.objects.get(endpoint=theirs)
        self.assertEqual(self.api.get(f"/api/core/channels/subscriptions/{their_subscription.pk}/").status_code, 404)
        listed = self.api.get("/api/core/channels/subscriptions/").json()
        self.assertEqual([s["endpoint"] for s in listed["results"]], [mine.pk])
        self.assertEqual(self.api.delete(f"/api/core/channels/subscriptions/{created.json()['id']}/").status_code, 204)
        self.assertEqual(mine.event_types, [])
