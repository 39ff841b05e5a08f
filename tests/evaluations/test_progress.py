"""evaluations/progress.py (pure: no database) and Indicator.next_due / add_months.

The reference case: baseline 20, target 60 (an increase of 40), an action of 100 days,
measured on day 50 — so half of the period has elapsed (expected share 0.5). With the default
margins (on track: at most 10 points behind; at risk: at most 25) the boundaries are a
progress of 0.40 (value 36) and 0.25 (value 30).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from actions.models import Action
from evaluations.models import Frequency, Indicator, Progress, add_months
from evaluations.progress import PROGRESS_CEILING, PROGRESS_FLOOR, assess, elapsed_share

START = date(2025, 1, 1)
END = START + timedelta(days=100)
MIDDLE = START + timedelta(days=50)


def status_of(
    value: str | None,
    *,
    baseline: str = "20",
    target: str = "60",
    on: date | None = MIDDLE,
    start: date = START,
    end: date = END,
) -> str:
    return assess(
        baseline=Decimal(baseline),
        target=Decimal(target),
        value=Decimal(value) if value is not None else None,
        measured_on=on,
        start=start,
        end=end,
    ).status


# --- increase -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("60", Progress.ACHIEVED),  # exactly the target
        ("75", Progress.ACHIEVED),  # beyond it
        ("59.99", Progress.ON_TRACK),
        ("40", Progress.ON_TRACK),  # progress 0.5 = elapsed 0.5
        ("36", Progress.ON_TRACK),  # 0.40: exactly 10 points behind
        ("35.96", Progress.AT_RISK),  # 0.399
        ("30", Progress.AT_RISK),  # 0.25: exactly 25 points behind
        ("29.96", Progress.OFF_TRACK),  # 0.249
        ("20", Progress.OFF_TRACK),  # still at the baseline half-way through
    ],
)
def test_an_increasing_indicator_is_judged_against_the_elapsed_share(value, status):
    assert status_of(value) == status


def test_it_reports_progress_and_expected_share():
    result = assess(
        baseline=Decimal("20"),
        target=Decimal("60"),
        value=Decimal("30"),
        measured_on=MIDDLE,
        start=START,
        end=END,
    )
    assert (result.progress, result.expected, result.status) == (
        Decimal("0.2500"),
        Decimal("0.5000"),
        Progress.AT_RISK,
    )


def test_the_docstring_example_holds():
    year = (date(2025, 1, 1), date(2025, 12, 31))
    on = date(2025, 7, 1)
    assert status_of("40", on=on, start=year[0], end=year[1]) == Progress.ON_TRACK
    result = assess(
        baseline=Decimal(20),
        target=Decimal(60),
        value=Decimal(25),
        measured_on=on,
        start=year[0],
        end=year[1],
    )
    assert result.progress == Decimal("0.1250")
    assert result.status == Progress.OFF_TRACK


# --- decrease -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("10", Progress.ACHIEVED),  # the target
        ("4", Progress.ACHIEVED),  # below it: even better
        ("25", Progress.ON_TRACK),  # half-way down, half-way through
        ("28", Progress.ON_TRACK),  # 0.40
        ("28.03", Progress.AT_RISK),  # 0.399
        ("32.5", Progress.AT_RISK),  # 0.25
        ("32.53", Progress.OFF_TRACK),  # 0.249
        ("40", Progress.OFF_TRACK),  # the baseline
        ("45", Progress.OFF_TRACK),  # going up: away from the target
    ],
)
def test_a_decreasing_indicator_counts_the_way_down(value, status):
    assert status_of(value, baseline="40", target="10") == status


def test_a_decrease_has_positive_progress_when_it_goes_down():
    result = assess(
        baseline=Decimal(40),
        target=Decimal(10),
        value=Decimal(25),
        measured_on=MIDDLE,
        start=START,
        end=END,
    )
    assert result.progress == Decimal("0.5000")
    moving_away = assess(
        baseline=Decimal(40),
        target=Decimal(10),
        value=Decimal(46),
        measured_on=MIDDLE,
        start=START,
        end=END,
    )
    assert moving_away.progress == Decimal("-0.2000")


# --- yes/no and scale ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "on", "status"),
    [
        ("1", MIDDLE, Progress.ACHIEVED),
        ("1", START, Progress.ACHIEVED),
        ("0", MIDDLE, Progress.OFF_TRACK),
        ("0", START + timedelta(days=10), Progress.ON_TRACK),  # 0 vs 0.10: within the margin
        ("0", START + timedelta(days=11), Progress.AT_RISK),  # 0 vs 0.11
        ("0", START + timedelta(days=26), Progress.OFF_TRACK),  # 0 vs 0.26
    ],
)
def test_a_yes_no_indicator_is_achieved_at_yes(value, on, status):
    assert status_of(value, baseline="0", target="1", on=on) == status


def test_a_yes_no_indicator_that_should_turn_to_no():
    assert status_of("0", baseline="1", target="0") == Progress.ACHIEVED
    assert status_of("1", baseline="1", target="0") == Progress.OFF_TRACK


@pytest.mark.parametrize(
    ("value", "status"),
    [("5", Progress.ACHIEVED), ("4", Progress.ACHIEVED), ("3", Progress.ON_TRACK)],
)
def test_a_scale_indicator(value, status):
    assert status_of(value, baseline="2", target="4") == status


def test_a_scale_indicator_still_at_its_baseline_is_off_track_half_way():
    assert status_of("2", baseline="2", target="4") == Progress.OFF_TRACK


# --- margins from settings ----------------------------------------------------------------


def test_the_margins_come_from_settings(settings):
    settings.INDICATOR_ON_TRACK_MARGIN_PERCENT = 0
    settings.INDICATOR_AT_RISK_MARGIN_PERCENT = 5
    assert status_of("40") == Progress.ON_TRACK  # 0.5 vs 0.5
    assert status_of("39.96") == Progress.AT_RISK  # 0.499
    assert status_of("38") == Progress.AT_RISK  # 0.45: exactly 5 points behind
    assert status_of("37.96") == Progress.OFF_TRACK  # 0.449
    assert status_of("36") == Progress.OFF_TRACK  # on track with the defaults


def test_wider_margins_are_more_lenient(settings):
    settings.INDICATOR_ON_TRACK_MARGIN_PERCENT = 30
    settings.INDICATOR_AT_RISK_MARGIN_PERCENT = 50
    assert status_of("28") == Progress.ON_TRACK  # 0.2: 30 points behind
    assert status_of("27.96") == Progress.AT_RISK
    assert status_of("20") == Progress.AT_RISK  # 0: exactly 50 points behind
    assert status_of("19.96") == Progress.OFF_TRACK


# --- elapsed share ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "share"),
    [
        (START, Decimal(0)),
        (START - timedelta(days=30), Decimal(0)),  # before the start: clamped
        (MIDDLE, Decimal("0.5")),
        (START + timedelta(days=25), Decimal("0.25")),
        (END, Decimal(1)),
        (END + timedelta(days=30), Decimal(1)),  # after the end: clamped
    ],
)
def test_the_elapsed_share_is_clamped_to_the_period(on, share):
    assert elapsed_share(START, END, on) == share


@pytest.mark.parametrize("end", [START, START - timedelta(days=1)])
def test_a_period_of_no_length_counts_as_elapsed(end):
    assert elapsed_share(START, end, START) == Decimal(1)


def test_a_measurement_after_the_end_expects_the_target():
    late = END + timedelta(days=40)
    assert status_of("56", on=late) == Progress.ON_TRACK  # 0.90 vs 1: exactly 10 points
    assert status_of("55", on=late) == Progress.AT_RISK  # 0.875
    assert status_of("50", on=late) == Progress.AT_RISK  # 0.75: exactly 25 points
    assert status_of("49.96", on=late) == Progress.OFF_TRACK  # 0.749
    result = assess(
        baseline=Decimal(20),
        target=Decimal(60),
        value=Decimal(50),
        measured_on=late,
        start=START,
        end=END,
    )
    assert result.expected == 1


def test_a_measurement_before_the_start_expects_nothing_yet():
    early = START - timedelta(days=5)
    assert status_of("20", on=early) == Progress.ON_TRACK  # 0 vs an expected 0
    assert status_of("24", on=early) == Progress.ON_TRACK


# --- moving away from the target ----------------------------------------------------------


def test_moving_away_from_the_target_half_way_is_off_track():
    assert status_of("10") == Progress.OFF_TRACK


def test_moving_away_from_the_target_is_off_track_even_early():
    assert status_of("18", on=START + timedelta(days=5)) == Progress.OFF_TRACK


# --- not measured, clamping of the stored value ------------------------------------------


@pytest.mark.parametrize(("value", "on"), [(None, MIDDLE), ("30", None)])
def test_nothing_measured_is_not_measured(value, on):
    result = assess(
        baseline=Decimal(20),
        target=Decimal(60),
        value=Decimal(value) if value else None,
        measured_on=on,
        start=START,
        end=END,
    )
    assert result == type(result)(None, None, Progress.NOT_MEASURED)


def test_a_wild_value_is_clamped_so_that_it_fits_the_column():
    huge = assess(
        baseline=Decimal(0),
        target=Decimal("0.01"),
        value=Decimal("999999"),
        measured_on=MIDDLE,
        start=START,
        end=END,
    )
    assert (huge.progress, huge.status) == (PROGRESS_CEILING, Progress.ACHIEVED)
    tiny = assess(
        baseline=Decimal(0),
        target=Decimal("0.01"),
        value=Decimal("-999999"),
        measured_on=MIDDLE,
        start=START,
        end=END,
    )
    assert (tiny.progress, tiny.status) == (PROGRESS_FLOOR, Progress.OFF_TRACK)


def test_a_target_equal_to_the_baseline_counts_as_reached_rather_than_crashing():
    # The database refuses such an indicator; the function must not divide by zero anyway.
    assert status_of("20", baseline="20", target="20") == Progress.ACHIEVED


# --- add_months ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 15), 1, date(2025, 2, 15)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 8, 31), 1, date(2025, 9, 30)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),  # over the year end
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 5, 31), 12, date(2026, 5, 31)),
        (date(2025, 1, 31), 25, date(2027, 2, 28)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 1, 10), -1, date(2024, 12, 10)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


# --- Indicator.next_due -------------------------------------------------------------------


def indicator(
    frequency: str,
    *,
    start: date = date(2025, 1, 31),
    end: date = date(2025, 12, 31),
    last: date | None = None,
) -> Indicator:
    action = Action(start_date=start, end_date=end)
    return Indicator(action=action, frequency=frequency, latest_date=last)


@pytest.mark.parametrize(
    ("frequency", "due"),
    [
        (Frequency.MONTHLY, date(2025, 2, 28)),
        (Frequency.QUARTERLY, date(2025, 4, 30)),
        (Frequency.SEMI_ANNUAL, date(2025, 7, 31)),
        (Frequency.ANNUAL, date(2025, 12, 31)),  # a year on is after the end: the end
        (Frequency.END_ONLY, date(2025, 12, 31)),
    ],
)
def test_the_first_measurement_is_due_one_period_after_the_start(frequency, due):
    assert indicator(frequency).next_due() == due


@pytest.mark.parametrize(
    ("frequency", "last", "due"),
    [
        (Frequency.MONTHLY, date(2025, 3, 31), date(2025, 4, 30)),
        (Frequency.MONTHLY, date(2025, 1, 31), date(2025, 2, 28)),
        (Frequency.QUARTERLY, date(2025, 5, 31), date(2025, 8, 31)),
        (Frequency.QUARTERLY, date(2025, 11, 30), date(2025, 12, 31)),  # capped at the end
        (Frequency.SEMI_ANNUAL, date(2025, 2, 28), date(2025, 8, 28)),
        (Frequency.ANNUAL, date(2025, 3, 1), date(2025, 12, 31)),
    ],
)
def test_the_next_measurement_is_due_one_period_after_the_last(frequency, last, due):
    assert indicator(frequency, last=last).next_due() == due


def test_a_leap_year_month_end():
    assert indicator(Frequency.MONTHLY, start=date(2024, 1, 31)).next_due() == date(2024, 2, 29)


@pytest.mark.parametrize(
    "frequency",
    [Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.SEMI_ANNUAL, Frequency.ANNUAL],
)
def test_nothing_is_due_once_measured_at_the_end(frequency):
    assert indicator(frequency, last=date(2025, 12, 31)).next_due() is None


def test_a_periodic_indicator_measured_the_day_before_the_end_is_due_at_the_end():
    assert indicator(Frequency.MONTHLY, last=date(2025, 12, 30)).next_due() == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("last", "due"),
    [
        (None, date(2025, 12, 31)),
        (date(2025, 6, 1), date(2025, 12, 31)),  # measured mid-way: still due at the end
        (date(2025, 11, 29), date(2025, 12, 31)),  # a day before the last month
        (date(2025, 11, 30), None),  # in the last month (end minus one month)
        (date(2025, 12, 31), None),
    ],
)
def test_an_end_only_indicator_is_due_at_the_end_unless_measured_in_the_last_month(last, due):
    assert indicator(Frequency.END_ONLY, last=last).next_due() == due


def test_an_end_only_indicator_at_a_month_end_after_a_short_month():
    # The end is 31 March: the last month starts on 28 February (add_months clamps).
    march = indicator(Frequency.END_ONLY, start=date(2025, 1, 1), end=date(2025, 3, 31), last=None)
    assert march.next_due() == date(2025, 3, 31)
    march.latest_date = date(2025, 2, 27)
    assert march.next_due() == date(2025, 3, 31)
    march.latest_date = date(2025, 2, 28)
    assert march.next_due() is None
