"""The pages of monitoring and evaluation (DESIGN.md §9 "my evaluations"; issue 6): the
evaluator's "my evaluations", the evaluation list of staff and partners with its
downloads, the indicator list, the monitoring page of an action with every form (success,
and bad input shown next to the fields with nothing saved and nothing lost), the final
evaluation (draft, guard messages, submit, conflict of interest, follow-up requests), the
evidence downloads, and the public feedback form (single use, rate-limited).

Who sees what: staff everything; an evaluator only assigned actions (404 otherwise); the
partner its own organisation's actions read-only (the final evaluation once submitted);
experts nothing here; anonymous visitors are sent to sign in, except on the public form.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from actions import services as action_services
from actions.models import Activity
from evaluations import services
from evaluations.models import (
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
)
from requests_app.models import AssistanceRequest
from tests.evaluations.builders import (
    complete_evaluation,
    days_ago,
    engaged_expert,
    make_indicator,
    measure,
    running_action,
    submitted_evaluation,
)
from tests.requests_app.helpers import fake_pdf_upload, pdf_upload

# --- helpers ----------------------------------------------------------------------------


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def find_testids(response: Any) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', response.content.decode()))


def assert_csp_clean(response: Any) -> None:
    """No inline script, no inline style, no inline event handler (the CSP forbids them)."""
    body = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), "inline <script>"
    assert not re.search(r"\sstyle=", body), "inline style="
    assert not re.search(r"\son[a-z]+=", body), "inline event handler"


def url(name: str, *args: Any) -> str:
    return reverse(f"evaluations:{name}", args=args)


def monitoring(action: Any) -> str:
    return url("action", action.pk)


def first_activity(action: Any) -> Activity:
    return Activity.objects.filter(action=action).order_by("start_date", "id").first()  # type: ignore[return-value]


def csv_rows(response: Any) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(content)))


def xlsx_rows(response: Any) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def query_count(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def indicator(action: Any, evaluator: Any) -> Indicator:
    """Percentage, baseline 20, target 60, organisational."""
    return make_indicator(action, evaluator)


def measurement_post(indicator: Indicator, **fields: Any) -> dict[str, Any]:
    values = {"date": days_ago(2).isoformat(), "value": "45", "note": "", "evidence_url": ""}
    values.update(fields)
    return {f"measurement-{indicator.pk}-{k}": v for k, v in values.items()}


def indicator_post(prefix: str, **fields: Any) -> dict[str, Any]:
    values = {
        "name": "Officers trained in referral",
        "level": "individual",
        "objective": "",
        "unit": "number",
        "baseline": "0",
        "target": "40",
        "direction": "increase",
        "frequency": "quarterly",
        "means_of_verification": "Attendance lists",
    }
    values.update(fields)
    return {f"{prefix}-{k}": v for k, v in values.items()}


# --- who may open which page ------------------------------------------------------------

PAGES = ["home", "indicators", "action", "evaluation"]


def page_url(name: str, action: Any) -> str:
    return url(name, action.pk) if name in ("action", "evaluation") else url(name)


@pytest.mark.parametrize("name", PAGES)
def test_it_sends_anonymous_visitors_to_sign_in(client, action, name):
    response = client.get(page_url(name, action))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_anonymous_visitors_record_nothing(client, action, indicator):
    response = client.post(
        url("measurement-create", action.pk, indicator.pk), measurement_post(indicator)
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("staff", {"home": 200, "indicators": 200, "action": 200, "evaluation": 200}),
        ("evaluator", {"home": 200, "indicators": 200, "action": 200, "evaluation": 200}),
        # The partner reads the evaluation only once submitted.
        ("partner", {"home": 200, "indicators": 200, "action": 200, "evaluation": 404}),
        ("evaluator2", {"home": 200, "indicators": 200, "action": 404, "evaluation": 404}),
        ("partner2", {"home": 200, "indicators": 200, "action": 404, "evaluation": 404}),
        ("expert", {"home": 403, "indicators": 403, "action": 404, "evaluation": 404}),
    ],
)
def test_it_answers_each_role_as_its_scope_allows(
    client, request, action, indicator, persona, expected
):
    complete_evaluation(action, request.getfixturevalue("evaluator"))  # a draft exists
    client.force_login(request.getfixturevalue(persona))
    for name in PAGES:
        response = client.get(page_url(name, action))
        assert response.status_code == expected[name], (persona, name)
        if response.status_code == 200:
            assert_csp_clean(response)


def test_it_shows_outsiders_none_of_the_action_in_lists(
    client, action, indicator, evaluator2, partner2
):
    measure(indicator, indicator.created_by, "30", days_ago=5)
    for outsider in (evaluator2, partner2):
        client.force_login(outsider)
        for path in (url("home"), url("indicators")):
            assert action.reference not in text(client.get(path)), (outsider, path)
        assert csv_rows(client.get(url("indicators") + "?export=csv"))[1:] == []


# --- "my evaluations" (evaluators) ----------------------------------------------------


def test_it_shows_the_evaluator_their_actions_with_what_is_due(client, action, evaluator, staff):
    on_track = make_indicator(action, evaluator, name="On track")
    measure(on_track, evaluator, "40", days_ago=1)
    off = make_indicator(action, evaluator, name="Lagging")
    measure(off, evaluator, "21", days_ago=1)
    make_indicator(action, evaluator, name="Never measured", frequency="monthly")
    client.force_login(evaluator)

    response = client.get(url("home"))

    assert response.status_code == 200
    assert "evaluations/home_evaluator.html" in [t.name for t in response.templates]
    row = re.search(
        rf'<tr data-testid="my-evaluation-{action.pk}">(.*?)</tr>', response.content.decode(), re.S
    )
    assert row, "the assigned action is listed"
    cells = dict(re.findall(r'data-testid="([\w-]+)">(.*?)</td>', row.group(1), re.S))
    assert cells["indicator-count"].strip() == "3"
    assert re.sub(r"<[^>]+>", "", cells["off-track"]).strip() == "1"
    assert cells["not-measured"].strip() == "1"
    assert "Not started" in cells["evaluation-status"]
    # The never-measured monthly indicator was due a month after the start: overdue.
    assert "overdue since" in cells["next-due"]
    assert_csp_clean(response)


def test_it_shows_the_evaluator_the_evaluation_status(
    client, action, evaluator, staff, approver, partner
):
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    client.force_login(evaluator)
    response = client.get(url("home"))
    assert "Submitted" in text(response)


def test_it_previews_my_evaluations_on_the_evaluators_home_page(
    client, action, evaluator, evaluator2
):
    off = make_indicator(action, evaluator, name="Lagging")
    measure(off, evaluator, "21", days_ago=1)
    client.force_login(evaluator)

    response = client.get("/")

    block = re.search(
        r'data-testid="final-evaluations">(.*?)</ul>', response.content.decode(), re.S
    )
    assert block, "my evaluations listed on the home page"
    content = html.unescape(block.group(1))
    assert action.reference in content
    assert "1 indicator" in content and "1 at risk or off track" in content
    assert "final evaluation to write" in content
    assert f'href="{url("home")}"' in response.content.decode()
    assert_csp_clean(response)

    client.force_login(evaluator2)
    assert "final-evaluations-empty" in find_testids(client.get("/"))


def test_the_evaluators_home_costs_the_same_queries_for_more_actions(
    client, action, evaluator, partner, staff, approver
):
    make_indicator(action, evaluator)
    client.force_login(evaluator)
    small = query_count(client, url("home"))
    for _n in range(2):
        more = running_action(partner, staff, approver, evaluator=evaluator)
        measure(make_indicator(more, evaluator), evaluator, "30", days_ago=3)
        make_indicator(more, evaluator, name="Second")
    assert query_count(client, url("home")) == small


# --- the evaluation list (staff, partner) ---------------------------------------------


@pytest.fixture
def two_evaluations(action, evaluator, partner, partner2, staff, approver) -> tuple[Any, Any]:
    """A submitted evaluation of ``action`` (partner, country of the builder) and a draft of
    another action of ``partner2``."""
    submitted = submitted_evaluation(
        action, evaluator, staff=staff, approver=approver, partner=partner
    )
    other = running_action(partner2, staff, approver, evaluator=evaluator, title="Asylum registry")
    draft = complete_evaluation(other, evaluator, impact=1)
    return submitted, draft


def test_it_lists_every_evaluation_to_staff_with_filters(client, staff, two_evaluations):
    submitted, draft = two_evaluations
    client.force_login(staff)

    everything = text(client.get(url("home")))
    assert submitted.action.reference in everything and draft.action.reference in everything

    only_drafts = text(client.get(url("home") + "?status=draft"))
    assert draft.action.reference in only_drafts
    assert submitted.action.reference not in only_drafts

    by_text = text(client.get(url("home") + "?q=asylum"))
    assert draft.action.reference in by_text
    assert submitted.action.reference not in by_text

    other_country = "FR" if submitted.action.country_id != "FR" else "DE"
    by_country = client.get(url("home") + f"?country={other_country}")
    assert "evaluation-table" not in find_testids(by_country)
    assert submitted.action.reference in text(
        client.get(url("home") + f"?country={submitted.action.country_id}")
    )


def test_it_downloads_the_filtered_evaluation_list(client, staff, two_evaluations):
    submitted, draft = two_evaluations
    client.force_login(staff)

    response = client.get(url("home") + "?status=submitted&export=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[:4] == ["Action reference", "Action title", "Country", "Status"]
    assert [r[0] for r in rows] == [submitted.action.reference]
    assert rows[0][header.index("Relevance")] == "3"
    assert rows[0][header.index("Recommendations")] == (
        "Train regional trainers.; Extend the SOPs to airports."
    )

    sheet = xlsx_rows(client.get(url("home") + "?export=xlsx"))
    assert sheet[0][0] == "Action reference"
    assert {r[0] for r in sheet[1:]} == {submitted.action.reference, draft.action.reference}


def test_it_refuses_an_unknown_download_format_with_a_message(client, staff, two_evaluations):
    client.force_login(staff)
    response = client.get(url("home") + "?export=pdf")
    assert response.status_code == 400
    assert any("CSV or XLSX" in m for m in flashed(response))


def test_the_partner_sees_only_its_organisations_submitted_evaluations(
    client, partner, partner2, two_evaluations
):
    submitted, draft = two_evaluations
    client.force_login(partner)
    page = client.get(url("home"))
    assert submitted.action.reference in text(page)
    assert 'name="status"' not in page.content.decode()  # only submitted ones exist for them
    assert [r[0] for r in csv_rows(client.get(url("home") + "?export=csv"))[1:]] == [
        submitted.action.reference
    ]
    # partner2's draft is not shown to partner2 either (not submitted).
    client.force_login(partner2)
    assert draft.action.reference not in text(client.get(url("home")))
    assert csv_rows(client.get(url("home") + "?export=csv"))[1:] == []


def test_the_evaluation_list_costs_the_same_queries_for_more_rows(
    client, staff, evaluator, partner, approver, action
):
    complete_evaluation(action, evaluator)
    client.force_login(staff)
    small = query_count(client, url("home"))
    for _n in range(2):
        more = running_action(partner, staff, approver, evaluator=evaluator)
        complete_evaluation(more, evaluator)
    assert query_count(client, url("home")) == small


# --- the indicator list -----------------------------------------------------------------


def test_it_lists_and_filters_indicators(client, staff, action, evaluator):
    lagging = make_indicator(action, evaluator, name="Lagging indicator", level="individual")
    measure(lagging, evaluator, "21", days_ago=1)
    make_indicator(action, evaluator, name="Unmeasured indicator")
    client.force_login(staff)

    page = client.get(url("indicators"))
    assert page.status_code == 200
    body = text(page)
    assert "Lagging indicator" in body and "Unmeasured indicator" in body
    assert "Off track" in body and "Not measured yet" in body
    assert_csp_clean(page)

    def names(query: str) -> set[str]:
        found = set(
            re.findall(r'#indicator-\d+">([^<]+)</a>', text(client.get(url("indicators") + query)))
        )
        return found

    assert names("?level=individual") == {"Lagging indicator"}
    assert names("?progress=not_measured") == {"Unmeasured indicator"}
    assert names(f"?action={action.reference}") == {"Lagging indicator", "Unmeasured indicator"}
    assert names("?action=no-such-action") == set()
    assert names(f"?country={action.country_id}") == {"Lagging indicator", "Unmeasured indicator"}


def test_it_downloads_indicators_with_one_row_per_measurement(client, evaluator, action):
    measured = make_indicator(action, evaluator, name="Measured twice")
    measure(measured, evaluator, "30", days_ago=20, note="first")
    measure(measured, evaluator, "45", days_ago=2, note="second")
    make_indicator(action, evaluator, name="Never measured")
    client.force_login(evaluator)

    header, *rows = csv_rows(client.get(url("indicators") + "?export=csv"))
    indicator_col, value_col, note_col = (
        header.index("Indicator"),
        header.index("Value"),
        header.index("Note"),
    )
    assert sorted((r[indicator_col], r[value_col], r[note_col]) for r in rows) == [
        ("Measured twice", "30.00", "first"),
        ("Measured twice", "45.00", "second"),
        ("Never measured", "", ""),
    ]

    sheet = xlsx_rows(client.get(url("indicators") + "?progress=not_measured&export=xlsx"))
    assert sheet[0][indicator_col] == "Indicator"
    assert [r[indicator_col] for r in sheet[1:]] == ["Never measured"]


def test_the_indicator_list_costs_the_same_queries_for_more_rows(client, staff, action, evaluator):
    for n in range(2):
        measure(make_indicator(action, evaluator, name=f"I{n}"), evaluator, "30", days_ago=3)
    client.force_login(staff)
    small = query_count(client, url("indicators"))
    for n in range(4):
        measure(make_indicator(action, evaluator, name=f"More {n}"), evaluator, "50", days_ago=3)
    assert query_count(client, url("indicators")) == small


# --- the monitoring page ------------------------------------------------------------------


def test_it_shows_indicators_by_level_with_progress_in_words_and_history(
    client, partner, action, evaluator
):
    sops = make_indicator(action, evaluator)  # percentage 20 → 60, organisational
    measure(sops, evaluator, "30", days_ago=60, note="Inspection in March")
    measure(sops, evaluator, "40", days_ago=1)
    law = make_indicator(
        action,
        evaluator,
        name="Law adopted",
        level="enabling_environment",
        unit="yes_no",
        baseline="0",
        target="1",
    )
    client.force_login(partner)

    response = client.get(monitoring(action))

    assert response.status_code == 200
    body = response.content.decode()
    # Organisational before enabling environment (the order of CB levels), each headed.
    assert body.index('id="level-organisational-heading"') < body.index(
        'id="level-enabling_environment-heading"'
    )
    assert 'id="level-individual-heading"' not in body  # no indicator at that level
    card = body[body.index(f'id="indicator-{sops.pk}"') : body.index(f'id="indicator-{law.pk}"')]
    assert "20 %" in card and "60 %" in card and "40 %" in card  # baseline, target, latest
    # Progress: words and an icon, not colour alone; a bar with the share of the way.
    progress = re.search(rf'data-testid="progress-{sops.pk}" data-status="(\w+)"', card)
    assert progress and progress.group(1) == "on_track"
    assert "On track" in card and "bi-check-circle-fill" in card
    assert re.search(r'<progress [^>]*value="50"', card)
    assert "50 % of the way from baseline to target" in html.unescape(card)
    # The history, newest first, in a table with a caption and column headers.
    history = re.search(rf'data-testid="measurements-{sops.pk}">(.*?)</table>', card, re.S)
    assert history and "<caption id=" in history.group(1) and 'scope="col"' in history.group(1)
    assert history.group(1).index("40 %") < history.group(1).index("30 %")
    assert "Inspection in March" in history.group(1)
    law_card = body[body.index(f'id="indicator-{law.pk}"') :]
    assert "Not measured yet" in law_card.split("</article>")[0]
    assert 'data-testid="baseline">No</dd>' in law_card  # a yes/no baseline of 0 reads "No"
    # The partner reads; it records nothing.
    ids = find_testids(response)
    assert not {f"measurement-form-{sops.pk}", "new-indicator-form", "outcome-form"} & ids
    assert f"participants-form-{first_activity(action).pk}" not in ids
    assert_csp_clean(response)


def test_it_offers_the_evaluator_every_monitoring_form(client, evaluator, action, indicator):
    client.force_login(evaluator)
    response = client.get(monitoring(action))
    ids = find_testids(response)
    activity = first_activity(action)
    assert {
        f"measurement-form-{indicator.pk}",
        f"indicator-form-{indicator.pk}",
        "new-indicator-form",
        "outcome-form",
        f"participants-form-{activity.pk}",
    } <= ids
    assert f"links-form-{activity.pk}" not in ids  # staff share feedback links
    assert f"feedback-form-{activity.pk}" not in ids  # the partner's own form


def test_the_value_box_suits_the_unit(client, evaluator, action):
    yes_no = make_indicator(action, evaluator, name="Law", unit="yes_no", baseline="0", target="1")
    scale = make_indicator(action, evaluator, name="Trust", unit="scale", baseline="2", target="4")
    percent = make_indicator(action, evaluator, name="Share")
    number = make_indicator(
        action, evaluator, name="Count", unit="number", baseline="0", target="9"
    )
    client.force_login(evaluator)
    body = client.get(monitoring(action)).content.decode()

    def box(indicator: Indicator) -> str:
        match = re.search(
            rf'<(select|input)[^>]*name="measurement-{indicator.pk}-value"[^>]*>(.*?</select>)?',
            body,
            re.S,
        )
        assert match
        return match.group(0)

    assert (
        box(yes_no).startswith("<select") and 'value="1"' in box(yes_no) and ">Yes<" in box(yes_no)
    )
    assert box(scale).startswith("<select")
    assert re.findall(r'<option value="(\d)"', box(scale)) == ["1", "2", "3", "4", "5"]
    assert 'type="number"' in box(percent) and 'max="100"' in box(percent)
    assert 'type="number"' in box(number) and "max=" not in box(number)


def test_the_monitoring_page_costs_the_same_queries_for_more_data(
    client, staff, evaluator, partner, action
):
    activity = first_activity(action)

    def add(n: int) -> None:
        for k in range(n):
            indicator = make_indicator(action, evaluator, name=f"Indicator {k}-{n}")
            measure(indicator, evaluator, "30", days_ago=10)
            measure(indicator, evaluator, "40", days_ago=1, evidence_url="https://example.org/r")
        services.outcome_record(
            action_id=action.pk,
            by=evaluator,
            data={"level": "individual", "description": f"Change {n}", "date": days_ago(1)},
        )
        links = services.feedback_links_create(activity_id=activity.pk, by=staff, count=n)
        services.feedback_submit_by_link(
            token=links[0].token, data={"satisfaction": 4, "comments": "Good"}
        )

    add(2)
    counts = {}
    for user in (staff, evaluator, partner):
        client.force_login(user)
        counts[user.pk] = query_count(client, monitoring(action))
    add(4)
    for user in (staff, evaluator, partner):
        client.force_login(user)
        assert query_count(client, monitoring(action)) == counts[user.pk], user.username


# --- indicators: add and change -----------------------------------------------------


def test_it_adds_an_indicator(client, staff, action):
    client.force_login(staff)
    objective = action.objectives.first()

    response = client.post(
        url("indicator-create", action.pk),
        indicator_post("indicator-new", objective=str(objective.pk)),
    )

    indicator = Indicator.objects.get(action=action)
    assert response.status_code == 302
    assert response["Location"] == monitoring(action) + "#indicators"
    assert (indicator.name, indicator.objective, indicator.target) == (
        "Officers trained in referral",
        objective,
        Decimal("40"),
    )
    assert "Indicator added." in flashed(response)


def test_it_refuses_a_bad_indicator_keeping_what_was_typed(client, evaluator, action):
    client.force_login(evaluator)

    response = client.post(
        url("indicator-create", action.pk),
        indicator_post(
            "indicator-new", name="Typed with care", unit="percentage", baseline="50", target="140"
        ),
    )

    assert response.status_code == 400
    assert not Indicator.objects.filter(action=action).exists()
    body = text(response)
    assert "A percentage is between 0 and 100." in body
    target = re.search(r'<input[^>]*name="indicator-new-target"[^>]*>', response.content.decode())
    assert target and 'value="140"' in target.group(0) and 'aria-invalid="true"' in target.group(0)
    assert 'aria-describedby="id_indicator-new-target_error"' in target.group(0)
    assert 'id="id_indicator-new-target_error" role="alert"' in response.content.decode()
    assert 'value="Typed with care"' in body
    assert re.search(r"<details[^>]*open>\s*<summary[^>]*>Add an indicator", body)
    assert_csp_clean(response)


def test_it_changes_an_indicator_and_refuses_a_new_unit_once_measured(
    client, evaluator, action, indicator
):
    client.force_login(evaluator)
    prefix = f"indicator-{indicator.pk}"
    base = {
        "name": indicator.name,
        "level": indicator.level,
        "unit": "percentage",
        "baseline": "20",
        "target": "60",
    }

    response = client.post(
        url("indicator-update", action.pk, indicator.pk),
        indicator_post(prefix, **{**base, "target": "80"}),
    )
    assert response.status_code == 302
    assert Indicator.objects.get(pk=indicator.pk).target == Decimal("80")

    measure(indicator, evaluator, "30", days_ago=1)
    response = client.post(
        url("indicator-update", action.pk, indicator.pk),
        indicator_post(prefix, **{**base, "unit": "number", "target": "90"}),
    )
    assert response.status_code == 400
    assert "The unit cannot change once measurements are recorded." in text(response)
    stored = Indicator.objects.get(pk=indicator.pk)
    assert (stored.unit, stored.target) == ("percentage", Decimal("80"))


def test_it_removes_an_unmeasured_indicator_after_confirmation(client, staff, action, indicator):
    client.force_login(staff)
    confirm = client.get(url("indicator-delete", action.pk, indicator.pk))
    assert confirm.status_code == 200 and "confirm-delete" in find_testids(confirm)
    assert Indicator.objects.filter(pk=indicator.pk).exists()

    response = client.post(url("indicator-delete", action.pk, indicator.pk))

    assert response.status_code == 302
    assert not Indicator.objects.filter(pk=indicator.pk).exists()


def test_an_indicator_of_another_action_is_not_found_here(
    client, staff, partner, approver, evaluator, action
):
    other = running_action(partner, staff, approver, evaluator=evaluator)
    foreign = make_indicator(other, evaluator)
    client.force_login(staff)
    response = client.post(
        url("measurement-create", action.pk, foreign.pk), measurement_post(foreign)
    )
    assert response.status_code == 404
    assert not Measurement.objects.exists()


# --- measurements -----------------------------------------------------------------------


def test_it_records_a_measurement_with_an_evidence_file(client, evaluator, action, indicator):
    client.force_login(evaluator)

    response = client.post(
        url("measurement-create", action.pk, indicator.pk),
        {
            **measurement_post(indicator, value="44.5", note="Checked at 3 posts"),
            f"measurement-{indicator.pk}-evidence_file": pdf_upload("inspection.pdf"),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == monitoring(action) + f"#indicator-{indicator.pk}"
    measurement = Measurement.objects.get(indicator=indicator)
    assert (measurement.value, measurement.note, measurement.evidence_name) == (
        Decimal("44.5"),
        "Checked at 3 posts",
        "inspection.pdf",
    )
    assert Indicator.objects.get(pk=indicator.pk).progress_status != "not_measured"
    page = client.get(monitoring(action))
    assert url("measurement-evidence", measurement.pk) in page.content.decode()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"value": "140"}, "value", "A percentage is between 0 and 100."),
        ({"value": "lots"}, "value", "Enter a number."),
        ({"date": "2001-01-01"}, "date", "The date must fall within the action's period"),
        ({"date": "not a date"}, "date", "Enter a valid date."),
        ({"evidence_url": "ftp://files"}, "evidence_url", "starting with http:// or https://"),
    ],
)
def test_it_refuses_a_bad_measurement_keeping_what_was_typed(
    client, evaluator, action, indicator, fields, field, message
):
    client.force_login(evaluator)

    response = client.post(
        url("measurement-create", action.pk, indicator.pk),
        measurement_post(indicator, note="Typed at the border post", **fields),
    )

    assert response.status_code == 400
    assert not Measurement.objects.exists()
    body = text(response)
    assert message in body
    assert f'id="id_measurement-{indicator.pk}-{field}_error" role="alert"' in body
    assert "Typed at the border post</textarea>" in body
    typed = fields.get("value", fields.get("date", fields.get("evidence_url")))
    assert f'value="{typed}"' in body
    assert any("Nothing was saved" in m for m in flashed(response))


def test_it_refuses_a_disguised_evidence_file(client, evaluator, action, indicator):
    client.force_login(evaluator)
    response = client.post(
        url("measurement-create", action.pk, indicator.pk),
        {
            **measurement_post(indicator),
            f"measurement-{indicator.pk}-evidence_file": fake_pdf_upload("report.pdf"),
        },
    )
    assert response.status_code == 400
    assert "is not an accepted document" in text(response)
    assert not Measurement.objects.exists()


def test_the_partner_cannot_record_a_measurement(client, partner, action, indicator):
    client.force_login(partner)
    response = client.post(
        url("measurement-create", action.pk, indicator.pk), measurement_post(indicator)
    )
    assert response.status_code == 403
    assert not Measurement.objects.exists()
    assert any("Only programme staff and the action's evaluators" in m for m in flashed(response))


@pytest.mark.parametrize("persona", ["evaluator2", "partner2", "expert"])
def test_outsiders_post_nothing_to_the_action(client, request, action, indicator, persona):
    client.force_login(request.getfixturevalue(persona))
    activity = first_activity(action)
    posts = [
        (url("measurement-create", action.pk, indicator.pk), measurement_post(indicator)),
        (url("indicator-create", action.pk), indicator_post("indicator-new")),
        (url("outcome-create", action.pk), {"outcome-new-level": "individual"}),
        (url("participants", action.pk, activity.pk), {}),
        (url("feedback-links", action.pk, activity.pk), {f"links-{activity.pk}-count": "2"}),
        (url("partner-feedback", action.pk, activity.pk), {}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 404, path
    assert not Measurement.objects.exists() and not FeedbackLink.objects.exists()


def test_it_removes_a_measurement_after_confirmation_and_recomputes_progress(
    client, evaluator, action, indicator
):
    older = measure(indicator, evaluator, "30", days_ago=20)
    mistaken = measure(indicator, evaluator, "59", days_ago=1)
    client.force_login(evaluator)

    confirm = client.get(url("measurement-delete", action.pk, mistaken.pk))
    assert confirm.status_code == 200
    assert "confirm-delete" in find_testids(confirm)
    assert "59 %" in text(confirm)  # the value in the words of its unit
    assert_csp_clean(confirm)
    assert Measurement.objects.filter(pk=mistaken.pk).exists()  # nothing removed on GET

    response = client.post(url("measurement-delete", action.pk, mistaken.pk))

    assert response.status_code == 302
    assert list(Measurement.objects.values_list("pk", flat=True)) == [older.pk]
    assert Indicator.objects.get(pk=indicator.pk).latest_value == Decimal("30")


def test_an_evaluator_cannot_remove_what_staff_recorded(
    client, staff, evaluator, action, indicator
):
    by_staff = measure(indicator, staff, "30", days_ago=1)
    client.force_login(evaluator)
    page = client.get(monitoring(action))
    assert url("measurement-delete", action.pk, by_staff.pk) not in page.content.decode()

    response = client.post(url("measurement-delete", action.pk, by_staff.pk))

    assert response.status_code == 302
    assert Measurement.objects.filter(pk=by_staff.pk).exists()
    assert any("another person's record" in m for m in flashed(response))


# --- evidence downloads ---------------------------------------------------------------


@pytest.fixture
def evidence(action: Any, evaluator: Any, indicator: Indicator) -> tuple[Measurement, Outcome]:
    measurement = measure(indicator, evaluator, "35", days_ago=1, evidence_file=pdf_upload("m.pdf"))
    outcome = services.outcome_record(
        action_id=action.pk,
        by=evaluator,
        data={
            "level": "organisational",
            "description": "The unit adopted the SOPs.",
            "date": days_ago(1),
            "evidence_file": pdf_upload("decree.pdf"),
        },
    )
    return measurement, outcome


@pytest.mark.parametrize("persona", ["staff", "evaluator", "partner"])
def test_evidence_is_served_as_an_attachment_to_those_who_see_the_action(
    client, request, evidence, persona
):
    measurement, outcome = evidence
    client.force_login(request.getfixturevalue(persona))
    for path, name in (
        (url("measurement-evidence", measurement.pk), "m.pdf"),
        (url("outcome-evidence", outcome.pk), "decree.pdf"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content).startswith(b"%PDF")


@pytest.mark.parametrize("persona", ["evaluator2", "partner2", "expert"])
def test_evidence_is_not_found_for_others(client, request, evidence, persona):
    measurement, outcome = evidence
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("measurement-evidence", measurement.pk)).status_code == 404
    assert client.get(url("outcome-evidence", outcome.pk)).status_code == 404


def test_evidence_asks_anonymous_visitors_to_sign_in(client, evidence):
    measurement, _outcome = evidence
    response = client.get(url("measurement-evidence", measurement.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_measurement_without_a_file_has_no_download(client, staff, evaluator, indicator):
    bare = measure(indicator, evaluator, "35", days_ago=1)
    client.force_login(staff)
    assert client.get(url("measurement-evidence", bare.pk)).status_code == 404


# --- outcomes -----------------------------------------------------------------------------


def test_it_logs_an_outcome_by_level(client, evaluator, action):
    client.force_login(evaluator)

    response = client.post(
        url("outcome-create", action.pk),
        {
            "outcome-new-level": "enabling_environment",
            "outcome-new-description": "The decree on data exchange was signed.",
            "outcome-new-evidence": "Official journal no. 12",
            "outcome-new-date": days_ago(3).isoformat(),
            "outcome-new-evidence_url": "https://example.org/journal/12",
        },
    )

    assert response.status_code == 302
    outcome = Outcome.objects.get(action=action)
    assert (outcome.level, outcome.recorded_by) == ("enabling_environment", evaluator)
    page = client.get(monitoring(action)).content.decode()
    listed = re.search(r'data-testid="outcomes-enabling_environment">(.*?)</ul>', page, re.S)
    assert listed and "The decree on data exchange was signed." in listed.group(1)
    assert (
        'href="https://example.org/journal/12" rel="noopener noreferrer nofollow"'
        in listed.group(1)
    )


def test_it_refuses_a_bad_outcome_keeping_what_was_typed(client, evaluator, action):
    client.force_login(evaluator)

    response = client.post(
        url("outcome-create", action.pk),
        {
            "outcome-new-level": "individual",
            "outcome-new-description": "",
            "outcome-new-evidence": "Attendance sheet kept",
            "outcome-new-date": (timezone.localdate() + timedelta(days=5)).isoformat(),
        },
    )

    assert response.status_code == 400
    assert not Outcome.objects.exists()
    body = text(response)
    assert "Describe what changed." in body
    assert "The date cannot be in the future." in body
    assert "Attendance sheet kept</textarea>" in body


def test_it_removes_an_outcome_after_confirmation(client, staff, evaluator, action, evidence):
    _measurement, outcome = evidence
    client.force_login(staff)
    assert client.get(url("outcome-delete", action.pk, outcome.pk)).status_code == 200
    response = client.post(url("outcome-delete", action.pk, outcome.pk))
    assert response.status_code == 302
    assert not Outcome.objects.filter(pk=outcome.pk).exists()


# --- participants and feedback of activities ------------------------------------------------


def test_it_records_sex_disaggregated_participants(client, evaluator, action):
    activity = first_activity(action)
    client.force_login(evaluator)
    prefix = f"participants-{activity.pk}"

    response = client.post(
        url("participants", action.pk, activity.pk),
        {
            f"{prefix}-participants_women": "9",
            f"{prefix}-participants_men": "7",
            f"{prefix}-participants_other": "1",
        },
    )

    assert response.status_code == 302
    activity.refresh_from_db()
    assert (
        activity.participants_women,
        activity.participants_men,
        activity.participants_other,
    ) == (9, 7, 1)
    page = client.get(monitoring(action)).content.decode()
    block = re.search(rf'data-testid="participants-{activity.pk}">(.*?)</dl>', page, re.S)
    assert block and re.search(r"Total</dt><dd[^>]*>17\b", block.group(1))


def test_it_refuses_negative_participants_keeping_the_others(client, evaluator, action):
    activity = first_activity(action)
    before = (activity.participants_women, activity.participants_men)
    client.force_login(evaluator)
    prefix = f"participants-{activity.pk}"

    response = client.post(
        url("participants", action.pk, activity.pk),
        {
            f"{prefix}-participants_women": "12",
            f"{prefix}-participants_men": "-3",
            f"{prefix}-participants_other": "0",
        },
    )

    assert response.status_code == 400
    assert "Enter a whole number, 0 or more." in text(response)
    assert 'value="12"' in text(response)
    activity.refresh_from_db()
    assert (activity.participants_women, activity.participants_men) == before


def test_staff_create_feedback_links_and_see_them_as_full_addresses(client, staff, action):
    activity = first_activity(action)
    client.force_login(staff)

    response = client.post(
        url("feedback-links", action.pk, activity.pk), {f"links-{activity.pk}-count": "3"}
    )

    assert response.status_code == 302
    assert response["Location"] == monitoring(action) + f"#links-{activity.pk}"
    links = list(FeedbackLink.objects.filter(activity=activity))
    assert len(links) == 3
    assert "3 feedback links created: share one with each participant." in flashed(response)
    page = client.get(monitoring(action))
    for link in links:
        assert (
            f'value="http://testserver/evaluations/feedback/{link.token}/"' in page.content.decode()
        )
    assert "3 links, 3 unused" in text(page)
    assert_csp_clean(page)


def test_it_refuses_a_bad_number_of_links(client, staff, evaluator, action):
    activity = first_activity(action)
    client.force_login(staff)
    response = client.post(
        url("feedback-links", action.pk, activity.pk), {f"links-{activity.pk}-count": "0"}
    )
    assert response.status_code == 400
    assert "Create between 1 and 200 links at a time." in text(response)
    assert not FeedbackLink.objects.exists()

    client.force_login(evaluator)  # sees the action, may not create links
    response = client.post(
        url("feedback-links", action.pk, activity.pk), {f"links-{activity.pk}-count": "2"}
    )
    assert response.status_code == 403
    assert not FeedbackLink.objects.exists()


def test_the_partner_gives_feedback_once_per_activity(client, partner, staff, action):
    activity = first_activity(action)
    client.force_login(partner)
    prefix = f"feedback-{activity.pk}"
    assert f"feedback-form-{activity.pk}" in find_testids(client.get(monitoring(action)))

    missing = client.post(
        url("partner-feedback", action.pk, activity.pk), {f"{prefix}-comments": "Kept comment"}
    )
    assert missing.status_code == 400
    assert "Rate your satisfaction from 1" in text(missing)
    assert "Kept comment</textarea>" in text(missing)
    assert not Feedback.objects.exists()

    done = client.post(
        url("partner-feedback", action.pk, activity.pk),
        {f"{prefix}-satisfaction": "4", f"{prefix}-comments": "Useful visit"},
    )
    assert done.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.respondent, feedback.satisfaction, feedback.submitted_by) == (
        "partner",
        4,
        partner,
    )
    page = client.get(monitoring(action))
    assert f"feedback-form-{activity.pk}" not in find_testids(page)
    assert "You rated this activity 4 of 5" in text(page)

    again = client.post(
        url("partner-feedback", action.pk, activity.pk), {f"{prefix}-satisfaction": "1"}
    )
    assert again.status_code == 409
    assert Feedback.objects.count() == 1

    client.force_login(staff)
    summary = text(client.get(monitoring(action)))
    assert "4.0 of 5" in summary


# --- the final evaluation ---------------------------------------------------------------------


def evaluation_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in (
        "relevance",
        "coherence",
        "effectiveness",
        "efficiency",
        "impact",
        "sustainability",
    ):
        data[name] = "3"
        data[f"{name}_justification"] = f"Because of {name}."
    data.update(
        findings="The SOPs are applied.",
        lessons="Regional peers were trusted.",
        recommendations="Train regional trainers.\n\nExtend the SOPs to airports.\n",
    )
    data.update(overrides)
    return data


def test_the_evaluator_saves_a_draft(client, evaluator, action):
    client.force_login(evaluator)
    page = client.get(url("evaluation", action.pk))
    assert "evaluation-form" in find_testids(page)
    # Six criteria, each a radio group of the four labelled ratings.
    assert len(re.findall(r'type="radio" name="relevance"', page.content.decode())) == 4
    assert "4 — Highly satisfactory" in text(page) and "1 — Unsatisfactory" in text(page)
    assert "Save a draft first" in text(page)
    assert_csp_clean(page)

    response = client.post(url("evaluation", action.pk), evaluation_post(impact="2"))

    assert response.status_code == 302
    evaluation = FinalEvaluation.objects.get(action=action)
    assert (evaluation.status, evaluation.impact, evaluation.findings) == (
        "draft",
        2,
        "The SOPs are applied.",
    )
    assert [r.text for r in evaluation.recommendations.all()] == [
        "Train regional trainers.",
        "Extend the SOPs to airports.",
    ]
    again = client.get(url("evaluation", action.pk))
    assert re.search(
        r'value="2"[^>]*name="impact"[^>]*checked|name="impact" value="2"[^>]*checked',
        again.content.decode(),
    )
    # Not yet submittable: the guard says why.
    assert "submit-evaluation" not in find_testids(again)
    assert "The final evaluation can be submitted once the action is completed." in text(again)


def test_it_refuses_a_rating_outside_1_to_4_keeping_what_was_typed(client, evaluator, action):
    complete_evaluation(action, evaluator, findings="Stored findings")
    client.force_login(evaluator)

    response = client.post(
        url("evaluation", action.pk), evaluation_post(relevance="5", findings="New findings typed")
    )

    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    assert 'id="id_relevance_error" role="alert"' in response.content.decode()
    assert "New findings typed</textarea>" in text(response)
    assert FinalEvaluation.objects.get(action=action).findings == "Stored findings"


def test_the_evaluator_submits_once_the_action_is_completed(
    client, evaluator, staff, action, partner
):
    complete_evaluation(action, evaluator)
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    client.force_login(evaluator)
    page = client.get(url("evaluation", action.pk))
    assert "submit-evaluation" in find_testids(page)

    response = client.post(
        url("evaluation", action.pk), evaluation_post(lessons="Final lessons", submit="1")
    )

    assert response.status_code == 302
    evaluation = FinalEvaluation.objects.get(action=action)
    assert (evaluation.status, evaluation.lessons, evaluation.submitted_by) == (
        "submitted",
        "Final lessons",
        evaluator,
    )
    read = client.get(url("evaluation", action.pk))
    assert "evaluation-form" not in find_testids(read) and "ratings" in find_testids(read)
    client.force_login(partner)
    assert client.get(url("evaluation", action.pk)).status_code == 200


def test_the_evaluator_writes_and_submits_in_one_go_on_the_first_visit(
    client, evaluator, staff, action
):
    """Nothing stored yet and the action completed: the first page already offers to
    submit, and a complete evaluation posted with it is saved and submitted at once."""
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    client.force_login(evaluator)
    page = client.get(url("evaluation", action.pk))
    assert "submit-evaluation" in find_testids(page)
    assert "submit-blocker" not in find_testids(page)

    response = client.post(url("evaluation", action.pk), evaluation_post(submit="1"))

    assert response.status_code == 302
    assert FinalEvaluation.objects.get(action=action).status == "submitted"


def test_an_incomplete_evaluation_submitted_first_time_is_kept_as_a_draft(
    client, evaluator, staff, action
):
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    client.force_login(evaluator)

    response = client.post(url("evaluation", action.pk), evaluation_post(findings="", submit="1"))

    assert response.status_code == 302
    assert FinalEvaluation.objects.get(action=action).status == "draft"
    assert any("Write the findings." in m for m in flashed(response))


def test_an_incomplete_draft_is_saved_but_not_submitted(client, evaluator, staff, action):
    complete_evaluation(action, evaluator)
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    client.force_login(evaluator)

    response = client.post(url("evaluation", action.pk), evaluation_post(findings="", submit="1"))

    assert response.status_code == 302
    evaluation = FinalEvaluation.objects.get(action=action)
    assert (evaluation.status, evaluation.findings) == ("draft", "")
    assert any(
        "cannot be submitted yet" in m and "Write the findings." in m for m in flashed(response)
    )


def test_an_evaluator_deployed_on_the_action_may_not_evaluate_it(client, evaluator, staff, action):
    engaged_expert(action, staff, "accepted", email=evaluator.email)
    client.force_login(evaluator)

    page = client.get(url("evaluation", action.pk))

    assert page.status_code == 200
    assert "conflict" in find_testids(page) and "evaluation-form" not in find_testids(page)
    assert "conflict of interest" in text(page)
    assert client.post(url("evaluation", action.pk), evaluation_post()).status_code == 403
    assert not FinalEvaluation.objects.exists()


def test_staff_read_the_evaluation_and_open_a_follow_up_request(
    client, staff, evaluator, approver, partner, action
):
    evaluation = submitted_evaluation(
        action, evaluator, staff=staff, approver=approver, partner=partner
    )
    first, second = evaluation.recommendations.order_by("position")
    client.force_login(staff)
    page = client.get(url("evaluation", action.pk))
    body = page.content.decode()
    assert "evaluation-form" not in find_testids(page)
    table = re.search(r'data-testid="ratings">(.*?)</table>', body, re.S)
    assert table and "<caption id=" in table.group(1)
    assert re.search(
        r'<th scope="row">Impact</th>\s*<td[^>]*>2 — Partly satisfactory', table.group(1)
    )
    assert {f"follow-up-form-{first.pk}", f"follow-up-form-{second.pk}"} <= find_testids(page)
    assert_csp_clean(page)

    response = client.post(url("follow-up", first.pk))

    assert response.status_code == 302
    assert response["Location"] == url("evaluation", action.pk) + f"#recommendation-{first.pk}"
    request_ = AssistanceRequest.objects.get(follows_recommendation=first)
    assert (request_.status, request_.organisation_id) == ("draft", action.organisation_id)
    after = client.get(url("evaluation", action.pk))
    assert f"follow-up-form-{first.pk}" not in find_testids(after)
    assert f'href="{request_.get_absolute_url()}"' in after.content.decode()

    twice = client.post(url("follow-up", first.pk))
    assert twice.status_code == 302
    assert any("already opened" in m for m in flashed(twice))
    assert AssistanceRequest.objects.filter(follows_recommendation__isnull=False).count() == 1


def test_only_staff_open_follow_up_requests(
    client, partner, evaluator, evaluator2, staff, approver, action
):
    evaluation = submitted_evaluation(
        action, evaluator, staff=staff, approver=approver, partner=partner
    )
    recommendation = evaluation.recommendations.first()
    client.force_login(partner)
    page = client.get(url("evaluation", action.pk))
    assert page.status_code == 200 and "ratings" in find_testids(page)
    assert not any(t.startswith("follow-up-form") for t in find_testids(page))
    assert client.post(url("follow-up", recommendation.pk)).status_code == 302
    client.force_login(evaluator2)
    assert client.post(url("follow-up", recommendation.pk)).status_code == 404
    assert not AssistanceRequest.objects.filter(follows_recommendation__isnull=False).exists()


# --- the public feedback form -------------------------------------------------------------


@pytest.fixture
def links(action: Any, staff: Any) -> list[FeedbackLink]:
    return services.feedback_links_create(activity_id=first_activity(action).pk, by=staff, count=3)


def test_a_participant_answers_through_a_link_without_an_account(client, action, links, partner):
    link = links[0]
    activity = first_activity(action)

    page = client.get(url("feedback-form", link.token))

    assert page.status_code == 200
    body = text(page)
    assert activity.title in body and action.title in body and activity.get_type_display() in body
    # No personal data: not the focal point, not the case officer, not the partner's email.
    assert partner.email not in body and partner.last_name not in body
    assert len(re.findall(r'type="radio" name="satisfaction"', page.content.decode())) == 5
    assert "5 — Very satisfied" in body
    assert_csp_clean(page)

    response = client.post(
        url("feedback-form", link.token), {"satisfaction": "5", "comments": "Very practical"}
    )

    assert response.status_code == 302
    assert response["Location"] == url("feedback-thanks", link.token)
    feedback = Feedback.objects.get()
    assert (feedback.respondent, feedback.satisfaction, feedback.link_id) == (
        "participant",
        5,
        link.pk,
    )
    thanks = client.get(response["Location"])
    assert "feedback-thanks" in find_testids(thanks)
    assert_csp_clean(thanks)


def test_a_link_takes_one_answer(client, links):
    link = links[0]
    client.post(url("feedback-form", link.token), {"satisfaction": "4"})

    shown = client.get(url("feedback-form", link.token))
    assert shown.status_code == 200 and "feedback-answered" in find_testids(shown)
    assert "public-feedback-form" not in find_testids(shown)

    again = client.post(url("feedback-form", link.token), {"satisfaction": "1"})
    assert again.status_code == 409
    assert "feedback-answered" in find_testids(again)
    assert list(Feedback.objects.values_list("satisfaction", flat=True)) == [4]


def test_a_bad_answer_is_refused_keeping_the_comments(client, links):
    link = links[0]
    response = client.post(url("feedback-form", link.token), {"comments": "Typed before rating"})
    assert response.status_code == 400
    assert "Rate your satisfaction from 1" in text(response)
    assert "Typed before rating</textarea>" in text(response)
    assert not Feedback.objects.exists()
    assert FeedbackLink.objects.get(pk=link.pk).used_at is None


def test_an_unknown_link_is_not_found(client, links):
    assert client.get(url("feedback-form", "no-such-token")).status_code == 404
    assert (
        client.post(url("feedback-form", "no-such-token"), {"satisfaction": "3"}).status_code == 404
    )
    assert client.get(url("feedback-thanks", "no-such-token")).status_code == 404


def test_answers_from_one_address_are_rate_limited(client, settings, links):
    settings.FEEDBACK_RATE_LIMIT = "2/m"
    first, second, third = links
    assert client.post(url("feedback-form", first.token), {"satisfaction": "4"}).status_code == 302
    assert client.post(url("feedback-form", second.token), {"satisfaction": "4"}).status_code == 302

    response = client.post(url("feedback-form", third.token), {"satisfaction": "4"})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "feedback-limited" in find_testids(response)
    assert_csp_clean(response)
    assert FeedbackLink.objects.get(pk=third.pk).used_at is None
    assert Feedback.objects.count() == 2
    # Reading the form is not limited; another address may still answer.
    assert client.get(url("feedback-form", third.token)).status_code == 200
    other = client.post(
        url("feedback-form", third.token), {"satisfaction": "3"}, REMOTE_ADDR="203.0.113.9"
    )
    assert other.status_code == 302


def test_a_closed_action_collects_no_more_feedback(
    client, staff, evaluator, approver, partner, action, links
):
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")

    shown = client.get(url("feedback-form", links[0].token))
    assert "feedback-closed" in find_testids(shown) and "public-feedback-form" not in find_testids(
        shown
    )
    response = client.post(url("feedback-form", links[0].token), {"satisfaction": "5"})
    assert response.status_code == 409
    assert not Feedback.objects.exists()


# --- the action page links here -----------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "evaluator", "partner"])
def test_the_action_page_links_to_monitoring_and_evaluation(client, request, action, persona):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(action.get_absolute_url())
    assert page.status_code == 200
    assert f'href="{monitoring(action)}" data-testid="monitoring-link"' in page.content.decode()
    # The partner is pointed at the evaluation only once it is submitted.
    assert ("evaluation-link" in find_testids(page)) == (persona != "partner")
