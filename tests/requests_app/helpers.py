"""Builders for requests_app tests: requests and assessments in real states, made through
``requests_app.services`` (so references, SLA dates, case officers and events are real),
plus small real documents for upload tests."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cbportal.accounts.models import Country
from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app import services
from requests_app.models import AssistanceRequest, NeedsAssessment

_titles = count(1)

REQUEST_URL = "/api/v1/requests/"
ASSESSMENT_URL = "/api/v1/assessments/"


def _pdf() -> bytes:
    """A minimal but well-formed one-page PDF (catalog, pages, page, xref, trailer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PDF_BYTES = _pdf()
TEXT_BYTES = b"Dear programme,\nthis is plain text pretending to be a PDF.\n"


def pdf_upload(name: str = "official-letter.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def fake_pdf_upload(name: str = "letter.pdf") -> SimpleUploadedFile:
    """A text file renamed .pdf (and even claiming to be one)."""
    return SimpleUploadedFile(name, TEXT_BYTES, content_type="application/pdf")


def complete_data(**overrides: Any) -> dict[str, Any]:
    """Everything a draft needs to be submitted, as the services take it (model objects)."""
    start = timezone.localdate() + timedelta(days=60)
    data: dict[str, Any] = {
        "title": f"Strengthening border data systems {next(_titles)}",
        "country": Country.objects.get(code="TN"),
        "problem_statement": "Border posts record crossings on paper; data reach the capital late.",
        "expected_outcomes": "Officers collect and share disaggregated data weekly.",
        "target_institutions": "Directorate of Borders; National Statistics Office",
        "thematic_areas": [ThematicArea.objects.get(slug="data")],
        "gcm_objectives": [GcmObjective.objects.get(number=1)],
        "languages": [Language.objects.get(code="fr")],
        "preferred_start": start,
        "preferred_end": start + timedelta(days=90),
    }
    data.update(overrides)
    return data


def make_draft(partner: Any, **overrides: Any) -> AssistanceRequest:
    return services.request_create(by=partner, data=complete_data(**overrides))


def make_request(
    state: str, partner: Any, staff: Any | None = None, **overrides: Any
) -> AssistanceRequest:
    """A request of ``partner``'s organisation in ``state``, walked there through the
    services. ``staff`` (the case officer) is needed beyond ``submitted``."""
    request = make_draft(partner, **overrides)
    if state == "draft":
        return request
    if state == "withdrawn" and staff is None:
        return services.request_withdraw(request_id=request.pk, by=partner)
    services.request_submit(request_id=request.pk, by=partner)
    if state == "submitted":
        return _fresh(request)
    if state == "withdrawn":
        services.request_withdraw(request_id=request.pk, by=partner)
        return _fresh(request)
    assert staff is not None, f"{state} needs a case officer"
    services.request_start_review(request_id=request.pk, by=staff)
    if state == "under_review":
        return _fresh(request)
    if state == "info_requested":
        services.request_request_info(
            request_id=request.pk, by=staff, message="Which border posts are concerned?"
        )
        return _fresh(request)
    if state == "accepted":
        services.request_accept(request_id=request.pk, by=staff)
        return _fresh(request)
    if state == "declined":
        services.request_decline(
            request_id=request.pk, by=staff, reason="Outside the programme's mandate."
        )
        return _fresh(request)
    raise ValueError(f"unknown state {state!r}")


def _fresh(request: AssistanceRequest) -> AssistanceRequest:
    return AssistanceRequest.objects.get(pk=request.pk)


GAP_DATA = [
    {
        "level": "individual",
        "description": "Border officers lack training in data collection.",
        "baseline": "10% trained",
        "target": "80% trained",
        "priority": "high",
    },
    {
        "level": "organisational",
        "description": "No standard operating procedure for data sharing.",
        "baseline": "none",
        "target": "SOP adopted",
        "priority": "medium",
    },
    {
        "level": "enabling_environment",
        "description": "The data protection law does not cover border data.",
        "baseline": "draft law",
        "target": "amended law",
        "priority": "low",
    },
]


def make_assessment(
    partner: Any, staff: Any, *, gaps: int = 1, state: str = "in_progress", **overrides: Any
) -> NeedsAssessment:
    """The needs assessment of an accepted request, with ``gaps`` capacity gaps, in ``state``
    (``in_progress``, ``shared`` or ``validated``)."""
    request = make_request("accepted", partner, staff, **overrides)
    assessment = NeedsAssessment.objects.get(request=request)
    for i in range(gaps):
        services.gap_add(assessment_id=assessment.pk, by=staff, data=dict(GAP_DATA[i % 3]))
    if state in ("shared", "validated"):
        services.assessment_share(assessment_id=assessment.pk, by=staff)
    if state == "validated":
        services.assessment_validate(assessment_id=assessment.pk, by=partner)
    return NeedsAssessment.objects.get(pk=assessment.pk)


def add_attachment(request: AssistanceRequest, by: Any, name: str = "letter.pdf") -> Any:
    return services.attachment_add(
        request_id=request.pk, by=by, upload=pdf_upload(name), kind="official_letter"
    )


def error_attrs(response: Any) -> set[str | None]:
    return {e["attr"] for e in response.json()["errors"]}


def assert_error(response: Any, status: int, code: str | None = None, attr: Any = ...) -> dict:
    """The standard error shape ``{"type", "errors": [{"code", "detail", "attr"}]}`` with a
    readable detail; optionally the first error's code and (some) error's attr."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
        assert isinstance(error["detail"], str) and error["detail"].strip(), error
    if code is not None:
        assert body["errors"][0]["code"] == code, body
    if attr is not ...:
        assert attr in {e["attr"] for e in body["errors"]}, body
    return body


def detail_of(response: Any, attr: Any = None) -> str:
    """The detail of the error on ``attr`` (None: the first error)."""
    for error in response.json()["errors"]:
        if attr is None or error["attr"] == attr:
            return str(error["detail"])
    raise AssertionError(f"no error on {attr!r}: {response.content!r}")
