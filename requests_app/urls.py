from django.urls import path

from requests_app import views

app_name = "requests_app"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("triage/", views.triage_queue, name="triage"),
    path("new/", views.request_create, name="create"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/edit/", views.request_edit, name="edit"),
    path("<int:pk>/do/<slug:name>/", views.request_transition, name="transition"),
    path("<int:pk>/attachments/", views.attachment_upload, name="attachment-upload"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment-delete",
    ),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment"),
    path("assessments/<int:pk>/gaps/", views.gap_add, name="gap-add"),
    path("assessments/<int:pk>/gaps/<int:gap_id>/", views.gap_edit, name="gap-edit"),
    path("assessments/<int:pk>/gaps/<int:gap_id>/delete/", views.gap_delete, name="gap-delete"),
    path(
        "assessments/<int:pk>/do/<slug:name>/",
        views.assessment_transition,
        name="assessment-transition",
    ),
]
