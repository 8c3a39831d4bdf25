"""``scitune show EXPERIMENT/STUDY/NUMBER``: everything stored about one trial."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import run_cli
from planted import experiment_yaml, make_planted_store
from scitune.cli import app
from scitune.cli._table import sparkline
from scitune.steps.results import trial_detail
from scitune.store import Store


def test_show_a_completed_trial_of_a_planted_store(tmp_path: Path) -> None:
    path = make_planted_store(tmp_path)
    detail = trial_detail(Store(str(path)), "planted/width=64/3")
    assert detail.ref.label == "planted/width=64/3" and detail.ref.state == "completed"
    assert len(detail.curve) == 20 and detail.curve["value"].min() == pytest.approx(detail.ref.best_value)
    assert set(detail.last_values) == {"train_loss", "val_loss"}
    by_id = trial_detail(Store(str(path)), str(detail.ref.id))
    assert by_id.ref == detail.ref
    result = CliRunner().invoke(app, ["show", "planted/width=64/3", "--store", str(path)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    for text in ("planted/width=64/3 (id", "completed", "learning_rate = ", "best val_error (min):",
                 "curve of val_error", "<- best", "checkpoints: none kept"):
        assert text in result.output
    assert max(map(len, result.output.splitlines())) <= 100


def test_sparkline_follows_the_curve() -> None:
    assert sparkline([3.0, 2.0, 1.0, 2.0]) == "█▅▁▅"
    assert sparkline([1.0, float("nan"), 1.0]) == "▁ ▁"
    assert len(sparkline(list(range(500)), width=40)) == 40


@pytest.mark.slow
def test_show_a_crashed_trial_with_its_traceback_and_a_command_trials_output(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("crashy", trials=1, scientific="{behaviour: [crash]}",
                                                      fixed="{width: 8}"))
    assert run_cli("run", "exp.yaml", cwd=workdir).returncode == 1  # every trial failed
    shown = run_cli("show", "crashy/behaviour=crash/0", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    for text in ("crashy/behaviour=crash/0 (id 1): failed", "reason: RuntimeError: boom at step 3", "traceback:",
                 "raise RuntimeError(\"boom at step 3\")", "behaviour = crash", "train_loss"):
        assert text in shown.stdout
    (workdir / "prog.py").write_text(
        "import json, os, sys\n"
        "print('hello from the program')\n"
        "print('warming up', file=sys.stderr)\n"
        "with open(os.environ['SCITUNE_METRICS_FILE'], 'a') as f:\n"
        "    f.write(json.dumps({'step': 1, 'val_error': 0.5}) + '\\n')\n"
    )
    text = experiment_yaml("cmd", trials=1, scientific="{}").replace(
        "train: toytrainer:train", "command: [python, prog.py]")
    (workdir / "cmd.yaml").write_text(text)
    ran = run_cli("run", "cmd.yaml", cwd=workdir)
    assert ran.returncode == 0, ran.stderr
    shown = run_cli("show", "cmd", cwd=workdir)
    assert "stdout.log, last 1 line(s):\n  hello from the program" in shown.stdout
    assert "stderr.log, last 1 line(s):\n  warming up" in shown.stdout
