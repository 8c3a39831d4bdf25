// scitune dashboard: every stored string reaches the page through text nodes (el() below), never as HTML.
"use strict";

const main = document.getElementById("main");
const crumbs = document.getElementById("crumbs");
const live = document.getElementById("live");
const POLL_MS = 1000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") { for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn); }
    else if (k === "dataset") { Object.assign(node.dataset, v); }
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Replace a node's children, skipping the null/false that conditional parts leave (a bare null would print "null").
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter(c => c !== null && c !== undefined && c !== false));
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+(e|$)/, "$1");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function when(t) { return t ? new Date(t * 1000).toLocaleString() : "–"; }

async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  const body = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
  if (!r.ok) throw new Error(body.error + (body.hint ? " (hint: " + body.hint + ")" : ""));
  return body;
}

function setCrumbs(...parts) {
  fill(crumbs, ...parts.flatMap((p, i) => [i ? " / " : "", p]));
}

function link(href, text) { return el("a", { href }, text); }
function enc(s) { return encodeURIComponent(s); }

function table(columns, rows, opts) {
  opts = opts || {};
  const head = el("tr", {}, columns.map(c => {
    const th = el("th", { dataset: { col: c.key } }, c.label);
    if (opts.onSort && c.sort) {
      th.classList.add("sortable");
      if (opts.sort === c.sort) th.classList.add(opts.desc ? "desc" : "asc");
      th.addEventListener("click", () => opts.onSort(c.sort));
    }
    return th;
  }));
  const body = rows.map(r => el("tr", { dataset: { id: r.id } }, columns.map(c => {
    const v = c.get ? c.get(r) : r[c.key];
    return el("td", { class: typeof v === "number" ? "num" : null }, v instanceof Node ? v : fmt(v));
  })));
  return el("table", { class: opts.cls || "grid" }, el("thead", {}, head), el("tbody", {}, body));
}

function showError(err) {
  fill(main, el("p", { class: "error" }, String(err.message || err)));
}

function plot(target, figure) {
  figure.layout = Object.assign({}, figure.layout || {}, { autosize: true });
  return Plotly.react(target, figure.data, figure.layout, { responsive: true, displaylogo: false });
}

// -- live updates: poll a cheap version key; redraw when it changes ----------------------------------
let pollTimer = null;
function watch(name, onChange) {
  let last = null;
  async function tick() {
    try {
      const v = await api(`/api/e/${enc(name)}/version`);
      if (last !== null && v.key !== last) await onChange(v);
      last = v.key;
      live.textContent = `live · ${v.finished}/${v.trials} finished · checked ${new Date().toLocaleTimeString()}`;
      live.dataset.finished = v.finished;
    } catch (e) { live.textContent = "offline: " + e.message; }
    pollTimer = setTimeout(tick, POLL_MS);
  }
  tick();
}

// -- pages -------------------------------------------------------------------------------------------
async function experimentsPage() {
  setCrumbs("experiments");
  const rows = await api("/api/experiments");
  const states = ["completed", "running", "pending", "infeasible", "failed", "interrupted"];
  fill(main,
    el("h1", {}, "Experiments"),
    rows.length ? table([
      { key: "name", label: "experiment", get: r => link(`/e/${enc(r.name)}`, r.name) },
      { key: "goal", label: "goal" },
      { key: "studies", label: "studies" },
      { key: "states", label: "trials by state",
        get: r => states.filter(s => r.states[s]).map(s => `${r.states[s]} ${s}`).join(", ") || "none" },
      { key: "best", label: "best objective", get: r => r.best === null ? "–" : `${fmt(r.best)} ${r.objective} (${r.mode})` },
      { key: "verdict", label: "answer", get: r => r.verdict === null ? "running the checks…" : r.verdict },
      { key: "warnings", label: "warnings" },
    ], rows, { cls: "grid experiments" }) : el("p", { class: "muted" }, "The store holds no experiment yet."),
  );
  // The checks of a large experiment run in the background: ask again until every answer is in.
  if (rows.some(r => r.verdict === null || !r.fresh)) { pollTimer = setTimeout(() => experimentsPage().catch(showError), 1500); }
}

function findingBlock(f) {
  return el("article", { class: `finding ${f.severity}` },
    el("div", { class: "tag" }, f.severity.toUpperCase(), el("span", { class: "check" }, f.check.replace(/_/g, " "))),
    el("h3", {}, f.title), el("p", {}, f.evidence), el("p", { class: "suggestion" }, "→ " + f.suggestion));
}

function importanceBlock(list) {
  if (!list.length) return null;
  return el("section", { id: "importance" }, el("h2", {}, "Parameter importance"),
    el("p", { class: "muted" }, "Per study, how much each nuisance hyperparameter decides whether a trial reaches the best part of the objective (PED-ANOVA, normalised to sum to 1), with the 5–95% range over bootstrap refits."),
    list.map(s => el("div", {}, el("h3", {}, s.study + ` (${s.trials} completed trials)`),
      table([{ key: "param", label: "hyperparameter" }, { key: "importance", label: "importance" },
             { key: "low", label: "5%" }, { key: "high", label: "95%" }],
            s.params.map(p => ({ param: p.name, importance: p.importance, low: p.low, high: p.high }))))));
}

async function experimentPage(name) {
  setCrumbs(link("/", "experiments"), name);
  let retry = null;
  async function draw() {
    clearTimeout(retry);
    const scroll = window.scrollY;
    const o = await api(`/api/e/${enc(name)}`);
    if (o.pending || !o.fresh) retry = setTimeout(() => draw().catch(showError), 1000);  // the checks are still running
    const summaryCols = Object.keys(o.summary[0] || {}).map(k => ({ key: k, label: k.replace("_objective", " " + o.objective) }));
    const content = [
      el("h1", {}, o.name), el("p", { class: "goal" }, o.goal),
      el("p", { class: "links" }, link(`/e/${enc(name)}/trials`, "trials table"), " · ",
         link(`/e/${enc(name)}/parallel`, "parallel coordinates"), " · ", link(`/compare?a=${enc(name)}`, "compare")),
      o.pending ? el("section", { class: "answer note", id: "answer" },
                     el("h2", {}, `Running the report's checks on ${o.version.trials} trials…`),
                     el("p", {}, "The answer, findings and plots appear here when they are ready."))
        : el("section", { class: `answer ${o.answer.severity}`, id: "answer" }, el("h2", {}, o.answer.title),
           el("p", {}, o.answer.evidence), el("p", { class: "suggestion" }, "→ " + o.answer.suggestion),
           el("p", { class: "trust" }, o.trust),
           o.fresh ? null : el("p", { class: "muted" }, `As of ${o.as_of} trials; updating…`)),
      (o.notes || []).length ? el("section", { id: "notes" }, el("h2", {}, "Notes"),
        o.notes.map(n => el("p", { class: "note" }, when(n.created_at) + ": ", n.text))) : null,
      el("h2", {}, "Studies"), table(summaryCols, o.summary, { cls: "grid summary" }),
      el("h2", {}, `Findings (${o.findings.length})`), el("div", { id: "findings" }, o.findings.map(findingBlock)),
      o.passed.length ? el("ul", { class: "passed" }, o.passed.map(p => el("li", {}, "✓ " + p))) : null,
      importanceBlock(o.importance || []),
      el("h2", {}, "Plots"), el("div", { id: "plots" }),
    ];
    fill(main, ...content);
    if (o.pending) return;
    const plots = await api(`/api/e/${enc(name)}/plots`);
    if (!Array.isArray(plots)) return;  // still computing: the retry above draws them
    const holder = document.getElementById("plots");
    fill(holder, );
    for (const p of plots) {
      const div = el("div", { class: "plot" });
      holder.append(el("figure", { class: "scitune-plot", dataset: { plot: p.key } }, el("h3", {}, p.title),
        el("figcaption", {}, p.caption), div));
      await plot(div, p.figure);
    }
    window.scrollTo(0, scroll);
    if (o.fresh) document.body.dataset.updated = String(o.version.finished);
  }
  await draw();
  watch(name, draw);
}

async function trialsPage(name) {
  setCrumbs(link("/", "experiments"), link(`/e/${enc(name)}`, name), "trials");
  const q = new URLSearchParams(location.search);
  const state = { sort: q.get("sort") || "id", desc: q.get("desc") === "1", offset: +(q.get("offset") || 0),
                  limit: +(q.get("limit") || 50), study: q.get("study") || "", states: q.get("state") || "",
                  range: q.getAll("range") };
  const controls = el("form", { class: "controls", id: "filters" });
  const holder = el("div", { id: "table" });
  const pager = el("div", { class: "pager" });
  fill(main, el("h1", {}, `Trials of ${name}`), controls, pager, holder);
  let meta = null;
  async function load() {
    const p = new URLSearchParams({ sort: state.sort, desc: state.desc ? "1" : "0", offset: state.offset, limit: state.limit });
    if (state.study) p.set("study", state.study);
    if (state.states) p.set("state", state.states);
    state.range.forEach(r => p.append("range", r));
    history.replaceState(null, "", `/e/${enc(name)}/trials?` + p);
    const page = await api(`/api/e/${enc(name)}/trials?` + p);
    if (!meta) { meta = page; buildControls(); }
    const cols = [
      { key: "id", label: "id", sort: "id", get: r => link(`/t/${r.id}`, String(r.id)) },
      { key: "study", label: "study", sort: "study" }, { key: "trial", label: "trial", sort: "trial" },
      { key: "state", label: "state", sort: "state" },
      ...page.params.map(n => ({ key: "p:" + n, label: n, sort: "param:" + n, get: r => r.params[n] })),
      { key: "best_value", label: page.objective, sort: "best_value" },
      { key: "best_step", label: "best step", sort: "best_step" },
      { key: "finished_at", label: "finished", sort: "finished_at", get: r => when(r.finished_at) },
      { key: "reason", label: "reason" },
    ];
    fill(holder, table(cols, page.rows, { cls: "grid trials", sort: state.sort, desc: state.desc, onSort: s => {
      state.desc = state.sort === s ? !state.desc : false; state.sort = s; state.offset = 0; load();
    } }));
    const last = Math.min(page.total, state.offset + page.rows.length);
    fill(pager, 
      el("button", { type: "button", id: "prev", disabled: state.offset === 0, on: { click: () => { state.offset = Math.max(0, state.offset - state.limit); load(); } } }, "← previous"),
      el("span", { id: "range" }, ` ${page.total ? state.offset + 1 : 0}–${last} of ${page.total} `),
      el("button", { type: "button", id: "next", disabled: last >= page.total, on: { click: () => { state.offset += state.limit; load(); } } }, "next →"));
    holder.dataset.total = page.total;
  }
  function buildControls() {
    const study = el("select", { name: "study" }, el("option", { value: "" }, "every study"),
      meta.studies.map(s => el("option", { value: s, selected: s === state.study }, s)));
    const st = el("select", { name: "state" }, el("option", { value: "" }, "every state"),
      meta.states.map(s => el("option", { value: s, selected: s === state.states }, s)));
    const param = el("select", { name: "param" }, meta.params.map(n => el("option", { value: n }, n)));
    const low = el("input", { name: "low", placeholder: "low", size: 8 });
    const high = el("input", { name: "high", placeholder: "high", size: 8 });
    const size = el("select", { name: "limit" }, [25, 50, 100, 200].map(n => el("option", { value: n, selected: n === state.limit }, `${n} a page`)));
    fill(controls, study, st, meta.params.length ? el("span", {}, " ", param, " in [", low, ", ", high, "] ") : null, size,
      el("button", { type: "submit" }, "filter"));
    controls.addEventListener("submit", ev => {
      ev.preventDefault();
      state.study = study.value; state.states = st.value; state.limit = +size.value; state.offset = 0;
      state.range = (low.value || high.value) ? [`${param.value}:${low.value}:${high.value}`] : [];
      load().catch(showError);
    });
  }
  await load();
  watch(name, load);
}

async function trialPage(id) {
  const t = await api(`/api/t/${id}`);
  setCrumbs(link("/", "experiments"), link(`/e/${enc(t.experiment)}`, t.experiment),
            link(`/e/${enc(t.experiment)}/trials?study=${enc(t.study)}`, t.study), `trial ${t.number}`);
  const facts = [["state", t.state], ["reason", t.reason], [`best ${t.objective} (${t.mode})`, t.best_value], ["best step", t.best_step],
                 ["seed", t.seed], ["host", t.host], ["attempts", t.attempts], ["started", when(t.started_at)],
                 ["finished", when(t.finished_at)], ["folder", t.directory], ["metric points", t.metric_points], ["id", t.id]];
  const plotDiv = el("div", { class: "plot" });
  fill(main, 
    el("h1", {}, `${t.study} / trial ${t.number}`),
    el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, fmt(v))))),
    el("h2", {}, "Hyperparameters"),
    el("table", { class: "facts params" }, Object.entries(t.params).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, fmt(v))))),
    el("h2", {}, "Curves"), el("p", { class: "muted" }, `A star marks the best step of ${t.objective}.`), plotDiv,
    el("h2", {}, "Checkpoints"),
    t.checkpoints.length ? table([{ key: "step", label: "step" }, { key: "path", label: "path" }], t.checkpoints) : el("p", { class: "muted" }, "none kept"),
    t.traceback ? [el("h2", {}, "Traceback"), el("pre", { class: "traceback" }, t.traceback)] : null,
    el("h2", {}, "Logs"),
    t.logs.length ? t.logs.map(l => [el("h3", {}, `${l.name} (last ${Math.min(l.size, 8000)} of ${l.size} bytes)`), el("pre", {}, l.tail)])
                  : el("p", { class: "muted" }, "no log files in the trial's folder"),
  );
  if (t.figure) await plot(plotDiv, t.figure); else plotDiv.replaceWith(el("p", { class: "muted" }, "no metric points"));
}

async function comparePage() {
  setCrumbs(link("/", "experiments"), "compare");
  const q = new URLSearchParams(location.search);
  const a = el("input", { name: "a", value: q.get("a") || "", size: 40, placeholder: "EXPERIMENT/STUDY or EXPERIMENT/STUDY/NUMBER or id" });
  const b = el("input", { name: "b", value: q.get("b") || "", size: 40, placeholder: "EXPERIMENT/STUDY or EXPERIMENT/STUDY/NUMBER or id" });
  const out = el("div", { id: "result" });
  const form = el("form", { class: "controls" }, "baseline ", a, " candidate ", b, " ", el("button", { type: "submit" }, "compare"));
  fill(main, el("h1", {}, "Compare two studies or trials"),
    el("p", { class: "muted" }, "A study stands for its best trial; each side's sample is its reruns (scitune retrain), else its own objective. The verdict and interval are scitune compare's."),
    form, out);
  async function run() {
    if (!a.value || !b.value) return;
    history.replaceState(null, "", "/compare?" + new URLSearchParams({ a: a.value, b: b.value }));
    try {
      const c = await api("/api/compare?" + new URLSearchParams({ a: a.value, b: b.value }));
      const names = [...new Set([...Object.keys(c.a.params), ...Object.keys(c.b.params)])];
      fill(out, 
        el("section", { class: "answer " + (c.verdict === "adopt" ? "info" : "note"), id: "verdict" }, el("h2", {}, c.verdict), c.lines.map(l => el("p", {}, l))),
        el("table", { class: "grid" }, el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "baseline"), el("th", {}, "candidate"))),
          el("tbody", {},
            el("tr", {}, el("th", {}, "trial"), el("td", {}, link(`/t/${c.a.id}`, c.a.label)), el("td", {}, link(`/t/${c.b.id}`, c.b.label))),
            el("tr", {}, el("th", {}, c.metric), el("td", {}, fmt(c.a.best_value)), el("td", {}, fmt(c.b.best_value))),
            el("tr", {}, el("th", {}, "reruns"), el("td", {}, fmt(c.row.a_n)), el("td", {}, fmt(c.row.b_n))),
            names.map(n => el("tr", {}, el("th", {}, n), el("td", {}, fmt(c.a.params[n])), el("td", {}, fmt(c.b.params[n])))))));
    } catch (e) { fill(out, el("p", { class: "error" }, e.message)); }
  }
  form.addEventListener("submit", ev => { ev.preventDefault(); run(); });
  await run();
}

async function parallelPage(name) {
  setCrumbs(link("/", "experiments"), link(`/e/${enc(name)}`, name), "parallel coordinates");
  const o = await api(`/api/e/${enc(name)}/trials?limit=1`);
  const q = new URLSearchParams(location.search);
  const study = el("select", { name: "study" }, o.studies.map(s => el("option", { value: s, selected: s === q.get("study") }, s)));
  const top = el("input", { name: "top", value: q.get("top") || "", size: 6, placeholder: "all" });
  const log = el("input", { type: "checkbox", name: "log", checked: q.get("log") === "1" });
  const bad = el("input", { type: "checkbox", name: "infeasible", checked: q.get("infeasible") !== "0" });
  const div = el("div", { class: "plot", id: "parallel" });
  const form = el("form", { class: "controls" }, study, " best ", top, " trials ",
    el("label", {}, log, " log objective axis"), " ", el("label", {}, bad, " show infeasible and failed"), " ",
    el("button", { type: "submit" }, "draw"));
  fill(main, el("h1", {}, `Parallel coordinates of ${name}`),
    el("p", { class: "muted" }, "One line per finished trial across the nuisance hyperparameters, coloured by the objective (bright is best). Grey lines on the top row are infeasible or failed trials. Drag along an axis to filter."),
    form, div);
  async function draw() {
    const p = new URLSearchParams({ study: study.value, log: log.checked ? "1" : "0", infeasible: bad.checked ? "1" : "0" });
    if (top.value) p.set("top", top.value);
    history.replaceState(null, "", `/e/${enc(name)}/parallel?` + p);
    await plot(div, await api(`/api/e/${enc(name)}/parallel?` + p));
  }
  form.addEventListener("submit", ev => { ev.preventDefault(); draw().catch(showError); });
  await draw();
  watch(name, draw);
}

// -- routing -----------------------------------------------------------------------------------------
function route() {
  const path = location.pathname.split("/").map(decodeURIComponent);
  if (path[1] === "e" && path[3] === "trials") return trialsPage(path[2]);
  if (path[1] === "e" && path[3] === "parallel") return parallelPage(path[2]);
  if (path[1] === "e") return experimentPage(path[2]);
  if (path[1] === "t") return trialPage(+path[2]);
  if (path[1] === "compare") return comparePage();
  return experimentsPage();
}

window.addEventListener("DOMContentLoaded", () => {
  route().then(() => { document.body.dataset.ready = "1"; }).catch(e => { showError(e); document.body.dataset.ready = "error"; });
});
