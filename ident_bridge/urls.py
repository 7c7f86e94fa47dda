from django.urls import path

from . import views

app_name = "ident_bridge"
urlpatterns = [path("ident/v1/messages", views.messages, name="messages")]
