"""More than a hundred malformed experiment files, each refused before anything is written.

Every case asserts what issue 14 promised: exit code 2; one line on stderr per problem, naming the
file (and the line, where there is one); the store file byte-identical (its hash); no artifacts
folder. The bulk run in this process through the real entry point (scitune.cli.main); a few run in
a subprocess as a user would.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import pytest

from helpers import run_cli
from scitune.cli import main
from scitune.config import parse_experiment
from scitune.run.planning import prepare
from scitune.store import Store

BASE = """\
experiment: bad
goal: Does width change the validation error?
command: [python, train.py, --lr, "{learning_rate}"]
objective: {metric: val_error, mode: min}
budget: {trials_per_study: 2, max_train_steps: 4, eval_every: 2}
search: {algorithm: quasi_random, seed: 0}
hyperparameters:
  scientific:
    width: [8, 16]
  nuisance:
    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}
    optimizer: [adam, sgd]
  fixed:
    batch_size: 32
"""


def sub(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def add(text: str) -> str:
    return BASE + text


def bomb() -> str:
    lines = ['    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"    {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
        prev = name
    return sub("    batch_size: 32\n", "    batch_size: 32\n" + "\n".join(lines) + "\n")


SCI = "  scientific:\n    width: [8, 16]\n"

# (id, text): each a broken experiment file. Most differ from BASE by one mistake.
CASES: list[tuple[str, str | bytes]] = [
    # names and goal
    ("no-name", sub("experiment: bad\n", "")),
    ("name-with-space", sub("experiment: bad", "experiment: bad name")),
    ("name-empty", sub("experiment: bad", 'experiment: ""')),
    ("name-too-long", sub("experiment: bad", "experiment: " + "a" * 201)),
    ("name-path", sub("experiment: bad", "experiment: ../evil")),
    ("name-list", sub("experiment: bad", "experiment: [a, b]")),
    ("name-unicode", sub("experiment: bad", "experiment: ünïcode")),
    ("name-leading-dot", sub("experiment: bad", "experiment: .hidden")),
    ("no-goal", sub("goal: Does width change the validation error?\n", "")),
    ("goal-empty", sub("goal: Does width change the validation error?", 'goal: ""')),
    ("goal-blank", sub("goal: Does width change the validation error?", 'goal: "   "')),
    ("goal-too-long", sub("goal: Does width change the validation error?", "goal: " + "x" * 20_000)),
    ("goal-list", sub("goal: Does width change the validation error?", "goal: [a, b]")),
    # how a trial trains
    ("train-and-command", sub("command:", "train: m:f\ncommand:")),
    ("neither-train-nor-command", sub('command: [python, train.py, --lr, "{learning_rate}"]\n', "")),
    ("train-no-colon", sub('command: [python, train.py, --lr, "{learning_rate}"]', "train: nocolon")),
    ("train-bad-module", sub('command: [python, train.py, --lr, "{learning_rate}"]', "train: 1bad:f")),
    ("command-empty", sub('[python, train.py, --lr, "{learning_rate}"]', "[]")),
    ("command-string", sub('[python, train.py, --lr, "{learning_rate}"]', '"python train.py"')),
    ("command-unknown-placeholder", sub('"{learning_rate}"', '"{nope}"')),
    ("command-bad-format-spec", sub('"{learning_rate}"', '"{learning_rate:zz}"')),
    ("command-bad-conversion", sub('"{learning_rate}"', '"{learning_rate!z}"')),
    ("command-unbalanced-brace", sub('"{learning_rate}"', '"{learning_rate"')),
    ("command-stray-close-brace", sub('"{learning_rate}"', '"learning_rate}"')),
    ("command-int-spec-on-text", sub('"{learning_rate}"', '"{optimizer:d}"')),
    ("command-index-placeholder", sub('"{learning_rate}"', '"{learning_rate[0]}"')),
    ("command-attribute-placeholder", sub('"{learning_rate}"', '"{learning_rate.real}"')),
    ("command-nested-list", sub('[python, train.py, --lr, "{learning_rate}"]', "[python, [a, b]]")),
    ("test-bad-ref", add("test: notmodule\n")),
    ("command-program-missing", sub("[python, train.py,", "[no-such-program-here, train.py,")),
    ("command-script-missing", sub("[python, train.py,", "[./no-such-script.sh, train.py,")),
    # objective
    ("no-objective", sub("objective: {metric: val_error, mode: min}\n", "")),
    ("objective-empty-metric", sub("{metric: val_error, mode: min}", '{metric: ""}')),
    ("objective-bad-mode", sub("mode: min}", "mode: maximize}")),
    ("objective-string", sub("{metric: val_error, mode: min}", "val_error")),
    ("objective-extra-key", sub("mode: min}", "mode: min, goal: 1}")),
    # budget
    ("no-budget", sub("budget: {trials_per_study: 2, max_train_steps: 4, eval_every: 2}\n", "")),
    ("trials-zero", sub("trials_per_study: 2", "trials_per_study: 0")),
    ("trials-negative", sub("trials_per_study: 2", "trials_per_study: -1")),
    ("trials-hundred-million", sub("trials_per_study: 2", "trials_per_study: 100000000")),
    ("trials-fraction", sub("trials_per_study: 2", "trials_per_study: 2.5")),
    ("trials-text", sub("trials_per_study: 2", "trials_per_study: two")),
    ("trials-huge-integer", sub("trials_per_study: 2", "trials_per_study: " + "9" * 400)),
    ("steps-zero", sub("max_train_steps: 4", "max_train_steps: 0")),
    ("steps-beyond-32-bit", sub("max_train_steps: 4", "max_train_steps: 1099511627776")),
    ("eval-every-zero", sub("eval_every: 2", "eval_every: 0")),
    ("budget-typo", sub("trials_per_study: 2", "trials_per_studdy: 2")),
    ("budget-extra-key", sub("eval_every: 2}", "eval_every: 2, epochs: 3}")),
    ("timeout-zero", sub("eval_every: 2}", "eval_every: 2, trial_timeout: 0}")),
    ("timeout-negative", sub("eval_every: 2}", "eval_every: 2, trial_timeout: -5}")),
    ("budget-list", sub("{trials_per_study: 2, max_train_steps: 4, eval_every: 2}", "[2, 4, 2]")),
    # search, checkpoints, resources, report
    ("search-unknown-algorithm", sub("algorithm: quasi_random", "algorithm: random")),
    ("search-negative-seed", sub("seed: 0}", "seed: -1}")),
    ("search-sampler-not-bayesian", sub("seed: 0}", "seed: 0, sampler: gp}")),
    ("search-warm-start-not-bayesian", sub("seed: 0}", "seed: 0, warm_start: other}")),
    ("search-startup-not-bayesian", sub("seed: 0}", "seed: 0, startup_trials: 3}")),
    ("keep-best-zero", add("checkpoints: {keep_best: 0}\n")),
    ("checkpoints-extra", add("checkpoints: {keep: 3}\n")),
    ("cpus-zero", add("resources: {cpus: 0}\n")),
    ("gpus-negative", add("resources: {gpus: -1}\n")),
    ("report-top-k-zero", add("report: {top_k: 0}\n")),
    ("report-typo", add("report: {top_kk: 3}\n")),
    ("report-edge-fraction", add("report: {edge_fraction: 0.7}\n")),
    # top level
    ("unknown-top-level-key", add("colour: red\n")),
    ("duplicate-top-level-key", add("experiment: again\n")),
    ("duplicate-nested-key", sub("    batch_size: 32\n", "    batch_size: 32\n    batch_size: 64\n")),
    ("hyperparameters-string", BASE.split("hyperparameters:")[0] + "hyperparameters: lots\n"),
    ("top-level-list", "- experiment: bad\n- goal: g\n"),
    ("top-level-scalar", "just a sentence\n"),
    ("empty-file", ""),
    ("only-comments", "# nothing here\n# at all\n"),
    # scientific hyperparameters and studies
    ("scientific-empty-list", sub("width: [8, 16]", "width: []")),
    ("scientific-repeated", sub("width: [8, 16]", "width: [8, 8]")),
    ("studies-collide-int-and-text", sub("width: [8, 16]", 'width: [1, "1"]')),
    ("studies-collide-slash", sub("width: [8, 16]", 'width: ["a/b", "a_b"]')),
    ("studies-collide-comma-equals", sub("width: [8, 16]", 'a: ["1,b=2", "1"]\n    b: ["3", "2,b=3"]')),
    ("too-many-studies", sub("width: [8, 16]", "\n    ".join(f"s{i}: [0, 1]" for i in range(11)))),
    ("too-many-planned-trials", sub("width: [8, 16]", f"width: {list(range(20))}").replace(
        "trials_per_study: 2", "trials_per_study: 10000")),
    ("scientific-dict-value", sub("width: [8, 16]", "width: [{a: 1}]")),
    # nuisance ranges and choices
    ("low-above-high", sub("low: 1.0e-4, high: 1.0e-1", "low: 1.0e-1, high: 1.0e-4")),
    ("low-equals-high", sub("low: 1.0e-4, high: 1.0e-1", "low: 0.1, high: 0.1")),
    ("log-with-zero", sub("low: 1.0e-4", "low: 0")),
    ("log-with-negative", sub("low: 1.0e-4", "low: -1.0")),
    ("bounds-plus-minus-1e308", sub("low: 1.0e-4, high: 1.0e-1, scale: log", "low: -1.0e308, high: 1.0e308")),
    ("bound-nan", sub("high: 1.0e-1", "high: .nan")),
    ("bound-inf", sub("high: 1.0e-1", "high: .inf")),
    ("bound-text", sub("high: 1.0e-1", "high: big")),
    ("int-fractional-bounds", sub("low: 1.0e-4, high: 1.0e-1, scale: log", "low: 1.5, high: 4, type: int")),
    ("int-huge-bounds", sub("low: 1.0e-4, high: 1.0e-1, scale: log", "low: 1, high: 1.0e20, type: int")),
    ("unknown-scale", sub("scale: log", "scale: quadratic")),
    ("unknown-type", sub("scale: log}", "scale: log, type: complex}")),
    ("values-and-range", sub("scale: log}", "scale: log, values: [1, 2]}")),
    ("range-without-high", sub(", high: 1.0e-1", "")),
    ("range-misspelt-key", sub("scale: log", "scael: log")),
    ("choice-empty", sub("optimizer: [adam, sgd]", "optimizer: []")),
    ("choice-repeated", sub("optimizer: [adam, sgd]", "optimizer: [adam, adam]")),
    ("choice-dict-value", sub("optimizer: [adam, sgd]", "optimizer: [{a: 1}]")),
    ("when-unknown-parent", sub("optimizer: [adam, sgd]", "optimizer: [adam, sgd]\n    momentum: {values: [0.9], when: {nope: x}}")),
    ("when-impossible-value", sub("optimizer: [adam, sgd]", "optimizer: [adam, sgd]\n    momentum: {values: [0.9], when: {optimizer: rmsprop}}")),
    ("when-fixed-never-holds", sub("optimizer: [adam, sgd]", "optimizer: [adam, sgd]\n    momentum: {values: [0.9], when: {batch_size: 64}}")),
    ("role-nuisance-and-fixed", sub("    batch_size: 32\n", "    batch_size: 32\n    learning_rate: 0.1\n")),
    ("role-scientific-and-nuisance", sub("    optimizer: [adam, sgd]\n", "    optimizer: [adam, sgd]\n    width: [1, 2]\n")),
    ("preset-unknown", sub("    optimizer: [adam, sgd]\n", "    optimizer: [adam, sgd]\n    adam: {preset: nonsense}\n")),
    # YAML values scitune does not store
    ("yaml-date-top-level", add("data_version: 2024-01-01\n")),
    ("yaml-date-fixed", sub("batch_size: 32", "batch_size: 32\n    data_version: 2024-01-01")),
    ("yaml-datetime-fixed", sub("batch_size: 32", "batch_size: 32\n    taken: 2024-01-01 10:00:00")),
    ("yaml-binary", sub("batch_size: 32", "batch_size: 32\n    blob: !!binary aGVsbG8=")),
    ("yaml-set", sub("batch_size: 32", "batch_size: 32\n    tags: !!set {a, b}")),
    ("yaml-omap", sub("batch_size: 32", "batch_size: 32\n    order: !!omap [{a: 1}, {b: 2}]")),
    ("yaml-python-object", sub("batch_size: 32", "batch_size: 32\n    evil: !!python/object/apply:os.system [id]")),
    ("yaml-custom-tag", sub("batch_size: 32", "batch_size: 32\n    odd: !thing 3")),
    # bounds on size, expansion and depth
    ("yaml-alias-bomb", bomb()),
    ("yaml-recursive-alias", sub("batch_size: 32", "batch_size: 32\n    loop: &a [*a]")),
    ("yaml-deep-nesting", sub("batch_size: 32", "batch_size: 32\n    deep: " + "[" * 5000 + "]" * 5000)),
    ("yaml-nesting-40", sub("batch_size: 32", "batch_size: 32\n    deep: " + "[" * 40 + "]" * 40)),
    ("yaml-deep-mappings", sub("batch_size: 32", "batch_size: 32\n    deep: " + "{a: " * 50 + "1" + "}" * 50)),
    ("file-over-a-megabyte", BASE + "# " + "x" * 1_100_000 + "\n"),
    ("goal-ten-megabytes", sub("goal: Does width change the validation error?", "goal: " + "x" * 10_000_000)),
    # not YAML, not text
    ("yaml-tab-indent", sub("  fixed:\n    batch_size: 32", "  fixed:\n\tbatch_size: 32")),
    ("yaml-unclosed-flow", sub("eval_every: 2}", "eval_every: 2")),
    ("yaml-unhashable-key", add("? [a, b]\n: 1\n")),
    ("yaml-bad-indent", sub("    batch_size: 32", "      batch_size: 32\n    x: 1")),
    ("not-utf8", BASE.encode() + b"note: \xff\xfe\n"),
    ("nul-bytes", BASE.encode() + b"note: a\x00b\n"),
    # several problems at once: a line each
    ("several-problems", sub("trials_per_study: 2", "trials_per_studdy: 0").replace("mode: min", "mode: most")),
]

# Refused by size before any line is read, or by what the file names (a program that does not exist).
NO_LINE = {"file-over-a-megabyte", "goal-ten-megabytes", "command-program-missing", "command-script-missing"}
SEVERAL = {"several-problems": 3, "budget-typo": 2}


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store that already holds an experiment: what a refused file must leave byte-identical."""
    folder = tmp_path_factory.mktemp("malformed-store")
    store = Store(str(folder / "s.db"))
    text = BASE.replace("experiment: bad", "experiment: kept")
    prepare(store, parse_experiment(text), text)
    store.settle()
    store.close()
    return folder / "s.db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_main(args: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["scitune", *args])
    monkeypatch.delenv("SCITUNE_STORE", raising=False)
    monkeypatch.delenv("SCITUNE_ARTIFACTS", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def test_there_are_at_least_a_hundred_cases() -> None:
    assert len(CASES) >= 100
    assert len({name for name, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "text"), CASES, ids=[name for name, _ in CASES])
def test_malformed_file_is_refused_cleanly(
    name: str, text: str | bytes, store_file: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = digest(store_file)
    monkeypatch.chdir(tmp_path)
    code, err = run_main(["run", str(path), "--store", str(store_file)], capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == SEVERAL.get(name, 1), err[:2000]
    assert all(line.startswith(f"error: {path}") for line in lines), err[:2000]
    if name not in NO_LINE:
        assert all(re.match(rf"error: {re.escape(str(path))}:\d+: ", line) for line in lines), err[:2000]
    assert len(err) < 2000  # one line, not a traceback or the file echoed back
    assert digest(store_file) == before
    assert not (store_file.parent / "scitune-artifacts").exists() and not (tmp_path / "scitune-artifacts").exists()
    assert not (tmp_path / "scitune.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["yaml-alias-bomb", "yaml-deep-nesting", "studies-collide-int-and-text",
                                  "trials-hundred-million"])
def test_malformed_file_in_a_subprocess_creates_no_store(name: str, tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text(dict(CASES)[name])
    result = run_cli("run", "exp.yaml", "--store", "new.db", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr[-2000:]
    assert result.stderr.startswith("error: exp.yaml:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]  # no store, no artifacts folder


def test_special_files_are_refused(tmp_path: Path, store_file: Path, capsys, monkeypatch) -> None:
    before = digest(store_file)
    for target in ("/dev/zero", str(tmp_path)):
        if not os.path.exists(target):
            continue
        code, err = run_main(["run", target, "--store", str(store_file)], capsys, monkeypatch)
        assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith(f"error: {target}"), err
    assert digest(store_file) == before


def test_store_errors_are_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.yaml").write_text(BASE)
    for args, expected in [
        (["status", "bad", "--store", "missing.db"], f"error: no store at {tmp_path / 'missing.db'}"),
        (["trials", "bad", "--store", "missing.db"], "error: no store at"),
        (["best", "bad", "--store", "missing.db"], "error: no store at"),
        (["log", "--store", "missing.db"], "error: no store at"),
        (["report", "bad", "--store", "missing.db"], "error: no store at"),
        (["status", "bad", "--store", ""], "error: the store is given as an empty string"),
        (["status", "bad", "--store", "sqlite:://x"], "error: store URL 'sqlite:://x' is not a SQLite URL"),
        (["run", "exp.yaml", "--store", "sqlite://relative.db"], "error: store URL 'sqlite://relative.db'"),
        (["run", "exp.yaml", "--store", "s.db", "--workers", "1000000000000"], "error: --workers 1000000000000 is more"),
    ]:
        code, err = run_main(args, capsys, monkeypatch)
        assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith(expected), (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


def test_a_schema_version_that_is_not_a_number_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    import sqlite3

    Store(str(tmp_path / "s.db")).close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("UPDATE scitune_meta SET value = 'one' WHERE key = 'schema_version'")
    code, err = run_main(["status", "bad", "--store", str(tmp_path / "s.db")], capsys, monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "schema version that is not a number" in err


def test_a_train_module_that_exits_on_import_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(0)\n\ndef train(hp, trial):\n    pass\n")
    (tmp_path / "exp.yaml").write_text(sub('command: [python, train.py, --lr, "{learning_rate}"]', "train: exits:train"))
    monkeypatch.chdir(tmp_path)
    code, err = run_main(["run", "exp.yaml", "--store", "s.db"], capsys, monkeypatch)
    assert code == 2 and "called sys.exit(0)" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.db").exists()


def test_an_artifacts_folder_that_cannot_be_made_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "exp.yaml").write_text(BASE)
    (tmp_path / "a-file").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["scitune", "run", "exp.yaml", "--store", "s.db"])
    monkeypatch.setenv("SCITUNE_ARTIFACTS", str(tmp_path / "a-file" / "sub"))
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "a-file is not a folder, so no trial could keep its files" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "exp.yaml"]
