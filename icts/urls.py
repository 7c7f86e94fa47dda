from django.urls import path

from . import views

urlpatterns = [
    path("icts/", views.icts_queue, name="icts-queue"),
    path("icts/assign/", views.icts_bulk_assign, name="icts-bulk-assign"),
    path("icts/cases/<int:pk>/", views.icts_case, name="icts-case"),
    path("icts/cases/<int:pk>/assign/", views.icts_assign, name="icts-assign"),
    path("icts/cases/<int:pk>/response/", views.icts_package, name="icts-package"),
    path("icts/cases/<int:pk>/response/documents/", views.icts_upload, name="icts-upload"),
    path("icts/cases/<int:pk>/response/documents/<int:att>/", views.icts_attachment, name="icts-attachment"),
    path("icts/cases/<int:pk>/response/documents/<int:att>/remove/", views.icts_attachment_remove, name="icts-attachment-remove"),
    path("icts/cases/<int:pk>/submit/", views.icts_submit, name="icts-submit"),
    path("icts/cases/<int:pk>/review/", views.icts_review, name="icts-review"),
    path("obim/", views.obim_queue_view, name="obim-queue"),
    path("obim/packages/<int:pk>/", views.obim_package, name="obim-package"),
    path("obim/packages/<int:pk>/download/", views.obim_package_download, name="obim-package-download"),
    path("obim/packages/<int:pk>/documents/<int:att>/", views.obim_attachment, name="obim-attachment"),
]
