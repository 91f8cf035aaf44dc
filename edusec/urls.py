from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("edusec.api_urls")),
    path("orgs/", include("orgs.urls")),
    path("assets/", include("assets.urls")),
    path("findings/", include("findings.urls")),
    path("notices/", include("notices.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("", include("core.urls")),
]

handler404 = "core.views.errors.page_not_found"
handler403 = "core.views.errors.permission_denied"
handler500 = "core.views.errors.server_error"
