from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import errors, health

urlpatterns = [
    path("admin/", admin.site.urls),
    # Session login for the pages (live order tracking, the managers' board).
    path("accounts/login/", auth_views.LoginView.as_view(next_page="/orders/"), name="login"),
    path(
        "accounts/logout/",
        auth_views.LogoutView.as_view(next_page="/accounts/login/"),
        name="logout",
    ),
    path("orders/", include("orders.page_urls")),
    path("api/health", health.liveness, name="health-live"),
    path("api/health/ready", health.readiness, name="health-ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("orders.urls")),
    path("api/", include("payments.urls")),
    path("api/", include("outbox.urls")),
    re_path(r"^api/(?P<path>.*)$", errors.api_not_found),  # keep last among /api/ routes
    path("", include("django_prometheus.urls")),  # GET /metrics
]

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
