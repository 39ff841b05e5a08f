"""The partner's journey in the browser, once in French and once in Spanish.

A partner focal point whose account language is French (or Spanish), browsing with a
French (Spanish) browser, signs in, writes and submits a request, answers the programme's
question, validates the needs assessment, co-signs the action and reads the notifications —
every step through the pages, in that language. Programme staff and the approver act in
between through the services.

No expected text is written out here: each label, button, status and subject is the
catalogue's translation of the English msgid the templates use (``translation.override``
+ ``gettext``), and the test fails if the catalogue has no translation for it, if the page
shows something else, or if the English text is left on the page. A few fixed strings
(``SANITY``) are checked against locale/<lang>/LC_MESSAGES/django.po to show that the
catalogue itself is the one the project ships.

The activity calendar of the action page still shows ISO dates: that check is a separate
test, expected to fail until templates/actions/includes/plan_view.html formats them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.template.defaultfilters import floatformat
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from playwright.sync_api import expect

from actions import services as actions
from actions.models import Action, ActionStatus, ActivityType
from actions.workflow import ACTION_WORKFLOW
from cbportal.accounts.models import Country
from cbportal.core.models import GcmObjective, Language, NotificationCategory, ThematicArea
from requests_app import services as requests
from requests_app.models import (
    AssessmentStatus,
    AssistanceRequest,
    CbLevel,
    MessageKind,
    NeedsAssessment,
    Priority,
    RequestStatus,
)
from requests_app.workflow import ASSESSMENT_WORKFLOW, REQUEST_WORKFLOW
from tests.actions.builders import GAPS, advance
from tests.actions.conftest import complete_plan
from tests.e2e.conftest import watch
from tests.evaluations.builders import make_indicator
from tests.experts.builders import approved_action
from tests.factories import PASSWORD, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LOCALES = {"fr": "fr-FR", "es": "es-ES"}
OTHER = {"fr": "es", "es": "fr"}
LOCALE = Path(__file__).resolve().parents[2] / "locale"

# Fixed strings, checked against the .po files the project ships, then on the page.
SANITY = {
    "fr": {
        "Submit the request": "Soumettre la demande",
        "Needs assessment": "Évaluation des besoins",
    },
    "es": {
        "Submit the request": "Enviar la solicitud",
        "Needs assessment": "Evaluación de necesidades",
    },
}

# What the partner writes: data in their language, not labels.
CONTENT = {
    "fr": {
        "title": "Procédures communes d'identification des victimes",
        "problem": "Les agents aux frontières n'ont pas de procédures communes.",
        "outcomes": "Les agents identifient et orientent les victimes présumées.",
        "institutions": "Police des frontières, inspection du travail.",
        "question": "Which border posts would take part?",
        "answer": "Les trois postes du nord.",
        "signatory": "Amira Ben Salah, directrice",
    },
    "es": {
        "title": "Procedimientos comunes de identificación de víctimas",
        "problem": "Los agentes de frontera no tienen procedimientos comunes.",
        "outcomes": "Los agentes identifican y derivan a las presuntas víctimas.",
        "institutions": "Policía de fronteras, inspección de trabajo.",
        "question": "Which border posts would take part?",
        "answer": "Los tres puestos del norte.",
        "signatory": "Amira Ben Salah, directora",
    },
}


def gettext_in(lang: str, msgid: str) -> str:
    """The catalogue's ``lang`` text for ``msgid``, which may be the same word (French
    "Notifications")."""
    with translation.override(lang):
        return translation.gettext(msgid)


def t(lang: str, msgid: str, **params: Any) -> str:
    """The catalogue's ``lang`` translation of ``msgid`` (with ``params`` put in), which must
    exist: a msgid left untranslated fails here, not on the page."""
    text = gettext_in(lang, msgid)
    assert text != msgid, f"{msgid!r} has no {lang} translation in the catalogue"
    return text % params if params else text


def label(lang: str, lazy: Any) -> str:
    """A lazy label (a choice of a model field) as ``lang`` shows it."""
    with translation.override(lang):
        return str(lazy)


def button(lang: str, workflow: Any, name: str) -> str:
    """The button of a workflow transition as ``lang`` shows it."""
    with translation.override(lang):
        return str(workflow.get(name).display_label)


def date_text(lang: str, value: Any, fmt: str) -> str:
    """A date (or time) as Django's ``lang`` locale formats it with ``fmt``."""
    with translation.override(lang):
        return formats.date_format(value, fmt)


def field_label(lang: str, msgid: str) -> str:
    """A form label made from a model field's verbose name (``capfirst``)."""
    return capfirst(t(lang, msgid))


def translated(lang: str, english: str) -> str:
    """``english`` as the page shows it in ``lang``: a msgid, or a form label made from a
    model field's name ("Title" from the msgid "title"). It must have a translation."""
    text = gettext_in(lang, english)
    if text == english and english[:1].isupper():
        text = capfirst(gettext_in(lang, english[:1].lower() + english[1:]))
    assert text != english, f"{english!r} has no {lang} translation in the catalogue"
    return text


def no_english(page: Any, lang: str, texts: Iterable[str]) -> None:
    """Each of ``texts`` shows in the main content of the page in ``lang``, and not in
    English."""
    main = page.locator("main").inner_text()
    missing = [e for e in texts if translated(lang, e) not in main]
    leftovers = [e for e in texts if re.search(rf"(?<!\w){re.escape(e)}(?!\w)", main)]
    assert not missing, f"not shown on {page.url} in {lang}: {missing}"
    assert not leftovers, f"English left on {page.url} ({lang}): {leftovers}"


def field(form: Any, name: str) -> Any:
    """The field whose label starts with ``name`` (GCM objectives mention countries and
    titles too)."""
    return form.get_by_label(re.compile(rf"^{re.escape(name)}(?!\w)"))


def in_language(page: Any, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)


def open_notifications(page: Any, lang: str) -> None:
    """Through the bell of the header, named in ``lang`` for screen readers."""
    bell = page.locator("#notification-bell")
    expect(bell).to_contain_text(gettext_in(lang, "Notifications"))
    bell.click()
    page.wait_for_url("**/notifications/")


def expected_subjects(lang: str, request: AssistanceRequest, action: Action) -> list[str]:
    """The subjects of what the partner is told, in the order it happens."""
    ref = request.reference
    return [
        t(lang, "Request %(reference)s received", reference=ref),
        t(lang, "Question about request %(reference)s", reference=ref),
        t(lang, "Request %(reference)s accepted", reference=ref),
        t(
            lang,
            "Needs assessment for %(request_reference)s ready for your review",
            request_reference=ref,
        ),
        t(lang, "Plan %(reference)s approved", reference=action.reference),
    ]


@pytest.fixture
def cast(db: Any) -> dict[str, Any]:
    org = OrganisationFactory(name="Direction des migrations", acronym="DM")
    return {
        "org": org,
        "staff": UserFactory(username="clara", first_name="Clara"),
        "approver": UserFactory(username="javier", approver=True, first_name="Javier"),
    }


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_the_partner_journey_runs_in_the_partners_language(
    browser: Any, live_server: Any, cast: dict[str, Any], mailoutbox: list[Any], lang: str
) -> None:
    org, staff, approver = cast["org"], cast["staff"], cast["approver"]
    partner = UserFactory(
        username="amira",
        partner=True,
        organisation=org,
        first_name="Amira",
        last_name="Ben Salah",
        language=lang,
    )
    words = CONTENT[lang]
    po = (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    for msgid, msgstr in SANITY[lang].items():
        assert f'msgid "{msgid}"\nmsgstr "{msgstr}"' in po, (lang, msgid)
        assert t(lang, msgid) == msgstr
    errors: list[str] = []
    context = browser.new_context(base_url=live_server.url, locale=LOCALES[lang])
    page = context.new_page()
    watch(page, f"partner ({lang})", errors)

    # 1. Sign in: the browser's language already applies on the sign-in page.
    page.goto("/accounts/login/")
    in_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(lang, "Sign in"))
    field(page, field_label(lang, "username")).fill("amira")
    field(page, t(lang, "Password")).fill(PASSWORD)
    no_english(page, lang, ["Sign in", "Forgotten your password?", "Password"])
    page.get_by_role("button", name=t(lang, "Sign in")).click()
    page.wait_for_url(f"{live_server.url}/")
    in_language(page, lang)
    expect(page.get_by_test_id("home-heading")).to_have_text(
        t(lang, "Home — %(org)s", org=str(org))
    )

    # 2. A new request, with thematic areas, a GCM objective, dates and a working language.
    page.get_by_role("link", name=t(lang, "New request"), exact=True).first.click()
    page.wait_for_url("**/requests/new/")
    in_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(lang, "New request for support"))
    form = page.get_by_test_id("request-form")
    field(form, field_label(lang, "title")).fill(words["title"])
    # The partner's country, named in their language, is chosen already.
    tunisia = Country.objects.get(code="TN")
    country = field(form, field_label(lang, "country"))
    expect(country.locator("option:checked")).to_have_text(getattr(tunisia, f"name_{lang}"))
    field(form, field_label(lang, "problem statement")).fill(words["problem"])
    field(form, field_label(lang, "expected outcomes")).fill(words["outcomes"])
    field(form, field_label(lang, "target institutions")).fill(words["institutions"])
    areas = list(ThematicArea.objects.filter(slug__in=["trafficking-smuggling", "data"]))
    for area in areas:
        name = getattr(area, f"name_{lang}")
        assert name and name != area.name
        form.get_by_role("checkbox", name=name, exact=True).check()
    gcm = GcmObjective.objects.get(number=10)
    gcm_title = getattr(gcm, f"title_{lang}")
    assert gcm_title and gcm_title != gcm.title
    form.get_by_role("checkbox", name=f"{gcm.number}. {gcm_title}", exact=True).check()
    start = timezone.localdate() + timedelta(days=45)
    end = start + timedelta(days=120)
    field(form, field_label(lang, "preferred start")).fill(start.isoformat())
    field(form, field_label(lang, "preferred end")).fill(end.isoformat())
    french = Language.objects.get(code="fr")
    field(form, t(lang, "Working languages")).select_option(label=getattr(french, f"name_{lang}"))
    main = page.locator("main")
    for area in areas:
        expect(main).not_to_contain_text(area.name)
    expect(main).not_to_contain_text(gcm.title)
    no_english(
        page,
        lang,
        [
            "New request for support",
            "Save a draft at any time; everything is checked when you submit.",
            "Title",
            "Country",
            "Problem statement",
            "Expected outcomes",
            "Target institutions",
            "Thematic areas",
            "GCM objectives",
            "Preferred start",
            "Preferred end",
            "Working languages",
            "Hold Ctrl (or ⌘) to choose several.",
            "Attach a document",
            "Kind of document",
            "Save draft",
            "Submit the request",
            "required",
            "What problem does your institution face? What has been tried?",
        ],
    )
    submit = form.get_by_role("button", name=t(lang, "Submit the request"))
    expect(submit).to_have_text(SANITY[lang]["Submit the request"])
    submit.click()
    page.wait_for_url(re.compile(r".*/requests/\d+/$"))
    request = AssistanceRequest.objects.get()
    assert request.status == RequestStatus.SUBMITTED
    assert request.country_id == "TN" and list(request.languages.all()) == [french]

    # 3. The request as submitted: statuses, reference data and dates in the language.
    in_language(page, lang)
    expect(page.get_by_role("status")).to_contain_text(
        t(lang, "Your request is submitted. Programme staff will respond shortly.")
    )
    expect(page.get_by_test_id("request-status")).to_have_text(
        label(lang, RequestStatus.SUBMITTED.label)
    )
    details = page.locator("section[aria-labelledby='details-heading']")
    expect(details.get_by_role("heading")).to_have_text(t(lang, "The request"))
    shown = {
        dt.inner_text(): dt.locator("xpath=following-sibling::dd[1]").inner_text()
        for dt in details.locator("dt").all()
    }
    assert list(shown) == [
        t(lang, "Problem statement"),
        t(lang, "Expected outcomes"),
        t(lang, "Target institutions"),
        t(lang, "Thematic areas"),
        t(lang, "GCM objectives"),
        t(lang, "Preferred period"),
        t(lang, "Working languages"),
    ]
    area_names = shown[t(lang, "Thematic areas")]
    for area in areas:
        assert getattr(area, f"name_{lang}") in area_names and area.name not in area_names
    assert shown[t(lang, "GCM objectives")] == f"{gcm.number}. {gcm_title}"
    assert shown[t(lang, "Working languages")] == getattr(french, f"name_{lang}")
    period = shown[t(lang, "Preferred period")]
    long_start = date_text(lang, start, "DATE_FORMAT")
    assert long_start != date_text("en", start, "DATE_FORMAT")
    assert period == f"{long_start} – {date_text(lang, end, 'DATE_FORMAT')}", period
    expect(main).to_contain_text(
        f"{request.reference} · {org} · {getattr(tunisia, f'name_{lang}')}"
    )
    sla = page.locator("section[aria-labelledby='sla-heading']")
    expect(sla.get_by_role("heading")).to_have_text(t(lang, "Service level"))
    expect(sla).to_contain_text(
        date_text(lang, timezone.localtime(request.submitted_at), "DATETIME_FORMAT")
    )
    no_english(
        page,
        lang,
        [
            "The request",
            "Problem statement",
            "Thematic areas",
            "Preferred period",
            "Questions and answers",
            "No questions so far.",
            "Service level",
            "Case officer",
            "Timeline",
            "Next steps",
            "Submitted",
        ],
    )

    # 4. Staff ask a question; the partner finds it among the notifications and answers.
    requests.request_request_info(request_id=request.pk, by=staff, message=words["question"])
    open_notifications(page, lang)
    in_language(page, lang)
    question = (
        page.get_by_test_id("notification-list")
        .get_by_role("listitem")
        .filter(
            has_text=t(lang, "Question about request %(reference)s", reference=request.reference)
        )
    )
    expect(question).to_have_count(1)
    question.get_by_role("button", name=t(lang, "Open"), exact=True).click()
    page.wait_for_url(f"**{request.get_absolute_url()}")
    expect(page.get_by_test_id("request-status")).to_have_text(
        label(lang, RequestStatus.INFO_REQUESTED.label)
    )
    thread = page.get_by_test_id("thread")
    expect(thread).to_contain_text(words["question"])
    expect(thread).to_contain_text(label(lang, MessageKind.QUESTION.label))
    respond = page.get_by_test_id("transition-respond")
    respond.get_by_label(t(lang, "Your answer")).fill(words["answer"])
    respond_label = button(lang, REQUEST_WORKFLOW, "respond")
    assert respond_label == capfirst(t(lang, "respond"))
    respond.get_by_role("button", name=respond_label).click()
    expect(page.get_by_test_id("request-status")).to_have_text(
        label(lang, RequestStatus.UNDER_REVIEW.label)
    )
    expect(thread).to_contain_text(label(lang, MessageKind.ANSWER.label))
    no_english(page, lang, ["Questions and answers", "Information requested", "Partner's answer"])

    # 5. Staff accept and share the needs assessment; the partner validates it.
    requests.request_accept(request_id=request.pk, by=staff)
    assessment = NeedsAssessment.objects.get(request=request)
    requests.assessment_update(assessment_id=assessment.pk, by=staff, data={}, gaps=GAPS)
    requests.assessment_share(assessment_id=assessment.pk, by=staff)
    page.get_by_role("link", name=t(lang, "Home"), exact=True).click()
    page.get_by_test_id("assessments").get_by_role("link", name=words["title"]).click()
    page.wait_for_url(f"**{assessment.get_absolute_url()}")
    in_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{SANITY[lang]['Needs assessment']}: {words['title']}"
    )
    expect(page.get_by_test_id("assessment-status")).to_have_text(
        label(lang, AssessmentStatus.SHARED.label)
    )
    for level in CbLevel:
        section = page.get_by_test_id(f"level-{level.value}")
        expect(section.get_by_role("heading")).to_contain_text(label(lang, level.label))
    expect(page.get_by_test_id("level-individual").get_by_test_id("gap")).to_contain_text(
        f"{t(lang, 'Priority')}: {label(lang, Priority.HIGH.label)}"
    )
    no_english(
        page,
        lang,
        [
            "Summary and method",
            "Capacity gaps",
            "Organisational",
            "Enabling environment",
            "Priority",
            "High",
            "Baseline",
            "Shared with the partner",
        ],
    )
    validate_label = button(lang, ASSESSMENT_WORKFLOW, "validate")
    page.get_by_test_id("transition-validate").get_by_role("button", name=validate_label).click()
    expect(page.get_by_test_id("assessment-status")).to_have_text(
        label(lang, AssessmentStatus.VALIDATED.label)
    )
    assert NeedsAssessment.objects.get(pk=assessment.pk).status == AssessmentStatus.VALIDATED

    # 6. Staff design the action with an indicator (a decimal baseline); the approver
    # approves it. The partner finds it among their actions and co-signs it.
    action = actions.action_create(assessment_id=assessment.pk, by=staff)
    complete_plan(action, staff)
    baseline, target = Decimal("12.5"), Decimal("40.25")
    make_indicator(
        action,
        staff,
        name="Agents formés",
        level="individual",
        baseline=str(baseline),
        target=str(target),
    )
    action = advance(action, "approved", staff=staff, approver=approver, partner=partner)
    page.get_by_role("link", name=t(lang, "My actions"), exact=True).click()
    page.wait_for_url("**/actions/")
    in_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(lang, "My organisation's actions"))
    row = page.get_by_test_id("action-table").get_by_role("row").filter(has_text=action.reference)
    short_start = date_text(lang, action.start_date, "SHORT_DATE_FORMAT")
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", short_start), short_start
    expect(row).to_contain_text(
        f"{short_start} – {date_text(lang, action.end_date, 'SHORT_DATE_FORMAT')}"
    )
    expect(row).to_contain_text(label(lang, ActionStatus.APPROVED.label))
    row.get_by_role("link", name=action.title).click()
    page.wait_for_url(f"**{action.get_absolute_url()}")
    in_language(page, lang)
    expect(page.get_by_test_id("action-status")).to_have_text(
        label(lang, ActionStatus.APPROVED.label)
    )
    expect(main).to_contain_text(
        t(lang, "Approved. The partner's co-signature is awaited before implementation starts.")
    )
    expect(main).to_contain_text(
        f"{date_text(lang, action.start_date, 'DATE_FORMAT')} – "
        f"{date_text(lang, action.end_date, 'DATE_FORMAT')}"
    )
    calendar = page.get_by_test_id("activity-calendar")
    expect(calendar).to_contain_text(label(lang, ActivityType.TRAINING.label))
    no_english(
        page,
        lang,
        ["Objectives", "Activities", "Amendments", "The plan has not been amended."],
    )
    sign = page.get_by_test_id("transition-sign")
    sign.get_by_label(t(lang, "Your name, as signatory for the partner")).fill(words["signatory"])
    sign_label = button(lang, ACTION_WORKFLOW, "sign")
    assert sign_label == capfirst(t(lang, "co-sign the plan"))
    sign.get_by_role("button", name=sign_label).click()
    signature = page.get_by_test_id("signature")
    expect(signature).to_be_visible()
    action.refresh_from_db()
    assert action.signed_at is not None and action.signed_name == words["signatory"]
    expect(signature).to_have_text(
        t(
            lang,
            "Co-signed by %(name)s on %(when)s",
            name=words["signatory"],
            when=date_text(lang, timezone.localtime(action.signed_at), "DATETIME_FORMAT"),
        )
    )

    # 7. The action's monitoring page: the indicator's decimal baseline, localised.
    page.get_by_role("link", name=t(lang, "Indicators, outcomes and feedback")).click()
    page.wait_for_url(f"**/evaluations/actions/{action.pk}/")
    in_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(lang, "Monitoring and evaluation"))
    with translation.override(lang):
        shown_baseline, shown_target = floatformat(baseline, "-2"), floatformat(target, "-2")
    separator = formats.get_format("DECIMAL_SEPARATOR", lang)
    assert separator != "." and Decimal(shown_baseline.replace(separator, ".")) == baseline
    expect(page.get_by_test_id("baseline")).to_have_text(f"{shown_baseline} %")
    expect(page.get_by_test_id("target")).to_contain_text(f"{shown_target} %")
    expect(page.get_by_test_id("indicator")).not_to_contain_text(str(baseline))
    no_english(page, lang, ["Indicators", "Baseline", "Target", "Percentage", "Outcomes"])

    # 8. The notifications page: everything the partner was told, in their language.
    open_notifications(page, lang)
    in_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(gettext_in(lang, "Notifications"))
    items = page.get_by_test_id("notification-list").get_by_role("listitem")
    subjects = expected_subjects(lang, request, action)
    expect(items).to_have_count(len(subjects))
    for subject in subjects:
        expect(items.filter(has_text=subject)).to_have_count(1)
    expect(items.filter(has_text=label(lang, NotificationCategory.REQUESTS.label))).to_have_count(4)
    expect(items.filter(has_text=label(lang, NotificationCategory.ACTIONS.label))).to_have_count(1)
    no_english(
        page,
        lang,
        ["Notification preferences", "Unread only", "Mark all as read", "Open", "Mark as read"],
    )

    # 9. The emails the partner received: the same subjects, bodies in their language.
    received = [m for m in mailoutbox if m.to == [partner.email]]
    assert [m.subject for m in received] == subjects
    greeting = t(lang, "Hello %(name)s,", name=partner.display_name)
    for message in received:
        assert message.body.startswith(greeting), message.body
        assert t(lang, "You receive this email because you have an account on CB Portal.") in (
            message.body
        )

    # 10. The language switcher: to the other language and back. Choosing an option does
    # not reload the page (WCAG 3.2.2: arrow keys through the list must not change the
    # language); its button does, with JavaScript and without.
    other = OTHER[lang]
    switcher = page.locator("select#language-select")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    in_language(page, lang)
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    for now, to in ((lang, other), (other, lang)):
        switcher.select_option(to)
        in_language(page, now)
        with page.expect_navigation():
            page.locator(".language-switcher").get_by_role("button", name=t(now, "Change")).click()
        in_language(page, to)
        expect(page.get_by_role("link", name=t(to, "Notification preferences"))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(gettext_in(lang, "Notifications"))

    plain = browser.new_context(
        base_url=live_server.url,
        locale=LOCALES[lang],
        java_script_enabled=False,
        storage_state=context.storage_state(),
    )
    no_js = plain.new_page()
    watch(no_js, f"partner without JavaScript ({lang})", errors)
    no_js.goto(request.get_absolute_url())
    in_language(no_js, lang)
    for now, to in ((lang, other), (other, lang)):
        change = no_js.locator(".language-switcher").get_by_role("button", name=t(now, "Change"))
        expect(change).to_be_visible()
        no_js.locator("select#language-select").select_option(to)
        change.click()
        no_js.wait_for_url(f"**{request.get_absolute_url()}")
        in_language(no_js, to)
        expect(no_js.get_by_test_id("request-status")).to_have_text(
            label(to, RequestStatus.ACCEPTED.label)
        )
    partner.refresh_from_db()
    assert partner.language == lang

    for ctx in (context, plain):
        ctx.close()
    assert not errors, f"the pages reported errors: {errors}"


def test_the_activity_calendar_shows_dates_in_the_partners_language(
    client: Any, partner: Any, staff: Any, approver: Any
) -> None:
    partner.language = "fr"
    partner.save(update_fields=["language"])
    action = approved_action(partner, staff, approver)
    activity = action.activities.get()
    client.force_login(partner)
    page = client.get(action.get_absolute_url()).content.decode()
    calendar = page[page.index('data-testid="activity-calendar"') :]
    shown = re.search(r'<time datetime="([\d-]+)">([^<]+)</time>', calendar)
    assert shown and shown.group(1) == activity.start_date.isoformat()
    assert shown.group(2) in {
        date_text("fr", activity.start_date, "DATE_FORMAT"),
        date_text("fr", activity.start_date, "SHORT_DATE_FORMAT"),
    }, shown.group(2)
