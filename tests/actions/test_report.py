"""The per-action report: ``/actions/<id>/report/`` (printable page) and
``/actions/<id>/report.pdf`` (the same template through WeasyPrint) — what each role sees,
404 for everyone else, the PDF itself, the 503 without WeasyPrint, and a query count that
does not grow with the data."""

from __future__ import annotations

import re
import sys
import zlib
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions import views
from evaluations import services as evaluation_services
from tests.evaluations.builders import (
    complete_evaluation,
    make_indicator,
    measure,
    running_action,
    submitted_evaluation,
)
from tests.experts.builders import deployment_in, first_need, make_expert
from tests.factories import UserFactory

TITLE = "Border data exchange"


@pytest.fixture
def evaluator2(db: Any) -> Any:
    return UserFactory(username="evaluator2", evaluator=True)


@pytest.fixture
def reported(partner: Any, staff: Any, approver: Any, evaluator: Any) -> Any:
    """A running action of ``partner`` with ``evaluator`` assigned: an indicator measured
    twice and one not measured, an outcome, a confirmed expert (Amina Diallo) and a
    shortlisted one (Jan Novak), a draft evaluation."""
    action = running_action(partner, staff, approver, evaluator=evaluator, title=TITLE)
    indicator = make_indicator(action, staff)
    measure(indicator, evaluator, "30", days_ago=40, note="First inspection round")
    measure(indicator, evaluator, "41.5", days_ago=5, note="Second inspection round")
    make_indicator(
        action,
        staff,
        name="Manual adopted by decree",
        unit="yes_no",
        baseline="0",
        target="1",
        level="enabling_environment",
    )
    evaluation_services.outcome_record(
        action_id=action.pk,
        by=evaluator,
        data={
            "level": "organisational",
            "description": "The border agency adopted the data protocol.",
            "date": action.start_date,
            "evidence": "Circular 12/2026",
        },
    )
    need = first_need(action)
    deployment_in("confirmed", need, make_expert(name="Amina Diallo", by=staff), staff=staff)
    deployment_in(
        "shortlisted",
        need,
        make_expert(name="Jan Novak", administration_type="eu_member_state", by=staff),
        staff=staff,
    )
    complete_evaluation(action, evaluator, findings="Secret draft finding.")
    return action


def page(client: Any, user: Any, action: Any, suffix: str = "report/") -> Any:
    client.force_login(user)
    return client.get(f"/actions/{action.pk}/{suffix}")


def text(response: Any) -> str:
    return response.content.decode()


# --- who sees what ---------------------------------------------------------------------------


def test_it_shows_staff_the_whole_report(client, staff, reported):
    response = page(client, staff, reported)
    assert response.status_code == 200
    body = text(response)
    for expected in (
        TITLE,
        reported.reference,
        "Directorate of Migration",  # the partner
        "Analysts run the register",  # the objective
        "Enabling environment gap (Medium priority): Law silent",  # the gap it closes
        "Training of analysts",  # the activity
        "Share of border posts applying the SOPs",
        "Manual adopted by decree",
        "First inspection round",
        "41.5",
        "The border agency adopted the data protocol.",
        "Amina Diallo",
        "Jan Novak",  # staff see every deployment
        "Partner-country administration",
        'data-testid="evaluation-draft"',
        "Secret draft finding.",
    ):
        assert expected in body, expected
    assert f'href="/actions/{reported.pk}/report.pdf"' in body


def test_it_shows_participants_by_sex(client, staff, reported):
    body = text(page(client, staff, reported))
    activities = re.search(r'data-testid="report-activities".*?</section>', body, re.S)
    assert activities is not None
    cells = re.findall(r'<td class="text-end">(\d+)</td>', activities.group(0))
    assert cells == ["15", "8", "7", "0"]


def test_it_shows_the_partner_its_confirmed_experts_and_no_draft_evaluation(
    client, partner, reported
):
    response = page(client, partner, reported)
    assert response.status_code == 200
    body = text(response)
    assert "Amina Diallo" in body
    assert "Jan Novak" not in body  # a shortlist is internal
    assert "Secret draft finding." not in body
    assert 'data-testid="evaluation-draft"' not in body
    assert 'data-testid="no-evaluation"' in body


def test_it_shows_the_partner_the_submitted_evaluation(client, partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    body = text(page(client, partner, action))
    assert "The border agency adopted the SOPs." in body
    assert "Train regional trainers." in body
    assert 'data-testid="report-rating-impact"' in body
    assert "2 / 4" in body


def test_it_shows_the_evaluator_counts_not_names(client, evaluator, reported):
    response = page(client, evaluator, reported)
    assert response.status_code == 200
    body = text(response)
    assert "Amina Diallo" not in body
    assert "Jan Novak" not in body
    counts = re.search(r'data-testid="report-deployment-counts".*?</table>', body, re.S)
    assert counts is not None
    # One confirmed partner-country expert (the shortlisted one is not counted), one day.
    row = re.search(
        r"Partner-country administration</th><td[^>]*>(\d+)</td><td[^>]*>(\d+)<", counts.group(0)
    )
    assert row is not None and row.groups() == ("1", "1")
    assert "Secret draft finding." in body  # the evaluator reads their own draft


@pytest.mark.parametrize("suffix", ["report/", "report.pdf"])
@pytest.mark.parametrize("persona", ["partner2", "expert", "evaluator2"])
def test_it_answers_404_to_anyone_else(client, request, reported, persona, suffix):
    user = request.getfixturevalue(persona)
    assert page(client, user, reported, suffix).status_code == 404


def test_it_answers_404_to_the_partner_before_approval(client, partner, staff):
    from tests.actions.builders import make_action

    design = make_action(partner, staff)
    assert page(client, partner, design).status_code == 404
    assert page(client, staff, design).status_code == 200


@pytest.mark.parametrize("suffix", ["report/", "report.pdf"])
def test_it_sends_anonymous_visitors_to_sign_in(client, reported, suffix):
    response = client.get(f"/actions/{reported.pk}/{suffix}")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_links_the_report_from_the_action_page(client, partner, reported):
    body = text(page(client, partner, reported, ""))
    assert f'href="/actions/{reported.pk}/report/"' in body
    assert f'href="/actions/{reported.pk}/report.pdf"' in body


# --- the PDF ---------------------------------------------------------------------------------


def pdf_text(data: bytes) -> bytes:
    """The PDF with its compressed streams inflated (bookmarks and metadata are there)."""
    parts = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def pdf_titles(inflated: bytes) -> list[str]:
    """The /Title strings of the PDF: its document title and its bookmarks (the headings)."""
    titles = []
    for match in re.finditer(rb"/Title ?(<[0-9a-fA-F]+>|\((?:[^)\\]|\\.)*\))", inflated):
        raw = match.group(1)
        if raw.startswith(b"<"):
            titles.append(bytes.fromhex(raw[1:-1].decode()).decode("utf-16"))
        else:
            titles.append(raw[1:-1].decode("latin-1"))
    return titles


def test_it_makes_a_pdf_of_the_same_report(client, staff, reported, monkeypatch):
    loaded: list[str] = []
    real = views._static_content

    def spy(name: str) -> bytes | None:
        loaded.append(name)
        return real(name)

    monkeypatch.setattr(views, "_static_content", spy)
    response = page(client, staff, reported, "report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{reported.reference}-report.pdf"' in response["Content-Disposition"]
    data = response.content
    assert data.startswith(b"%PDF-")
    assert len(data) > 5000
    inflated = pdf_text(data)
    titles = pdf_titles(inflated)
    # The document title names the action; its first bookmark is the h1, the action's title.
    assert reported.reference in titles[-1] or reported.reference in titles[0]
    assert TITLE in titles
    assert "Final evaluation" in titles
    # The print stylesheet (A4, page numbers) was read from the static files, not over HTTP.
    assert "css/print.css" in loaded
    assert re.search(rb"/MediaBox ?\[0 0 595\.\d+ 841\.\d+\]", inflated)


def test_it_reads_static_files_only_from_the_finders():
    fetcher = views._static_url_fetcher("http://testserver/")
    response = fetcher.fetch("http://testserver/static/css/print.css?v=1")
    assert b"@page" in response.read()
    assert response.content_type == "text/css"
    for url in (
        "http://example.com/static/css/print.css",  # another host
        "http://testserver/media/cv/secret.pdf",  # not a static file
        "http://testserver/static/css/missing.css",
        "http://testserver/static/../cbportal/settings/base.py",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_it_offers_the_printable_page_when_weasyprint_is_missing(
    client, staff, reported, monkeypatch
):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # "import weasyprint" fails
    response = page(client, staff, reported, "report.pdf")
    assert response.status_code == 503
    body = text(response)
    assert "The PDF cannot be made on this server" in body
    assert TITLE in body  # the printable report itself


# --- queries ---------------------------------------------------------------------------------


def _more_data(action: Any, staff: Any, evaluator: Any, n: int) -> None:
    need = first_need(action)
    for i in range(n):
        indicator = make_indicator(action, staff, name=f"Indicator {i}")
        measure(indicator, evaluator, "25", days_ago=30)
        measure(indicator, evaluator, "35", days_ago=3)
        evaluation_services.outcome_record(
            action_id=action.pk,
            by=evaluator,
            data={"level": "individual", "description": f"Change {i}", "date": action.start_date},
        )
        deployment_in("invited", need, make_expert(name=f"Expert {i}", by=staff), staff=staff)


@pytest.mark.parametrize("persona", ["staff", "partner", "evaluator"])
def test_it_reads_the_report_in_a_constant_number_of_queries(
    client, request, reported, staff, evaluator, persona
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = f"/actions/{reported.pk}/report/"
    client.get(url)  # warm-up (session, content types)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _more_data(reported, staff, evaluator, 4)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert len(small) <= 25
    assert text(client.get(url)).count('data-testid="report-indicator"') == 6
