"""``scitune check``: the face of :mod:`scitune.steps.check` (also shown as ``scitune run`` starts)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from scitune.analysis.design_review import DesignReview
from scitune.cli._app import app, out
from scitune.steps.check import check_experiment

_STYLE = {"refuse": "bold red", "warning": "yellow", "note": "cyan"}


def print_review(review: DesignReview, *, verbose: bool = True) -> None:
    """The review's issues, one block each: severity, rule and title; then evidence, what to do and
    the playbook section (``verbose``), or only the title and rule (as ``run`` shows them)."""
    for issue in review.issues:
        style = _STYLE[issue.severity]
        out.print(f"[{style}]{issue.severity}[/{style}] [bold]{issue.rule}[/bold]: {escape(issue.title)}",
                  soft_wrap=True, highlight=False)
        if verbose:
            out.print(f"  {escape(issue.evidence)}", soft_wrap=True, highlight=False)
            out.print(f"  [bold]do:[/bold] {escape(issue.suggestion)}", soft_wrap=True, highlight=False)
            out.print(f"  [dim]playbook: \"{issue.section}\"; silence with {escape(issue.silence)}[/dim]",
                      soft_wrap=True, highlight=False)
    if review.issues and not verbose:
        out.print("[dim]the evidence, what to do and the playbook section of each: scitune check FILE[/dim]",
                  highlight=False)
    if review.ignored:
        rules = ", ".join(sorted({i.rule for i in review.ignored}))
        out.print(f"[dim]silenced by the file's check: section: {rules}[/dim]", highlight=False)


class CheckFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The experiment file (YAML).", show_default=False)],
    format: Annotated[CheckFormat, typer.Option("--format", help="text, or json (one object: issues, ignored).")] = (
        CheckFormat.text
    ),
) -> None:
    """Review an experiment's design before spending compute: the playbook's rules on roles, scales
    and budgets (docs/check.md). Exit 2 on a refusal (which `scitune run` would also refuse)."""
    review = check_experiment(file)
    if format is CheckFormat.json:
        issues = [{**asdict(i), "silence": i.silence} for i in review.issues]
        sys.stdout.write(json.dumps({"experiment": review.experiment, "issues": issues,
                                     "ignored": [i.rule for i in review.ignored]}, indent=2, default=str) + "\n")
        if review.refusals:
            raise typer.Exit(2)
        return
    print_review(review)
    counts = f"{len(review.refusals)} refusal(s), {len(review.warnings)} warning(s), {len(review.notes)} note(s)"
    if not review.issues:
        out.print(f"{review.experiment}: the design review found nothing to fix", highlight=False)
    else:
        out.print(f"{review.experiment}: {counts}", highlight=False)
    if review.refusals:
        raise typer.Exit(2)
