"""The experiment as a validated model: its goal, roles, budget, search and report settings.

Each rule of the experiment file is a validator here, so an :class:`Experiment` that exists is a
valid one; :mod:`scitune.config.loading` reads the YAML and turns a broken rule into one
:class:`~scitune.errors.ConfigError` naming the file, the line and the key path.
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
import string
from functools import cached_property
from typing import Any, Literal, Mapping

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from scitune.config.presets import expand_preset
from scitune.config.study import StudySpec
from scitune.errors import SpaceError
from scitune.space import (
    ChoiceParam,
    Condition,
    Parameter,
    RangeParam,
    Scalar,
    SearchSpace,
    inferred_domain,
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class KeyedError(Exception):
    """A rule that spans several keys, raised with the key path it should be reported at.
    (Not a ValueError, so pydantic lets it through instead of filing it under the model root.)"""

    def __init__(self, loc: tuple, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.loc, self.message, self.line = loc, message, line


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objective(_Strict):
    """The metric that ranks trials, read at each trial's best evaluation step."""

    metric: str = Field(min_length=1)
    mode: Literal["min", "max"] = "min"

    def better(self, a: float, b: float) -> bool:
        """Whether objective value ``a`` beats ``b``."""
        return a < b if self.mode == "min" else a > b


# Limits (docs/reliability.md): a study of more trials than this is a typo, not a plan, and a run
# writes its whole plan in one transaction; steps must fit the store's integers (PostgreSQL's are 32-bit).
MAX_TRIALS_PER_STUDY = 10_000
MAX_STUDIES = 1_000
MAX_PLANNED_TRIALS = 100_000  # studies x trials_per_study
MAX_STEPS = 2**31 - 1
MAX_GOAL_CHARS = 10_000


class Budget(_Strict):
    trials_per_study: int = Field(ge=1, le=MAX_TRIALS_PER_STUDY)
    max_train_steps: int = Field(ge=1, le=MAX_STEPS)
    eval_every: int = Field(ge=1, le=MAX_STEPS)
    trial_timeout: float | None = Field(default=None, gt=0)  # seconds; command-mode trials
    # Stop a run whose first this-many trials all failed (None: analysis.failures.FAIL_FAST_DEFAULT; 0: never).
    fail_fast: int | None = Field(default=None, ge=0)


class Checkpoints(_Strict):
    """Retrospective checkpoint selection: keep the ``keep_best`` checkpoints with the best
    objective at their step, plus the latest one (to resume from); delete the rest."""

    keep_best: int = Field(default=3, ge=1)


class Resources(_Strict):
    """What one trial needs: Ray schedules by both (``--executor ray``); the local runner gives
    each running trial ``gpus`` whole devices of its own (scitune.run.devices) and ignores ``cpus``."""

    cpus: float = Field(default=1.0, gt=0)
    gpus: float = Field(default=0.0, ge=0)


# Placeholders a command may use besides hyperparameter names.
COMMAND_FIELDS = ("trial_dir", "metrics_file", "seed", "max_train_steps", "eval_every", "study", "trial")


class Search(_Strict):
    """How a study picks its points. ``quasi_random`` (exploration) takes only ``seed``; the rest
    belong to ``bayesian`` (after exploration; docs/bayes.md), whose defaults live in
    scitune.search.proposer.Settings. They default to None here so that files without them keep
    their stored definition."""

    algorithm: Literal["quasi_random", "bayesian"] = "quasi_random"
    seed: int = Field(default=0, ge=0)
    sampler: Literal["gp", "tpe"] | None = None  # Optuna's GPSampler (default) or TPESampler
    warm_start: str | None = None  # EXPERIMENT or EXPERIMENT/STUDY: learn from that exploration's trials
    startup_trials: int | None = Field(default=None, ge=0)  # quasi-random points before the sampler; default 10
    infeasible_sigma: float | None = Field(default=None, ge=0)  # outlier rule, robust sigmas; default 6, 0 = off

    @field_validator("warm_start")
    @classmethod
    def _warm_start_names(cls, value: str | None) -> str | None:
        if value is not None and not re.match(NAME_PATTERN, value.partition("/")[0]):
            raise ValueError(f"{value!r} is not EXPERIMENT or EXPERIMENT/STUDY (an experiment's name, then its study)")
        return value

    @model_validator(mode="after")
    def _bayesian_only(self) -> "Search":
        if self.algorithm != "bayesian":
            for key in ("sampler", "warm_start", "startup_trials", "infeasible_sigma"):
                if getattr(self, key) is not None:
                    raise KeyedError(("search", key), f"only for algorithm: bayesian (this search is {self.algorithm})")
        return self


class ReportSettings(_Strict):
    """Thresholds of ``scitune report``'s findings (the ``report:`` section; docs/report.md explains
    each). Where the playbook gives a number it is the default; the rest are ours."""

    top_k: int = Field(default=3, ge=1)  # a study's best trials that the checks and curve plots look at
    edge_fraction: float = Field(default=0.1, gt=0, lt=0.5)  # "near an edge": outer share of a range, own scale
    widen_by: float = Field(default=0.5, gt=0)  # suggested widening, a share of the range's width (own scale)
    infeasible_fraction: float = Field(default=0.2, ge=0, lt=1)  # more infeasible/failed than this: flagged
    near_best: float = Field(default=0.35, gt=0, le=1)  # near-best band: this share of the best-to-median gap
    min_near_best: int = Field(default=3, ge=1)  # fewer completed trials in that band: too few points
    overfit_rise: float = Field(default=0.1, gt=0)  # validation objective ends this share of its improvement worse
    noise: float = Field(default=0.05, gt=0)  # step-to-step sd, a share of the improvement (or level)
    late_fraction: float = Field(default=0.25, gt=0, lt=1)  # playbook: best step in the last 25% -> train longer
    min_late_gain: float = Field(default=0.02, ge=0)  # ... while still gaining this share of the improvement
    early_fraction: float = Field(default=0.1, gt=0, lt=1)  # playbook: best step in the first 10% -> too many steps
    noise_margin: float = Field(default=3.0, ge=0)  # an effect within this many noise floors is noise (analysis/noise.py)
    border_decades: float = Field(default=0.5, gt=0)  # "at the border of divergence": at most this far on a log scale


# The design review's rules (scitune.analysis.design_review holds them; docs/check.md explains
# each). Named here so that the file's ``check: {ignore: [...]}`` is validated when it is read.
DESIGN_RULES = (
    "step_budget_nuisance",
    "batch_size_nuisance",
    "learning_rate_linear",
    "optimizer_not_nuisance",
    "space_too_large",
    "never_active",
)


class CheckSettings(_Strict):
    """The ``check:`` section: design-review rules this experiment silences (``scitune check``)."""

    ignore: list[str] = Field(default_factory=list)

    @field_validator("ignore")
    @classmethod
    def _known_rules(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in DESIGN_RULES:
                close = difflib.get_close_matches(name, DESIGN_RULES, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise ValueError(f"'{name}' is not a design-review rule; {hint}the rules: {', '.join(DESIGN_RULES)}")
        return names


class ParamSpec(_Strict):
    """One nuisance parameter as written: a range ``{low, high, scale, type}``, or a list of values
    (bare, or as ``{values: [...]}`` when it needs a ``when``)."""

    low: float | None = None
    high: float | None = None
    scale: Literal["linear", "log"] | None = None
    type: Literal["float", "int"] | None = None
    values: list[Scalar] | None = None
    when: dict[str, Scalar | list[Scalar]] | None = None
    domain: tuple[float | None, float | None] | None = None  # the values it can take at all: [0, 1], [0, null]

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, raw: Any) -> Any:
        return {"values": raw} if isinstance(raw, list) else raw

    @model_validator(mode="after")
    def _consistent(self) -> "ParamSpec":
        if self.values is not None:
            extra = [k for k in ("low", "high", "scale", "type", "domain") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"give either a list of values or a range, not both (found {', '.join(extra)})")
        else:
            missing = [k for k in ("low", "high") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a range needs {' and '.join(missing)} (or give a list of values)")
        return self

    def build(self, name: str) -> Parameter:
        when = Condition.parse(self.when)
        if self.values is not None:
            return ChoiceParam(name, tuple(self.values), when)
        assert self.low is not None and self.high is not None
        scale = self.scale or "linear"
        domain = self.domain if self.domain is not None else inferred_domain(name, self.low, self.high, scale)
        return RangeParam(name, self.low, self.high, scale, self.type == "int", when, domain)


class Hyperparameters(_Strict):
    scientific: dict[str, list[Scalar] | Scalar] = Field(default_factory=dict)
    nuisance: dict[str, ParamSpec] = Field(default_factory=dict)
    fixed: dict[str, Any] = Field(default_factory=dict)

    @field_validator("scientific", "nuisance", "fixed", mode="before")
    @classmethod
    def _empty_section(cls, raw: Any) -> Any:
        return {} if raw is None else raw

    @field_validator("scientific")
    @classmethod
    def _scientific_values(cls, raw: dict[str, Any]) -> dict[str, list[Scalar]]:
        out = {}
        for name, values in raw.items():
            values = values if isinstance(values, list) else [values]
            try:
                ChoiceParam(name, tuple(values))  # same rules as a choice: non-empty, no repeats
            except ValueError as err:
                raise KeyedError(("hyperparameters", "scientific", name), str(err)) from None
            out[name] = values
        return out


class Experiment(_Strict):
    """A validated experiment: one round with one goal, its roles, budget and search."""

    experiment: str = Field(pattern=NAME_PATTERN, max_length=200)
    goal: str = Field(max_length=MAX_GOAL_CHARS)
    train: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    command: list[str] | None = Field(default=None, min_length=1)
    # module:function(hparams, checkpoint_path) -> {metric: value}: the final test-set check (docs/bayes.md)
    test: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    objective: Objective
    budget: Budget
    search: Search = Field(default_factory=Search)
    checkpoints: Checkpoints = Field(default_factory=Checkpoints)
    resources: Resources = Field(default_factory=Resources)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    # None (not a default object) keeps the stored definition of files without a report section
    # unchanged, so adding this section to scitune did not change existing experiments.
    report: ReportSettings | None = None
    check: CheckSettings | None = None  # None, as for report: files without it keep their stored definition

    @model_validator(mode="before")
    @classmethod
    def _expand_presets(cls, raw: Any) -> Any:
        """``adam: {preset: auto}`` among the nuisance hyperparameters stands for the Adam
        hyperparameters the playbook tunes at this trial budget (scitune.config.presets). A name
        written out anywhere in the file wins over the preset's entry of that name."""
        hp = raw.get("hyperparameters") if isinstance(raw, dict) else None
        nuisance = hp.get("nuisance") if isinstance(hp, dict) else None
        spec = nuisance.get("adam") if isinstance(nuisance, dict) else None
        if not (isinstance(spec, dict) and "preset" in spec):
            return raw
        trials = (raw.get("budget") or {}).get("trials_per_study") if isinstance(raw.get("budget"), dict) else None
        try:  # a bad budget is reported by its own rule; size the preset for one trial meanwhile
            expanded = expand_preset(spec, trials if isinstance(trials, int) and trials >= 1 else 1)
        except ValueError as err:
            raise KeyedError(("hyperparameters", "nuisance", "adam"), str(err)) from None
        written = {*nuisance, *(hp.get("scientific") or {}), *(hp.get("fixed") or {})}
        entries: dict[str, Any] = {}
        for name, value in nuisance.items():
            if name == "adam":
                entries.update({k: v for k, v in expanded.items() if k not in written})
            else:
                entries[name] = value
        return {**raw, "hyperparameters": {**hp, "nuisance": entries}}

    @field_validator("command")
    @classmethod
    def _command_placeholders(cls, command: list[str] | None) -> list[str] | None:
        for i, part in enumerate(command or []):
            try:
                list(string.Formatter().parse(part))
            except ValueError as err:
                raise ValueError(f"element {i} ({part!r}): {err}; write {{{{ and }}}} for literal braces") from None
        return command

    @field_validator("goal")
    @classmethod
    def _goal_said(cls, goal: str) -> str:
        if not goal.strip():
            raise ValueError("the goal must say what the experiment asks; it is empty")
        return goal.strip()

    @model_validator(mode="after")
    def _roles(self) -> "Experiment":
        if (self.train is None) == (self.command is None):
            raise KeyedError(
                ("train",) if self.train else (),
                "say how a trial trains with exactly one of train (module:function) or command (an argv list)",
            )
        hp = self.hyperparameters
        roles = {"scientific": hp.scientific, "nuisance": hp.nuisance, "fixed": hp.fixed}
        for (a, first), (b, second) in itertools.combinations(roles.items(), 2):
            both = sorted(set(first) & set(second))
            if both:
                raise KeyedError(
                    ("hyperparameters", b, both[0]), f"'{both[0]}' is already {a}: a hyperparameter has one role"
                )
        params: list[Parameter] = []
        for name, spec in hp.nuisance.items():
            try:
                params.append(spec.build(name))
            except ValueError as err:
                raise KeyedError(("hyperparameters", "nuisance", name), str(err)) from None
        try:
            space = SearchSpace.build(params, context=[*hp.scientific, *hp.fixed])
        except SpaceError as err:
            raise KeyedError(("hyperparameters", "nuisance", err.param or "", "when"), err.message) from None
        # A condition value that its parent can never take is a typo that would silently drop
        # the parameter from every trial.
        choices: dict[str, list[Any]] = {**hp.scientific}  # type: ignore[dict-item]
        choices.update({p.name: list(p.values) for p in space.params if isinstance(p, ChoiceParam)})
        for param in space.params:
            for parent, allowed in param.when.requires.items():
                impossible = [v for v in allowed if parent in choices and v not in choices[parent]]
                where = ("hyperparameters", "nuisance", param.name, "when", parent)
                if impossible:
                    raise KeyedError(where, f"{impossible[0]!r} is not one of {parent}'s values {choices[parent]}")
                if parent in hp.fixed and hp.fixed[parent] not in allowed:
                    raise KeyedError(
                        where,
                        f"never holds: {parent} is fixed at {hp.fixed[parent]!r}, so '{param.name}' would be "
                        "absent from every trial",
                    )
        self._check_studies()
        self._check_command(space)
        return self

    def _check_studies(self) -> None:
        """As many studies as the limits allow, each with a name (and a folder) of its own."""
        scientific = self.hyperparameters.scientific
        count = 1
        for values in scientific.values():
            count *= len(values) if isinstance(values, list) else 1
        if count > MAX_STUDIES:
            raise KeyedError(("hyperparameters", "scientific"),
                             f"{count:,} combinations of scientific values; at most {MAX_STUDIES:,} studies")
        if count * self.budget.trials_per_study > MAX_PLANNED_TRIALS:
            raise KeyedError(("budget", "trials_per_study"),
                             f"{count:,} studies x {self.budget.trials_per_study:,} trials is more than "
                             f"{MAX_PLANNED_TRIALS:,} trials in one experiment")
        seen: dict[str, dict[str, Any]] = {}
        for study in self.studies():
            folder = folder_name(study.name)
            if folder in seen:
                differs = [k for k in study.scientific if repr(study.scientific[k]) != repr(seen[folder].get(k))]
                name = (differs or list(study.scientific))[0]
                raise KeyedError(
                    ("hyperparameters", "scientific", name),
                    f"values {seen[folder][name]!r} and {study.scientific[name]!r} give the same study name "
                    f"'{folder}'; make the values distinct as text (no ',', '=' or '/' tricks)",
                )
            seen[folder] = study.scientific

    def _check_command(self, space: SearchSpace) -> None:
        """Every placeholder must be filled for every trial: a known name, never a conditional one,
        and its format spec must format the values it will hold."""
        hp = self.hyperparameters
        always = {*hp.scientific, *hp.fixed, *(p.name for p in space.params if not p.when), *COMMAND_FIELDS}
        samples: dict[str, list[Any]] = {name: list(values) for name, values in hp.scientific.items()}
        samples.update({name: [value] for name, value in hp.fixed.items()})
        for param in space.params:
            samples[param.name] = list(param.values) if isinstance(param, ChoiceParam) else [param.low, param.high]
        samples.update(trial_dir=["/trial"], metrics_file=["/trial/metrics-1.jsonl"], study=["default"], seed=[0],
                       max_train_steps=[self.budget.max_train_steps], eval_every=[self.budget.eval_every], trial=[0])
        for i, part in enumerate(self.command or []):
            for _, field_name, spec, conversion in string.Formatter().parse(part):
                if field_name is None:
                    continue
                if field_name in always:
                    if spec or conversion:
                        self._check_format(i, field_name, spec, conversion, samples.get(field_name, []))
                    continue
                why = (
                    "is conditional, so some trials lack it (read it from $SCITUNE_HPARAMS instead)"
                    if field_name in hp.nuisance
                    else f"is not a hyperparameter or one of {', '.join(COMMAND_FIELDS)}"
                )
                raise KeyedError(("command", i), f"placeholder {{{field_name}}} {why}")

    @staticmethod
    def _check_format(i: int, name: str, spec: str, conversion: str | None, values: list[Any]) -> None:
        template = "{0" + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        for value in values:
            try:
                template.format(value)
            except (ValueError, TypeError) as err:
                raise KeyedError(("command", i), f"placeholder {{{name}{template[2:-1]}}} cannot format {value!r}: {err}")

    # -- derived views -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.experiment

    @cached_property
    def space(self) -> SearchSpace:
        """The nuisance search space, shared by every study."""
        hp = self.hyperparameters
        params = [spec.build(name) for name, spec in hp.nuisance.items()]
        return SearchSpace.build(params, context=[*hp.scientific, *hp.fixed])

    @property
    def report_settings(self) -> ReportSettings:
        """The report's thresholds: the file's ``report:`` section, or the documented defaults."""
        return self.report or ReportSettings()

    @property
    def check_settings(self) -> CheckSettings:
        """The design review's settings: the file's ``check:`` section, or none silenced."""
        return self.check or CheckSettings()

    @property
    def scientific(self) -> dict[str, list[Scalar]]:
        return dict(self.hyperparameters.scientific)  # type: ignore[arg-type]

    @property
    def fixed(self) -> dict[str, Any]:
        return dict(self.hyperparameters.fixed)

    def studies(self) -> list[StudySpec]:
        """One study per combination of scientific values (their Cartesian product), in file order.
        With no scientific hyperparameter there is one study: plain tuning."""
        names = list(self.scientific)
        combos = [dict(zip(names, combo)) for combo in itertools.product(*self.scientific.values())]
        return [StudySpec(study_name(values), values) for values in combos]

    def canonical(self) -> dict[str, Any]:
        """The definition as plain data, for storing and for telling whether a file changed."""
        return self.model_dump(mode="json", exclude_none=True)


def folder_name(name: str) -> str:
    """A study's (or experiment's) name as one folder name: path separators made harmless."""
    return name.replace(os.sep, "_").replace("/", "_") or "_"


def study_name(scientific: Mapping[str, Scalar]) -> str:
    """A study's name from its scientific values: ``width=64,depth=2``; ``default`` with none."""
    if not scientific:
        return "default"
    return ",".join(f"{k}={v}" for k, v in scientific.items())
