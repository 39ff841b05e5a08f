"""Pages of the monitoring and evaluation app, mounted at /evaluations/ by cbportal/urls.py."""

from django.urls import path

from evaluations import views

app_name = "evaluations"

urlpatterns = [
    path("", views.home, name="home"),
    path("indicators/", views.indicator_list, name="indicators"),
    path("actions/<int:action_id>/", views.action_monitoring, name="action"),
    path("actions/<int:action_id>/evaluation/", views.evaluation, name="evaluation"),
    path(
        "measurements/<int:pk>/evidence/",
        views.measurement_evidence,
        name="measurement-evidence",
    ),
    path("outcomes/<int:pk>/evidence/", views.outcome_evidence, name="outcome-evidence"),
    path("feedback/<str:token>/", views.feedback_form, name="feedback-form"),
]
