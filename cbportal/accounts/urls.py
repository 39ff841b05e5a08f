from django.urls import path

from cbportal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.two_factor_verify, name="two-factor-verify"),
    path("logout/", views.logout, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("two-factor/", views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/qr.svg", views.two_factor_qr, name="two-factor-qr"),
    path("two-factor/disable/", views.two_factor_disable, name="two-factor-disable"),
    path("password/change/", views.password_change, name="password-change"),
    path("password/change/done/", views.password_change_done, name="password-change-done"),
    path("password/reset/", views.password_reset, name="password-reset"),
    path("password/reset/done/", views.password_reset_done, name="password-reset-done"),
    path("reset/<uidb64>/<token>/", views.password_reset_confirm, name="password-reset-confirm"),
    path("reset/done/", views.password_reset_complete, name="password-reset-complete"),
    path("invitations/", views.invitations, name="invitations"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="invitation-resend"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
