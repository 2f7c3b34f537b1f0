from django.urls import path

from tasks_app.web import dashboard, giving, inspections, queues, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", queues.inbox_page, name="inbox"),
    path("assignments/", views.assignment_list, name="assignments"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/extensions/<int:request_pk>/decide/", views.decide_extension, name="decide-extension"),
    path("assignments/<int:pk>/<slug:action>/", views.assignment_action, name="assignment-action"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence-file"),
    path("inspection-photos/<int:pk>/", views.inspection_photo, name="inspection-photo"),
    path("assignments/<int:pk>/inspections/new/", inspections.inspection_new, name="inspection-new"),
    path("tasks/new/", giving.task_new, name="task-new"),
    path("tasks/new/clears/", giving.task_clears, name="task-clears"),
    path("tasks/<str:code>/", views.task_detail, name="task"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("national/", dashboard.national, name="national"),
    path("notifications/", views.notifications_page, name="notifications"),
]
