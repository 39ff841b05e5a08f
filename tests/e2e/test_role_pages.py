"""Each demo role's main pages, visited once in Chromium as its users reach them: signed in
through the login page, then the navigation bar's links, the links of the pages themselves
and, for pages no link leads to from the way taken, the address. Every page answers 200,
shows its main heading and passes axe-core (checked explicitly, so a page the test leaves
at once is still checked to the end).

On a 375 px wide phone the partner, expert and evaluator take the same ways, and each page
must also fit the screen (no sideways scrolling), offer tap targets of at least 24×24 CSS
pixels (WCAG 2.2, 2.5.8) and open its navigation from the menu button.

The pictures of the README (docs/screenshots/) are taken on the way: ``make screenshots``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from actions.models import Action, ExpertiseNeed
from evaluations.demo import CLOSED
from experts.demo import BORDER, NEEDS
from experts.models import Deployment
from tests.e2e.accessibility import REPORT, check, describe
from tests.e2e.conftest import screenshot, watch

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "cbportal-demo"
SOP = "Standard operating procedures for identifying victims of trafficking at the border"
ASYLUM_LAW = "Review of the draft law on asylum and international protection"
MENTORING = NEEDS["mentoring"][1]
EXCHANGE = NEEDS["exchange"][1]
TOOLKIT_DRAFTING = NEEDS["labour"][1]

# How a page is reached, from the page before it (the rows of a role are taken in order):
#   ("sign in", "")      the login form, which lands on the role's home page
#   ("nav", href)        the navigation bar's link to href (through the menu button on phones,
#                        and the menu of the bar that holds it, if one does)
#   ("link", name)       the first link of the page's content whose name contains name
#   ("click", selector)  the first element of the page's content matching the CSS selector
#   ("search", fields)   the page's search form, filled in by label, then "Search"
#   ("goto", address)    the address, for pages no link on the way leads to
# {border}, {closed} (actions), {mentoring} (an expertise need) and {ana_past} (a
# deployment) are the ids of demo objects, filled in by ``demo_ids``. The partners chose
# French in the demo: their headings are French.
PAGES: list[tuple[str, str, tuple[str, Any], str | None]] = [
    ("anonymous", "landing", ("goto", "/"), "Capacity building in migration governance"),
    ("anonymous", "public portfolio", ("nav", "/portfolio/"), "Public portfolio"),
    ("anonymous", "public portfolio action", ("link", BORDER), BORDER),
    ("anonymous", "sign-in", ("nav", "/accounts/login/"), "Sign in"),
    ("anonymous", "password reset", ("click", "a[href='/accounts/password/reset/']"), "Reset my password"),
    ("partner", "home", ("sign in", ""), "Accueil — Directorate-General for Migration"),
    ("partner", "request form", ("click", "a[href='/requests/new/']"), "Nouvelle demande d'appui"),
    ("partner", "requests", ("nav", "/requests/"), "Demandes de mon organisation"),
    ("partner", "request", ("link", SOP), SOP),
    ("partner", "assessment", ("click", "a[href^='/requests/assessments/']"), "Évaluation des besoins"),
    ("partner", "actions", ("nav", "/actions/"), "Actions de mon organisation"),
    ("partner", "action", ("link", BORDER), BORDER),
    ("partner", "monitoring", ("click", "a[href='/evaluations/actions/{border}/']"), "Suivi et évaluation"),
    ("partner", "experts on the action", ("goto", "/experts/actions/{border}/experts/"), "Experts déployés sur l'action"),
    ("partner", "deployment", ("click", "a[href='/experts/deployments/{ana_past}/']"), "Ana Pereira — Curriculum design workshop"),
    ("partner", "deployments", ("goto", "/experts/deployments/"), "Experts déployés sur nos actions"),
    ("partner", "evaluations", ("goto", "/evaluations/"), "Évaluations des actions de mon organisation"),
    ("partner", "evaluation", ("click", "a[href$='/evaluation/']"), "Évaluation finale"),
    ("partner", "indicators", ("goto", "/evaluations/indicators/"), "Indicateurs"),
    ("partner", "notifications", ("nav", "/notifications/"), "Notifications"),
    ("partner", "notification preferences", ("click", "a[href='/notifications/preferences/']"), "Préférences de notification"),
    ("partner", "profile", ("nav", "/accounts/profile/"), "Mon compte"),
    ("partner2", "home", ("sign in", ""), "Accueil — National Migration Agency"),
    ("partner2", "requests", ("nav", "/requests/"), "Demandes de mon organisation"),
    ("partner2", "request", ("link", ASYLUM_LAW), ASYLUM_LAW),
    ("partner2", "actions", ("nav", "/actions/"), "Actions de mon organisation"),
    ("partner2", "action", ("link", CLOSED), CLOSED),
    ("partner2", "evaluation", ("click", "a[href='/evaluations/actions/{closed}/evaluation/']"), "Évaluation finale"),
    ("partner2", "monitoring", ("click", "a[href='/evaluations/actions/{closed}/']"), "Suivi et évaluation"),
    ("partner2", "notifications", ("nav", "/notifications/"), "Notifications"),
    ("partner2", "profile", ("nav", "/accounts/profile/"), "Mon compte"),
    ("staff", "home", ("sign in", ""), "Programme home"),
    ("staff", "dashboard", ("nav", "/dashboard/"), "Portfolio dashboard"),
    ("staff", "triage queue", ("nav", "/requests/triage/"), "Triage queue"),
    ("staff", "request", ("link", ASYLUM_LAW), ASYLUM_LAW),
    ("staff", "requests", ("nav", "/requests/"), "All requests"),
    ("staff", "request shared", ("link", SOP), SOP),
    ("staff", "assessment", ("click", "a[href^='/requests/assessments/']"), "Needs assessment"),
    ("staff", "actions", ("nav", "/actions/"), "Actions"),
    ("staff", "action", ("link", BORDER), BORDER),
    ("staff", "matching shortlist", ("click", "a[href='/experts/needs/{mentoring}/shortlist/']"), f"Find experts for “{MENTORING}”"),
    ("staff", "deployment board", ("click", "a[href='/experts/actions/{border}/board/']"), "Deployment board — "),
    ("staff", "deployment", ("click", "a[href='/experts/deployments/{ana_past}/']"), "Ana Pereira — Curriculum design workshop"),
    ("staff", "roster", ("nav", "/experts/"), "Expert roster"),
    ("staff", "roster search", ("search", {"Words": "border", "Thematic area": "Orderly migration and border management"}), "Expert roster"),
    ("staff", "expert profile", ("click", "[data-testid=roster-results] a[href^='/experts/']"), None),
    ("staff", "vetting queue", ("nav", "/experts/vetting/"), "Vetting queue"),
    ("staff", "evaluations", ("nav", "/evaluations/"), "Final evaluations"),
    ("staff", "evaluation", ("click", "a[href='/evaluations/actions/{border}/evaluation/']"), "Final evaluation"),
    ("staff", "monitoring", ("click", "a[href='/evaluations/actions/{border}/']"), "Monitoring and evaluation"),
    ("staff", "indicators", ("goto", "/evaluations/indicators/"), "Indicators"),
    ("staff", "deployments", ("goto", "/experts/deployments/"), "Deployments"),
    ("staff", "account invitations", ("nav", "/accounts/invitations/"), "Invite people"),
    ("staff", "outbox", ("nav", "/notifications/outbox/"), "Email delivery"),
    ("staff", "notification defaults", ("nav", "/notifications/organisation-defaults/"), "Organisation notification defaults"),
    ("staff", "notifications", ("nav", "/notifications/"), "Notifications"),
    ("staff", "notification preferences", ("click", "a[href='/notifications/preferences/']"), "Notification preferences"),
    ("staff", "profile", ("nav", "/accounts/profile/"), "My account"),
    ("approver", "home", ("sign in", ""), "Programme home"),
    ("approver", "approval queue", ("nav", "/actions/approvals/"), "Approval queue"),
    ("approver", "amendment", ("click", "a[href^='/actions/{border}/amendments/']"), f"Amendment 1: {BORDER}"),
    ("approver", "approval queue again", ("nav", "/actions/approvals/"), "Approval queue"),
    ("approver", "proposed action", ("link", "Migration data hub for the statistics office"), "Migration data hub"),
    ("approver", "notifications", ("nav", "/notifications/"), "Notifications"),
    ("expert", "home", ("sign in", ""), "My missions"),
    ("expert", "invitations", ("nav", "/experts/invitations/"), "My invitations"),
    ("expert", "invited deployment", ("link", EXCHANGE), f"Ana Pereira — {EXCHANGE}"),
    ("expert", "deployments", ("nav", "/experts/deployments/"), "My deployments"),
    ("expert", "deployment", ("link", TOOLKIT_DRAFTING), f"Ana Pereira — {TOOLKIT_DRAFTING}"),
    ("expert", "mission report form", ("click", "a[href$='/report/']"), f"Mission report — {TOOLKIT_DRAFTING}"),
    ("expert", "own profile", ("nav", "/experts/profile/"), "My profile: Ana Pereira"),
    ("expert", "notifications", ("nav", "/notifications/"), "Notifications"),
    ("expert", "notification preferences", ("click", "a[href='/notifications/preferences/']"), "Notification preferences"),
    ("expert", "profile", ("nav", "/accounts/profile/"), "My account"),
    ("evaluator", "home", ("sign in", ""), "My evaluations"),
    ("evaluator", "evaluations", ("nav", "/evaluations/"), "My evaluations"),
    ("evaluator", "monitoring", ("click", "a[href='/evaluations/actions/{border}/']"), "Monitoring and evaluation"),
    ("evaluator", "evaluation form", ("click", "a[href='/evaluations/actions/{border}/evaluation/']"), "Final evaluation"),
    ("evaluator", "assigned actions", ("nav", "/actions/"), "Actions assigned to me"),
    ("evaluator", "action", ("link", BORDER), BORDER),
    ("evaluator", "indicators", ("nav", "/evaluations/indicators/"), "Indicators"),
    ("evaluator", "notifications", ("nav", "/notifications/"), "Notifications"),
    ("evaluator", "profile", ("nav", "/accounts/profile/"), "My account"),
    ("admin", "home", ("sign in", ""), "Programme home"),
    ("admin", "triage queue", ("nav", "/requests/triage/"), "Triage queue"),
    ("admin", "outbox", ("nav", "/notifications/outbox/"), "Email delivery"),
    ("admin", "notification defaults", ("nav", "/notifications/organisation-defaults/"), "Organisation notification defaults"),
    ("admin", "notifications", ("nav", "/notifications/"), "Notifications"),
]  # fmt: skip

ROLES = list(dict.fromkeys(role for role, *_ in PAGES))
MOBILE_ROLES = ["partner", "expert", "evaluator"]

# The README's pictures (docs/screenshots/<name>.png), taken at 1280×800 on these pages; the
# window shows the top of the page, or the part that starts with the element named.
DOCS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("staff", "dashboard"): ("dashboard", None),
    ("staff", "triage queue"): ("triage-queue", None),
    ("staff", "request"): ("request-detail", None),
    ("staff", "action"): ("action-detail", None),
    # The ranking, each component of each candidate's score with the sentence that explains it.
    ("staff", "matching shortlist"): ("matching-breakdown", "#ranking-heading"),
    ("expert", "invitations"): ("expert-invitation", None),
    ("anonymous", "public portfolio"): ("portfolio", None),
}
MOBILE_DOCS = {
    ("partner", "home"): "mobile-partner-home",
    ("expert", "invitations"): "mobile-expert-invitation",
    ("evaluator", "home"): "mobile-evaluator-home",
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 375, "height": 812},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}

# The elements a finger taps, and the one exception WCAG 2.5.8 makes that applies here:
# a link inside a sentence (a paragraph or list item that holds other text).
TAP_TARGETS = """(within) => {
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    const name = (el.getAttribute('aria-label') || el.textContent || el.value || '')
      .trim().replace(/\\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
      + `${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}`
      + `${el.type ? ' type=' + el.type : ''}> "${name}" ${r.width.toFixed(1)}×${r.height.toFixed(1)}`;
  };
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  const small = [];
  for (const el of document.querySelector(within).querySelectorAll(selector)) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    if (el.closest('.visually-hidden, .visually-hidden-focusable')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.width >= 24 && r.height >= 24) continue;
    if (el.tagName === 'A') {
      const sentence = el.closest('p, li');
      if (sentence && sentence.textContent.trim() !== el.textContent.trim()) continue;
    }
    small.push(describe(el));
  }
  return small;
}"""

# What sticks out to the right of the screen, outside any box that scrolls or clips it. A
# phone (is_mobile) widens its layout viewport to fit content wider than the screen, and
# window.innerWidth with it; the root element's clientWidth stays the screen's width.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 0.5) continue;
    // An absolutely positioned element escapes the scrolling boxes inside its containing
    // block (a visually hidden label in a scrolling table, say); a fixed one escapes all.
    const position = getComputedStyle(el).position;
    let parent = position === 'fixed' ? null
      : position === 'absolute' ? el.offsetParent : el.parentElement;
    let contained = false;
    while (parent && parent !== document.body) {
      if (getComputedStyle(parent).overflowX !== 'visible') { contained = true; break; }
      parent = parent.parentElement;
    }
    if (contained) continue;
    const cls = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    offenders.push(`<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls}>`
      + ` right=${Math.round(r.right)} "${(el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40)}"`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, innerWidth: window.innerWidth,
          offenders};
}"""


@pytest.fixture
def demo(db: Any) -> dict[str, int]:
    call_command("seed_demo", quiet=True)
    return demo_ids()


def demo_ids() -> dict[str, int]:
    """The ids the table's addresses and selectors need."""
    border = Action.objects.get(title=BORDER)
    need = ExpertiseNeed.objects.get(activity__action=border, activity__title=MENTORING)
    return {
        "border": border.pk,
        "closed": Action.objects.get(title=CLOSED).pk,
        "mentoring": need.pk,
        "ana_past": Deployment.objects.get(
            expert__user__username="expert", need__activity__title=NEEDS["past"][1]
        ).pk,
    }


def audits() -> int:
    """How many page loads the suite's auditor has finished with, checked or left (explicit
    checks included: ``check`` records them too)."""
    return REPORT.checks + sum(REPORT.interrupted.values())


@dataclass
class Window:
    """A browser window of one role. The suite's auditor (conftest's ``browser``) checks
    each page load as it happens; the explicit check waits for it, since axe runs one check
    at a time in a page."""

    page: Any
    loads: int = 0  # pages loaded in the window
    checks: int = 0  # explicit checks made in it
    audits_before: int = field(default_factory=audits)

    def settle(self) -> None:
        """Wait until the auditor has finished with every page loaded so far."""
        for _ in range(600):
            if audits() - self.audits_before - self.checks >= self.loads:
                return
            self.page.wait_for_timeout(25)  # lets the auditor's listener run
        raise AssertionError(f"the accessibility check of {self.page.url} did not end")

    def check(self) -> None:
        self.settle()
        blocking = check(self.page)
        self.checks += 1
        assert blocking == [], describe(self.page.url, blocking)


def open_window(browser: Any, live_server: Any, errors: list[str], **options: Any) -> Window:
    """A new window; errors thrown in its pages, console errors and failed assets are
    collected in ``errors``, as conftest's ``page`` fixture does."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB", **options)
    page = context.new_page()
    watch(page, "", errors)
    return Window(page)


def open_menu(page: Any) -> None:
    """On a narrow screen the navigation is behind the menu button: it opens the menu,
    whose links are then shown, each large enough to tap."""
    toggler = page.locator(".navbar-toggler")
    if not toggler.is_visible():
        return
    expect(toggler).to_have_attribute("aria-expanded", "false")
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    menu = page.locator("#main-nav")
    expect(menu).to_have_class(re.compile(r"\bshow\b"))  # opened to the end
    for link in menu.locator(".nav-link").all():
        expect(link).to_be_visible()
    small = page.evaluate(TAP_TARGETS, "#main-nav")
    assert not small, f"tap targets under 24×24 px in the menu of {page.url}:\n" + "\n".join(small)


def reach(window: Window, how: tuple[str, Any], role: str, ids: dict[str, int]) -> Any:
    """Take the way the table gives; return the response of the page it leads to."""
    page = window.page
    kind, target = how
    if isinstance(target, str):
        target = target.format(**ids)
    window.loads += 1
    if kind == "goto":
        return page.goto(target)
    main = page.locator("main")
    if kind == "sign in":
        page.goto("/accounts/login/")
        window.settle()
        window.loads += 1  # and the home page it leads to
        page.get_by_label("Username").fill(role)
        page.get_by_label("Password").fill(PASSWORD)
        element = page.get_by_role("button", name="Sign in")
    elif kind == "nav":
        open_menu(page)
        link = f"a[href='{target}']"
        element = page.locator("#main-nav").locator(link)
        dropdown = page.locator("#main-nav .dropdown").filter(has=page.locator(link))
        if dropdown.count():  # a link of a menu in the bar: the menu opens first
            dropdown.locator("[data-bs-toggle=dropdown]").click()
            expect(element).to_be_visible()
    elif kind == "link":
        element = main.get_by_role("link", name=re.compile(re.escape(target))).first
    elif kind == "click":
        element = main.locator(target).first
    elif kind == "search":
        for label, value in target.items():
            field = main.get_by_label(label, exact=True)
            if field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(label=value)
            else:
                field.fill(value)
        element = main.get_by_role("button", name="Search", exact=True)
    else:
        raise ValueError(kind)
    with page.expect_response(
        lambda r: (
            r.request.is_navigation_request()
            and r.frame == page.main_frame
            and not 300 <= r.status < 400
        )
    ) as answer:
        element.click()
    page.wait_for_load_state("load")
    return answer.value


def visit(window: Window, role: str, row: tuple[str, Any, str | None], ids: dict) -> None:
    """Reach the page and check it: status 200, its main heading, axe-core."""
    name, how, heading = row
    page = window.page
    response = reach(window, how, role, ids)
    where = f"{role} / {name} ({page.url})"
    assert response is not None, f"{where}: no response"
    assert response.status == 200, f"{where}: {response.status}"
    h1 = page.get_by_role("heading", level=1)
    expect(h1).to_be_visible()
    expect(h1).to_have_text(re.compile(re.escape(heading) if heading else r"\S"))
    if how[0] == "search":  # the results come with the filters still set
        for label, value in how[1].items():
            field = page.locator("main").get_by_label(label, exact=True)
            shown = field.evaluate(
                "el => el.tagName === 'SELECT' ? el.selectedOptions[0].label : el.value"
            )
            assert shown == value, f"{where}: {label} shows {shown!r}"
    window.check()


def rows_of(role: str) -> list[tuple[str, Any, str | None]]:
    return [(name, how, heading) for r, name, how, heading in PAGES if r == role]


def test_each_roles_main_pages_are_visited_once(browser, live_server, demo):
    assert set(DOCS) <= {(role, name) for role, name, *_ in PAGES}
    errors: list[str] = []
    for role in ROLES:
        window = open_window(browser, live_server, errors, **DESKTOP)
        for row in rows_of(role):
            visit(window, role, row, demo)
            if (role, row[0]) in DOCS:
                picture, start = DOCS[role, row[0]]
                if start:
                    window.page.locator(start).evaluate("el => el.scrollIntoView()")
                screenshot(window.page, picture, docs=True)
        window.page.context.close()
    assert not errors, f"the pages reported errors: {errors}"


def test_the_main_pages_fit_a_phone_screen(browser, live_server, demo):
    assert set(MOBILE_DOCS) <= {(role, name) for role, name, *_ in PAGES}
    errors: list[str] = []
    problems: list[str] = []
    for role in MOBILE_ROLES:
        window = open_window(browser, live_server, errors, **PHONE)
        page = window.page
        for row in rows_of(role):
            visit(window, role, row, demo)  # the navigation through the menu button
            where = f"{role} / {row[0]} ({page.url})"
            layout = page.evaluate(OVERFLOW)
            if max(layout["scrollWidth"], layout["innerWidth"]) > layout["width"]:
                problems.append(
                    f"{where} scrolls sideways: {layout['scrollWidth']} px wide on a "
                    f"{layout['width']} px screen, because of\n    "
                    + "\n    ".join(layout["offenders"][:12])
                )
            small = page.evaluate(TAP_TARGETS, "body")
            if small:
                problems.append(f"{where}: tap targets under 24×24 px\n    " + "\n    ".join(small))
            if (role, row[0]) in MOBILE_DOCS:
                screenshot(page, MOBILE_DOCS[role, row[0]], docs=True)
        page.context.close()
    assert not problems, "\n".join(problems)
    assert not errors, f"the pages reported errors: {errors}"
