"""axe-core on every page the browser tests reach.

axe-core comes from the npm registry (``node_modules/axe-core``, installed by ``make
install``). Every page a test's browser loads is checked when its ``load`` event fires: the
harness is attached to each context the suite opens, so no journey can reach a page without
checking it. A serious or critical violation fails the test that reached the page; every
result is counted for the summary printed at the end of the run (and written to
``test-results/accessibility.json``).

The script is evaluated through the DevTools protocol, which the page's Content Security
Policy does not govern, so the policy stays exactly as users get it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, plus 2.2's target size (2.5.8) for the small screens people use.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")

# Runs are chained in the page: axe refuses to start while another run is going (the
# check on load and a test's explicit check can meet).
RUN = """async (tags) => {
  const run = () => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                       resultTypes: ['violations']});
  const current = (window.__cbportalAxe || Promise.resolve()).catch(() => null).then(run);
  window.__cbportalAxe = current;
  const results = await current;
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
    count: v.nodes.length,
  }));
}"""


def route(url: str) -> str:
    """The page a URL shows, with ids and tokens folded: /requests/12/ -> /requests/<id>/."""
    path = urlsplit(url).path
    path = re.sub(r"/\d+(?=/|\.|$)", "/<id>", path)
    path = re.sub(r"/(answer|invitation|feedback|reset)/[^/]+(/[^/]+)?/", r"/\1/<token>/", path)
    return re.sub(r"/portfolio/[A-Z]+-[^/]+/", "/portfolio/<reference>/", path)


@dataclass
class Report:
    """What the whole run checked: pages (by route and width) and violations by impact."""

    checks: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    impacts: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)
    # Loads whose page navigated away before axe finished (a redirect by script, say).
    interrupted: Counter[str] = field(default_factory=Counter)

    def record(self, url: str, language: str, width: int, violations: list[dict]) -> None:
        self.checks += 1
        self.routes[f"{route(url)} @{width}px"] += 1
        self.languages[language or "?"] += 1
        for violation in violations:
            self.impacts[violation["impact"] or "minor"] += 1
            self.rules[f"{violation['id']} ({violation['impact']})"] += 1

    def summary(self) -> list[str]:
        pages = {r.rsplit(" @", 1)[0] for r in self.routes}
        lines = [
            f"axe-core {axe_version()}: {self.checks} page loads checked, {len(pages)} distinct "
            f"pages, {len(self.routes)} page × width combinations; languages "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.languages.items()))
            + f"; {sum(self.interrupted.values())} loads left before their check ended",
            "violations by impact: "
            + ", ".join(f"{impact} {self.impacts.get(impact, 0)}" for impact in IMPACTS),
        ]
        if self.rules:
            lines.append(
                "rules seen: " + ", ".join(f"{k} ×{v}" for k, v in self.rules.most_common())
            )
        lines.extend(f"  {r} ×{n}" for r, n in sorted(self.routes.items()))
        if self.unchecked():
            lines.append("never checked to the end: " + ", ".join(self.unchecked()))
        return lines

    def unchecked(self) -> list[str]:
        checked = {r.rsplit(" @", 1)[0] for r in self.routes}
        return sorted(set(self.interrupted) - checked)

    def write(self, path: Path) -> None:
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "checks": self.checks,
                    "routes": dict(sorted(self.routes.items())),
                    "impacts": {impact: self.impacts.get(impact, 0) for impact in IMPACTS},
                    "rules": dict(self.rules),
                    "languages": dict(self.languages),
                    "interrupted": dict(self.interrupted),
                    "unchecked": self.unchecked(),
                    "failures": self.failures,
                },
                indent=2,
            )
        )


REPORT = Report()
# Pages (by id) whose check is running now.
RUNNING: set[int] = set()


def settle(page: Any, timeout_ms: int = 15_000) -> None:
    """Wait until the check of the page's last load has ended. A test calls it before it
    changes the page in ways a check must not see half-done: keyboard focus, say, which
    shows the skip link over the header."""
    waited = 0
    while id(page) in RUNNING and waited < timeout_ms:
        page.wait_for_timeout(20)
        waited += 20


def axe_version() -> str:
    match = re.search(r"axe v([\d.]+)", AXE.read_text(encoding="utf-8")[:400])
    return match.group(1) if match else "?"


def check(page: Any) -> list[dict]:
    """Run axe on the page as it is now; record it; return the blocking violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(RUN, TAGS)
    language = page.evaluate("() => document.documentElement.lang")
    width = page.viewport_size["width"] if page.viewport_size else 0
    REPORT.record(page.url, language, width, violations)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    if blocking:
        REPORT.failures.append({"url": page.url, "violations": blocking})
    return blocking


def describe(url: str, blocking: list[dict]) -> str:
    lines = [f"axe found {len(blocking)} serious or critical violation(s) on {url}:"]
    for v in blocking:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v['count']} element(s)")
        lines.extend(f"    {node}" for node in v["nodes"])
    return "\n".join(lines)


class Auditor:
    """Checks each page of a context once it has loaded; collects what it finds.

    A check runs when the page's ``load`` event fires, while the test goes on; a test that
    navigates away at once can end a check early. Those loads are counted, and the summary
    names any page that was never checked to the end (``REPORT.unchecked``), so the pages
    each role uses are also checked explicitly by ``test_role_pages``.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, context: Any) -> None:
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page: Any) -> None:
        page.on("load", lambda: self.audit(page))

    def audit(self, page: Any) -> None:
        if urlsplit(page.url).scheme not in ("http", "https"):
            return
        RUNNING.add(id(page))
        try:
            if page.evaluate("() => document.contentType") != "text/html":
                return  # a JSON answer, a PDF or an image opened by a test
            blocking = check(page)
        except Exception as exc:  # the page went away while axe ran
            if "context was destroyed" in str(exc) or "Target" in str(exc):
                REPORT.interrupted[route(page.url)] += 1
                return
            raise
        finally:
            RUNNING.discard(id(page))
        if blocking:
            self.problems.append(describe(page.url, blocking))


def tab_to(page: Any, target: Any, what: str, max_presses: int = 80) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would; fail after
    ``max_presses``. Waits for the page's check first (see ``settle``)."""
    settle(page)
    for _ in range(max_presses):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    if not target.evaluate("el => el === document.activeElement"):
        raise AssertionError(f"{max_presses} presses of Tab never reached {what}")
