"""Many runners on one experiment (issue 18, goal 5, in small): four `scitune run` processes of
two workers each on one SQLite file, and on PostgreSQL: every trial runs exactly once, no lock
error, every trial completed. (The 8 x 2 runners x 2,000 trials figure is a benchmark's, not a
test's; this keeps the guarantee checked.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from planted import experiment_yaml
from scitune import Store

pytestmark = pytest.mark.slow


def test_four_runners_share_one_store_and_run_each_trial_once(workdir: Path, store_url: str) -> None:
    text = experiment_yaml("many", trials=30, steps=2, eval_every=1, fixed="{behaviour: ok}")
    (workdir / "exp.yaml").write_text(text)
    log = workdir / "events.log"
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    env["SCITUNE_TEST_LOG"] = str(log)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, str(workdir), env.get("PYTHONPATH", "")])
    runners = [
        subprocess.Popen([sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", store_url, "--workers", "2"],
                         cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = []
    for runner in runners:
        code = runner.wait(timeout=280)
        stderr = runner.stderr.read().decode()
        errors.append(stderr)
        assert code == 0, stderr
    assert not any("locked" in e or "Traceback" in e for e in errors), errors
    starts = Counter(tuple(line.split()[1:3]) for line in log.read_text().splitlines() if line.startswith("start"))
    assert len(starts) == 60 and set(starts.values()) == {1}  # 2 studies x 30 trials, each started once
    assert Counter(Store(store_url).trials("many")["state"]) == {"completed": 60}
