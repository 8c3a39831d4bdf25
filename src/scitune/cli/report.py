"""``scitune report``: the face of :mod:`scitune.steps.report`; writes the HTML report and prints its findings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from scitune.cli._app import StoreOption, app, out
from scitune.config import load_experiment
from scitune.errors import ConfigError
from scitune.store import Store

if TYPE_CHECKING:  # plotting libraries load only when a report is asked for: the CLI starts fast
    from scitune.analysis.findings import Finding
    from scitune.steps.report import Report

STYLE = {"warning": "bold dark_orange", "note": "bold blue", "info": "bold green"}


@app.command()
def report(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Folder for report.html, a PNG per plot and findings.json [default: reports/EXPERIMENT].",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Optional[Path],
        typer.Option(
            "--file",
            "-f",
            help="Take the report: thresholds from this experiment file instead of the stored one "
            "(it must be the same experiment).",
            show_default=False,
        ),
    ] = None,
    png: Annotated[bool, typer.Option("--png/--no-png", help="Also write a PNG per plot.")] = True,
    store: StoreOption = None,
) -> None:
    """Write one offline HTML report (isolation, axis, training-curve, best-step and trial-budget plots) and print
    the findings: whether the experiment answered its goal, and what to fix before trusting it."""
    settings = None
    if file is not None:
        other, _ = load_experiment(file)
        if other.name != experiment:
            raise ConfigError(f"{file}: is experiment '{other.name}', not '{experiment}'")
        settings = other.report_settings
    from scitune.steps.report import write_report

    result = write_report(Store(store), experiment, out_dir, settings, png)
    print_report(result)


def _block(finding: Finding) -> Text:
    text = Text()
    text.append(finding.title, style="bold")
    text.append("\n" + finding.evidence, style="default")
    text.append("\n→ " + finding.suggestion, style="italic")
    return text


def print_report(result: Report) -> None:
    from scitune.analysis.findings import CHECKS, trust_line

    out.print(Text.assemble((result.experiment, "bold"), ": ", result.goal))
    answer = next(f for f in result.findings if f.check == "goal")
    block = _block(answer)
    block.append("\n" + trust_line(result.findings), style="bold")
    out.print(Panel(block, title="answer", title_align="left", border_style=STYLE[answer.severity]))
    rest = [f for f in result.findings if f.check != "goal"]
    if rest:
        table = Table(show_header=False, show_lines=True, box=None, padding=(0, 1, 1, 0), expand=False)
        table.add_column(no_wrap=True)
        table.add_column(ratio=1)
        for f in rest:
            tag = Text(f.severity.upper(), style=STYLE[f.severity])
            tag.append("\n" + f.check.replace("_", " "), style="dim")
            table.add_row(tag, _block(f))
        warnings = sum(f.severity == "warning" for f in rest)
        out.print(Text(f"{warnings} warning(s), {len(rest) - warnings} note(s):", style="bold"))
        out.print(table)
    if result.passed:
        out.print(
            Group(
                Text("Checked, nothing to report:", style="bold"),
                *(Text("  ✓ " + CHECKS[c], style="green") for c in result.passed),
            )
        )
    if result.html is not None:
        size = result.html.stat().st_size / 1e6
        out.print(Text.assemble("\nreport: ", (str(result.html), "bold"), f" ({size:.1f} MB, opens offline)"))
        if result.pngs:
            out.print(f"plots:  {', '.join(p.name for p in result.pngs)} in {result.html.parent}")
