"""Pages of monitoring and evaluation (being written: see the evaluations issue)."""

from django.http import Http404, HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    raise Http404


indicator_list = action_monitoring = home


def evaluation(request: HttpRequest, action_id: int) -> HttpResponse:
    raise Http404


def feedback_form(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


def measurement_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


outcome_evidence = measurement_evidence
