"""The dashboard's app through Starlette's test client: every page's data, the paged trial table,
text that holds HTML, the access token, loopback-only binding and that nothing changes the store."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from helpers import cli
from planted import HOSTILE, make_hostile_store, make_planted_store
from scitune.dashboard import check_bind, create_app, is_loopback
from scitune.dashboard.app import STATIC
from scitune.dashboard.views import log_tails
from scitune.errors import ScituneError, StoreError
from scitune.store.readonly import ReadOnlyStore

LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_planted_store(tmp_path_factory.mktemp("dash"))


@pytest.fixture(scope="module")
def client(planted_db: Path) -> TestClient:
    return TestClient(create_app(str(planted_db), wait=120, isolate=False), base_url=LOCAL)


def test_experiments_and_an_experiment_show_the_reports_answer_and_findings(client: TestClient) -> None:
    page = client.get("/api/e/planted").json()  # waits for the checks (the listing does not)
    assert not page["pending"] and page["fresh"]
    [row] = client.get("/api/experiments").json()
    assert row["name"] == "planted" and row["studies"] == 2 and row["states"]["completed"] == 32
    assert row["verdict"] and row["warnings"] >= 1  # the planted optimum lies past the range: a boundary warning
    assert page["answer"]["check"] == "goal" and page["trust"]
    assert "boundary" in {f["check"] for f in page["findings"]}
    assert [s["study"] for s in page["summary"]] == ["width=64", "width=256"]
    plots = client.get("/api/e/planted/plots").json()
    assert [p["key"] for p in plots] == ["isolation-width", "axis", "trial-budget", "curves", "best-steps"]
    assert all(p["figure"]["data"] for p in plots)


def test_a_page_answers_before_the_checks_finish_and_fills_in(planted_db: Path) -> None:
    """The checks run in their own process (as the served dashboard does) and the page fills in."""
    client = TestClient(create_app(str(planted_db), wait=0, isolate=True), base_url=LOCAL)
    first = client.get("/api/e/planted").json()
    if first["pending"]:  # the checks run in the background: the summary comes from SQL meanwhile
        assert first["answer"] is None and [s["study"] for s in first["summary"]] == ["width=64", "width=256"]
        assert client.get("/api/e/planted/plots").status_code in (200, 202)
    deadline = time.monotonic() + 120
    while (page := client.get("/api/e/planted").json())["pending"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert page["answer"]["check"] == "goal" and page["fresh"]


def test_the_version_changes_only_with_the_trials(client: TestClient) -> None:
    first, second = client.get("/api/e/planted/version").json(), client.get("/api/e/planted/version").json()
    assert first == second and first["trials"] == first["finished"] == 35  # 32 search trials and 3 reruns


def test_the_trial_table_pages_sorts_and_filters_in_sql(client: TestClient) -> None:
    page = client.get("/api/e/planted/trials?limit=10&offset=0").json()
    assert page["total"] == 32 and len(page["rows"]) == 10 and [r["id"] for r in page["rows"]] == list(range(1, 11))
    rest = client.get("/api/e/planted/trials?limit=10&offset=30").json()
    assert [r["id"] for r in rest["rows"]] == [31, 32]
    best = client.get("/api/e/planted/trials?sort=best_value&limit=32").json()["rows"]
    values = [r["best_value"] for r in best]
    assert values == sorted(values)
    worst = client.get("/api/e/planted/trials?sort=best_value&desc=1&limit=1").json()["rows"][0]
    assert worst["best_value"] == max(values)
    by_lr = client.get("/api/e/planted/trials?sort=param:learning_rate&desc=1&limit=32").json()["rows"]
    lrs = [r["params"]["learning_rate"] for r in by_lr]
    assert lrs == sorted(lrs, reverse=True)
    study = client.get("/api/e/planted/trials?study=width%3D64&limit=100").json()
    assert study["total"] == 16 and {r["study"] for r in study["rows"]} == {"width=64"}
    ranged = client.get("/api/e/planted/trials?range=learning_rate:0.001:0.01&limit=100").json()
    assert ranged["total"] == sum(0.001 <= lr <= 0.01 for lr in lrs) > 0
    assert all(0.001 <= r["params"]["learning_rate"] <= 0.01 for r in ranged["rows"])
    assert client.get("/api/e/planted/trials?state=failed").json()["total"] == 0


def test_bad_table_requests_are_one_clear_error(client: TestClient) -> None:
    assert client.get("/api/e/planted/trials?sort=nope").status_code == 400
    assert client.get("/api/e/planted/trials?sort=param:nope").status_code == 400
    missing = client.get("/api/e/planted/trials?study=nope")
    assert missing.status_code == 404 and "no study 'nope'" in missing.json()["error"]
    assert client.get("/api/e/absent").status_code == 404


def test_a_trial_shows_its_parameters_every_curve_and_its_best_step(client: TestClient) -> None:
    trial = client.get("/api/t/1").json()
    assert trial["params"]["learning_rate"] > 0 and trial["state"] == "completed"
    assert trial["metric_points"] == 60  # 20 evaluations x 3 metrics
    names = {t.get("legendgroup") or t.get("name") for t in trial["figure"]["data"]}
    assert names and any("best" in str(t.get("name", "")).lower() or t.get("mode") == "markers"
                         for t in trial["figure"]["data"])
    assert trial["logs"] == [] and trial["checkpoints"] == []
    assert client.get("/api/t/9999").status_code == 404


def test_log_tails_read_the_end_of_each_log(tmp_path: Path) -> None:
    (tmp_path / "stdout.log").write_text("x" * 20_000 + "THE END")
    (tmp_path / "other.txt").write_text("not a log")
    [tail] = log_tails(str(tmp_path))
    assert tail["name"] == "stdout.log" and tail["tail"].endswith("THE END") and len(tail["tail"]) == 8000
    assert log_tails(None) == [] and log_tails(str(tmp_path / "missing")) == []


def test_compare_gives_compares_verdict_for_two_studies(client: TestClient) -> None:
    c = client.get("/api/compare?a=planted/width%3D64&b=planted/width%3D256").json()
    assert c["a"]["label"].startswith("planted/width=64/") and c["b"]["label"].startswith("planted/width=256/")
    assert c["verdict"] and c["lines"] and c["row"]["b_n"] == 3  # width=256's best was retrained three times
    assert client.get("/api/compare?a=planted").status_code == 400


def test_parallel_coordinates_take_a_top_k_and_a_log_axis(client: TestClient) -> None:
    fig = client.get("/api/e/planted/parallel?study=width%3D64&top=5&log=1").json()
    [trace] = fig["data"]
    assert trace["type"] == "parcoords"
    assert [d["label"] for d in trace["dimensions"]] == ["learning_rate (log)", "dropout", "val_error (log)"]
    assert len(trace["dimensions"][0]["values"]) == 5


# -- security ---------------------------------------------------------------------------------------


def test_html_in_goals_names_reasons_and_notes_never_reaches_the_page_as_markup(tmp_path: Path) -> None:
    client = TestClient(create_app(str(make_hostile_store(tmp_path)), isolate=False), base_url=LOCAL)
    shell = client.get("/e/hostile")
    assert shell.status_code == 200 and "pwned" not in shell.text  # the HTML shell holds no stored text
    assert "script-src 'self'" in shell.headers["content-security-policy"]  # and no inline script would run
    page = client.get("/api/e/hostile")
    assert page.headers["content-type"].startswith("application/json")
    data = page.json()
    assert data["goal"] == f"Goal {HOSTILE}" and data["notes"][0]["text"] == f"note {HOSTILE}"
    assert f"tag={HOSTILE}" in data["studies"]
    rows = client.get("/api/e/hostile/trials?state=infeasible").json()["rows"]
    assert {r["reason"] for r in rows} == {f"diverged {HOSTILE}"}
    script = (STATIC / "app.js").read_text()
    # The page's script builds every node with createElement and text nodes: no HTML parsing of data.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_a_token_is_required_on_every_request(planted_db: Path) -> None:
    client = TestClient(create_app(str(planted_db), token="s3cret", host="0.0.0.0", isolate=False), base_url="http://10.1.2.3")
    for path in ("/", "/e/planted", "/static/app.js", "/static/plotly.min.js", "/api/experiments", "/api/e/planted",
                 "/api/e/planted/trials", "/api/t/1", "/api/compare?a=planted&b=planted"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        assert client.get(path + ("&" if "?" in path else "?") + "token=wrong").status_code == 401, path
    assert client.get("/api/experiments", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    first = client.get("/?token=s3cret")
    assert first.status_code == 200 and "scitune_token" in first.headers["set-cookie"]
    assert "httponly" in first.headers["set-cookie"].lower()
    assert client.get("/api/experiments").status_code == 200  # the cookie carries it from now on


def test_binding_beyond_loopback_needs_a_token() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "token")
    with pytest.raises(ScituneError, match="without an access token"):
        check_bind("0.0.0.0", None)


def test_the_command_refuses_a_public_host_without_a_token(planted_db: Path, monkeypatch) -> None:
    monkeypatch.delenv("SCITUNE_DASHBOARD_TOKEN", raising=False)
    result = cli("dashboard", "--store", str(planted_db), "--host", "0.0.0.0")
    # In-process the error reaches the caller; scitune's entry point prints it as one line, exit code 2.
    assert isinstance(result.exception, ScituneError) and result.exception.exit_code == 2
    assert "access token" in result.exception.message


def test_a_loopback_server_refuses_foreign_host_headers(client: TestClient) -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the store.
    assert client.get("/api/experiments", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/experiments", headers={"host": "localhost:8765"}).status_code == 200


def test_no_endpoint_changes_the_store(planted_db: Path, client: TestClient) -> None:
    before = hashlib.sha256(planted_db.read_bytes()).hexdigest()
    paths = ["/", "/api/experiments", "/api/e/planted", "/api/e/planted/version", "/api/e/planted/plots",
             "/api/e/planted/trials", "/api/e/planted/parallel", "/api/t/1", "/api/compare?a=planted&b=planted/width%3D64"]
    for path in paths:
        assert client.get(path).status_code == 200, path
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, path).status_code == 405, (method, path)
    assert hashlib.sha256(planted_db.read_bytes()).hexdigest() == before


def test_the_read_only_store_cannot_write_and_creates_nothing(planted_db: Path, tmp_path: Path) -> None:
    from sqlalchemy import insert
    from sqlalchemy.exc import OperationalError

    from scitune.store.schema import notes

    store = ReadOnlyStore(str(planted_db))
    with pytest.raises(OperationalError, match="readonly"), store.engine.begin() as conn:
        conn.execute(insert(notes).values(experiment_id=1, text="x", created_at=0.0))
    with pytest.raises(StoreError, match="no store at"):
        ReadOnlyStore(str(tmp_path / "absent.db"))
    assert not (tmp_path / "absent.db").exists()


def test_parallel_coordinates_keep_infeasible_trials_visible(tmp_path: Path) -> None:
    client = TestClient(create_app(str(make_hostile_store(tmp_path)), isolate=False), base_url=LOCAL)
    fig = client.get("/api/e/hostile/parallel?top=3").json()
    objective = fig["data"][0]["dimensions"][-1]
    assert "infeasible" in objective["ticktext"] and len(objective["values"]) == 3 + 2  # best 3 and both infeasible
    assert client.get("/api/e/hostile/parallel?top=3&infeasible=0").json()["data"][0]["dimensions"][-1]["values"]
