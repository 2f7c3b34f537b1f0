"""Mounted at /api/v1/ in accountability/urls.py, before the API's own include."""

from django.urls import path

from . import api

urlpatterns = [
    path("reminders/", api.ReminderList.as_view(), name="api-reminders"),
]
