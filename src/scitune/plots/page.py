"""The report's HTML page: a header with the goal, the answer and the findings first, then the
plots. One file that opens offline: plotly.js is embedded once in the head and every figure is a
``<div>`` plus a few lines calling it, never a CDN and never a second copy of the library."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from scitune.analysis.findings.record import Finding, trust_line

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}}


@dataclass(frozen=True)
class PageFigure:
    key: str
    title: str
    caption: str
    figure: go.Figure
    png: str | None  # the PNG's file name beside the page


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return _e(value)


def table(frame: pd.DataFrame) -> str:
    """A plain HTML table of a small frame (numbers right-aligned, four significant digits)."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = "".join(f'<th class="{"num" if n else ""}">{_e(c)}</th>' for c, n in zip(frame.columns, numeric))
    rows = "".join(
        "<tr>" + "".join(f'<td class="{"num" if n else ""}">{_cell(v)}</td>' for v, n in zip(row, numeric)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _finding(f: Finding) -> str:
    study = f'<span class="chip">{_e(f.study)}</span>' if f.study else ""
    return (
        f'<article class="finding {f.severity}" data-check="{_e(f.check)}">'
        f'<div class="tags"><span class="badge {f.severity}">{_e(f.severity)}</span>'
        f'<span class="check">{_e(f.check.replace("_", " "))}</span>{study}</div>'
        f"<h3>{_e(f.title)}</h3>"
        f'<p class="evidence"><b>Evidence.</b> {_e(f.evidence)}</p>'
        f'<p class="suggestion"><b>Suggestion.</b> {_e(f.suggestion)}</p></article>'
    )


def _figure(fig: PageFigure) -> str:
    body = fig.figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"plotly-{fig.key}", config=PLOT_CONFIG, default_width="100%"
    )
    png = f' · <a href="{_e(fig.png)}">PNG</a>' if fig.png else ""
    return (
        f'<figure class="scitune-plot" id="plot-{_e(fig.key)}" data-plot="{_e(fig.key)}">'
        f"<figcaption><h3>{_e(fig.title)}</h3><p>{_e(fig.caption)}{png}</p></figcaption>{body}</figure>"
    )


def render_page(
    *,
    name: str,
    goal: str,
    facts: Iterable[tuple[str, str]],
    answer: Finding,
    findings: list[Finding],
    passed: list[str],
    summary: pd.DataFrame,
    figures: list[PageFigure],
    settings: dict[str, Any],
    footer: str,
) -> str:
    """The whole page as one string. ``findings`` exclude the answer; ``passed`` are sentences."""
    warnings = sum(f.severity == "warning" for f in findings)
    notes = sum(f.severity == "note" for f in findings)
    trust = trust_line(findings)
    counts = f"{warnings} warning{'s' if warnings != 1 else ''}, {notes} note{'s' if notes != 1 else ''}"
    fact_rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    passed_html = "".join(f"<li>{_e(p)}</li>" for p in passed)
    settings_rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td class='num'>{_e(v)}</td></tr>" for k, v in settings.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scitune report: {_e(name)}</title>
<style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body data-plots="{len(figures)}">
<header>
<div class="kicker">scitune report</div>
<h1>{_e(name)}</h1>
<p class="goal"><span>Goal</span> {_e(goal)}</p>
<dl class="facts">{fact_rows}</dl>
</header>
<main>
<section class="answer {answer.severity}" id="answer">
<h2>Answer</h2>
<p class="headline">{_e(answer.title)}</p>
<p>{_e(answer.evidence)}</p>
<p class="suggestion"><b>Next.</b> {_e(answer.suggestion)}</p>
<p class="trust">{_e(trust)}</p>
</section>
<section id="findings">
<h2>Findings <small>{counts}</small></h2>
{"".join(_finding(f) for f in findings) or '<p class="empty">Nothing to report.</p>'}
{f'<div class="passed"><h3>Checked, nothing to report</h3><ul>{passed_html}</ul></div>' if passed else ""}
</section>
<section id="studies">
<h2>Studies</h2>
{table(summary)}
</section>
<section id="plots">
<h2>Plots</h2>
{"".join(_figure(f) for f in figures)}
</section>
<details id="settings"><summary>Thresholds used (the experiment file's <code>report:</code> section)</summary>
<table><tbody>{settings_rows}</tbody></table></details>
</main>
<footer>{_e(footer)}</footer>
</body>
</html>
"""


CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d8dee4; --bg:#f6f8fa; --warn:#b35900; --warn-bg:#fff4e5;
  --note:#0b5cad; --note-bg:#eef5fd; --info:#1a7f37; --info-bg:#edf8f0; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:#fff; font: 15px/1.5 Inter, -apple-system, "Segoe UI", Roboto,
  Helvetica, Arial, sans-serif; }
header { background:var(--bg); border-bottom:1px solid var(--line); padding:28px max(24px, calc(50% - 600px)); }
main, footer { padding:0 max(24px, calc(50% - 600px)); }
.kicker { text-transform:uppercase; letter-spacing:.08em; font-size:12px; color:var(--muted); }
h1 { margin:4px 0 8px; font-size:28px; }
.goal { font-size:18px; margin:0 0 16px; }
.goal span { font-weight:600; color:var(--muted); margin-right:6px; }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 16px; margin:0; font-size:13px; }
.facts dt { color:var(--muted); } .facts dd { margin:0; }
h2 { font-size:20px; margin:32px 0 12px; } h2 small { font-weight:400; color:var(--muted); font-size:14px; }
h3 { font-size:16px; margin:4px 0 6px; }
.answer { margin-top:24px; padding:16px 20px; border-radius:8px; border-left:6px solid var(--info);
  background:var(--info-bg); }
.answer.warning { border-color:var(--warn); background:var(--warn-bg); }
.answer h2 { margin:0 0 6px; font-size:14px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); }
.answer .headline { font-size:18px; font-weight:600; margin:0 0 6px; }
.answer p { margin:4px 0; } .trust { font-weight:600; }
.finding { border:1px solid var(--line); border-left:5px solid var(--note); border-radius:6px; padding:10px 16px;
  margin:10px 0; }
.finding.warning { border-left-color:var(--warn); } .finding.info { border-left-color:var(--info); }
.finding p { margin:4px 0; }
.tags { display:flex; gap:8px; align-items:center; font-size:12px; }
.badge { text-transform:uppercase; font-weight:700; letter-spacing:.05em; padding:1px 7px; border-radius:10px; }
.badge.warning { color:var(--warn); background:var(--warn-bg); }
.badge.note { color:var(--note); background:var(--note-bg); }
.badge.info { color:var(--info); background:var(--info-bg); }
.check { color:var(--muted); }
.chip { background:var(--bg); border:1px solid var(--line); border-radius:10px; padding:0 7px; }
.suggestion b, .evidence b { color:var(--muted); font-weight:600; }
.passed { margin-top:14px; color:var(--muted); font-size:14px; }
.passed ul { margin:4px 0; padding-left:0; list-style:none; }
.passed li::before { content:"✓ "; color:var(--info); font-weight:700; }
table { border-collapse:collapse; font-size:13px; margin:8px 0; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:left; }
th { background:var(--bg); } td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
figure { margin:18px 0 36px; } figcaption p { color:var(--muted); margin:0 0 4px; font-size:14px; }
details { margin:24px 0; } summary { cursor:pointer; color:var(--muted); }
footer { color:var(--muted); font-size:12px; padding-top:16px; padding-bottom:32px; border-top:1px solid var(--line); }
"""
