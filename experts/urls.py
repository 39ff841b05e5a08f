"""Pages of the roster, matching and deployments, mounted at /experts/."""

from django.urls import path

from experts import views

app_name = "experts"

urlpatterns = [
    # Roster (staff) and profiles (staff, or the expert for their own)
    path("", views.roster, name="roster"),
    path("new/", views.expert_create, name="create"),
    path("vetting/", views.vetting_queue, name="vetting"),
    path("profile/", views.my_profile, name="profile"),
    path("<int:pk>/", views.expert_detail, name="detail"),
    path("<int:pk>/edit/", views.expert_edit, name="edit"),
    path("<int:pk>/vet/", views.expert_vet, name="vet"),
    path("<int:pk>/cv/", views.cv_download, name="cv"),
    path("<int:pk>/cv/upload/", views.cv_upload, name="cv-upload"),
    path("<int:pk>/cv/remove/", views.cv_remove, name="cv-remove"),
    path("<int:pk>/unavailability/", views.unavailability_add, name="unavailability-add"),
    path(
        "<int:pk>/unavailability/<int:period_id>/remove/",
        views.unavailability_remove,
        name="unavailability-remove",
    ),
    path("<int:pk>/export/", views.data_export, name="export"),
    path("<int:pk>/request-deletion/", views.request_deletion, name="request-deletion"),
    path("<int:pk>/anonymise/", views.anonymise, name="anonymise"),
    # Matching (staff)
    path("needs/<int:need_id>/shortlist/", views.shortlist, name="shortlist"),
    path("needs/<int:need_id>/match/", views.match, name="match"),
    path("needs/<int:need_id>/experts/<int:expert_id>/", views.shortlist_add, name="shortlist-add"),
    path("actions/<int:action_id>/board/", views.deployment_board, name="board"),
    # Deployments
    path("invitations/", views.my_invitations, name="invitations"),
    path("invitations/answer/<str:token>/", views.invitation_link, name="invitation-link"),
    path("deployments/", views.deployment_list, name="deployments"),
    path("deployments/<int:pk>/", views.deployment_detail, name="deployment"),
    path("deployments/<int:pk>/report/", views.mission_report, name="report"),
    path(
        "deployments/<int:pk>/report/attachments/<int:attachment_id>/",
        views.report_attachment,
        name="report-attachment",
    ),
    path("deployments/<int:pk>/rate/", views.deployment_rate, name="rate"),
    path(
        "deployments/<int:pk>/<slug:transition>/",
        views.deployment_transition,
        name="deployment-transition",
    ),
    # The partner's view of who is deployed on an action
    path("actions/<int:action_id>/experts/", views.action_experts, name="action-experts"),
]
