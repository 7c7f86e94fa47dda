from django.urls import path

from . import views

urlpatterns = [
    path("partner-requests/<int:pk>/", views.partner_request, name="partner-request"),
    path("partner-requests/<int:pk>/augment/", views.partner_request_augment, name="partner-request-augment"),
    path("privacy/decisions/", views.privacy_decisions, name="privacy-decisions"),
    path("privacy/referrals/", views.privacy_referrals, name="privacy-referrals"),
    path("privacy/referrals/<int:pk>/", views.privacy_referral, name="privacy-referral"),
    path("privacy/referrals/<int:pk>/resolve/", views.privacy_referral_resolve, name="privacy-referral-resolve"),
]
