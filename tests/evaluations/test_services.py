"""evaluations/services.py: indicators, measurements (bad input, evidence, progress kept
up to date), outcomes, feedback links and answers, partner feedback, participant counts and
follow-up requests from recommendations — who may, in which state, and that a refusal saves
nothing. The final evaluation and closing are in test_workflow.py, reminders in
test_tasks.py, emails in test_notifications.py."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from actions import services as action_services
from actions.models import Activity
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import Notification
from evaluations import services
from evaluations.models import (
    Feedback,
    FeedbackLink,
    Indicator,
    Measurement,
    Outcome,
    Progress,
    Recommendation,
)
from requests_app import services as request_services
from requests_app.models import AssistanceRequest
from tests.evaluations.builders import (
    AHEAD_DAYS,
    PAST_DAYS,
    closed_action,
    days_ago,
    make_indicator,
    measure,
    resolved,
    running_action,
    submitted_evaluation,
)
from tests.factories import UserFactory
from tests.requests_app.test_uploads import DOCX, PDF

TODAY = timezone.localdate
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Uploaded evidence goes to a fresh folder for each test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def activity_of(action: Any) -> Activity:
    return Activity.objects.filter(action=action).order_by("id").first()  # type: ignore[return-value]


def assign(action: Any, staff: Any, *evaluators: Any) -> None:
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": list(evaluators)}
    )


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


# Who meets what, when they may see the action but not record (403) or may not see it (404).
OUTSIDERS = [
    ("partner", TransitionForbidden),
    ("partner2", NotFound),
    ("expert", NotFound),
    ("evaluator2", NotFound),
]


@pytest.fixture
def people(personas: dict[str, Any], evaluator2: Any, admin_user: Any) -> dict[str, Any]:
    return {**personas, "evaluator2": evaluator2, "admin": admin_user}


# --- measurements: bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "baseline", "target", "value", "message"),
    [
        ("number", "0", "100", "twelve", "Enter a number."),
        ("number", "0", "100", "", "Enter a number."),
        ("number", "0", "100", None, "Enter a number."),
        ("number", "0", "100", "NaN", "Enter a number."),
        ("number", "0", "100", "Infinity", "Enter a number."),
        ("number", "0", "100", "1.234", "Use at most two decimal places."),
        ("number", "0", "100", "12345678901", "This number is too large."),
        ("percentage", "20", "60", "140", "A percentage is between 0 and 100."),
        ("percentage", "20", "60", 140, "A percentage is between 0 and 100."),
        ("percentage", "20", "60", "-1", "A percentage is between 0 and 100."),
        ("percentage", "20", "60", "100.01", "A percentage is between 0 and 100."),
        ("percentage", "20", "60", "50.555", "Use at most two decimal places."),
        ("yes_no", "0", "1", "0.5", "Answer yes (1) or no (0)."),
        ("yes_no", "0", "1", "2", "Answer yes (1) or no (0)."),
        ("yes_no", "0", "1", "-1", "Answer yes (1) or no (0)."),
        ("scale", "1", "4", "6", "Use a whole number from 1 to 5."),
        ("scale", "1", "4", "2.5", "Use a whole number from 1 to 5."),
        ("scale", "1", "4", "0", "Use a whole number from 1 to 5."),
    ],
)
def test_a_value_that_does_not_suit_the_unit_is_refused_and_nothing_saved(
    action, evaluator, unit, baseline, target, value, message
):
    indicator = make_indicator(action, evaluator, unit=unit, baseline=baseline, target=target)
    with pytest.raises(ApplicationError) as excinfo:
        services.measurement_record(
            indicator_id=indicator.pk, by=evaluator, data={"date": TODAY(), "value": value}
        )
    assert excinfo.value.errors == {"value": [message]}
    assert not Measurement.objects.exists()
    indicator = fresh(indicator)
    assert (indicator.latest_value, indicator.latest_date, indicator.progress) == (None, None, None)
    assert indicator.progress_status == Progress.NOT_MEASURED


def test_an_absurdly_large_value_is_refused_with_a_message(action, evaluator):
    indicator = make_indicator(action, evaluator, unit="number", baseline="0", target="100")
    with pytest.raises(ApplicationError) as excinfo:
        measure(indicator, evaluator, "1e30")
    assert excinfo.value.errors == {"value": ["This number is too large."]}


@pytest.mark.parametrize(
    ("unit", "baseline", "target", "value", "stored"),
    [
        ("number", "0", "100", "12,5", Decimal("12.5")),  # a decimal comma
        ("number", "0", "100", " 7 ", Decimal(7)),
        ("number", "0", "100", "-3", Decimal(-3)),
        ("number", "0", "100", 4.25, Decimal("4.25")),
        ("percentage", "20", "60", "0", Decimal(0)),
        ("percentage", "20", "60", "100", Decimal(100)),
        ("percentage", "20", "60", "33.33", Decimal("33.33")),
        ("yes_no", "0", "1", "1", Decimal(1)),
        ("yes_no", "0", "1", 0, Decimal(0)),
        ("scale", "1", "4", "5", Decimal(5)),
        ("scale", "1", "4", "3.00", Decimal(3)),
    ],
)
def test_a_value_that_suits_the_unit_is_stored(
    action, evaluator, unit, baseline, target, value, stored
):
    indicator = make_indicator(action, evaluator, unit=unit, baseline=baseline, target=target)
    measurement = measure(indicator, evaluator, value)
    assert fresh(measurement).value == stored
    assert fresh(indicator).latest_value == stored


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (lambda: days_ago(PAST_DAYS + 1), "within the action's period"),
        (lambda: TODAY() + timedelta(days=AHEAD_DAYS + 1), "within the action's period"),
        (lambda: TODAY() + timedelta(days=1), "The date cannot be in the future."),
        (lambda: None, "Enter a valid date (YYYY-MM-DD)."),
        (lambda: "", "Enter a valid date (YYYY-MM-DD)."),
        (lambda: "31/12/2025", "Enter a valid date (YYYY-MM-DD)."),
        (lambda: "yesterday", "Enter a valid date (YYYY-MM-DD)."),
    ],
    ids=["before-start", "after-end", "future", "missing", "blank", "not-iso", "word"],
)
def test_a_date_outside_the_period_in_the_future_or_missing_is_refused(
    action, evaluator, day, message
):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        services.measurement_record(
            indicator_id=indicator.pk, by=evaluator, data={"date": day(), "value": "30"}
        )
    assert list(excinfo.value.errors) == ["date"]
    assert message in excinfo.value.errors["date"][0]
    assert not Measurement.objects.exists()


def test_a_missing_date_key_is_refused(action, evaluator):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        services.measurement_record(indicator_id=indicator.pk, by=evaluator, data={"value": "30"})
    assert list(excinfo.value.errors) == ["date"]


@pytest.mark.parametrize("day", ["2025-02-30", "2025-13-01"])
def test_an_impossible_date_is_refused_with_a_field_error(action, evaluator, day):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        services.measurement_record(
            indicator_id=indicator.pk, by=evaluator, data={"date": day, "value": "30"}
        )
    assert list(excinfo.value.errors) == ["date"]


def test_the_first_and_last_day_of_the_period_so_far_are_accepted(action, evaluator):
    indicator = make_indicator(action, evaluator)
    first = measure(indicator, evaluator, "25", days_ago=PAST_DAYS)
    last = services.measurement_record(
        indicator_id=indicator.pk, by=evaluator, data={"date": TODAY().isoformat(), "value": "30"}
    )
    assert (fresh(first).date, fresh(last).date) == (action.start_date, TODAY())


def test_every_bad_field_is_reported_at_once(action, evaluator):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        services.measurement_record(
            indicator_id=indicator.pk,
            by=evaluator,
            data={
                "date": TODAY() + timedelta(days=1),
                "value": "140",
                "evidence_url": "ftp://example.org/report",
                "evidence_file": upload("tool.exe", EXE),
            },
        )
    assert sorted(excinfo.value.errors) == ["date", "evidence_file", "evidence_url", "value"]
    assert not Measurement.objects.exists()


# --- measurements: evidence -------------------------------------------------------------------


def test_a_pdf_is_kept_as_evidence(action, evaluator, settings):
    indicator = make_indicator(action, evaluator)
    measurement = measure(
        indicator, evaluator, "30", evidence_file=upload("Inspection report.pdf", PDF)
    )
    measurement = fresh(measurement)
    assert measurement.evidence_name == "Inspection_report.pdf"
    assert measurement.evidence_file.name.startswith(f"evidence/{action.pk}/")
    with measurement.evidence_file.open("rb") as fh:
        assert fh.read() == PDF
    assert len(stored_files(settings)) == 1


def test_a_docx_is_accepted_too(action, evaluator):
    indicator = make_indicator(action, evaluator)
    measurement = measure(indicator, evaluator, "30", evidence_file=upload("notes.docx", DOCX))
    assert fresh(measurement).evidence_name == "notes.docx"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", EXE, "not an accepted document"),
        ("report.pdf", EXE, "not an accepted document"),
        ("report.pdf", b"Just some text pretending.\n", "not an accepted document"),
        ("report.docx", PDF, "its name says otherwise"),
        ("report.pdf", b"", "is empty"),
    ],
    ids=["exe", "renamed-exe", "text-as-pdf", "pdf-as-docx", "empty"],
)
def test_evidence_that_is_not_what_it_claims_is_refused(
    action, evaluator, settings, name, content, message
):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        measure(indicator, evaluator, "30", evidence_file=upload(name, content))
    assert list(excinfo.value.errors) == ["evidence_file"]
    assert message in excinfo.value.errors["evidence_file"][0]
    assert not Measurement.objects.exists()
    assert stored_files(settings) == []


def test_an_evidence_file_over_the_limit_is_refused(action, evaluator, settings):
    settings.MAX_UPLOAD_BYTES = len(PDF) - 1
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        measure(indicator, evaluator, "30", evidence_file=upload("report.pdf", PDF))
    assert "the limit is" in excinfo.value.errors["evidence_file"][0]
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    "url", ["https://example.org/reports/2025.pdf", "http://example.org/r", "HTTPS://EXAMPLE.ORG"]
)
def test_a_web_link_is_kept_as_evidence(action, evaluator, url):
    indicator = make_indicator(action, evaluator)
    measurement = measure(indicator, evaluator, "30", evidence_url=f"  {url} ")
    assert fresh(measurement).evidence_url == url


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/report", "javascript:alert(1)", "www.example.org", "file:///etc/passwd"],
)
def test_a_link_that_is_not_http_is_refused(action, evaluator, url):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        measure(indicator, evaluator, "30", evidence_url=url)
    assert excinfo.value.errors == {
        "evidence_url": ["Enter a web address starting with http:// or https://."]
    }
    assert not Measurement.objects.exists()


def test_a_link_longer_than_the_column_is_refused_with_a_field_error(action, evaluator):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        measure(indicator, evaluator, "30", evidence_url="https://example.org/" + "a" * 600)
    assert list(excinfo.value.errors) == ["evidence_url"]


# --- measurements: progress kept up to date ----------------------------------------------------


def test_recording_computes_progress_and_the_latest_value(action, evaluator):
    indicator = make_indicator(action, evaluator)  # percentage, 20 → 60
    measure(indicator, evaluator, "40")  # half-way, half the period elapsed
    indicator = fresh(indicator)
    assert (indicator.latest_value, indicator.latest_date) == (Decimal(40), TODAY())
    assert (indicator.progress, indicator.progress_status) == (Decimal("0.5"), Progress.ON_TRACK)


def test_the_latest_measurement_is_the_one_with_the_latest_date(action, evaluator):
    indicator = make_indicator(action, evaluator)
    measure(indicator, evaluator, "30", days_ago=5)
    measure(indicator, evaluator, "60", days_ago=20)  # recorded later, dated earlier
    indicator = fresh(indicator)
    assert (indicator.latest_value, indicator.latest_date) == (Decimal(30), days_ago(5))
    assert indicator.progress_status == Progress.AT_RISK  # 0.25 vs about 0.47


def test_of_two_on_the_same_day_the_last_recorded_counts(action, evaluator):
    indicator = make_indicator(action, evaluator)
    measure(indicator, evaluator, "30")
    measure(indicator, evaluator, "60")
    indicator = fresh(indicator)
    assert (indicator.latest_value, indicator.progress_status) == (
        Decimal(60),
        Progress.ACHIEVED,
    )


def test_deleting_recomputes_from_the_others(action, evaluator):
    indicator = make_indicator(action, evaluator)
    older = measure(indicator, evaluator, "60", days_ago=10)
    newer = measure(indicator, evaluator, "24")
    assert fresh(indicator).progress_status == Progress.OFF_TRACK  # 0.1 vs 0.5
    services.measurement_delete(measurement_id=newer.pk, by=evaluator)
    indicator = fresh(indicator)
    assert (indicator.latest_value, indicator.latest_date) == (Decimal(60), days_ago(10))
    assert indicator.progress_status == Progress.ACHIEVED
    services.measurement_delete(measurement_id=older.pk, by=evaluator)
    indicator = fresh(indicator)
    assert (indicator.latest_value, indicator.latest_date, indicator.progress) == (None, None, None)
    assert indicator.progress_status == Progress.NOT_MEASURED


def test_deleting_removes_the_evidence_file_once_committed(
    action, evaluator, settings, django_capture_on_commit_callbacks
):
    indicator = make_indicator(action, evaluator)
    measurement = measure(indicator, evaluator, "30", evidence_file=upload("r.pdf", PDF))
    (path,) = stored_files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        services.measurement_delete(measurement_id=measurement.pk, by=evaluator)
        assert path.exists()  # not before the commit
    assert not path.exists()
    assert not Measurement.objects.exists()


def test_a_deletion_that_rolls_back_keeps_the_evidence_file(
    action, evaluator, settings, monkeypatch
):
    indicator = make_indicator(action, evaluator)
    measurement = measure(indicator, evaluator, "30", evidence_file=upload("r.pdf", PDF))
    (path,) = stored_files(settings)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_refresh_progress", broken)
    with pytest.raises(RuntimeError):
        services.measurement_delete(measurement_id=measurement.pk, by=evaluator)
    assert Measurement.objects.filter(pk=measurement.pk).exists()
    assert path.exists()


# --- measurements: who may record and delete -----------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "approver", "evaluator", "admin"])
def test_staff_and_the_assigned_evaluator_record(action, people, persona):
    indicator = make_indicator(action, people["staff"])
    measurement = measure(indicator, people[persona], "30")
    assert fresh(measurement).recorded_by == people[persona]


@pytest.mark.parametrize(("persona", "error"), OUTSIDERS)
def test_others_do_not_record(action, people, persona, error):
    indicator = make_indicator(action, people["staff"])
    with pytest.raises(error):
        measure(indicator, people[persona], "30")
    assert not Measurement.objects.exists()


def test_an_unknown_indicator_is_not_found(action, evaluator):
    for pk in (999_999, "abc", None):
        with pytest.raises(NotFound):
            services.measurement_record(
                indicator_id=pk,  # type: ignore[arg-type]
                by=evaluator,
                data={"date": TODAY(), "value": "1"},
            )


def test_an_evaluator_deletes_only_their_own(action, staff, evaluator, evaluator2):
    assign(action, staff, evaluator, evaluator2)
    indicator = make_indicator(action, staff)
    theirs = measure(indicator, evaluator, "30")
    staffs = measure(indicator, staff, "35")
    for measurement in (theirs, staffs):
        with pytest.raises(TransitionForbidden, match="another person's record"):
            services.measurement_delete(measurement_id=measurement.pk, by=evaluator2)
    with pytest.raises(TransitionForbidden):
        services.measurement_delete(measurement_id=staffs.pk, by=evaluator)
    assert Measurement.objects.count() == 2
    services.measurement_delete(measurement_id=theirs.pk, by=evaluator)
    assert list(Measurement.objects.all()) == [staffs]


def test_staff_delete_anyones(action, staff, approver, evaluator):
    indicator = make_indicator(action, staff)
    first = measure(indicator, evaluator, "30")
    second = measure(indicator, staff, "32")
    services.measurement_delete(measurement_id=first.pk, by=staff)
    services.measurement_delete(measurement_id=second.pk, by=approver)
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(("persona", "error"), OUTSIDERS)
def test_others_do_not_delete(action, people, persona, error):
    indicator = make_indicator(action, people["staff"])
    measurement = measure(indicator, people["evaluator"], "30")
    with pytest.raises(error):
        services.measurement_delete(measurement_id=measurement.pk, by=people[persona])
    assert Measurement.objects.filter(pk=measurement.pk).exists()


def test_deleting_an_unknown_measurement_is_not_found(evaluator):
    with pytest.raises(NotFound):
        services.measurement_delete(measurement_id=999_999, by=evaluator)


# --- measurements: action states -----------------------------------------------------------


@pytest.mark.parametrize("state", ["suspended", "completed"])
def test_monitoring_goes_on_while_suspended_and_once_completed(
    partner, staff, approver, evaluator, state
):
    running = running_action(partner, staff, approver, evaluator=evaluator, state=state)
    indicator = make_indicator(running, evaluator)
    measure(indicator, evaluator, "30")
    assert fresh(indicator).latest_value == 30


def test_nothing_is_recorded_on_a_closed_action(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    indicator = make_indicator(action, evaluator)
    measurement = measure(indicator, evaluator, "30")
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    for user in (staff, evaluator):
        with pytest.raises(
            TransitionNotAllowed, match="This action is closed: nothing can be recorded"
        ):
            measure(indicator, user, "40")
        with pytest.raises(TransitionNotAllowed):
            services.measurement_delete(measurement_id=measurement.pk, by=user)
    assert list(Measurement.objects.all()) == [measurement]


def test_nothing_is_recorded_on_a_cancelled_action(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator, state="approved")
    indicator = make_indicator(action, evaluator)
    action_services.action_transition(
        action_id=action.pk, name="cancel", by=staff, text="The ministry withdrew."
    )
    with pytest.raises(
        TransitionNotAllowed, match="This action is cancelled: nothing can be recorded"
    ):
        measure(indicator, staff, "30")


def test_nothing_is_recorded_while_the_action_is_designed(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator, state="design")
    indicator = make_indicator(action, staff)
    with pytest.raises(
        TransitionNotAllowed, match="This action is in design: nothing can be recorded"
    ):
        measure(indicator, staff, "30")


# --- indicators ----------------------------------------------------------------------------


def test_an_indicator_is_created_with_what_was_given(action, evaluator):
    objective = action.objectives.first()
    indicator = make_indicator(
        action,
        evaluator,
        name="  Officers trained  ",
        level="individual",
        objective=objective.pk,
        unit="number",
        baseline="0",
        target="120",
        frequency="monthly",
    )
    indicator = fresh(indicator)
    assert (indicator.name, indicator.level, indicator.objective, indicator.unit) == (
        "Officers trained",
        "individual",
        objective,
        "number",
    )
    assert (indicator.baseline, indicator.target, indicator.direction) == (
        Decimal(0),
        Decimal(120),
        "increase",
    )
    assert (indicator.frequency, indicator.means_of_verification) == (
        "monthly",
        "Inspection reports",
    )
    assert (indicator.created_by, indicator.progress_status) == (evaluator, Progress.NOT_MEASURED)


def test_indicators_are_numbered_in_the_order_they_are_added(action, evaluator, staff):
    first = make_indicator(action, evaluator)
    second = make_indicator(action, staff, name="Second")
    assert (fresh(first).position, fresh(second).position) == (1, 2)


def test_direction_and_frequency_default(action, evaluator):
    indicator = services.indicator_create(
        action_id=action.pk,
        by=evaluator,
        data={
            "name": "SOP adopted",
            "level": "enabling_environment",
            "unit": "yes_no",
            "baseline": 0,
            "target": 1,
        },
    )
    assert (indicator.direction, indicator.frequency, indicator.objective_id) == (
        "increase",
        "quarterly",
        None,
    )


def test_a_decreasing_indicator(action, evaluator):
    indicator = make_indicator(action, evaluator, direction="decrease", baseline="60", target="20")
    assert (indicator.baseline, indicator.target) == (Decimal(60), Decimal(20))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Name the indicator."),
        ({"name": "   "}, "name", "Name the indicator."),
        ({"name": "x" * 201}, "name", "Keep the name under 200 characters."),
        ({"level": "national"}, "level", "Choose a capacity level."),
        ({"level": ""}, "level", "Choose a capacity level."),
        ({"unit": "kg"}, "unit", "Choose a unit."),
        ({"direction": "sideways"}, "direction", "Choose whether the indicator"),
        ({"frequency": "weekly"}, "frequency", "Choose how often it is measured."),
        ({"target": "10"}, "target", "needs a target above its baseline"),
        ({"direction": "decrease"}, "target", "needs a target below its baseline"),
        ({"target": "20"}, "target", "The target must differ from the baseline."),
        ({"target": "20.00"}, "target", "The target must differ from the baseline."),
        ({"baseline": "140"}, "baseline", "A percentage is between 0 and 100."),
        ({"baseline": "abc"}, "baseline", "Enter a number."),
        ({"target": None}, "target", "Enter a number."),
        ({"target": "60.123"}, "target", "Use at most two decimal places."),
        (
            {"unit": "scale", "baseline": "1", "target": "4.5"},
            "target",
            "Use a whole number from 1 to 5.",
        ),
        ({"objective": 999_999}, "objective", "Choose one of this action's objectives."),
    ],
)
def test_a_bad_indicator_is_refused_with_the_field_and_nothing_saved(
    action, evaluator, changes, field, message
):
    with pytest.raises(ApplicationError) as excinfo:
        make_indicator(action, evaluator, **changes)
    assert list(excinfo.value.errors) == [field]
    assert message in excinfo.value.errors[field][0]
    assert not Indicator.objects.exists()


def test_a_yes_no_indicator_needs_yes_no_values(action, evaluator):
    with pytest.raises(ApplicationError) as excinfo:
        make_indicator(action, evaluator, unit="yes_no")  # 20 → 60
    assert sorted(excinfo.value.errors) == ["baseline", "target"]


def test_an_objective_of_another_action_is_refused(action, partner, staff, approver, evaluator):
    other = running_action(partner, staff, approver, title="Another action")
    with pytest.raises(ApplicationError) as excinfo:
        make_indicator(action, evaluator, objective=other.objectives.first().pk)
    assert excinfo.value.errors == {"objective": ["Choose one of this action's objectives."]}
    assert not Indicator.objects.exists()


def test_a_non_numeric_objective_is_refused_with_a_field_error(action, evaluator):
    with pytest.raises(ApplicationError) as excinfo:
        make_indicator(action, evaluator, objective="abc")
    assert list(excinfo.value.errors) == ["objective"]


def test_the_database_refuses_a_target_equal_to_the_baseline(action, evaluator):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Indicator.objects.filter(pk=indicator.pk).update(target=indicator.baseline)


def test_an_update_changes_only_what_is_given(action, evaluator):
    indicator = make_indicator(action, evaluator)
    services.indicator_update(
        indicator_id=indicator.pk, by=evaluator, data={"name": "Posts applying the SOPs"}
    )
    indicator = fresh(indicator)
    assert (indicator.name, indicator.unit, indicator.baseline, indicator.target) == (
        "Posts applying the SOPs",
        "percentage",
        Decimal(20),
        Decimal(60),
    )


def test_a_new_baseline_or_target_recomputes_progress(action, evaluator, staff):
    indicator = make_indicator(action, evaluator)
    measure(indicator, evaluator, "40")
    assert fresh(indicator).progress == Decimal("0.5")
    services.indicator_update(indicator_id=indicator.pk, by=staff, data={"baseline": "36"})
    indicator = fresh(indicator)
    assert (indicator.progress, indicator.progress_status) == (Decimal("0.1667"), "off_track")
    services.indicator_update(indicator_id=indicator.pk, by=staff, data={"target": "40"})
    assert fresh(indicator).progress_status == Progress.ACHIEVED


def test_an_update_is_validated_against_the_merged_values(action, evaluator):
    indicator = make_indicator(action, evaluator)
    with pytest.raises(ApplicationError) as excinfo:
        services.indicator_update(
            indicator_id=indicator.pk, by=evaluator, data={"direction": "decrease"}
        )
    assert list(excinfo.value.errors) == ["target"]
    assert fresh(indicator).direction == "increase"


def test_the_unit_can_change_until_the_first_measurement(action, evaluator):
    indicator = make_indicator(action, evaluator)
    services.indicator_update(indicator_id=indicator.pk, by=evaluator, data={"unit": "number"})
    assert fresh(indicator).unit == "number"
    measure(indicator, evaluator, "30")
    with pytest.raises(ApplicationError) as excinfo:
        services.indicator_update(
            indicator_id=indicator.pk, by=evaluator, data={"unit": "percentage"}
        )
    assert excinfo.value.errors == {
        "unit": ["The unit cannot change once measurements are recorded."]
    }
    assert fresh(indicator).unit == "number"
    # Naming the same unit again is no change.
    services.indicator_update(
        indicator_id=indicator.pk, by=evaluator, data={"unit": "number", "name": "Renamed"}
    )
    assert fresh(indicator).name == "Renamed"


def test_an_indicator_without_measurements_is_deleted(action, evaluator):
    indicator = make_indicator(action, evaluator)
    services.indicator_delete(indicator_id=indicator.pk, by=evaluator)
    assert not Indicator.objects.exists()


def test_an_indicator_with_measurements_is_not_deleted(action, evaluator, staff):
    indicator = make_indicator(action, evaluator)
    measure(indicator, evaluator, "30")
    with pytest.raises(TransitionNotAllowed, match="has measurements"):
        services.indicator_delete(indicator_id=indicator.pk, by=staff)
    assert Indicator.objects.filter(pk=indicator.pk).exists()


@pytest.mark.parametrize("state", ["design", "proposed", "approved", "suspended", "completed"])
def test_staff_plan_indicators_from_design_onwards(partner, staff, approver, evaluator, state):
    action = running_action(partner, staff, approver, evaluator=evaluator, state=state)
    indicator = make_indicator(action, staff)
    services.indicator_update(indicator_id=indicator.pk, by=evaluator, data={"name": "Changed"})
    services.indicator_delete(indicator_id=indicator.pk, by=evaluator)
    assert not Indicator.objects.exists()


@pytest.mark.parametrize("state", ["closed", "cancelled"])
def test_indicators_of_a_closed_or_cancelled_action_do_not_change(
    partner, staff, approver, evaluator, state
):
    action = running_action(partner, staff, approver, evaluator=evaluator, state="approved")
    indicator = make_indicator(action, evaluator)
    if state == "closed":
        action_services.action_transition(action_id=action.pk, name="sign", by=partner, text="")
        action_services.action_transition(action_id=action.pk, name="start", by=staff, text="")
        submitted_evaluation(
            fresh(action), evaluator, staff=staff, approver=approver, partner=partner
        )
        action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    else:
        action_services.action_transition(
            action_id=action.pk, name="cancel", by=staff, text="The ministry withdrew."
        )
    assert fresh(action).status == state
    for user in (staff, evaluator):
        with pytest.raises(
            TransitionNotAllowed, match=f"This action is {state}: its indicators cannot change"
        ):
            make_indicator(action, user)
        with pytest.raises(TransitionNotAllowed):
            services.indicator_update(indicator_id=indicator.pk, by=user, data={"name": "New"})
        with pytest.raises(TransitionNotAllowed):
            services.indicator_delete(indicator_id=indicator.pk, by=user)
    assert list(Indicator.objects.values_list("name", flat=True)) == [
        "Share of border posts applying the SOPs"
    ]


@pytest.mark.parametrize("persona", ["staff", "approver", "evaluator", "admin"])
def test_staff_and_the_assigned_evaluator_define_indicators(action, people, persona):
    indicator = make_indicator(action, people[persona])
    services.indicator_update(indicator_id=indicator.pk, by=people[persona], data={"name": "B"})
    services.indicator_delete(indicator_id=indicator.pk, by=people[persona])
    assert not Indicator.objects.exists()


@pytest.mark.parametrize(("persona", "error"), OUTSIDERS)
def test_others_do_not_define_indicators(action, people, persona, error):
    with pytest.raises(error):
        make_indicator(action, people[persona])
    indicator = make_indicator(action, people["staff"])
    with pytest.raises(error):
        services.indicator_update(indicator_id=indicator.pk, by=people[persona], data={"name": "B"})
    with pytest.raises(error):
        services.indicator_delete(indicator_id=indicator.pk, by=people[persona])
    assert list(Indicator.objects.values_list("name", flat=True)) == [
        "Share of border posts applying the SOPs"
    ]


def test_a_partner_of_another_organisation_meets_not_found_even_on_a_design_action(
    partner, partner2, staff, approver
):
    designed = running_action(partner, staff, approver, state="design")
    # The partner itself does not see the action before approval either.
    for user in (partner, partner2):
        with pytest.raises(NotFound):
            make_indicator(designed, user)


def test_unknown_actions_and_indicators_are_not_found(staff):
    with pytest.raises(NotFound):
        services.indicator_create(action_id=999_999, by=staff, data={})
    with pytest.raises(NotFound):
        services.indicator_update(indicator_id=999_999, by=staff, data={})
    with pytest.raises(NotFound):
        services.indicator_delete(indicator_id=999_999, by=staff)


# --- outcomes ------------------------------------------------------------------------------


def outcome(action: Any, by: Any, **data: Any) -> Any:
    values = {
        "level": "organisational",
        "description": "The agency adopted the SOPs.",
        "evidence": "Circular 12/2025",
        "date": days_ago(3),
        **data,
    }
    return services.outcome_record(action_id=action.pk, by=by, data=values)


def test_an_outcome_is_logged(action, evaluator):
    logged = fresh(
        outcome(
            action,
            evaluator,
            description="  The agency adopted the SOPs.  ",
            evidence_url="https://example.org/circular",
            evidence_file=upload("circular.pdf", PDF),
        )
    )
    assert (logged.level, logged.description, logged.evidence, logged.date) == (
        "organisational",
        "The agency adopted the SOPs.",
        "Circular 12/2025",
        days_ago(3),
    )
    assert (logged.recorded_by, logged.evidence_url, logged.evidence_name) == (
        evaluator,
        "https://example.org/circular",
        "circular.pdf",
    )
    with logged.evidence_file.open("rb") as fh:
        assert fh.read() == PDF


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"level": "national"}, "level"),
        ({"level": None}, "level"),
        ({"description": "  "}, "description"),
        ({"date": None}, "date"),
        ({"date": lambda: days_ago(PAST_DAYS + 1)}, "date"),
        ({"date": lambda: TODAY() + timedelta(days=1)}, "date"),
        ({"evidence_url": "mailto:someone@example.org"}, "evidence_url"),
        ({"evidence_file": upload("tool.exe", EXE)}, "evidence_file"),
    ],
)
def test_a_bad_outcome_is_refused_with_the_field_and_nothing_saved(
    action, evaluator, settings, changes, field
):
    with pytest.raises(ApplicationError) as excinfo:
        outcome(action, evaluator, **resolved(changes))
    assert list(excinfo.value.errors) == [field]
    assert not Outcome.objects.exists()
    assert stored_files(settings) == []


def test_an_outcome_reports_every_bad_field_at_once(action, evaluator):
    with pytest.raises(ApplicationError) as excinfo:
        outcome(action, evaluator, level="", description="", date="")
    assert sorted(excinfo.value.errors) == ["date", "description", "level"]


@pytest.mark.parametrize("persona", ["staff", "approver", "evaluator", "admin"])
def test_staff_and_the_assigned_evaluator_log_outcomes(action, people, persona):
    assert fresh(outcome(action, people[persona])).recorded_by == people[persona]


@pytest.mark.parametrize(("persona", "error"), OUTSIDERS)
def test_others_do_not_log_outcomes(action, people, persona, error):
    with pytest.raises(error):
        outcome(action, people[persona])
    assert not Outcome.objects.exists()


def test_outcomes_are_deleted_by_their_author_or_staff(
    action, staff, evaluator, evaluator2, django_capture_on_commit_callbacks
):
    assign(action, staff, evaluator, evaluator2)
    theirs = outcome(action, evaluator, evidence_file=upload("c.pdf", PDF))
    mine = outcome(action, evaluator2)
    with pytest.raises(TransitionForbidden):
        services.outcome_delete(outcome_id=theirs.pk, by=evaluator2)
    services.outcome_delete(outcome_id=mine.pk, by=evaluator2)
    path = Path(fresh(theirs).evidence_file.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.outcome_delete(outcome_id=theirs.pk, by=staff)
    assert not Outcome.objects.exists()
    assert not path.exists()


@pytest.mark.parametrize(("persona", "error"), OUTSIDERS)
def test_others_do_not_delete_outcomes(action, people, persona, error):
    logged = outcome(action, people["evaluator"])
    with pytest.raises(error):
        services.outcome_delete(outcome_id=logged.pk, by=people[persona])
    assert Outcome.objects.filter(pk=logged.pk).exists()


def test_outcomes_of_a_closed_action_do_not_change(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    logged = outcome(action, evaluator)
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    with pytest.raises(TransitionNotAllowed):
        outcome(action, staff)
    with pytest.raises(TransitionNotAllowed):
        services.outcome_delete(outcome_id=logged.pk, by=staff)
    assert list(Outcome.objects.all()) == [logged]


def test_unknown_outcomes_are_not_found(staff):
    with pytest.raises(NotFound):
        services.outcome_delete(outcome_id=999_999, by=staff)
    with pytest.raises(NotFound):
        services.outcome_record(action_id=999_999, by=staff, data={})


# --- feedback links -----------------------------------------------------------------------


def links(action: Any, by: Any, count: Any = 3) -> list[FeedbackLink]:
    return services.feedback_links_create(activity_id=activity_of(action).pk, by=by, count=count)


@pytest.mark.parametrize("count", [1, 200])
def test_staff_create_one_response_links(action, staff, count):
    created = links(action, staff, count)
    assert len(created) == count == FeedbackLink.objects.count()
    assert len({link.token for link in FeedbackLink.objects.all()}) == count
    link = FeedbackLink.objects.first()
    assert (link.activity, link.created_by, link.used_at, link.respondent) == (
        activity_of(action),
        staff,
        None,
        "participant",
    )
    assert len(link.token) >= 30


@pytest.mark.parametrize(
    "count", [0, 201, -1, "5", True, False, None, 2.0, 1.5], ids=lambda c: repr(c)
)
def test_a_bad_number_of_links_is_refused(action, staff, count):
    with pytest.raises(ApplicationError) as excinfo:
        links(action, staff, count)
    assert excinfo.value.errors == {"count": ["Create between 1 and 200 links at a time."]}
    assert not FeedbackLink.objects.exists()


def test_the_limit_comes_from_settings(action, staff, settings):
    settings.FEEDBACK_LINKS_MAX = 3
    with pytest.raises(ApplicationError, match="between 1 and 3"):
        links(action, staff, 4)
    assert len(links(action, staff, 3)) == 3


@pytest.mark.parametrize(
    ("persona", "error"),
    [
        ("evaluator", TransitionForbidden),
        ("partner", TransitionForbidden),
        ("partner2", NotFound),
        ("expert", NotFound),
        ("evaluator2", NotFound),
    ],
)
def test_only_staff_create_links(action, people, persona, error):
    with pytest.raises(error):
        links(action, people[persona])
    assert not FeedbackLink.objects.exists()


@pytest.mark.parametrize("state", ["suspended", "completed"])
def test_links_are_created_while_suspended_or_completed(partner, staff, approver, state):
    action = running_action(partner, staff, approver, state=state)
    assert len(links(action, staff, 2)) == 2


@pytest.mark.parametrize("state", ["design", "approved"])
def test_no_links_before_implementation(partner, staff, approver, state):
    action = running_action(partner, staff, approver, state=state)
    with pytest.raises(TransitionNotAllowed, match="once the action is in implementation"):
        links(action, staff)
    assert not FeedbackLink.objects.exists()


def test_no_links_once_closed(partner, staff, approver, evaluator):
    action = closed_action(partner, staff, approver, evaluator=evaluator)
    with pytest.raises(TransitionNotAllowed):
        links(action, staff)


# --- feedback through a link -------------------------------------------------------------


def answer(link: FeedbackLink, **data: Any) -> Feedback:
    return services.feedback_submit_by_link(
        token=link.token, data={"satisfaction": 4, "comments": "Useful.", **data}
    )


def test_a_participant_answers_through_a_link(action, staff):
    (link,) = links(action, staff, 1)
    feedback = fresh(answer(link, satisfaction="5", comments="  Very practical.  "))
    assert (feedback.activity, feedback.respondent, feedback.satisfaction) == (
        activity_of(action),
        "participant",
        5,
    )
    assert (feedback.comments, feedback.link, feedback.submitted_by) == (
        "Very practical.",
        link,
        None,
    )
    assert fresh(link).used_at is not None


def test_a_link_takes_one_answer_and_keeps_the_first(action, staff):
    (link,) = links(action, staff, 1)
    first = answer(link, satisfaction=2, comments="Too short.")
    used_at = fresh(link).used_at
    with pytest.raises(TransitionNotAllowed, match="already been used"):
        answer(link, satisfaction=5, comments="Changed my mind.")
    assert list(Feedback.objects.all()) == [first]
    kept = fresh(first)
    assert (kept.satisfaction, kept.comments) == (2, "Too short.")
    assert fresh(link).used_at == used_at


@pytest.mark.parametrize(
    "satisfaction", [0, 6, -1, "x", "", None, True, 2.5, "4.5", "five"], ids=lambda s: repr(s)
)
def test_a_bad_satisfaction_is_refused_and_the_link_stays_unused(action, staff, satisfaction):
    (link,) = links(action, staff, 1)
    with pytest.raises(ApplicationError) as excinfo:
        answer(link, satisfaction=satisfaction)
    assert excinfo.value.errors == {
        "satisfaction": ["Rate your satisfaction from 1 (very dissatisfied) to 5 (very satisfied)."]
    }
    assert not Feedback.objects.exists()
    assert fresh(link).used_at is None
    answer(link, satisfaction=3)  # the link still works
    assert Feedback.objects.get().satisfaction == 3


def test_comments_are_bounded(action, staff):
    first, second = links(action, staff, 2)
    with pytest.raises(ApplicationError) as excinfo:
        answer(first, comments="x" * 5001)
    assert list(excinfo.value.errors) == ["comments"]
    assert fresh(first).used_at is None
    assert len(answer(second, comments="x" * 5000).comments) == 5000


@pytest.mark.parametrize("token", ["no-such-token", "", "x" * 200])
def test_an_unknown_link_is_not_found(action, staff, token):
    links(action, staff, 1)
    with pytest.raises(NotFound):
        services.feedback_submit_by_link(token=token, data={"satisfaction": 4})
    assert not Feedback.objects.exists()


def test_a_link_of_a_closed_action_takes_no_answer(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    (link,) = links(action, staff, 1)
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    with pytest.raises(TransitionNotAllowed, match="no longer collects feedback"):
        answer(link)
    assert fresh(link).used_at is None


def test_links_answer_while_suspended(partner, staff, approver):
    action = running_action(partner, staff, approver)
    (link,) = links(action, staff, 1)
    action_services.action_transition(
        action_id=action.pk, name="suspend", by=staff, text="Elections."
    )
    assert answer(link).satisfaction == 4


# --- partner feedback ----------------------------------------------------------------------


def partner_feedback(action: Any, by: Any, **data: Any) -> Feedback:
    return services.feedback_submit(
        activity_id=activity_of(action).pk,
        by=by,
        data={"satisfaction": 5, "comments": "Well prepared.", **data},
    )


def test_the_partner_rates_an_activity_once(action, partner):
    first = fresh(partner_feedback(action, partner))
    assert (first.respondent, first.submitted_by, first.satisfaction, first.link) == (
        "partner",
        partner,
        5,
        None,
    )
    with pytest.raises(TransitionNotAllowed, match="already given feedback"):
        partner_feedback(action, partner, satisfaction=1)
    assert list(Feedback.objects.all()) == [first]
    assert fresh(first).satisfaction == 5


def test_each_focal_point_of_the_organisation_rates_once(action, partner):
    colleague = UserFactory(partner=True, organisation=partner.organisation)
    partner_feedback(action, partner)
    partner_feedback(action, colleague, satisfaction=3)
    assert sorted(Feedback.objects.values_list("satisfaction", flat=True)) == [3, 5]


def test_the_database_keeps_one_partner_answer_per_person_and_activity(action, partner):
    first = partner_feedback(action, partner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(
            activity=first.activity, respondent="partner", satisfaction=1, submitted_by=partner
        )


@pytest.mark.parametrize("satisfaction", [0, 6, "x", None, True])
def test_a_bad_partner_rating_is_refused(action, partner, satisfaction):
    with pytest.raises(ApplicationError) as excinfo:
        partner_feedback(action, partner, satisfaction=satisfaction)
    assert list(excinfo.value.errors) == ["satisfaction"]
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    ("persona", "error"),
    [
        ("partner2", NotFound),
        ("expert", NotFound),
        ("evaluator2", NotFound),
        ("staff", TransitionForbidden),
        ("evaluator", TransitionForbidden),
    ],
)
def test_only_the_partners_focal_points_give_partner_feedback(action, people, persona, error):
    with pytest.raises(error):
        partner_feedback(action, people[persona])
    assert not Feedback.objects.exists()


def test_no_partner_feedback_before_implementation(partner, staff, approver):
    action = running_action(partner, staff, approver, state="approved")
    with pytest.raises(TransitionNotAllowed, match="once the action is in implementation"):
        partner_feedback(action, partner)


def test_an_unknown_activity_is_not_found(partner, staff):
    with pytest.raises(NotFound):
        services.feedback_submit(activity_id=999_999, by=partner, data={"satisfaction": 4})
    with pytest.raises(NotFound):
        services.feedback_links_create(activity_id=999_999, by=staff, count=1)


# --- participant counts --------------------------------------------------------------------


def counts(activity: Activity) -> tuple[int, int, int]:
    activity = fresh(activity)
    return (activity.participants_women, activity.participants_men, activity.participants_other)


@pytest.mark.parametrize("persona", ["staff", "evaluator", "approver"])
def test_participants_are_recorded_by_sex(action, people, persona):
    activity = activity_of(action)
    services.participants_record(
        activity_id=activity.pk,
        by=people[persona],
        data={"participants_women": 9, "participants_men": "6", "participants_other": " 1 "},
    )
    assert counts(activity) == (9, 6, 1)


def test_what_is_not_given_keeps_its_count(action, staff):
    activity = activity_of(action)
    before = counts(activity)
    services.participants_record(activity_id=activity.pk, by=staff, data={"participants_other": 2})
    assert counts(activity) == (before[0], before[1], 2)


@pytest.mark.parametrize(
    "bad", [-1, "x", 2.5, "2.5", True, None, "", 1_000_001], ids=lambda b: repr(b)
)
def test_a_bad_count_is_refused_and_nothing_changes(action, staff, bad):
    activity = activity_of(action)
    before = counts(activity)
    with pytest.raises(ApplicationError) as excinfo:
        services.participants_record(
            activity_id=activity.pk,
            by=staff,
            data={"participants_women": 30, "participants_men": bad},
        )
    assert excinfo.value.errors == {"participants_men": ["Enter a whole number, 0 or more."]}
    assert counts(activity) == before


@pytest.mark.parametrize(("persona", "error"), OUTSIDERS)
def test_others_do_not_record_participants(action, people, persona, error):
    activity = activity_of(action)
    before = counts(activity)
    with pytest.raises(error):
        services.participants_record(
            activity_id=activity.pk, by=people[persona], data={"participants_women": 1}
        )
    assert counts(activity) == before


def test_participants_are_not_recorded_on_a_closed_action(partner, staff, approver, evaluator):
    action = closed_action(partner, staff, approver, evaluator=evaluator)
    with pytest.raises(TransitionNotAllowed):
        services.participants_record(
            activity_id=activity_of(action).pk, by=staff, data={"participants_women": 1}
        )


# --- follow-up requests -----------------------------------------------------------------------


@pytest.fixture
def evaluated(partner, staff, approver, evaluator):
    """An action with GCM objectives 11 and 23 and two thematic areas (changed by staff
    after it was created from the request), its evaluation submitted."""
    from cbportal.core.models import ThematicArea

    action = running_action(
        partner,
        staff,
        approver,
        evaluator=evaluator,
        gcm=(11, 23),
        areas=("labour-migration",),
    )
    action_services.action_update(
        action_id=action.pk,
        by=staff,
        data={"thematic_areas": ThematicArea.objects.filter(slug__in=["data", "governance"])},
    )
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    return fresh(action)


def recommendation(action: Any, position: int = 1) -> Recommendation:
    return Recommendation.objects.get(evaluation__action=action, position=position)


def test_a_recommendation_opens_a_draft_request_for_the_same_partner(
    evaluated, partner, partner2, staff
):
    colleague = UserFactory(partner=True, organisation=partner.organisation)
    rec = recommendation(evaluated)
    request = services.recommendation_follow_up(recommendation_id=rec.pk, by=staff)
    request = AssistanceRequest.objects.get(pk=request.pk)
    assert (request.status, request.reference, request.created_by) == ("draft", None, staff)
    assert (request.organisation, request.country) == (evaluated.organisation, evaluated.country)
    assert request.title == "Train regional trainers."
    assert evaluated.reference in request.problem_statement
    assert evaluated.title in request.problem_statement
    assert "Train regional trainers." in request.problem_statement
    assert set(request.thematic_areas.values_list("slug", flat=True)) == {"data", "governance"}
    assert sorted(request.gcm_objectives.values_list("number", flat=True)) == [11, 23]
    assert list(request.languages.values_list("code", flat=True)) == ["fr"]
    assert request.expected_outcomes == evaluated.request.expected_outcomes
    assert fresh(rec).follow_up_request == request
    told = Notification.objects.filter(event="follow_up_request_opened")
    assert sorted(told.values_list("recipient__username", flat=True)) == sorted(
        [partner.username, colleague.username]
    )
    assert {n.object_id for n in told} == {request.pk}
    assert partner2.pk not in told.values_list("recipient", flat=True)


def test_a_recommendation_is_followed_up_once(evaluated, staff, partner):
    rec = recommendation(evaluated)
    first = services.recommendation_follow_up(recommendation_id=rec.pk, by=staff)
    with pytest.raises(TransitionNotAllowed, match="already opened"):
        services.recommendation_follow_up(recommendation_id=rec.pk, by=staff)
    assert list(AssistanceRequest.objects.filter(title=first.title)) == [first]
    assert Notification.objects.filter(event="follow_up_request_opened").count() == 1
    # Another recommendation of the same evaluation opens its own request.
    second = services.recommendation_follow_up(
        recommendation_id=recommendation(evaluated, 2).pk, by=staff
    )
    assert second.title == "Extend the SOPs to airports."


def test_a_long_recommendation_gives_a_short_title_and_the_full_text(
    partner, staff, approver, evaluator
):
    from tests.evaluations.builders import complete_evaluation

    action = running_action(partner, staff, approver, evaluator=evaluator)
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    text = "Train " + "regional " * 40 + "trainers.\nThen evaluate again."
    evaluation = complete_evaluation(action, evaluator, recommendations=[text])
    services.evaluation_submit(evaluation_id=evaluation.pk, by=evaluator)
    request = services.recommendation_follow_up(
        recommendation_id=recommendation(action).pk, by=staff
    )
    assert len(request.title) == 200 and request.title.endswith("…")
    assert "\n" not in request.title
    assert text in request.problem_statement


@pytest.mark.parametrize(
    ("persona", "error"),
    [
        ("evaluator", TransitionForbidden),
        ("partner", TransitionForbidden),
        ("partner2", NotFound),
        ("expert", NotFound),
        ("evaluator2", NotFound),
    ],
)
def test_only_staff_open_follow_up_requests(evaluated, people, persona, error):
    with pytest.raises(error):
        services.recommendation_follow_up(
            recommendation_id=recommendation(evaluated).pk, by=people[persona]
        )
    assert fresh(recommendation(evaluated)).follow_up_request is None
    assert not AssistanceRequest.objects.filter(status="draft").exists()


def test_a_draft_evaluation_opens_no_follow_up(action, staff, partner, evaluator):
    from tests.evaluations.builders import complete_evaluation

    complete_evaluation(action, evaluator)
    rec = recommendation(action)
    with pytest.raises(TransitionNotAllowed, match="submitted evaluation"):
        services.recommendation_follow_up(recommendation_id=rec.pk, by=staff)
    # The partner does not see a draft evaluation at all.
    with pytest.raises(NotFound):
        services.recommendation_follow_up(recommendation_id=rec.pk, by=partner)
    assert fresh(rec).follow_up_request is None


def test_an_unknown_recommendation_is_not_found(staff):
    with pytest.raises(NotFound):
        services.recommendation_follow_up(recommendation_id=999_999, by=staff)


def test_the_partner_completes_and_submits_the_follow_up_request(evaluated, staff, partner):
    request = services.recommendation_follow_up(
        recommendation_id=recommendation(evaluated).pk, by=staff
    )
    start = TODAY() + timedelta(days=60)
    request_services.request_update(
        request_id=request.pk,
        by=partner,
        data={
            "title": "Regional trainers",
            "preferred_start": start,
            "preferred_end": start + timedelta(days=120),
        },
    )
    submitted = request_services.request_submit(request_id=request.pk, by=partner)
    submitted = AssistanceRequest.objects.get(pk=submitted.pk)
    assert (submitted.status, submitted.title) == ("submitted", "Regional trainers")
    assert submitted.reference
    assert fresh(recommendation(evaluated)).follow_up_request == submitted


def test_the_other_partner_cannot_touch_the_follow_up_request(evaluated, staff, partner2):
    request = services.recommendation_follow_up(
        recommendation_id=recommendation(evaluated).pk, by=staff
    )
    with pytest.raises(NotFound):
        request_services.request_update(request_id=request.pk, by=partner2, data={"title": "Mine"})


# --- concurrency (PostgreSQL) -------------------------------------------------------------------

THREADS = 4


def all_at_once(work: Any, count: int = THREADS) -> list[Any]:
    """Run ``work()`` in ``count`` threads (one database connection each), released together;
    returns what each returned or raised."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    outcomes: list[Any] = []

    def run() -> None:
        try:
            barrier.wait(timeout=20)
            outcomes.append(work())
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


@pytest.fixture
def _postgresql_only() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks between connections): set DATABASE_URL")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql_only")
def test_answers_racing_on_one_link_leave_exactly_one_feedback(action, staff):
    (link,) = links(action, staff, 1)
    outcomes = all_at_once(
        lambda: services.feedback_submit_by_link(token=link.token, data={"satisfaction": 4})
    )
    answers = [o for o in outcomes if isinstance(o, Feedback)]
    refused = [o for o in outcomes if not isinstance(o, Feedback)]
    assert len(answers) == 1, outcomes
    assert all(isinstance(o, TransitionNotAllowed) for o in refused), refused
    assert Feedback.objects.count() == 1
    assert Feedback.objects.get().link == link
    assert fresh(link).used_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql_only")
def test_a_partner_racing_with_itself_gives_one_feedback(action, partner):
    outcomes = all_at_once(
        lambda: services.feedback_submit(
            activity_id=activity_of(action).pk, by=partner, data={"satisfaction": 5}
        )
    )
    assert len([o for o in outcomes if isinstance(o, Feedback)]) == 1, outcomes
    assert all(
        isinstance(o, TransitionNotAllowed) for o in outcomes if not isinstance(o, Feedback)
    ), outcomes
    assert Feedback.objects.filter(submitted_by=partner).count() == 1
