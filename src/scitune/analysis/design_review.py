"""The design review: the playbook's rules for designing an experiment, checked before any compute.

Playbook ("Designing the next round of experiments"): before a round runs, decide which
hyperparameters are scientific, nuisance and fixed, and size the nuisance space to the budget.
Each rule below reads only the experiment (no store, no trials) and cites the playbook section it
comes from; ``scitune check FILE`` shows them and ``scitune run`` shows them as it starts.

============================  ========  ==============================================================
rule                          severity  what it catches
============================  ========  ==============================================================
``step_budget_nuisance``      refuse    the step budget (max_train_steps, epochs, ...) tuned as nuisance
``batch_size_nuisance``       warning   the batch size tuned as nuisance (choose it for throughput)
``learning_rate_linear``      warning   a learning rate on a linear scale spanning more than a decade
``optimizer_not_nuisance``    note      optimizer hyperparameters fixed or scientific
``space_too_large``           warning   more nuisance dimensions (or values) than the trial budget covers
                                        (a note when the budget is short by less than half)
``never_active``              warning   a conditional hyperparameter whose condition can never hold
============================  ========  ==============================================================

A refusal stops ``scitune run``; any rule is silenced for one experiment by naming it in the
file's ``check: {ignore: [RULE, ...]}``. How many trials a nuisance space needs follows the
playbook's Adam budget rule (FAQs, scitune.config.presets.ADAM_THRESHOLDS): a second dimension
from 10 trials per study, a third from 25, a fourth from 50; beyond that we double per dimension.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scitune.config import DESIGN_RULES, Experiment
from scitune.config.presets import ADAM_THRESHOLDS
from scitune.space import LEARNING_RATE_NAMES, ChoiceParam, RangeParam, Scalar

REFUSE, WARNING, NOTE = "refuse", "warning", "note"
SEVERITY_ORDER = {REFUSE: 0, WARNING: 1, NOTE: 2}

SECTIONS = {
    "step_budget_nuisance": "Deciding how long to train when training is not compute-bound",
    "batch_size_nuisance": "Choosing the batch size",
    "learning_rate_linear": "Designing the next round of experiments",
    "optimizer_not_nuisance": "Identifying scientific, nuisance, and fixed hyperparameters",
    "space_too_large": "Striking a balance between informative and affordable experiments",
    "never_active": "Identifying scientific, nuisance, and fixed hyperparameters",
}
assert tuple(SECTIONS) == DESIGN_RULES  # the config names exactly the rules held here

STEP_BUDGET_NAMES = ("max_train_steps", "train_steps", "num_train_steps", "training_steps", "num_steps",
                     "total_steps", "steps", "max_steps", "epochs", "num_epochs", "max_epochs", "train_epochs")
BATCH_SIZE_NAMES = ("batch_size", "batch", "bs", "train_batch_size", "global_batch_size",
                    "per_device_train_batch_size")
OPTIMIZER_NAMES = ("momentum", "beta1", "beta2", "one_minus_beta1", "one_minus_beta2", "one_minus_momentum",
                   "epsilon", "eps", "adam_epsilon", "adam_beta1", "adam_beta2", "nesterov_momentum")
TRIALS_PER_VALUE = 3  # a listed value a study samples fewer times than this is barely seen
MAX_ASSIGNMENTS = 20_000  # joint values tried when deciding whether a condition can hold


@dataclass(frozen=True)
class DesignIssue:
    """One thing the design review found: what, the numbers behind it, what to do, and where the
    playbook says so."""

    rule: str  # one of DESIGN_RULES
    severity: str  # "refuse" (run stops), "warning" or "note"
    title: str
    evidence: str
    suggestion: str
    section: str  # the playbook section the rule comes from
    params: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def silence(self) -> str:
        return f"check: {{ignore: [{self.rule}]}}"


@dataclass(frozen=True)
class DesignReview:
    """Every rule's result for one experiment, refusals first; ``ignored`` lists the issues the
    file's ``check:`` section silenced."""

    experiment: str
    issues: list[DesignIssue]
    ignored: list[DesignIssue]

    @property
    def refusals(self) -> list[DesignIssue]:
        return [i for i in self.issues if i.severity == REFUSE]

    @property
    def warnings(self) -> list[DesignIssue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def notes(self) -> list[DesignIssue]:
        return [i for i in self.issues if i.severity == NOTE]


def is_learning_rate(name: str) -> bool:
    return name in LEARNING_RATE_NAMES or name.endswith("learning_rate")


def _issue(rule: str, severity: str, title: str, evidence: str, suggestion: str,
           params: tuple[str, ...] = (), **data: Any) -> DesignIssue:
    return DesignIssue(rule, severity, title, evidence, suggestion, SECTIONS[rule], params, data)


def step_budget_nuisance(experiment: Experiment) -> list[DesignIssue]:
    """The step budget is one value for every trial of a study, never a tuned hyperparameter."""
    names = [n for n in experiment.hyperparameters.nuisance if n.lower() in STEP_BUDGET_NAMES]
    if not names:
        return []
    return [_issue(
        "step_budget_nuisance", REFUSE,
        f"the step budget ({', '.join(names)}) is a nuisance hyperparameter",
        f"{', '.join(names)} varies between the trials of each study, so longer trials win by training longer, "
        "not by better hyperparameters, and retrospective checkpoint selection already picks each trial's best step.",
        f"hold one step budget for all trials (budget.max_train_steps, {experiment.budget.max_train_steps} here) and "
        "choose it with `scitune steps sweep`; to study the budget itself, make it scientific (one study per value).",
        tuple(names),
    )]


def batch_size_nuisance(experiment: Experiment) -> list[DesignIssue]:
    """The batch size sets training speed; it is not tuned for validation performance."""
    names = [n for n in experiment.hyperparameters.nuisance if n.lower() in BATCH_SIZE_NAMES]
    if not names:
        return []
    return [_issue(
        "batch_size_nuisance", WARNING,
        f"the batch size ({', '.join(names)}) is a nuisance hyperparameter",
        "with the other hyperparameters well tuned and enough steps, any batch size reaches the same validation "
        "performance; tuning it spends trials on a speed setting.",
        "choose the batch size for throughput with `scitune batch-size throughput` (and `batch-size scaling`), "
        "then fix it; retune the learning rate and regularization after any change of batch size.",
        tuple(names),
    )]


def learning_rate_linear(experiment: Experiment) -> list[DesignIssue]:
    """A learning rate over more than a decade on a linear scale puts almost every trial in its top
    decade: 90% of a linear [1e-4, 1e-1] lies above 1e-2."""
    issues = []
    for param in experiment.space.params:
        if not (is_learning_rate(param.name) and isinstance(param, RangeParam) and param.scale == "linear"):
            continue
        if param.low > 0 and param.high / param.low <= 10:
            continue
        top = param.high / 10
        share = (param.high - max(top, param.low)) / (param.high - param.low)
        decades = f"{math.log10(param.high / param.low):.1f} decades" if param.low > 0 else "down to 0"
        low = param.low if param.low > 0 else param.high / 1000
        issues.append(_issue(
            "learning_rate_linear", WARNING,
            f"{param.name} is on a linear scale over {decades}",
            f"[{param.low:g}, {param.high:g}] sampled linearly puts {share:.0%} of the trials above {top:g}, "
            "so the small learning rates are barely tried.",
            f"write {param.name}: {{low: {low:g}, high: {param.high:g}, scale: log}}.",
            (param.name,), low=param.low, high=param.high, share_top_decade=share,
        ))
    return issues


def optimizer_not_nuisance(experiment: Experiment) -> list[DesignIssue]:
    """Optimizer hyperparameters are nuisance as a rule: fixed, they limit what the conclusions
    cover; scientific, the experiment asks about the optimizer itself."""
    hp = experiment.hyperparameters
    wanted = lambda n: is_learning_rate(n) or n.lower() in OPTIMIZER_NAMES
    issues = []
    fixed = {n: v for n, v in hp.fixed.items() if wanted(n)}
    if fixed:
        shown = ", ".join(f"{n}={v}" for n, v in fixed.items())
        trials = experiment.budget.trials_per_study
        budget_says = [n for n in fixed if trials < ADAM_THRESHOLDS.get(n, 0)]
        aside = (f" At {trials} trials per study the Adam budget rule also leaves {', '.join(budget_says)} untuned."
                 if budget_says else "")
        issues.append(_issue(
            "optimizer_not_nuisance", NOTE, f"optimizer hyperparameters held fixed: {shown}",
            "the comparison's conclusions hold only at these values: a scientific value that would win with another "
            "learning rate or momentum can lose here." + aside,
            "make them nuisance where the trial budget allows (`scitune adam-preset` says which Adam ones to tune at "
            f"{experiment.budget.trials_per_study} trials per study), or keep the caveat in mind.",
            tuple(fixed), fixed=fixed,
        ))
    scientific = [n for n in hp.scientific if wanted(n)]
    if scientific:
        issues.append(_issue(
            "optimizer_not_nuisance", NOTE, f"optimizer hyperparameters are scientific: {', '.join(scientific)}",
            "each study holds them at one value and tunes only the rest, so the answer is about these values, not "
            "about the other scientific hyperparameters at their best optimizer settings.",
            "fine when the goal asks about the optimizer itself; otherwise make them nuisance.",
            tuple(scientific),
        ))
    return issues


def trials_needed(dimensions: int) -> int:
    """Trials per study for a nuisance space of ``dimensions``: the Adam budget rule's thresholds
    (1 dimension from 1 trial, then 10, 25, 50), doubling for each dimension past the fourth."""
    needed = [1, *sorted(ADAM_THRESHOLDS.values())]
    if dimensions <= len(needed):
        return needed[max(dimensions, 1) - 1]
    return needed[-1] * 2 ** (dimensions - len(needed))


def space_too_large(experiment: Experiment) -> list[DesignIssue]:
    """More nuisance dimensions than the trials of a study can cover, or a listed value that too
    few trials would try. A warning below half the trials wanted, a note between half and all."""
    trials, space = experiment.budget.trials_per_study, experiment.space
    issues = []
    d = space.dimensions
    need = trials_needed(d)
    if d > 1 and trials < need:
        fits = max(k for k in range(1, d + 1) if trials_needed(k) <= trials)
        issues.append(_issue(
            "space_too_large", WARNING if 2 * trials < need else NOTE,
            f"{d} nuisance hyperparameters for {trials} trials per study",
            f"{'an' if d in (8, 11, 18) else 'a'} {d}-dimensional nuisance space wants about {need} trials per study "
            "(the Adam budget rule opens a 2nd "
            f"dimension at 10, a 3rd at 25, a 4th at 50; doubling after); {trials} trials cover about {fits}.",
            f"raise budget.trials_per_study to {need}, or fix the {d - fits} least important nuisance "
            f"hyperparameter{'s' if d - fits > 1 else ''} at a sensible value.",
            tuple(space.names), dimensions=d, trials=trials, needed=need, fits=fits,
        ))
    for param in space.params:
        if isinstance(param, ChoiceParam) and trials < TRIALS_PER_VALUE * len(param.values):
            k = len(param.values)
            issues.append(_issue(
                "space_too_large", WARNING, f"{param.name}: {k} values for {trials} trials per study",
                f"each value is tried about {trials / k:.1f} times per study, fewer than {TRIALS_PER_VALUE}.",
                f"raise budget.trials_per_study to {TRIALS_PER_VALUE * k}, or list fewer values of {param.name}.",
                (param.name,), values=k, trials=trials, needed=TRIALS_PER_VALUE * k,
            ))
    return issues


def _domains(experiment: Experiment) -> dict[str, tuple[str, Any]]:
    """What each hyperparameter can hold: ("values", tuple) for scientific, fixed and listed ones,
    ("range", RangeParam) for ranges."""
    hp = experiment.hyperparameters
    out: dict[str, tuple[str, Any]] = {n: ("values", tuple(v)) for n, v in experiment.scientific.items()}
    out.update({n: ("values", (v,)) for n, v in hp.fixed.items()})
    for p in experiment.space.params:
        out[p.name] = ("values", p.values) if isinstance(p, ChoiceParam) else ("range", p)
    return out


def _range_can_be(param: RangeParam, allowed: tuple[Scalar, ...]) -> bool:
    """Whether sampling ``param`` can give one of ``allowed``: an integer of an int range; never a
    float range's exact value (a continuous draw hits it with probability 0)."""
    if not param.integer:
        return False
    return any(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()
               and param.low <= v <= param.high for v in allowed)


def _active(experiment: Experiment, assignment: Mapping[str, Any], domains: dict[str, tuple[str, Any]]) -> set[str]:
    """The nuisance parameters present under one joint assignment of the listed values."""
    present = set(experiment.space.names)
    always = set(experiment.scientific) | set(experiment.hyperparameters.fixed)
    changed = True
    while changed:
        changed = False
        for param in experiment.space.params:
            if param.name not in present:
                continue
            for parent, allowed in param.when.requires.items():
                if parent not in always and parent not in present:
                    ok = False
                elif domains[parent][0] == "range":
                    ok = _range_can_be(domains[parent][1], allowed)
                else:
                    ok = assignment[parent] in allowed
                if not ok:
                    present.discard(param.name)
                    changed = True
                    break
    return present


def never_active(experiment: Experiment) -> list[DesignIssue]:
    """Conditional hyperparameters no trial can have: every joint assignment of the listed values
    their conditions name (up to MAX_ASSIGNMENTS of them) leaves them out. Ranges as parents hold
    only their own integers; a float range never holds an exact value."""
    conditional = [p for p in experiment.space.params if p.when]
    if not conditional:
        return []
    domains = _domains(experiment)
    parents = sorted({n for p in conditional for n in p.when.requires if domains[n][0] == "values"})
    grid = [domains[n][1] for n in parents]
    ever: set[str] = set()
    for combo in itertools.islice(itertools.product(*grid), MAX_ASSIGNMENTS):
        ever |= _active(experiment, dict(zip(parents, combo)), domains)
    issues = []
    for param in conditional:
        if param.name in ever:
            continue
        why = []
        for parent, allowed in param.when.requires.items():
            kind, domain = domains[parent]
            if kind == "range":
                what = "a float range, sampled continuously" if not domain.integer else f"[{domain.low}, {domain.high}]"
                why.append(f"{parent} is {what}, never {list(allowed)}")
            elif parent in experiment.space.names and experiment.space[parent].when:
                why.append(f"{parent} is itself conditional ({experiment.space[parent].when.to_dict()})")
        evidence = "; ".join(why) or "its conditions contradict each other or their parents' conditions"
        issues.append(_issue(
            "never_active", WARNING, f"{param.name} can never be active: when {param.when.to_dict()}",
            f"no combination of values satisfies its condition ({evidence}), so no trial will ever have "
            f"{param.name}.",
            f"fix {param.name}'s `when:` (or its parents' values), or remove it.",
            (param.name,), when=param.when.to_dict(),
        ))
    return issues


RULES = (step_budget_nuisance, batch_size_nuisance, learning_rate_linear, optimizer_not_nuisance,
         space_too_large, never_active)


def design_review(experiment: Experiment, ignore: list[str] | tuple[str, ...] | None = None) -> DesignReview:
    """Run every rule on ``experiment``; ``ignore`` (default: the file's ``check.ignore``) names the
    rules whose issues are silenced (kept in ``ignored``, not in ``issues``)."""
    silenced = set(experiment.check_settings.ignore if ignore is None else ignore)
    found = [issue for rule in RULES for issue in rule(experiment)]
    found.sort(key=lambda i: (SEVERITY_ORDER[i.severity], DESIGN_RULES.index(i.rule)))
    return DesignReview(experiment.name, [i for i in found if i.rule not in silenced],
                        [i for i in found if i.rule in silenced])
