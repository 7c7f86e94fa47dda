from django.urls import path

from . import views

urlpatterns = [
    path("privacy/accounting/", views.accounting_search, name="privacy-accounting-search"),
    path("privacy/accounting/disclosures.csv", views.accounting_all_csv, name="privacy-accounting-all-csv"),
    path("privacy/accounting/<int:pk>/", views.accounting, name="privacy-accounting"),
    path("privacy/accounting/<int:pk>/report.csv", views.accounting_csv, name="privacy-accounting-csv"),
    path("privacy/accounting/<int:pk>/report.pdf", views.accounting_pdf, name="privacy-accounting-pdf"),
    path("privacy/access-log/", views.access_log, name="privacy-access-log"),
    path("privacy/audit/", views.audit_status, name="privacy-audit"),
    path("privacy/decisions/", views.decisions, name="privacy-decisions"),
    path("privacy/referrals/", views.referrals, name="privacy-referrals"),
    path("privacy/referrals/<int:pk>/", views.referral, name="privacy-referral"),
    path("privacy/referrals/<int:pk>/resolve/", views.referral_resolve, name="privacy-referral-resolve"),
    path("privacy/people/", views.people, name="privacy-people"),
    path("privacy/people/<int:pk>/", views.person_timeline, name="privacy-person"),
    path("privacy/people/<int:pk>/timeline.csv", views.person_timeline_csv, name="privacy-person-csv"),
    path("privacy/people/<int:pk>/timeline.pdf", views.person_timeline_pdf, name="privacy-person-pdf"),
    path("privacy/queries/<int:pk>/", views.held_query, name="privacy-held-query"),
    path("privacy/queries/<int:pk>/resolve/", views.held_query_resolve, name="privacy-held-query-resolve"),
]
