from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signed-out/", views.signed_out, name="signed-out"),
    path("accounts/keepalive/", views.keepalive, name="keepalive"),
    path("accounts/", views.account, name="account"),
    path("accounts/token/revoke/", views.token_revoke, name="token-revoke"),
    path("accounts/password/", views.password_change, name="password-change"),
    path("accounts/second-factor/", views.second_factor, name="mfa"),
    path("accounts/second-factor/backup-codes/", views.backup_codes, name="mfa-backup-codes"),
]
