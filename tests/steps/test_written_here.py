"""refine and round2 write their files to the current folder (or --out), never next to the source
experiment (which may sit inside an installed package), and say when the training code would not
be found from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli
from planted import experiment_yaml
from scitune import Store, load_experiment, parse_experiment, run_experiment
from scitune.run.program import code_note


def test_code_note_says_when_the_training_code_is_left_behind(tmp_path: Path) -> None:
    source, target = tmp_path / "pkg", tmp_path / "here"
    source.mkdir()
    target.mkdir()
    (source / "far_away_trainer.py").write_text("def train(hp, trial): pass\n")
    experiment = parse_experiment(experiment_yaml("n").replace("toytrainer", "far_away_trainer"), "x.yaml")
    assert code_note(experiment, source, source) is None
    note = code_note(experiment, source, target, cwd=target)
    assert note is not None and "far_away_trainer" in note and "--out" in note
    assert code_note(experiment, source, source.parent, cwd=source) is None  # found from the current folder


@pytest.mark.slow
def test_round2_writes_to_the_current_folder(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "src").mkdir()
    (workdir / "src" / "exp.yaml").write_text(experiment_yaml("tiny", trials=4, steps=8, eval_every=2))
    experiment, text = load_experiment(workdir / "src" / "exp.yaml")
    run_experiment(experiment, Store(str(workdir / "s.db")), config_text=text, config_path=workdir / "src" / "exp.yaml")
    (workdir / "elsewhere").mkdir()
    monkeypatch.chdir(workdir / "elsewhere")
    result = cli("round2", "tiny", "--top", "2", "--factor", "2", "--store", str(workdir / "s.db"))
    assert result.exit_code == 0, result.output
    assert (workdir / "elsewhere" / "tiny-round2.yaml").is_file()
    assert not (workdir / "src" / "tiny-round2.yaml").exists()
    out = cli("round2", "tiny", "--top", "2", "--out", str(workdir / "r2.yaml"), "--store", str(workdir / "s.db"))
    assert out.exit_code == 0 and (workdir / "r2.yaml").is_file()
