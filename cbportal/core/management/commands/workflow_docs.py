"""Print every registered state machine as Markdown tables (docs/workflow.md embeds them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cbportal.core.workflow import REGISTRY, Workflow

BEGIN = "<!-- BEGIN GENERATED: manage.py workflow_docs -->"
END = "<!-- END GENERATED -->"


def render(workflows: dict[str, Workflow]) -> str:
    lines = [BEGIN]
    if not workflows:
        lines.append("")
        lines.append("_No state machine is registered yet._")
    for model, wf in sorted(workflows.items()):
        states = ", ".join(f"`{s}`" for s in wf.states.values)
        lines += ["", f"### {model}", "", f"States: {states}", ""]
        lines.append("| transition | from | to | who | guards | comment required |")
        lines.append("|---|---|---|---|---|---|")
        for row in wf.table():
            lines.append(
                "| `{t}` | {f} | {to} | {roles} | {guards} | {c} |".format(
                    t=row["transition"],
                    f=", ".join(f"`{s}`" for s in row["from"]),
                    to=f"`{row['to']}`" if " " not in row["to"] else row["to"],
                    roles=", ".join(row["roles"]),
                    guards="; ".join(row["guards"]) or "—",
                    c="yes" if row["requires_comment"] else "no",
                )
            )
    lines += ["", END]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the transition tables of every state machine as Markdown."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--write",
            metavar="FILE",
            help="Replace the generated section of FILE (between the markers) instead of printing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = render(REGISTRY)
        if not options["write"]:
            self.stdout.write(text)
            return
        path = Path(options["write"])
        current = path.read_text(encoding="utf-8")
        if BEGIN not in current or END not in current:
            raise CommandError(f"{path} has no generated-section markers.")
        head, rest = current.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
        path.write_text(head + text + tail, encoding="utf-8")
        self.stdout.write(f"Updated {path}")
