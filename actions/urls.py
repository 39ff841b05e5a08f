from django.urls import path

from actions import views

app_name = "actions"

urlpatterns = [
    path("", views.action_list, name="list"),
    path("approvals/", views.approval_queue, name="approvals"),
    path("new/<int:assessment_id>/", views.action_create, name="create"),
    path("<int:pk>/", views.action_detail, name="detail"),
    path("<int:pk>/edit/", views.action_edit, name="edit"),
    path("<int:pk>/report/", views.action_report, name="report"),
    path("<int:pk>/report.pdf", views.action_report_pdf, name="report-pdf"),
    path("<int:pk>/plan/", views.plan_edit, name="plan"),
    path("<int:pk>/do/<slug:name>/", views.action_transition, name="transition"),
    path("<int:pk>/amendments/new/", views.amendment_create, name="amendment-create"),
    path("<int:pk>/amendments/<int:amendment_id>/", views.amendment_detail, name="amendment"),
    path(
        "<int:pk>/amendments/<int:amendment_id>/do/<slug:name>/",
        views.amendment_transition,
        name="amendment-transition",
    ),
]
