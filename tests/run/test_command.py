"""Command-mode trials, the metrics protocol, kept checkpoints and resuming a trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import run_cli
from scitune import Store

# A training program that knows nothing of scitune but its client (standard library only).
PROGRAM = r'''
import json, os, sys, time, subprocess
from pathlib import Path
from scitune.training import client

hp = client.hparams()
out = client.trial_dir()
(out / "argv.json").write_text(json.dumps(sys.argv[1:]))
(out / "env.json").write_text(json.dumps({k: v for k, v in os.environ.items() if k.startswith("SCITUNE_")}))
behaviour = hp.get("behaviour", "ok")
start = 1
resumed = client.resume()
if resumed:
    step, path = resumed
    start = json.loads(path.read_text())["step"] + 1
    with open(out / "resumes.log", "a") as f:
        f.write(f"{step}\n")
if behaviour == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (out / "pids.json").write_text(json.dumps([os.getpid(), child.pid]))
    time.sleep(600)
if behaviour == "fail":
    print("loading data...", file=sys.stderr)
    print("ValueError: width must be positive", file=sys.stderr)
    sys.exit(3)
curve = hp.get("curve", [0.5, 0.4, 0.6, 0.3, 0.35, 0.2, 0.25, 0.7])
metrics_file = os.environ["SCITUNE_METRICS_FILE"]
for step in range(start, client.max_train_steps() + 1):
    time.sleep(hp.get("step_seconds", 0.0))
    if client.should_eval(step):
        value = curve[(step // client.eval_every() - 1) % len(curve)]
        client.report(step, train_loss=value * 2, val_error=value)
        with client.checkpoint(step, name=f"ckpt-{step}.json") as path:
            path.write_text(json.dumps({"step": step}))
        if behaviour == "garbled" and step == 2:
            with open(metrics_file, "a") as f:
                f.write("this is not json\n")
                f.write('{"step": "two", "val_error": 0.1}\n')
                f.write('{"step": 3, "val_error": "low"}\n')
if behaviour == "garbled":
    with open(metrics_file, "a") as f:
        f.write('{"step": 99, "val_err')  # dies mid-line
'''


def write_experiment(tmp: Path, name: str, *, trials: int = 1, steps: int = 8, eval_every: int = 1,
                     fixed: str = "{behaviour: ok}", timeout: str = "", keep: int = 3,
                     command: str = '[python, program.py, --lr, "{learning_rate}"]') -> Path:
    (tmp / "program.py").write_text(PROGRAM)
    path = tmp / "exp.yaml"
    path.write_text(textwrap.dedent(f"""\
        experiment: {name}
        goal: Does the program report what it trains?
        command: {command.replace("python", sys.executable, 1)}
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: {eval_every}{timeout}}}
        checkpoints: {{keep_best: {keep}}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-3, high: 1.0e-1, scale: log}}
          fixed: {fixed}
        """))
    return path


def run(tmp: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_cli("run", "exp.yaml", "--store", "s.db", *args, cwd=tmp, env=env)


def only_trial(tmp: Path, name: str):
    trials = Store(str(tmp / "s.db")).trials(name)
    assert len(trials) == 1
    return trials.iloc[0]


@pytest.mark.slow
def test_placeholders_stay_literal_and_environment_is_complete(tmp_path: Path) -> None:
    nasty = "; touch pwned && rm -rf ~ $(id) `id` | cat"
    write_experiment(tmp_path, "literal", steps=2, fixed=json.dumps({"behaviour": "ok", "tag": nasty}),
                     command='[python, program.py, --lr, "{learning_rate}", --tag, "{tag}"]')
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    trial = only_trial(tmp_path, "literal")
    assert trial["state"] == "completed"
    folder = Path(trial["directory"])
    argv = json.loads((folder / "argv.json").read_text())
    assert argv == ["--lr", str(trial["params"]["learning_rate"]), "--tag", nasty]
    assert not (tmp_path / "pwned").exists()
    env = json.loads((folder / "env.json").read_text())
    assert json.loads(env["SCITUNE_HPARAMS"]) == trial["params"]
    assert env["SCITUNE_TRIAL_DIR"] == str(folder) and env["SCITUNE_SEED"] == str(trial["seed"])
    assert env["SCITUNE_METRICS_FILE"] == str(folder / "metrics-1.jsonl") and env["SCITUNE_ATTEMPT"] == "1"
    assert env["SCITUNE_MAX_TRAIN_STEPS"] == "2" and env["SCITUNE_EVAL_EVERY"] == "1"
    assert folder.parent.parent.parent == tmp_path / "scitune-artifacts"  # beside the store file


@pytest.mark.slow
def test_malformed_and_truncated_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    write_experiment(tmp_path, "garbled", steps=4, fixed="{behaviour: garbled}")
    assert run(tmp_path).returncode == 0
    trial = only_trial(tmp_path, "garbled")
    assert trial["state"] == "completed"
    reason = trial["reason"]
    assert "metrics line 5 skipped: not JSON" in reason
    assert "metrics line 6 skipped: 'step' must be a non-negative integer" in reason
    assert "metrics line 7 skipped: metric 'val_error' must be a number" in reason
    assert "and 1 more" in reason  # the unfinished last line
    points = Store(str(tmp_path / "s.db")).metrics([trial["id"]])
    # Every good line around the bad ones arrived: 4 evaluations x 2 metrics.
    assert Counter(points["name"]) == {"train_loss": 4, "val_error": 4}
    assert sorted(points[points["name"] == "val_error"]["step"]) == [1, 2, 3, 4]


@pytest.mark.slow
def test_non_zero_exit_fails_with_stderr(tmp_path: Path) -> None:
    write_experiment(tmp_path, "fails", fixed="{behaviour: fail}")
    assert run(tmp_path).returncode == 1  # the trial is recorded; a run whose trials all failed exits 1
    trial = only_trial(tmp_path, "fails")
    assert trial["state"] == "failed"
    assert trial["reason"] == "exit code 3: ValueError: width must be positive"
    assert "loading data..." in trial["traceback"]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"


@pytest.mark.slow
def test_timeout_kills_the_program_and_its_children(tmp_path: Path) -> None:
    write_experiment(tmp_path, "hangs", fixed="{behaviour: hang}", timeout=", trial_timeout: 1.5")
    started = time.monotonic()
    assert run(tmp_path).returncode == 1  # its only trial failed
    assert time.monotonic() - started < 60
    trial = only_trial(tmp_path, "hangs")
    assert trial["state"] == "failed" and trial["reason"] == "timeout: killed after 1.5 s"
    pids = json.loads((Path(trial["directory"]) / "pids.json").read_text())
    assert all(_gone(pid) for pid in pids)


@pytest.mark.slow
def test_sigterm_to_the_runner_leaves_no_child(tmp_path: Path) -> None:
    write_experiment(tmp_path, "stopped", fixed="{behaviour: hang}")
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    runner = subprocess.Popen([sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pid_file = tmp_path / "scitune-artifacts" / "stopped" / "default" / "trial-0" / "pids.json"
    deadline = time.monotonic() + 30
    while not pid_file.exists():
        assert time.monotonic() < deadline and runner.poll() is None, "the program never started"
        time.sleep(0.05)
    time.sleep(0.2)
    pids = json.loads(pid_file.read_text())
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) == 130
    time.sleep(0.2)
    assert all(_gone(pid) for pid in pids)
    assert only_trial(tmp_path, "stopped")["state"] == "interrupted"


@pytest.mark.slow
def test_keep_n_best_checkpoints_plus_latest(tmp_path: Path) -> None:
    # val_error per step 1..8: 0.5 0.4 0.6 0.3 0.35 0.2 0.25 0.7 -> best three: 6 (0.2), 7 (0.25), 4 (0.3)
    write_experiment(tmp_path, "keep", keep=3)
    assert run(tmp_path).returncode == 0
    trial = only_trial(tmp_path, "keep")
    folder = Path(trial["directory"])
    assert sorted(p.name for p in folder.glob("ckpt-*")) == ["ckpt-4.json", "ckpt-6.json", "ckpt-7.json", "ckpt-8.json"]
    assert not list(folder.glob(".ckpt-*"))  # no temporary file left behind
    kept = Store(str(tmp_path / "s.db")).checkpoints([trial["id"]])
    assert kept["step"].tolist() == [4, 6, 7, 8]
    assert trial["best_step"] == 6 and trial["best_value"] == pytest.approx(0.2)
    best = run_cli("best", "keep", "--store", "s.db", "--format", "json", cwd=tmp_path)
    record = json.loads(best.stdout)[0]
    assert record["best_step"] == 6 and record["checkpoint_step"] == 6
    assert record["checkpoint"] == str(folder / "ckpt-6.json")


@pytest.mark.slow
def test_command_trial_resumes_from_its_latest_checkpoint(tmp_path: Path) -> None:
    write_experiment(tmp_path, "resumes", steps=30, fixed='{behaviour: ok, step_seconds: 0.1, curve: [0.9, 0.8]}')
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    runner = subprocess.Popen([sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = Store(str(tmp_path / "s.db")) if (tmp_path / "s.db").exists() else None
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline
        if (tmp_path / "s.db").exists():
            db = db or Store(str(tmp_path / "s.db"))
            trials = db.trials("resumes") if db.experiments() else None
            if trials is not None and len(db.checkpoints(trials["id"].tolist())) >= 2:
                break
        time.sleep(0.1)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) == 130
    trial = only_trial(tmp_path, "resumes")
    saved = db.checkpoints([trial["id"]])["step"].max()
    assert trial["state"] == "interrupted" and 2 <= saved < 30

    assert run(tmp_path).returncode == 0
    trial = only_trial(tmp_path, "resumes")
    assert trial["state"] == "completed" and trial["attempts"] == 2
    resumed_at = [int(s) for s in (Path(trial["directory"]) / "resumes.log").read_text().split()]
    assert resumed_at == [saved]
    points = db.metrics([trial["id"]])
    steps = points[points["name"] == "val_error"]["step"].tolist()
    assert steps == list(range(1, 31))  # continuous, and no step twice


def test_multi_host_seeds_and_chief(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from scitune.training import client

    monkeypatch.setenv("SCITUNE_SEED", "1234")
    assert client.init_seed() == 1234  # every host initializes identically
    seeds = [client.data_seed(shard) for shard in range(8)]
    assert len(set(seeds)) == 8  # every shard shuffles differently ...
    assert seeds == [client.data_seed(shard, 1234) for shard in range(8)]  # ... and reproducibly
    assert client.data_seed(0, 1235) != seeds[0]
    metrics = tmp_path / "m.jsonl"
    monkeypatch.setenv("SCITUNE_METRICS_FILE", str(metrics))
    for name in ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SCITUNE_PROCESS_INDEX"):
        monkeypatch.delenv(name, raising=False)
    assert client.process_index() == 0 and client.is_chief()
    client.report(1, val_error=0.5)
    monkeypatch.setenv("RANK", "3")
    assert client.process_index() == 3 and not client.is_chief()
    client.report(2, val_error=0.4)  # only the chief writes
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [1]


# -- fuzzing the metrics protocol (hypothesis) ------------------------------------------------------

from hypothesis import given, settings
from hypothesis import strategies as st

from scitune.run.command import MAX_NOTES, CommandProgram, MetricsReader, parse_line

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.integers(min_value=10**300, max_value=10**400),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
GOOD = st.fixed_dictionaries({
    "step": st.integers(min_value=0, max_value=30),
    "val_error": st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
})


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), JSON.map(json.dumps), st.binary(max_size=100).map(lambda b: b.decode("latin-1"))))
def test_parse_line_only_ever_says_what_is_wrong(text: str) -> None:
    try:
        step, values, checkpoint = parse_line(text)
    except ValueError as err:
        assert str(err) and len(str(err)) < 300  # a short note, never the line echoed whole
        return
    assert 0 <= step < 2**63 and all(isinstance(v, float) for v in values.values())
    assert values or checkpoint is not None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(GOOD.map(lambda r: ("good", r)), JSON.map(lambda r: ("bad", r)),
                          st.text(max_size=50).map(lambda t: ("text", t))), max_size=25))
def test_a_trial_keeps_every_good_line_and_skips_the_rest(tmp_path_factory, lines) -> None:
    from scitune.config.experiment import Objective
    from scitune.run.trial import Trial

    folder = tmp_path_factory.mktemp("fuzz")
    trial = Trial(study="s", number=0, params={}, seed=0, max_train_steps=30, eval_every=1,
                  objective=Objective(metric="val_error"))
    written, expected = [], []
    for kind, record in lines:
        text = json.dumps(record) if kind != "text" else record.replace("\n", " ").replace("\r", " ")
        written.append(text)
        if kind == "good":
            expected.append((record["step"], "val_error", float(record["val_error"])))
        elif kind == "bad" or text.strip():
            try:
                step, values, _ = parse_line(text)
            except ValueError:
                continue
            if step <= 30:
                expected += [(step, name, value) for name, value in values.items()]
    path = folder / "metrics-1.jsonl"
    path.write_text("".join(t + "\n" for t in written))
    try:
        CommandProgram(["true"], folder)._ingest(trial, MetricsReader(path), folder)
    except Exception as err:  # noqa: BLE001 - only a non-finite loss may end the trial
        assert type(err).__name__ == "TrialInfeasible"
        return
    assert trial.take_buffer() == expected
    assert len(trial.notes) <= MAX_NOTES + 1
