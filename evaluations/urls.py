"""Pages of the monitoring and evaluation app, mounted at /evaluations/ by cbportal/urls.py."""

from django.urls import path

from evaluations import views

app_name = "evaluations"

urlpatterns = [
    path("", views.home, name="home"),
    path("indicators/", views.indicator_list, name="indicators"),
    path("actions/<int:action_id>/", views.action_monitoring, name="action"),
    path(
        "actions/<int:action_id>/indicators/new/",
        views.indicator_create,
        name="indicator-create",
    ),
    path(
        "actions/<int:action_id>/indicators/<int:pk>/",
        views.indicator_update,
        name="indicator-update",
    ),
    path(
        "actions/<int:action_id>/indicators/<int:pk>/delete/",
        views.indicator_delete,
        name="indicator-delete",
    ),
    path(
        "actions/<int:action_id>/indicators/<int:pk>/measurements/",
        views.measurement_create,
        name="measurement-create",
    ),
    path(
        "actions/<int:action_id>/measurements/<int:pk>/delete/",
        views.measurement_delete,
        name="measurement-delete",
    ),
    path("actions/<int:action_id>/outcomes/new/", views.outcome_create, name="outcome-create"),
    path(
        "actions/<int:action_id>/outcomes/<int:pk>/delete/",
        views.outcome_delete,
        name="outcome-delete",
    ),
    path(
        "actions/<int:action_id>/activities/<int:pk>/participants/",
        views.participants_record,
        name="participants",
    ),
    path(
        "actions/<int:action_id>/activities/<int:pk>/feedback-links/",
        views.feedback_links_create,
        name="feedback-links",
    ),
    path(
        "actions/<int:action_id>/activities/<int:pk>/feedback/",
        views.partner_feedback,
        name="partner-feedback",
    ),
    path("actions/<int:action_id>/evaluation/", views.evaluation, name="evaluation"),
    path("recommendations/<int:pk>/follow-up/", views.follow_up, name="follow-up"),
    path(
        "measurements/<int:pk>/evidence/",
        views.measurement_evidence,
        name="measurement-evidence",
    ),
    path("outcomes/<int:pk>/evidence/", views.outcome_evidence, name="outcome-evidence"),
    path("feedback/<str:token>/", views.feedback_form, name="feedback-form"),
    path("feedback/<str:token>/thanks/", views.feedback_thanks, name="feedback-thanks"),
]
