from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .channels import api as channels_api
from .channels import views as channels
from .registry import registry
from .views import attachments, audit, auth, home, tasks

app_name = "core"

# The caller's own notifications (not a registered model: nobody sees another user's inbox).
notifications_api = SimpleRouter()
notifications_api.register("notifications", channels_api.NotificationViewSet, basename="api-notification")

urlpatterns = [
    path("", home.HomeView.as_view(), name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/verify/", auth.OTPVerifyView.as_view(), name="login_otp"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/", auth.AccountView.as_view(), name="account"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("account/otp/", auth.OTPEnrollView.as_view(), name="otp_enroll"),
    path("audit/", audit.AuditListView.as_view(), name="audit_list"),
    path("audit/<int:pk>/", audit.AuditDetailView.as_view(), name="audit_detail"),
    path("tasks/<int:pk>/", tasks.TaskRunView.as_view(), name="taskrun"),
    path("attachments/<int:pk>/", attachments.AttachmentDownloadView.as_view(), name="attachment"),
    # Notification channels (core/channels): the inbox, the user's settings, the endpoint test.
    path("notifications/", channels.NotificationListView.as_view(), name="notification_list"),
    path("notifications/bell/", channels.BellView.as_view(), name="notification_bell"),
    path("notifications/read-all/", channels.NotificationReadAllView.as_view(), name="notification_read_all"),
    path("notifications/settings/", channels.NotificationSettingsView.as_view(), name="notification_settings"),
    path("notifications/<int:pk>/open/", channels.NotificationOpenView.as_view(), name="notification_open"),
    path("notifications/<int:pk>/read/", channels.NotificationReadView.as_view(), name="notification_read"),
    path("channels/endpoints/<int:pk>/test/", channels.EndpointTestView.as_view(), name="channelendpoint_test"),
    path("api/core/", include(notifications_api.urls)),
    path(
        "api/core/notification-preferences/",
        channels_api.NotificationPreferenceView.as_view(),
        name="api_notification_preferences",
    ),
    # Pages of the registered core models (the channel endpoints, subscriptions and deliveries).
    *registry.urlpatterns("core"),
]
