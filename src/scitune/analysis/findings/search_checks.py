"""The checks about the search: the goal's answer, the search space and the trial budget.

Each check turns the numbers of one analysis module (``goal``, ``boundaries``, ``sampling``,
``budget``) into :class:`~scitune.analysis.findings.record.Finding` records. The checks about the
best trials' training curves are in :mod:`scitune.analysis.findings.curve_checks`. The thresholds
come from :class:`~scitune.config.ReportSettings`; docs/report.md documents each.
"""

from __future__ import annotations

from collections.abc import Mapping

from scitune.analysis.boundaries import (
    EdgeHit,
    InfeasibleRegion,
    at_domain_end,
    effect_beyond_noise,
    strong_edge,
    widened_bound,
)
from scitune.analysis.budget import BudgetCurve
from scitune.analysis.compare import verdict_line as compare_verdict_line
from scitune.analysis.findings.record import INFO, NOTE, WARNING, Finding, num, ordinal, p_text, pct
from scitune.analysis.goal import GoalAnswer, measured
from scitune.analysis.noise import NoiseFloor
from scitune.analysis.ranking import oriented
from scitune.analysis.sampling import Feasibility, NearBest
from scitune.analysis.variance import TrialVariance
from scitune.config import ReportSettings
from scitune.space import RangeParam, SearchSpace

# -- search space ------------------------------------------------------------------------------


def boundary_findings(
    hits: list[EdgeHit],
    regions: list[InfeasibleRegion],
    space: SearchSpace,
    settings: ReportSettings,
    floors: Mapping[str, NoiseFloor] | None = None,
) -> list[Finding]:
    """One finding per parameter and edge, listing the studies whose best trial lies there and
    whose objective improves toward that edge by more than the noise allows
    (:func:`~scitune.analysis.boundaries.effect_beyond_noise`, ``noise_margin`` noise floors). An
    edge hit without such an effect is no finding: a parameter that barely matters puts its best
    trial anywhere, edges included. A warning when the evidence is also strong
    (:func:`~scitune.analysis.boundaries.strong_edge`), else a note."""
    findings = []
    floors = floors or {}
    groups: dict[tuple[str, str], list[EdgeHit]] = {}
    for hit in hits:
        floor = floors[hit.study].value if hit.study in floors else 0.0
        if effect_beyond_noise(hit.gain, hit.gain_p, floor, settings.noise_margin):
            groups.setdefault((hit.param, hit.edge), []).append(hit)
    studies = len({h.study for h in hits} | {r.study for r in regions}) or None
    for (name, edge), group in groups.items():
        param = space[name]
        assert isinstance(param, RangeParam)
        strong = [h for h in group if strong_edge(h)]
        unstable = [r for r in regions if r.param == name and r.side == edge and any(h.study == r.study for h in group)]
        lines = []
        for h in group:
            line = (
                f"{h.study}: best trial #{h.trial} at {num(h.value)}, {pct(h.position)} of the way up the "
                f"{param.scale} range [{num(param.low)}, {num(param.high)}]; {h.near} of its top {h.considered} "
                f"in the outer {pct(settings.edge_fraction)}"
            )
            if h.trend is not None:
                line += f"; objective vs closeness to the edge: Spearman rho {h.trend:+.2f} ({p_text(h.trend_p)})"
            floor = floors.get(h.study)
            line += (
                f"; widening could plausibly gain about {num(h.gain)} ({p_text(h.gain_p)}, the objective's linear "
                f"trend along {name}, the other ranges fitted too" + (f"; noise floor: {floor.describe()}" if floor else "") + ")"
            )
            lines.append(line)
        new = widened_bound(param, edge, settings.widen_by)
        word = "lower" if edge == "low" else "raise"
        if unstable:
            suggestion = (
                f"trials past the best diverged, so widening {name} will not help: the edge is one of "
                "stability. Try learning-rate warmup or gradient clipping, then rerun."
            )
        elif edge == "low" and param.scale == "linear" and param.low == 0:
            suggestion = (
                f"{name} already starts at 0: the best trials want little or none of it. Consider fixing "
                f"it at 0 (dropping what it controls) or a narrower range near 0."
            )
        elif at_domain_end(param, edge):
            bound = param.low if edge == "low" else param.high
            suggestion = (
                f"{name}'s range already reaches the end of its domain ({num(bound)}): it cannot be widened "
                f"that way. The best trials want {'as little' if edge == 'low' else 'as much'} of it as it can "
                "take; consider fixing it there, or reparameterizing it."
            )
        else:
            bound = param.low if edge == "low" else param.high
            clipped = new != widened_bound(RangeParam(param.name, param.low, param.high, param.scale, param.integer),
                                           edge, settings.widen_by)
            suggestion = (
                f"{word} {name}'s {edge} bound from {num(bound)} to {num(new)} "
                + ("(the end of its domain) " if clipped else
                   f"({pct(settings.widen_by)} of the range's width on its {param.scale} scale) ")
                + "in a new experiment; widen again until the best trials sit inside the range."
            )
        weak = (
            ""
            if strong
            else (
                " Weak evidence: only the best trial lies there and the objective shows no clear "
                "trend toward the edge, so the parameter may simply not matter much."
            )
        )
        findings.append(
            Finding(
                check="boundary",
                severity=WARNING if strong else NOTE,
                title=f"{name}: best trials at the {edge} edge of its range"
                + (f" in {len(group)} of {studies} studies" if studies and studies > 1 else ""),
                evidence="; ".join(lines) + "." + weak,
                suggestion=suggestion,
                study=group[0].study if len(group) == 1 else None,
                data={
                    "param": name,
                    "edge": edge,
                    "bound": param.low if edge == "low" else param.high,
                    "suggested_bound": new,
                    "studies": [h.study for h in group],
                    "positions": [h.position for h in group],
                    "near": [h.near for h in group],
                    "trend": [h.trend for h in group],
                    "unstable": bool(unstable),  # trials past the best diverged: widening will not help
                    "gain": [h.gain for h in group],
                    "gain_p": [h.gain_p for h in group],
                    "noise_floor": [floors[h.study].value if h.study in floors else None for h in group],
                },
            )
        )
    return findings


def feasibility_findings(
    feasibility: list[Feasibility], regions: list[InfeasibleRegion], settings: ReportSettings
) -> list[Finding]:
    """A study whose infeasible and failed share exceeds the threshold (warning), and a study whose
    best trial borders a region where every trial diverged (a note below the threshold)."""
    findings = []
    for f in feasibility:
        own = [r for r in regions if r.study == f.study]
        above = f.finished > 0 and f.fraction > settings.infeasible_fraction
        border = [r for r in own if r.best_at_border]
        if not above and not border:
            continue
        parts = [f"{f.infeasible} infeasible (diverged)", f"{f.failed} failed (crashed or never reported)"]
        evidence = f"{f.infeasible + f.failed} of {f.finished} finished trials ({pct(f.fraction)}): " + ", ".join(parts)
        if f.common_reason:
            evidence += f"; most common reason: {f.common_reason!r}"
        for r in own:
            sign = ">=" if r.side == "high" else "<="
            evidence += (
                f"; every trial with {r.param} {sign} {num(r.threshold)} was infeasible ({r.infeasible} "
                f"trials), the nearest completed one at {num(r.nearest_feasible)}"
            )
        if border:
            r = border[0]
            suggestion = (
                f"the best trial sits at the border of divergence in {r.param}: instability is limiting it. "
                "Try learning-rate warmup or gradient clipping, then rerun; the playbook's sign that warmup "
                "will help."
            )
        elif own:
            r = own[0]
            word = "lower" if r.side == "high" else "raise"
            suggestion = (
                f"{word} {r.param}'s {r.side} bound to about {num(r.nearest_feasible)} (or reparameterize) "
                "so the budget goes to trainable points."
            )
        elif f.failed > f.infeasible:
            suggestion = (
                "most are failures, not divergence: read their reasons with `scitune trials` and suspect a bug."
            )
        else:
            suggestion = (
                "narrow or reparameterize the ranges that diverge (e.g. the learning rate's upper bound), "
                "or suspect a bug in the training code."
            )
        findings.append(
            Finding(
                check="infeasible",
                severity=WARNING if above else NOTE,
                title=f"{f.study}: {pct(f.fraction)} of finished trials gave no objective"
                if above
                else f"{f.study}: the best trial borders a region where every trial diverged",
                evidence=evidence + ".",
                suggestion=suggestion,
                study=f.study,
                data={
                    "finished": f.finished,
                    "infeasible": f.infeasible,
                    "failed": f.failed,
                    "fraction": f.fraction,
                    "threshold": settings.infeasible_fraction,
                    "regions": [{"param": r.param, "side": r.side, "threshold": r.threshold} for r in own],
                },
            )
        )
    return findings


def density_findings(
    near: list[NearBest], metric: str, trials_per_study: int, settings: ReportSettings,
    floors: Mapping[str, NoiseFloor] | None = None,
) -> list[Finding]:
    """A study with fewer than ``min_near_best`` completed trials near its best. "Near" is the
    larger of ``near_best`` of the gap to the median and ``noise_margin`` noise floors of a difference
    of two readings (sqrt(2) floors each, :func:`scitune.analysis.sampling.near_best`): within the
    noise, a trial is as good as the best."""
    floors = floors or {}
    findings = []
    for n in near:
        if n.completed == 0:
            findings.append(
                Finding(
                    check="few_points",
                    severity=WARNING,
                    title=f"{n.study}: no completed trial",
                    evidence="no trial of this study finished with a usable objective.",
                    suggestion=(
                        "look at its trials' states and reasons (`scitune trials`), fix the cause and run again."
                    ),
                    study=n.study,
                    data={"completed": 0, "near_best": 0},
                )
            )
        elif n.count < settings.min_near_best:
            floor = floors.get(n.study)
            noise = f"; noise floor: {floor.describe()}" if floor else ""
            findings.append(
                Finding(
                    check="few_points",
                    severity=WARNING,
                    title=f"{n.study}: only {n.count} trial{'s' if n.count != 1 else ''} near the best",
                    evidence=(
                        f"{n.count} of {n.completed} completed trials have {metric} within "
                        f"{num(abs(n.limit - n.best))} "
                        f"of the best {num(n.best)} (the band is the larger of {pct(settings.near_best)} of the gap to "
                        f"the median {num(n.median)} and {settings.noise_margin:g} x sqrt(2) noise floors{noise}); fewer than "
                        f"{settings.min_near_best} means the good region is sparsely sampled."
                    ),
                    suggestion=(
                        f"raise trials_per_study from {trials_per_study} to {2 * trials_per_study} (the studies "
                        "continue the same quasi-random sequence), or narrow the nuisance ranges around the best "
                        "trials in a follow-up experiment."
                    ),
                    study=n.study,
                    data={
                        "completed": n.completed,
                        "near_best": n.count,
                        "band_limit": n.limit,
                        "best": n.best,
                        "median": n.median,
                        "noise_floor": n.floor,
                        "noise_source": floor.source if floor else None,
                    },
                )
            )
    return findings


def budget_findings(
    curves: list[BudgetCurve], answer: GoalAnswer, metric: str, mode: str, trials_per_study: int
) -> list[Finding]:
    """A study whose expected best (the unbiased estimator of :mod:`scitune.analysis.budget`) still
    improved over the last doubling of its trials by more than its noise allowance. A warning when a
    gain like that one would close the gap to the nearest other study (more trials could change the
    answer), else a note."""
    bests = {b.study: b.best_value for b in answer.ranking if b.best_value is not None}
    findings = []
    for c in curves:
        if not c.more_would_help or c.last_doubling_gain is None:
            continue
        gain, n = c.last_doubling_gain, c.trials
        # The nearest rival: more trials could change the answer when this study is not clearly
        # ahead of it (ahead by more than the gain that counts as real) and a gain like the last one
        # closes the gap. The rule reads values only, so two identical studies get the same verdict.
        rival = behind = None
        if c.study in bests:
            others = [(abs(float(oriented(v, mode) - oriented(bests[c.study], mode))), s, v)
                      for s, v in bests.items() if s != c.study]
            if others:
                behind, rival, value = min(others, key=lambda o: (o[0], o[1]))
                tie = c.threshold or 0.0
                if float(oriented(bests[c.study], mode)) < float(oriented(value, mode)) - tie:
                    behind = None  # clearly ahead: more of its own trials cannot cost it the lead
        overtakes = behind is not None and gain > behind
        evidence = c.message.removeprefix(f"{c.study}: ") + "."
        if c.expected and c.expected[-1] is not None and c.budgets[-1] == n:
            evidence += f" The expected best {metric} of {n // 2} trials is {num(_at(c, n // 2))}, of {n}: {num(c.expected[-1])}."
        if overtakes:
            evidence += f" It is {num(behind)} from {rival}, less than that gain: another doubling could change the answer."
        unfinished = trials_per_study - n
        if unfinished > 0:
            suggestion = (
                f"finish its {unfinished} unfinished trials with `scitune run` and look again: this verdict is "
                f"for the {n} finished so far."
            )
        else:
            suggestion = (
                f"raise trials_per_study from {trials_per_study} to {2 * trials_per_study} and `scitune run` again "
                "(each study is extended with the next points of its sequence; finished trials are kept)"
            ) + (
                f", before concluding: another doubling that gains as much could close the gap to {rival}."
                if overtakes
                else "; expect less from the next doubling than from the last, as gains shrink near the best."
            )
        findings.append(
            Finding(
                check="more_trials",
                severity=WARNING if overtakes else NOTE,
                title=f"{c.study}: more trials would likely still improve its best {metric}",
                evidence=evidence,
                suggestion=suggestion,
                study=c.study,
                data={
                    "finished": n,
                    "completed": c.completed,
                    "from_trials": n // 2,
                    "to_trials": n,
                    "last_doubling_gain": gain,
                    "threshold": c.threshold,
                    "threshold_source": c.threshold_source,
                    "behind_first": behind,
                    "rival": rival,
                    "suggested_trials_per_study": 2 * trials_per_study,
                },
            )
        )
    return findings


def _at(curve: BudgetCurve, k: int) -> float | None:
    """The expected best at budget ``k`` (None when the curve did not evaluate it)."""
    return curve.expected[curve.budgets.index(k)] if k in curve.budgets and curve.expected else None


# -- the goal ----------------------------------------------------------------------------------


def _retrains(v: TrialVariance | None) -> str:
    """The best trial's reruns, as the goal's evidence shows them (empty when it was not retrained)."""
    if v is None:
        return ""
    unstable = f", {v.unstable} more diverged or failed" if v.unstable else ""
    if measured(v) is None:
        return f"; retrains: none completed{unstable}"
    spread = f" ± {num(v.std)}" if v.std is not None else ""
    return f"; retrains {num(v.mean)}{spread}, n={v.n}{unstable}"


def goal_finding(answer: GoalAnswer, metric: str, mode: str, studies: int, top_k: int = 3) -> Finding:
    """The goal's answer, always present: the best objective per scientific value, the gap between
    the first two, and the caveat when the gap is within the noise."""
    word = "lowest" if mode == "min" else "highest"
    per_value = "; ".join(
        f"{b.study}: {num(b.best_value)} (trial #{b.best_trial}, step {b.best_step}{_retrains(b.retrain)})"
        for b in answer.ranking
    )
    if answer.missing:
        per_value += f"; no completed trial yet: {', '.join(answer.missing)}"
    data = {
        "ranking": [
            {
                "study": b.study,
                "scientific": b.scientific,
                "best": b.best_value,
                "trial": b.best_trial,
                "spread": b.spread,
                "retrain_mean": b.retrain.mean if b.retrain else None,
                "retrain_std": b.retrain.std if b.retrain else None,
                "retrain_n": b.retrain.n if b.retrain else 0,
                "retrain_ci": [b.retrain.ci_low, b.retrain.ci_high]
                if b.retrain and b.retrain.std is not None
                else None,
                "retrain_unstable": b.retrain.unstable if b.retrain else 0,
            }
            for b in answer.ranking
        ],
        "gap": answer.gap,
        "noise": answer.noise,
        "noise_source": answer.noise_source,
        "p_value": answer.p_value,
        "decisive": answer.decisive,
    }
    if not answer.ranking:
        return Finding(
            "goal",
            WARNING,
            "No completed trial yet: the goal cannot be answered",
            "nothing to compare.",
            "run the experiment (`scitune run`) and look at failed trials' reasons.",
            data=data,
        )
    first = answer.ranking[0]
    if studies == 1 or len(answer.ranking) == 1:
        return Finding(
            "goal",
            INFO,
            f"Best {metric}: {num(first.best_value)} ({first.study}, trial #{first.best_trial})",
            per_value + (f"; the top trials lie within {num(first.spread)}" if first.spread is not None else "") + ".",
            "with a single scientific value there is nothing to compare: this is plain tuning. Retrain the best "
            "trial with several seeds to measure its variance before adopting it.",
            data=data,
        )
    second = answer.ranking[1]
    c = answer.comparison  # compare's own verdict (analysis.compare.compare_readings): the same words as `scitune compare`
    lead, other = (c.candidate.mean, c.baseline.mean) if c is not None else (first.best_value, second.best_value)
    read = "" if c is None or c.reading == "best" else " (smoothed reading)"
    gap = f"gap {num(answer.gap)} to {second.study}"
    if answer.noise_source == "retrain":
        basis = f"retrain sd up to {num(answer.noise)}" + (
            f", Welch's t-test one-sided {p_text(answer.p_value)}" if answer.p_value is not None else ""
        )
    elif answer.noise is not None:
        basis = f"spread between each study's best and its {ordinal(top_k)} best trial up to {num(answer.noise)}"
    else:
        basis = "no spread measured"
    evidence = f"{per_value}. {gap}; {basis}."
    if c is not None:
        evidence += " " + " ".join([compare_verdict_line(c) + "."] + [f"Note: {n}." for n in (c.reading_note, c.assumption) if n])
    data.update(verdict=None if c is None else c.verdict, reading=None if c is None else c.reading)
    for b in (first, second):  # study variance (searched again with other seeds) beside trial variance
        sv = answer.study_variance.get(b.study)
        if sv is not None and sv.std is not None:
            trial_sd = measured(b.retrain).std if measured(b.retrain) is not None else None
            evidence += (f" Study variance: {b.study}'s best moves by sd {num(sv.std)} over {sv.n} search seeds"
                         + (f" (trial sd {num(trial_sd)}: {'study' if sv.std > trial_sd else 'trial'} variance "
                            "dominates)." if trial_sd is not None else "."))
            data.setdefault("study_variance", {})[b.study] = {"bests": list(sv.bests), "std": sv.std}
    retrained = answer.noise_source == "retrain"
    if answer.decisive:
        title = f"{first.study} gives the {word} {metric}{read}: {num(lead)} vs {num(other)}"
        suggestion = "the lead survives retrain variance; adopt it if the gain is worth its added complexity."
        severity = INFO
    elif c is not None and c.verdict == "worse":
        title = (f"Not settled: the search put {first.study} ahead on {metric}{read}, but its reruns are worse than "
                 f"{second.study}'s beyond the noise ({num(lead)} vs {num(other)})")
        suggestion = ("the search's order was luck: compare the two with `scitune compare` and add retrains before "
                      "concluding.")
        severity = WARNING
    elif not answer.gap:
        title = f"Not settled: {first.study} and {second.study} tie on {metric}{read} ({num(lead)})"
        suggestion = ("retrain the best trial of each value with several seeds before concluding anything."
                      if not retrained else "the retrains agree exactly: the difference, if any, is below what they resolve.")
        severity = WARNING
    elif not retrained and answer.noise is not None and answer.gap > answer.noise:
        title = (f"{first.study} leads on {metric}{read}: {num(lead)} vs {num(other)} (not yet retrained, so not "
                 "yet settled)")
        suggestion = ("the lead is larger than the spread seen between near-best trials, but a study's best trial "
                      "was picked for its luck: retrain each value's best trial with several seeds and check the lead "
                      "survives retrain variance before adopting it.")
        severity = INFO
    else:
        title = (f"Not settled: {first.study} is ahead of {second.study} on {metric}{read} by {num(answer.gap)} "
                 f"({num(lead)} vs {num(other)}), but by less than the noise")
        suggestion = (
            "the gap is smaller than the spread seen between near-best trials, or a side has no reruns of its own: "
            "retrain the best trial of each value with several seeds (or add trials) before concluding anything."
            if not retrained
            else "the retrains overlap: the difference may be seed noise. Add retrains or trials before concluding."
        )
        severity = WARNING
    return Finding("goal", severity, title, evidence, suggestion, data=data)
