"""The training-protocol commands: steps, batch-size, warmup, stability, round2, adam-preset.

Each calls scitune.protocol and renders the result; docs/protocol.md says when to use which."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import pandas as pd
import typer
import yaml
from rich.markup import escape

from scitune.cli._app import StoreOption, app, err, out, render, trial_progress
from scitune.config import Experiment, load_experiment, parse_experiment
from scitune.errors import ConfigError, ScituneError
from scitune.protocol import adam, batch_size, clipping, instability, rounds, steps, sweeps, warmup
from scitune.run.local import LocalRunner
from scitune.run.program import PythonProgram, load_program
from scitune.store import Store

steps_app = typer.Typer(help="How long to train: max_train_steps from a learning-rate sweep; check a study's best steps.",
                        no_args_is_help=True)
batch_app = typer.Typer(help="Batch size: throughput at doubling batch sizes; steps to a result by batch size.",
                        no_args_is_help=True)
app.add_typer(steps_app, name="steps")
app.add_typer(batch_app, name="batch-size")

FileArg = Annotated[Path, typer.Argument(help="The experiment file to start from (YAML).", show_default=False)]
SetOption = Annotated[list[str], typer.Option("--set", help="Hold NAME at VALUE (repeatable), e.g. --set weight_decay=0.",
                                              show_default=False)]
WorkersOption = Annotated[int, typer.Option("--workers", "-w", min=1, help="Trials to train at once.")]
GridOption = Annotated[Optional[str], typer.Option("--grid", help="Learning rates, comma-separated (instead of a log grid).",
                                                   show_default=False)]
LrMin = Annotated[Optional[float], typer.Option("--lr-min", help="Lowest rate of the log grid (default: the file's range).",
                                                show_default=False)]
LrMax = Annotated[Optional[float], typer.Option("--lr-max", help="Highest rate of the log grid.", show_default=False)]
PointsOption = Annotated[Optional[int], typer.Option("--points", min=2, help="Points of the log grid (default: 2 per decade).",
                                                     show_default=False)]
LrName = Annotated[Optional[str], typer.Option("--lr-name", help="The learning-rate hyperparameter (default: found by name).",
                                               show_default=False)]
SaveOption = Annotated[Optional[Path], typer.Option("--save", help="Also write the generated experiment file here.",
                                                    show_default=False)]


def _overrides(items: list[str] | None) -> dict[str, Any]:
    values = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--set {item}: write NAME=VALUE, e.g. --set weight_decay=0")
        values[name.strip()] = yaml.safe_load(raw)
    return values


def _floats(text: str | None, flag: str) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text}: give numbers separated by commas") from None


def _grid(base: Experiment, lr: str, grid: str | None, low: float | None, high: float | None,
          points: int | None, stretch: float = 1.0) -> list[float]:
    known = sweeps.learning_rate_range(base, lr)
    if low is not None or high is not None:
        if known is None and (low is None or high is None):
            raise ConfigError("give both --lr-min and --lr-max: the file has no learning-rate range to fill in")
        known = (low if low is not None else known[0],  # type: ignore[index]
                 high if high is not None else known[1] * stretch)  # type: ignore[index]
    elif known is not None:
        known = (known[0], known[1] * stretch)
    if known and not 0 < known[0] < known[1]:
        raise ConfigError(f"--lr-min ({known[0]:g}) must be above 0 and below --lr-max ({known[1]:g})")
    return sweeps.grid_from(_floats(grid, "--grid"), known, points or (sweeps.decades(*known) if known else 2))


def _run(db: Store, text: str, base_file: Path, workers: int, save: Path | None) -> Experiment:
    """Run a generated experiment with a progress bar; exit 130 when interrupted."""
    if save is not None:
        save.write_text(text, encoding="utf-8")
    command = shlex.join(["scitune", *sys.argv[1:]])
    experiment, program, experiment_id = sweeps.prepare_derived(db, text, base_path=base_file, command=command,
                                                                saved_as=save)
    total = experiment.budget.trials_per_study * len(experiment.studies())
    out.print(f"[bold]{experiment.name}[/bold]: {experiment.goal}")
    with trial_progress("trials", total) as show:
        summary = LocalRunner(db, experiment, program, workers=workers, on_progress=show).run(experiment_id)
    if summary.interrupted:
        err.print("stopped; run the same command again to resume")
        raise typer.Exit(130)
    failed = db.trials(experiment.name).query("state == 'failed'")
    if not failed.empty:
        err.print(f"{len(failed)} trial(s) failed, e.g.: {failed['reason'].iloc[0]} (see: scitune trials {experiment.name})",
                  markup=False, highlight=False, soft_wrap=True)
    return experiment


def _read(db: Store, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = db.trials(name)
    return trials, db.metrics(trials["id"].tolist())


def _say(lines: list[str], style: str = "yellow") -> None:
    for line in lines:
        out.print(f"[{style}]- {escape(line)}[/{style}]", soft_wrap=True)


# -- steps -------------------------------------------------------------------------------------------


@steps_app.command("sweep")
def steps_sweep(
    file: FileArg,
    target: Annotated[float, typer.Option("--target", help="The training metric's value that counts as fitting, e.g. 0.")],
    metric: Annotated[str, typer.Option("--metric", help="A training metric the trainer reports.")] = "train_error",
    mode: Annotated[str, typer.Option("--mode", help="min: reach <= target; max: reach >= target.")] = "min",
    trial_steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Steps per trial (default: the file's max_train_steps).", show_default=False)] = None,
    eval_every: Annotated[Optional[int], typer.Option("--eval-every", min=1, help="Evaluation interval: the resolution of the answer.", show_default=False)] = None,
    grid: GridOption = None, lr_min: LrMin = None, lr_max: LrMax = None, points: PointsOption = None,
    lr_name: LrName = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Trials (seeds) per learning rate.")] = 1,
    set_: SetOption = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Experiment name (default FILE's name + -steps).", show_default=False)] = None,
    save: SaveOption = None, workers: WorkersOption = 1, store: StoreOption = None,
) -> None:
    """Recommend an initial max_train_steps: run a constant learning rate over a log grid and count
    the steps the fastest rate needs to reach --target on a training metric (playbook: how long to train)."""
    if mode not in ("min", "max"):
        raise ConfigError(f"--mode must be min or max, not {mode!r}")
    base, _ = load_experiment(file)
    lr = lr_name or sweeps.learning_rate_name(base)
    n = trial_steps or base.budget.max_train_steps
    text, notes = sweeps.steps_sweep(
        base, grid=_grid(base, lr, grid, lr_min, lr_max, points), trial_steps=n,
        eval_every=eval_every or base.budget.eval_every, metric=metric, target=target, mode=mode, seeds=seeds,
        overrides=_overrides(set_), name=name, source=str(file), lr_name=lr)
    _say(notes + ["held values: the playbook sweeps without regularization or augmentation; set them with --set"], "dim")
    db = Store(store)
    experiment = _run(db, text, file, workers, save)
    result = steps.recommend_max_train_steps(*_read(db, experiment.name), metric=metric, target=target, mode=mode,
                                             learning_rate=lr, trial_steps=n)
    render(result.table, title=f"{experiment.name}: steps to {metric} {'<=' if mode == 'min' else '>='} {target:g}")
    if result.max_train_steps is not None:
        out.print(f"[bold]recommended max_train_steps: {result.max_train_steps}[/bold] "
                  f"(learning rate {result.best_learning_rate:.3g}; to within eval_every)")
    _say(result.warnings)


@steps_app.command("check")
def steps_check(
    experiment: Annotated[str, typer.Argument(help="A finished experiment's name.", show_default=False)],
    store: StoreOption = None,
) -> None:
    """Where each study's best steps fall in training: all early means too many steps; consistently
    late means train longer and retune the decay schedule."""
    db = Store(store)
    budget = db.experiment(experiment)["definition"]["budget"]["max_train_steps"]
    trials = db.trials(experiment)
    table = steps.best_step_distribution(trials, budget)
    if table.empty:
        raise ScituneError(f"experiment '{experiment}' has no completed trial yet")
    render(table.drop(columns="advice"), title=f"{experiment}: best steps relative to max_train_steps ({budget})")
    render(steps.best_step_histogram(trials, budget), title="best steps per slice of training")
    for row in table.itertuples():
        _say([f"{row.study}: {row.advice}"], "green" if row.verdict == "ok" else "yellow")


# -- batch size --------------------------------------------------------------------------------------


@batch_app.command("throughput")
def batch_throughput(
    file: FileArg,
    start: Annotated[int, typer.Option("--start", min=1, help="The first batch size.")] = 16,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Stop doubling beyond this batch size (out of memory also stops).")] = 4096,
    timed: Annotated[int, typer.Option("--steps", min=2, help="Steps timed per batch size.")] = 20,
    warm: Annotated[int, typer.Option("--warmup", min=0, help="Untimed steps first.")] = 5,
    param: Annotated[str, typer.Option("--param", help="The batch-size hyperparameter.")] = "batch_size",
    set_: SetOption = None,
) -> None:
    """Measure training throughput at doubling batch sizes, in this process, until one runs out of
    memory or --limit; report where throughput stops rising (playbook: choosing the batch size)."""
    base, _ = load_experiment(file)
    program = load_program(base, file.parent, str(file))
    if not isinstance(program, PythonProgram):
        raise ConfigError(f"{file}: throughput is measured in-process and needs a Python train function, not a command")
    hp, notes = sweeps.base_point(base, _overrides(set_))
    _say(notes, "dim")

    def seconds(size: int) -> float:
        with out.status(f"timing {timed} steps at batch size {size}"):
            return batch_size.time_train_steps(program.train, {**hp, param: size}, steps=timed, warmup=warm)

    result = batch_size.throughput_scaling(
        batch_size.scan_throughput(seconds, batch_size.doubling_batch_sizes(start, limit)))
    render(result.table, title=f"{base.name}: training throughput by batch size")
    _say(result.findings, "bold")


@batch_app.command("scaling")
def batch_scaling(
    experiments: Annotated[list[str], typer.Argument(help="Experiment(s) whose studies hold several batch sizes.", show_default=False)],
    target: Annotated[float, typer.Option("--target", help="The result to reach, e.g. val_error 0.05.")],
    metric: Annotated[Optional[str], typer.Option("--metric", help="Default: the first experiment's objective.", show_default=False)] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="min or max (default: the objective's).", show_default=False)] = None,
    param: Annotated[str, typer.Option("--param", help="The batch-size hyperparameter.")] = "batch_size",
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG of steps vs batch size.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Steps to reach --target vs batch size, each batch size at its best-tuned trial: where doubling
    the batch halves the steps (perfect scaling) and where the gain fades (diminishing returns)."""
    db = Store(store)
    objective = db.experiment(experiments[0])["definition"]["objective"]
    metric, mode = metric or objective["metric"], mode or objective.get("mode", "min")
    frames = [_read(db, name) for name in experiments]
    trials = pd.concat([f[0] for f in frames], ignore_index=True)
    metrics = pd.concat([f[1] for f in frames], ignore_index=True)
    table = batch_size.steps_by_batch_size(trials, metrics, metric=metric, target=target, mode=mode, batch_size=param)  # type: ignore[arg-type]
    if table.empty:
        raise ScituneError(f"no trial of {', '.join(experiments)} has a '{param}' hyperparameter")
    result = batch_size.batch_scaling(table)
    render(result.table, title=f"steps to {metric} {'<=' if mode == 'min' else '>='} {target:g} by batch size")
    _say(result.findings, "bold")
    if plot is not None:
        batch_size.plot_steps_vs_batch_size(result, str(plot), f"Steps to {metric} {target:g} vs batch size")
        out.print(f"wrote {plot}")


# -- warmup and stability ----------------------------------------------------------------------------


@app.command("warmup")
def warmup_cmd(
    file: FileArg,
    trial_steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="max_train_steps: trial length and warmup cap (default: the file's).", show_default=False)] = None,
    eval_every: Annotated[Optional[int], typer.Option("--eval-every", min=1, help="Evaluation interval (dense evaluations show early spikes).", show_default=False)] = None,
    grid: GridOption = None, lr_min: LrMin = None, lr_max: LrMax = None, points: PointsOption = None,
    lr_name: LrName = None,
    unstable: Annotated[Optional[float], typer.Option("--unstable-lr", help="Skip step 1: the rate where training becomes unstable.", show_default=False)] = None,
    factor: Annotated[float, typer.Option("--factor", help="Warm up to this multiple of the unstable rate.")] = warmup.TARGET_FACTOR,
    warmups: Annotated[Optional[str], typer.Option("--warmups", help="Warmup lengths to try (default: 10, 1000, 10000, 100000 up to 10% of --steps).", show_default=False)] = None,
    loss: Annotated[str, typer.Option("--loss", help="The training loss the trainer reports.")] = "train_loss",
    name: Annotated[Optional[str], typer.Option("--name", help="Prefix of the two experiments' names (default: FILE's name).", show_default=False)] = None,
    set_: SetOption = None, workers: WorkersOption = 1, store: StoreOption = None,
) -> None:
    """The playbook's warmup protocol: find the learning rate where training becomes unstable, then
    at --factor times it try warmup lengths and choose the shortest that trains stably."""
    base, _ = load_experiment(file)
    lr = lr_name or sweeps.learning_rate_name(base)
    n, every = trial_steps or base.budget.max_train_steps, eval_every or base.budget.eval_every
    sets, db, baseline = _overrides(set_), Store(store), None
    if unstable is None:
        text, notes = sweeps.stability_sweep(base, grid=_grid(base, lr, grid, lr_min, lr_max, points, stretch=10.0),
                                             trial_steps=n, eval_every=every, loss=loss, overrides=sets, source=str(file),
                                             name=f"{name}-lr-stability" if name else None, lr_name=lr)
        _say(notes, "dim")
        experiment = _run(db, text, file, workers, None)
        found = warmup.find_unstable_learning_rate(*_read(db, experiment.name), loss=loss, learning_rate=lr)
        render(found.table, title="step 1: stability by constant learning rate, no warmup")
        _say(found.warnings)
        if found.unstable_learning_rate is None:
            raise typer.Exit(0 if found.best_learning_rate is not None else 1)
        unstable = found.unstable_learning_rate
        best_row = found.table[found.table[lr] == found.best_learning_rate].iloc[0]
        baseline = best_row[f"final_{loss}"]
        out.print(f"unstable_base_learning_rate = {unstable:.3g} (best stable rate {found.best_learning_rate:.3g})")
    lengths = warmup.warmup_candidates(n, [int(v) for v in _floats(warmups, "--warmups") or warmup.PLAYBOOK_WARMUPS])
    if not lengths:
        raise ConfigError(f"no warmup length is at most {warmup.WARMUP_CAP:.0%} of {n} steps", hint="raise --steps or pass --warmups")
    peak = unstable * factor
    text, _ = sweeps.warmup_sweep(base, learning_rate=peak, warmups=lengths, trial_steps=n, eval_every=every,
                                  loss=loss, overrides=sets, source=str(file), name=f"{name}-warmup" if name else None,
                                  lr_name=lr)
    experiment = _run(db, text, file, workers, None)
    choice = warmup.choose_warmup(*_read(db, experiment.name), learning_rate=float(f"{peak:.3g}"), max_train_steps=n,
                                  loss=loss, baseline_loss=baseline)
    render(choice.table, title=f"step 2: stability by warmup length at learning rate {choice.learning_rate:.3g}")
    if choice.warmup_steps is not None:
        out.print(f"[bold]warmup_steps: {choice.warmup_steps}[/bold] at peak learning rate {choice.learning_rate:.3g}")
    _say(choice.notes)


@app.command("stability")
def stability_cmd(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    study: Annotated[Optional[str], typer.Option("--study", help="Only this study.", show_default=False)] = None,
    loss: Annotated[str, typer.Option("--loss", help="The training loss metric.")] = "train_loss",
    grad: Annotated[str, typer.Option("--grad", help="The unclipped gradient-norm metric.")] = "grad_norm",
    early: Annotated[int, typer.Option("--early", min=1, help="Count loss spikes up to this step.")] = instability.EARLY_STEPS,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Clipping threshold to check (default: each trial's grad_clip).", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Per trial: stable or not, early loss spikes, the 90th percentile of gradient norms (the
    playbook's clipping threshold) and how often clipping would trigger."""
    db = Store(store)
    definition = db.experiment(experiment)["definition"]
    trials = db.trials(experiment, study)
    metrics = db.metrics(trials["id"].tolist())
    table = instability.stability_table(trials, metrics, loss=loss, grad=grad, early=early, threshold=threshold)
    empty = [c for c in table.columns if table[c].map(lambda v: v is None or v == "" or pd.isna(v)).all()]
    render(table.drop(columns=empty), title=f"{experiment}: stability, loss spikes and gradient norms")
    done = trials[(trials["state"] == "completed") & trials["best_value"].notna()]
    stable = done[done["id"].isin(trials["id"][table["stable"].eq(True).to_numpy()])]
    done = stable if not stable.empty else done  # a threshold from a stable run, where there is one
    if done.empty or grad not in set(metrics["name"]):
        _say([f"no completed trial reported '{grad}': log the full gradient's L2 norm every step to get a clipping threshold"])
        return
    mode = definition["objective"].get("mode", "min")
    best = done.loc[done["best_value"].idxmin() if mode == "min" else done["best_value"].idxmax()]
    norms = metrics[(metrics["trial_id"] == best["id"]) & (metrics["name"] == grad)]["value"]
    advice = clipping.clipping_advice(norms.to_numpy(), threshold)
    _say([f"best trial ({best['study']} #{int(best['trial'])}): {advice.message}"], "bold")


# -- round 2 and Adam --------------------------------------------------------------------------------


@app.command("round2")
def round2_cmd(
    experiment: Annotated[str, typer.Argument(help="The finished Round-1 experiment.", show_default=False)],
    top: Annotated[int, typer.Option("--top", min=1, help="Best trials per study to build Round 2 around.")] = 3,
    factor: Annotated[float, typer.Option("--factor", min=1.0, help="Round 2 trains this many times longer.")] = 10.0,
    max_steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Round 2's max_train_steps (instead of --factor).", show_default=False)] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", min=1, help="Trials per study (default 2 x --top).", show_default=False)] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Default: EXPERIMENT-round2.", show_default=False)] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Where to write it (default: beside Round 1's file).", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Write a Round-2 experiment file from a finished Round 1: its best few configurations, longer
    training, and the schedule rescaled so the extra steps run at a high learning rate."""
    db = Store(store)
    row = db.experiment(experiment)
    round1 = parse_experiment(row["config_text"], row["config_path"] or experiment)
    try:
        plan = rounds.round2_experiment(round1, db.trials(experiment), top=top, factor=factor, max_train_steps=max_steps,
                                        trials_per_study=trials, name=name)
    except ValueError as error:
        raise ScituneError(str(error)) from None
    target = out_file or Path(row["config_path"] or ".").resolve().parent / f"{name or experiment + '-round2'}.yaml"
    target.write_text(plan.text, encoding="utf-8")
    shown = plan.best[["study", "trial", "best_value", "best_step"]].rename(columns={"best_value": "best_objective"})
    render(shown, title=f"{experiment}: the Round-1 trials Round 2 starts from")
    _say(plan.notes)
    out.print(f"wrote {target}; run it with: scitune run {target}")


@app.command("adam-preset")
def adam_preset_cmd(
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trials per study you can afford.")],
) -> None:
    """The Adam hyperparameters to tune for a trial budget, as experiment-file YAML; write
    `adam: {preset: auto}` in the nuisance section to get them sized by trials_per_study."""
    space = adam.adam_search_space(trials)
    closed = {k: v for k, v in adam.adam_fixed().items() if k not in space}
    out.print(f"# {trials} trials per study: tune {', '.join(space)} (playbook FAQ on Adam; epsilon in PyTorch's form)")
    out.print(yaml.safe_dump({"nuisance": space, **({"fixed": closed} if closed else {})}, sort_keys=False,
                             default_flow_style=None).rstrip(), markup=False, highlight=False)
