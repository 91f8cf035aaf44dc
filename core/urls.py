from django.urls import path

from .views import attachments, audit, auth, home, tasks

app_name = "core"

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
]
