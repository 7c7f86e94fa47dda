from django.urls import path

from . import views

urlpatterns = [
    path("system-use/", views.system_use, name="system-use"),
    path("", views.home, name="home"),
    path("help/", views.help_page, name="help"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
]
