from django.urls import path

from . import feeds

app_name = "reminders"

urlpatterns = [
    path("<str:token>/deadlines.atom", feeds.deadlines_atom, name="deadlines-atom"),
    path("<str:token>/deadlines.ics", feeds.deadlines_ics, name="deadlines-ics"),
]
