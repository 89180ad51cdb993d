// embedlab explorer: a 2-D view of a collection or a vectors set, with search, neighbours and analogies.
// Plain JS over the server's JSON API; plotly.js draws the scatter.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                   "#7f7f7f", "#aec7e8"];
  const state = { kind: null, name: null, data: null, vectorsSets: [], hits: [], selected: [], listening: false,
                  view: 0, stale: 0, job: null };
  // Every request is tagged with the view it was made for (a source + method) and its own turn in its lane
  // (projection, search, neighbours, analogy). A response that arrives after the view changed, or after a newer
  // request in the same lane, is dropped (and counted in state.stale): a slow search on the old source must not
  // overwrite the new source's plot or status.
  const latest = { projection: 0, search: 0, neighbors: 0, analogy: 0 };
  let turn = 0;

  function ticket(lane) {
    latest[lane] = ++turn;
    return { lane, turn, view: state.view };
  }

  function current(t) {
    const ok = latest[t.lane] === t.turn && (t.lane === "projection" || t.view === state.view);
    if (!ok) state.stale += 1;
    return ok;
  }

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("api-key").value.trim();
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  function failure(e, fallback) {
    return new Error((e.type ? e.type + ": " : "") + (e.message || fallback));
  }

  async function request(method, path, body) {
    const res = await fetch(path, { method, headers: headers(), body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw failure(json.error || {}, res.statusText);
    return { code: res.status, json };
  }

  async function api(method, path, body) {
    return (await request(method, path, body)).json;
  }

  const METHOD_NAMES = { pca: "PCA", tsne: "t-SNE", umap: "UMAP" };
  const POLL_MS = 400;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // A t-SNE or UMAP projection answers 202 with a background job: poll GET /api/jobs/{id}, showing its stage and
  // progress, until it is done (its result is the projection) or failed (its error is thrown). Polling stops as
  // soon as a newer projection request took the lane (the user picked another source or method); the caller's
  // current(t) then drops the answer. PCA (and a finished projection, cached) answers 200 at once.
  async function projection(t, path, label) {
    const first = await request("GET", path);
    if (first.code !== 202) return first.json;
    let job = first.json;
    for (;;) {
      state.job = { id: job.id, status: job.status, progress: job.progress };
      if (latest.projection !== t.turn) return null;
      if (job.status === "done") return job.result;
      if (job.status === "error") throw failure(job.error || {}, "the projection job failed");
      status(`${label}: ${job.stage} · ${Math.round(100 * job.progress)}% · ${Math.round(job.elapsed_s)} s`);
      await sleep(POLL_MS);
      job = await api("GET", "/api/jobs/" + enc(job.id));
    }
  }

  function status(text, isError) {
    const s = $("status");
    s.textContent = text;
    s.className = isError ? "error" : "";
  }

  // An error is shown only if its request is still the current one (a stale failure is dropped like a stale
  // answer).
  function report(t, e) {
    if (current(t)) status(e.message, true);
  }

  const enc = encodeURIComponent;
  const base = () => (state.kind === "collection" ? "/api/collections/" : "/api/vectors/") + enc(state.name);

  const TOUR_SOURCE = "collection:tour", LAST_SOURCE = "embedlab.explorer.source";
  function remembered() {
    try { return localStorage.getItem(LAST_SOURCE); } catch (e) { return null; }  // storage off: nothing kept
  }
  function remember(value) {
    try { localStorage.setItem(LAST_SOURCE, value); } catch (e) { /* storage off */ }
  }

  async function loadSources() {
    const [cols, vecs] = await Promise.all([api("GET", "/api/collections"), api("GET", "/api/vectors")]);
    const sel = $("source");
    sel.innerHTML = "";
    for (const c of cols.collections) {
      if (c.status && c.status !== "ok") {  // damaged or unavailable: listed, not selectable, the error on hover
        const o = new Option(`${c.name} (${c.status})`, "collection:" + c.name);
        o.disabled = true; o.title = c.error || "";
        sel.add(o);
        continue;
      }
      sel.add(new Option(`${c.name} (${c.count} items)`, "collection:" + c.name));
    }
    for (const v of vecs.vectors) sel.add(new Option(`${v} (word vectors)`, "vectors:" + v));
    state.vectorsSets = vecs.vectors;
    const usable = [...sel.options].filter((o) => !o.disabled);
    if (!usable.length) { status("no collections or vectors sets yet: create one with the API (/docs)"); return; }
    // ?source=collection:NAME (or vectors:NAME) picks one; else the one last chosen in this browser, else the
    // tour's collection, else the first listed
    const wanted = new URLSearchParams(location.search).get("source");
    const pick = [wanted, remembered(), TOUR_SOURCE].find((v) => v && usable.some((o) => o.value === v));
    sel.value = pick || usable[0].value;
    if (pick && pick === wanted) remember(pick);
    await loadProjection();
  }

  async function loadProjection() {
    const [kind, ...rest] = $("source").value.split(":");
    state.view += 1;
    const t = ticket("projection");
    state.kind = kind; state.name = rest.join(":");
    state.hits = []; state.selected = []; state.data = null;
    delete $("neighbors-title").dataset.id;
    $("results").innerHTML = ""; $("neighbors").innerHTML = ""; $("analogy-results").innerHTML = "";
    $("neighbors-title").textContent = "Neighbours";
    const method = $("method").value, label = METHOD_NAMES[method] || method;
    status(method === "pca" ? "projecting…" : `projecting with ${label}…`);
    let data;
    try {
      data = await projection(t, `${base()}/projection?method=${enc(method)}`, label);
    } catch (e) { report(t, e); return; }
    if (!current(t)) return;
    state.data = data;
    state.index = new Map(data.ids.map((id, i) => [id, i]));
    const fields = Object.keys(data.metadata);
    const colour = $("color-by");
    const keep = colour.value;
    colour.innerHTML = "";
    colour.add(new Option("(none)", ""));
    for (const f of fields) colour.add(new Option(f, f));
    colour.value = fields.includes(keep) ? keep : (fields[0] || "");
    const sampled = data.total <= data.ids.length ? ""
      : data.kind === "vectors" ? ` (most frequent words of ${data.total})` : ` (sample of ${data.total})`;
    const av = analogySet();
    $("analogy-title").textContent = av ? `Analogy (on ${av})` : "Analogy (no vectors set on this server)";
    draw();
    status(`${data.ids.length} points${sampled} · ${label} · ${data.name}`);
  }

  function analogySet() {
    return state.kind === "vectors" ? state.name : state.vectorsSets[0] || null;
  }

  const MAX_GROUPS = 12;

  function traces() {
    const d = state.data, field = $("color-by").value, out = [];
    const values = field ? d.metadata[field] : null;
    const numeric = values && values.every((v) => v === null || typeof v === "number");
    if (numeric && new Set(values).size > MAX_GROUPS) {  // a number with many values: a colour scale
      out.push({ type: "scatter", mode: "markers", name: field, x: d.x, y: d.y, text: d.labels, customdata: d.ids,
                 hovertemplate: "<b>%{customdata}</b><br>%{text}<br>" + field + " = %{marker.color}<extra></extra>",
                 marker: { size: d.ids.length > 500 ? 5 : 9, color: values, colorscale: "Viridis", showscale: true,
                           colorbar: { title: { text: field }, thickness: 12 } } });
      return out.concat(overlays());
    }
    const counts = new Map();
    if (values) values.forEach((v) => counts.set(String(v ?? "(missing)"), (counts.get(String(v ?? "(missing)")) || 0) + 1));
    const top = new Set([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_GROUPS - 1).map((e) => e[0]));
    const groups = new Map();
    d.ids.forEach((id, i) => {
      let g = values ? String(values[i] ?? "(missing)") : d.name;
      if (values && counts.size > MAX_GROUPS && !top.has(g)) g = "(other)";  // keep the legend readable
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(i);
    });
    let c = 0;
    for (const [g, rows] of groups) {
      out.push({ type: "scatter", mode: "markers", name: g, x: rows.map((i) => d.x[i]), y: rows.map((i) => d.y[i]),
                 text: rows.map((i) => d.labels[i]), customdata: rows.map((i) => d.ids[i]),
                 hovertemplate: "<b>%{customdata}</b><br>%{text}<extra>%{fullData.name}</extra>",
                 marker: { size: d.ids.length > 500 ? 5 : 9, color: PALETTE[c++ % PALETTE.length], opacity: 0.8 } });
    }
    return out.concat(overlays());
  }

  function overlays() {
    return [overlay("search hits", state.hits, { symbol: "circle-open", size: 18, color: "#d62728", line: { width: 3 } }),
            overlay("neighbours", state.selected, { symbol: "diamond-open", size: 16, color: "#111", line: { width: 2 } })];
  }

  function overlay(name, ids, marker) {
    const d = state.data, rows = ids.map((id) => state.index.get(id)).filter((i) => i !== undefined);
    return { type: "scatter", mode: "markers+text", name, x: rows.map((i) => d.x[i]), y: rows.map((i) => d.y[i]),
             text: rows.map((i) => d.ids[i]), customdata: rows.map((i) => d.ids[i]), textposition: "top center",
             textfont: { size: 11 }, hovertemplate: "<b>%{customdata}</b><extra>" + name + "</extra>", marker,
             showlegend: rows.length > 0 };
  }

  function draw() {
    if (!state.data) return;  // a projection is on its way; it draws when it lands
    const layout = { margin: { l: 30, r: 10, t: 10, b: 30 }, hovermode: "closest", dragmode: "pan",
                     legend: { orientation: "h", y: -0.06 }, xaxis: { zeroline: false }, yaxis: { zeroline: false } };
    Plotly.react("plot", traces(), layout, { displaylogo: false, responsive: true, scrollZoom: true });
    if (!state.listening) {
      $("plot").on("plotly_click", (ev) => {
        const p = ev.points && ev.points[0];
        if (p && p.customdata !== undefined) showNeighbors(String(p.customdata));
      });
      state.listening = true;
    }
  }

  function render(list, hits) {
    list.innerHTML = "";
    for (const h of hits) {
      const li = document.createElement("li");
      li.dataset.id = h.id;
      const name = document.createElement("span");
      name.className = "id"; name.textContent = h.id;
      const score = document.createElement("span");
      score.className = "score"; score.textContent = h.score.toFixed(3);
      li.append(name, score);
      const i = state.data ? state.index.get(h.id) : undefined;
      const label = h.source || (i !== undefined ? state.data.labels[i] : "");
      if (label && label !== h.id) {
        const l = document.createElement("span");
        l.className = "label"; l.textContent = label; li.append(l);
      }
      li.addEventListener("click", () => showNeighbors(h.id));
      list.append(li);
    }
  }

  async function search(ev) {
    if (ev) ev.preventDefault();
    const q = $("search-input").value.trim();
    if (!q) return;
    const t = ticket("search");
    try {
      status("searching…");
      const res = state.kind === "collection"
        ? await api("POST", `${base()}/search`, { query: q, k: 10 })
        : await api("POST", `${base()}/neighbors`, { query: q, k: 10 });
      if (!current(t)) return;
      state.hits = res.hits.map((h) => h.id);
      render($("results"), res.hits);
      draw();
      status(`${res.hits.length} results for “${q}”`);
    } catch (e) { report(t, e); }
  }

  async function showNeighbors(id) {
    const t = ticket("neighbors");
    try {
      const res = state.kind === "collection"
        ? await api("POST", `${base()}/search`, { id, k: 8 })
        : await api("POST", `${base()}/neighbors`, { query: id, k: 8 });
      if (!current(t)) return;
      state.selected = [id, ...res.hits.map((h) => h.id)];
      $("neighbors-title").textContent = `Neighbours of ${id}`;
      $("neighbors-title").dataset.id = id;
      $("neighbors-hint").hidden = true;
      render($("neighbors"), res.hits);
      draw();
      status(`neighbours of ${id}`);
    } catch (e) { report(t, e); }
  }

  async function analogy(ev) {
    if (ev) ev.preventDefault();
    const set = analogySet(), expr = $("analogy-input").value.trim();
    if (!set || !expr) return;
    const t = ticket("analogy");
    try {
      const res = await api("POST", `/api/vectors/${enc(set)}/arithmetic`, { query: expr, k: 8 });
      if (!current(t)) return;
      render($("analogy-results"), res.hits);
      if (state.kind === "vectors") { state.hits = res.hits.map((h) => h.id); draw(); }
      status(`${expr} → ${res.hits.length ? res.hits[0].id : "nothing"}`);
    } catch (e) { report(t, e); }
  }

  // Page coordinates of a point (for keyboard-free automation and tests): {x, y} or null.
  function pointPosition(id) {
    const gd = $("plot"), fl = gd._fullLayout, i = state.data ? state.index.get(id) : undefined;
    if (!fl || i === undefined) return null;
    const box = gd.getBoundingClientRect();
    return { x: box.left + fl.xaxis._offset + fl.xaxis.l2p(state.data.x[i]),
             y: box.top + fl.yaxis._offset + fl.yaxis.l2p(state.data.y[i]) };
  }

  window.explorer = { state, pointPosition, search, showNeighbors, loadProjection };
  $("source").addEventListener("change", () => {
    remember($("source").value);
    loadProjection().catch((e) => status(e.message, true));
  });
  $("method").addEventListener("change", () => loadProjection().catch((e) => status(e.message, true)));
  $("color-by").addEventListener("change", draw);
  $("search-form").addEventListener("submit", search);
  $("analogy-form").addEventListener("submit", analogy);
  $("api-key").addEventListener("change", () => loadSources().catch((e) => status(e.message, true)));
  if (typeof Plotly === "undefined") {
    status("plotly.js did not load: pip install 'embedlab[server]' (it ships inside the plotly package)", true);
  } else {
    loadSources().catch((e) => status(e.message, true));
  }
})();
