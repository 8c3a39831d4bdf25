"""The GPUs of one machine: each running trial gets its own devices, freed when its worker ends.

No GPU is needed: the runner hands out fake ids, and each trial records the CUDA_VISIBLE_DEVICES
it saw and when it ran."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import cli
from scitune import Store, run_experiment
from scitune.errors import UsageError
from scitune.run.devices import DevicePool, OnDevices, cap_workers, device_pool, parse_devices, visible_devices

RECORDER = '''
import json, os, time

def train(hp, trial):
    start = time.time()
    if hp.get("behaviour") == "die" and trial.number % 2 == 0:
        os.kill(os.getpid(), 9)            # the worker dies mid-trial: its devices must come back
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(hp.get("step_seconds", 0.0))
        if trial.should_eval(step):
            trial.report(step, val_error=hp["learning_rate"] / step)
    with open(os.environ["DEVICE_LOG"], "a") as f:
        f.write(json.dumps({"trial": f"{trial.study}/{trial.number}", "pid": os.getpid(), "start": start,
                            "end": time.time(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                            "scitune": os.environ.get("SCITUNE_GPUS")}) + "\\n")
'''

COMMAND_RECORDER = '''
import json, os, sys, time
sys.path.insert(0, os.environ["SRC"])
from scitune.training import client
start = time.time()
time.sleep(0.05)
client.report(client.max_train_steps(), val_error=0.5)
with open(os.environ["DEVICE_LOG"], "a") as f:
    f.write(json.dumps({"trial": os.environ["SCITUNE_TRIAL"], "start": start, "end": time.time(),
                        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}) + "\\n")
'''


def _experiment(name: str, *, gpus: float, trials: int = 6, behaviour: str = "ok", train: str = "recorder:train",
                step_seconds: float = 0.02) -> str:
    return textwrap.dedent(f"""\
        experiment: {name}
        goal: Do trials get devices of their own?
        train: {train}
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: 4, eval_every: 2}}
        resources: {{gpus: {gpus}}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
          fixed: {{behaviour: {behaviour}, step_seconds: {step_seconds}}}
        """)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_no_sharing(records: list[dict]) -> None:
    """No two trials whose runs overlap in time hold a common device."""
    for i, a in enumerate(records):
        for b in records[i + 1:]:
            overlap = a["start"] < b["end"] and b["start"] < a["end"]
            if overlap:
                assert not set(a["cuda"].split(",")) & set(b["cuda"].split(",")), (a, b)


@pytest.fixture
def gpu_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (workdir / "recorder.py").write_text(RECORDER)
    monkeypatch.setenv("DEVICE_LOG", str(workdir / "devices.jsonl"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return workdir


# -- the pool and its inputs -----------------------------------------------------------------------


def test_parse_devices() -> None:
    assert parse_devices("0,1, 2,3") == ["0", "1", "2", "3"]
    assert parse_devices("GPU-aa,GPU-bb") == ["GPU-aa", "GPU-bb"]
    with pytest.raises(UsageError, match="listed twice"):
        parse_devices("0,1,0")
    with pytest.raises(UsageError, match="separated by commas"):
        parse_devices("0,,1")


def test_visible_devices_from_the_environment() -> None:
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "-1"}) == []


def test_visible_devices_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-aa)'\necho 'GPU 1: NVIDIA H100 (UUID: GPU-bb)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    assert visible_devices({}) == ["0", "1"]


def test_pool_hands_out_and_takes_back() -> None:
    pool = DevicePool(["0", "1", "2", "3", "4"], per_trial=2)
    assert pool.slots == 2
    a, b = pool.take(), pool.take()
    assert a == ("0", "1") and b == ("2", "3")
    with pytest.raises(RuntimeError):
        pool.take()
    pool.release(a)
    assert pool.take() == ("0", "1")


def test_device_pool_rules() -> None:
    assert device_pool(0, None, env={}) is None  # nothing asked: nothing placed
    assert device_pool(0, "0,1").per_trial == 1  # ids without resources.gpus: one each
    assert device_pool(2, "0,1,2,3").slots == 2
    assert device_pool(1, None, env={"CUDA_VISIBLE_DEVICES": "5,6"}).devices == ["5", "6"]
    with pytest.raises(UsageError, match="show no GPU"):
        device_pool(1, None, env={"CUDA_VISIBLE_DEVICES": ""})
    with pytest.raises(UsageError, match="needs 3 GPUs but --gpus give only 2"):
        device_pool(3, "0,1")
    with pytest.raises(UsageError, match="whole devices"):
        device_pool(0.5, "0,1")
    assert cap_workers(None, None) == 1
    assert cap_workers(None, DevicePool(["0", "1", "2"], 1)) == 3
    assert cap_workers(8, DevicePool(["0", "1"], 1)) == 2


def test_on_devices_sets_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    seen = OnDevices(lambda: __import__("os").environ["CUDA_VISIBLE_DEVICES"], ("3", "1"))()
    assert seen == "3,1"


# -- real runs with fake device ids ----------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_trials_never_share_a_device(gpu_dir: Path) -> None:
    (gpu_dir / "exp.yaml").write_text(_experiment("gpu-share", gpus=1, trials=8))
    summary = run_experiment(gpu_dir / "exp.yaml", str(gpu_dir / "s.db"), gpus="0,1,2")
    assert summary.states["completed"] == 8
    records = _records(gpu_dir / "devices.jsonl")
    assert len(records) == 8
    assert all(r["cuda"] in {"0", "1", "2"} and r["scitune"] == r["cuda"] for r in records)
    _assert_no_sharing(records)
    # One worker per device by default, each keeping its own device for its life.
    by_pid: dict[int, set[str]] = {}
    for r in records:
        by_pid.setdefault(r["pid"], set()).add(r["cuda"])
    assert all(len(ids) == 1 for ids in by_pid.values())
    assert len({next(iter(ids)) for ids in by_pid.values()}) == len(by_pid) <= 3


@pytest.mark.slow
def test_two_devices_per_trial_and_a_worker_cap(gpu_dir: Path) -> None:
    (gpu_dir / "exp.yaml").write_text(_experiment("gpu-pairs", gpus=2, trials=4))
    summary = run_experiment(gpu_dir / "exp.yaml", str(gpu_dir / "s.db"), gpus="0,1,2,3,4", workers=5)
    assert summary.states["completed"] == 4
    records = _records(gpu_dir / "devices.jsonl")
    assert {r["cuda"] for r in records} <= {"0,1", "2,3"}  # device 4 cannot make a pair: never used
    _assert_no_sharing(records)


@pytest.mark.slow
def test_crashed_workers_free_their_devices(gpu_dir: Path) -> None:
    (gpu_dir / "exp.yaml").write_text(_experiment("gpu-die", gpus=1, trials=6, behaviour="die"))
    summary = run_experiment(gpu_dir / "exp.yaml", str(gpu_dir / "s.db"), gpus="7,8")
    trials = Store(str(gpu_dir / "s.db")).trials("gpu-die")
    assert summary.states["failed"] == 3 and summary.states["completed"] == 3
    assert all("worker process died" in r for r in trials[trials["state"] == "failed"]["reason"])
    records = _records(gpu_dir / "devices.jsonl")
    assert len(records) == 3 and {r["cuda"] for r in records} <= {"7", "8"}
    _assert_no_sharing(records)


@pytest.mark.slow
def test_command_mode_trials_see_their_devices(gpu_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (gpu_dir / "cmd.py").write_text(COMMAND_RECORDER)
    monkeypatch.setenv("SRC", str(Path(__file__).resolve().parents[2] / "src"))
    text = _experiment("gpu-cmd", gpus=1, trials=4).replace("train: recorder:train", "command: [python, cmd.py]")
    (gpu_dir / "exp.yaml").write_text(text)
    result = cli("run", str(gpu_dir / "exp.yaml"), "--gpus", "4,5", "--store", str(gpu_dir / "s.db"))
    assert result.exit_code == 0, result.output
    records = _records(gpu_dir / "devices.jsonl")
    assert len(records) == 4 and {r["cuda"] for r in records} <= {"4", "5"}
    _assert_no_sharing(records)


def test_gpus_asked_but_none_visible_writes_nothing(gpu_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    (gpu_dir / "exp.yaml").write_text(_experiment("gpu-none", gpus=1))
    result = cli("run", str(gpu_dir / "exp.yaml"), "--store", str(gpu_dir / "s.db"))
    assert isinstance(result.exception, UsageError)  # main() prints it as one line, exit code 2
    assert "resources.gpus is 1 but the visible devices" in str(result.exception)
    assert not (gpu_dir / "s.db").exists()


def test_gpus_are_for_the_local_executor(gpu_dir: Path) -> None:
    from scitune.steps.run import execute

    with pytest.raises(UsageError, match="--gpus is for the local executor"):
        execute(None, None, executor="ray", gpus="0")  # type: ignore[arg-type]  # refused before either is used


@pytest.mark.slow
def test_retrain_reruns_get_the_visible_devices(gpu_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scitune import retrain

    (gpu_dir / "exp.yaml").write_text(_experiment("gpu-retrain", gpus=1, trials=1))
    db = Store(str(gpu_dir / "s.db"))
    run_experiment(gpu_dir / "exp.yaml", db, gpus="9")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")  # retrain uses the visible devices
    result = retrain(db, "gpu-retrain", "default/0", 3, workers=2)
    assert result.run.states["completed"] == 3
    records = _records(gpu_dir / "devices.jsonl")
    assert records[0]["cuda"] == "9" and {r["cuda"] for r in records[1:]} <= {"4", "5"} and len(records) == 4
    _assert_no_sharing(records[1:])
