from django.urls import path

from . import views

urlpatterns = [
    path("partner-requests/<int:pk>/", views.partner_request, name="partner-request"),
    path("partner-requests/<int:pk>/augment/", views.partner_request_augment, name="partner-request-augment"),
]
