from django.urls import path

from . import views

urlpatterns = [
    path("cases/", views.my_cases_view, name="my-cases"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/queries/new/", views.query_new, name="query-new"),
    path("queries/<int:pk>/", views.query_detail, name="query-detail"),
    path("queries/<int:pk>/timeline/", views.query_timeline_partial, name="query-timeline-partial"),
    path("queries/<int:pk>/round3/", views.query_round3, name="query-round3"),
    path("queries/<int:pk>/close/", views.query_close_view, name="query-close"),
    path("queries/<int:pk>/attachments/<int:att>/", views.query_attachment, name="query-attachment"),
    path("queries/<int:pk>/print/", views.query_print, name="query-print"),
    path("queries/<int:pk>/refer/", views.query_refer, name="query-refer"),
    path("referrals/<int:pk>/revoke/", views.referral_revoke_view, name="referral-revoke"),
    path("fdns/referrals/", views.fdns_referrals, name="fdns-referrals"),
]
