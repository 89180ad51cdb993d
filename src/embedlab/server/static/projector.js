// embedlab projector, the page: every row of a collection or vectors set in 2-D (projector-scatter.js, WebGL with
// regl-scatterplot), or on a plain canvas down-sampled when WebGL is unavailable, or in 3-D (projector-3d.js,
// three.js); a second source beside it (projector-compare.js). Coordinates arrive as one float32 array; ids, labels
// and metadata are asked for by row number. The view lives in the URL hash.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const { PALETTE, SCALE } = window.ProjectorColours;
  const FALLBACK_MAX = 20000, POLL_MS = 300;
  const METHOD_NAMES = { pca: "PCA", tsne: "t-SNE", umap: "UMAP" };
  const CLUSTERS = "\u0000clusters";  // the colour-by option of the last clustering (never a metadata field)
  const PLACED = { exact: "PCA (exact)", transform: "UMAP's transform",
                   "nearest-neighbour": "nearest neighbours (the mean of its nearest fitted rows' positions)" };
  const state = { kind: null, name: null, method: "pca", meta: null, xy: null, n: 0, view: 0, stale: 0, job: null,
                  colour: null, selected: [], neighbors: null, filtered: null, webgl: false, drawn: 0,
                  points: new Map(), hash: null };
  let map2d = null, fallback = null, view3d = null, compare = null;
  state.dims = 2;
  state.marks = {};
  const mark = (name) => { state.marks[name] = Math.round(performance.now()); };

  // ------------------------------------------------------------------ HTTP
  function headers(json) {
    const h = json ? { "Content-Type": "application/json" } : {};
    const key = $("api-key").value.trim();
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }
  async function request(method, path, body, binary) {
    const res = await fetch(path, { method, headers: headers(!!body), body: body ? JSON.stringify(body) : undefined });
    if (!res.ok) {
      const json = await res.json().catch(() => ({}));
      const e = json.error || {};
      throw new Error((e.type ? e.type + ": " : "") + (e.message || res.statusText));
    }
    if (binary) return { code: res.status, data: await res.arrayBuffer() };
    return { code: res.status, json: await res.json() };
  }
  const api = async (m, p, b) => (await request(m, p, b)).json;
  const base = () => `/api/projector/${state.kind}/${enc(state.name)}`;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function status(text, isError) {
    $("status").textContent = text;
    $("status").className = isError ? "error" : "";
  }
  function note(text) {
    const el = $("note");
    el.textContent = text || "";
    el.style.display = text ? "block" : "none";
  }

  // ------------------------------------------------------------------ the URL holds the view
  const readHash = () => window.ProjectorURL.read(location.hash);

  function writeHash() {
    const colour = $("color-by").value, clustered = colour === CLUSTERS && state.clusters;
    const cam = state.dims === 3 ? view3d && view3d.getCamera() : map2d && map2d.getCamera();
    state.hash = window.ProjectorURL.write({
      source: state.kind ? `${state.kind}:${state.name}` : null, method: state.method,
      color: colour !== CLUSTERS ? colour : null, cluster: clustered ? state.clusters : null,
      stop: $("stop-words").value.trim(), where: $("where").value.trim(), regex: $("regex").value.trim(),
      sel: state.selected, q: state.query && state.query.query,
      cmp: compare && compare.active ? `${compare.kind}:${compare.name}` : null, dims: state.dims, cam,
    });
    history.replaceState(null, "", "#" + state.hash);
  }

  // ------------------------------------------------------------------ sources
  async function loadSources() {
    const [cols, vecs] = await Promise.all([api("GET", "/api/collections"), api("GET", "/api/vectors")]);
    const sel = $("source");
    sel.innerHTML = "";
    for (const c of cols.collections) {
      if (c.status && c.status !== "ok") {  // damaged or unavailable: listed, not selectable, the error on hover
        const o = new Option(`${c.name} (${c.status})`, "collection:" + c.name);
        o.disabled = true; o.title = c.error || "";
        sel.add(o);
      } else sel.add(new Option(`${c.name} (${c.count} items)`, "collection:" + c.name));
    }
    for (const v of vecs.vectors) sel.add(new Option(`${v} (word vectors)`, "vectors:" + v));
    const usable = [...sel.options].filter((o) => !o.disabled).map((o) => o.value);
    const cmp = $("compare");
    cmp.length = 1;  // "(none)", then every usable source
    for (const o of sel.options) if (!o.disabled) cmp.add(new Option(o.text, o.value));
    const { out, notes } = readHash();
    if (out.source && !usable.includes(out.source)) {
      notes.push(`the source '${out.source}' is not on this server`);
      delete out.source; delete out.sel; delete out.cam; delete out.color;
    }
    if (!usable.length) { status("no collections or vectors sets yet: create one with the API (/docs)"); return; }
    // the link's source, else the one last chosen in this browser (static/source-memory.js), else the tour's
    const kept = window.projectorMemory ? window.projectorMemory.recall(usable) : null;
    sel.value = out.source || kept || (usable.includes("collection:tour") ? "collection:tour" : usable[0]);
    if (out.method) $("method").value = out.method;
    if (out.cmp && !usable.includes(out.cmp)) notes.push(`the compare source '${out.cmp}' is not on this server`);
    else if (out.cmp && !state.webgl) notes.push("the compare view needs WebGL");
    else if (out.cmp) { $("compare").value = out.cmp; out.dims = "2"; }
    if (out.dims === "3" && !state.webgl) notes.push("the 3-D view needs WebGL");
    else if (out.dims) $("dims").value = out.dims;
    if (out.cam && out.cam.length !== ($("dims").value === "3" ? 6 : 3)) { notes.push("a malformed camera"); delete out.cam; }
    if (out.where) $("where").value = out.where;
    if (out.regex) $("regex").value = out.regex;
    if (notes.length) {
      note([state.baseNote, "Ignored part of the link's view state: " + notes.join("; ") + "."].filter(Boolean).join(" "));
    }
    await loadLayout(out);
  }

  // ------------------------------------------------------------------ layouts
  // GET path; a 202 is a background job: poll it (showing its stage) until done (its result) or failed (thrown).
  // null once the view changed (the caller drops it).
  async function viaJob(path, label, view) {
    const first = await request("GET", path);
    if (first.code !== 202) return first.json;
    let job = first.json;
    for (;;) {
      state.job = { id: job.id, status: job.status, progress: job.progress };
      if (view !== state.view) return null;
      if (job.status === "done") return job.result;
      if (job.status === "error") throw new Error((job.error.type || "Error") + ": " + job.error.message);
      status(`${label}: ${job.stage} · ${Math.round(100 * job.progress)}% · ${Math.round(job.elapsed_s)} s`);
      await sleep(POLL_MS);
      job = await api("GET", "/api/jobs/" + enc(job.id));
    }
  }

  const fetchLayout = (view) => viaJob(`${base()}/layout?method=${state.method}&dims=${state.dims}`,
                                       METHOD_NAMES[state.method] + (state.dims === 3 ? " 3-D" : ""), view);

  async function cluster(ev) {
    if (ev) ev.preventDefault();
    if (!state.meta) return;
    const view = state.view, algorithm = $("cluster-algorithm").value;
    const params = new URLSearchParams({ algorithm, stop_words: $("stop-words").value });
    if (algorithm === "kmeans") params.set("n_clusters", $("cluster-k").value);
    const label = algorithm === "kmeans" ? "k-means" : "HDBSCAN";
    status(`clustering with ${label}…`);
    try {
      const col = await viaJob(`${base()}/clusters?${params}`, label, view);
      if (col === null || view !== state.view) { state.stale += 1; return; }
      state.clusters = { ...col, k: params.get("n_clusters") };
      const sel = $("color-by");
      if (![...sel.options].some((o) => o.value === CLUSTERS)) sel.add(new Option("(clusters)", CLUSTERS));
      sel.value = CLUSTERS;
      await applyColour(view);
      await draw();
      status(`${col.categories.length} clusters (${label}) · ${state.name}`);
      writeHash();
    } catch (e) { if (view === state.view) status(e.message, true); }
  }

  async function loadLayout(restore) {
    const [kind, ...rest] = $("source").value.split(":");
    const view = ++state.view;
    state.kind = kind; state.name = rest.join(":"); state.method = $("method").value;
    state.dims = state.webgl && $("dims").value === "3" ? 3 : 2;
    state.clusters = null;
    state.points = new Map(); state.selected = []; state.query = null; $("query-marker").style.display = "none";
    $("query-info").textContent = ""; state.neighbors = null; state.filtered = null;
    $("neighbors").innerHTML = ""; $("overlap").textContent = ""; $("neighbors-title").textContent = "Neighbours";
    delete $("neighbors-title").dataset.id;
    status(`laying out ${state.name} with ${methodName()}…`);
    let meta, buf;
    try {
      mark("layout-asked");
      meta = await fetchLayout(view);
      mark("layout");
      if (meta === null || view !== state.view) { state.stale += 1; return; }
      // the server's KDBush index of the drawn 2-D points, fetched beside the coordinates (none: built here)
      const index = state.dims === 2
        ? request("GET", `${base()}/spatial-index?method=${state.method}`, null, true).catch(() => null)
        : Promise.resolve(null);
      buf = (await request("GET", `${base()}/coords?method=${state.method}&dims=${state.dims}`, null, true)).data;
      state.spatialIndex = ((await index) || {}).data || null;
    } catch (e) {
      if (view !== state.view) { state.stale += 1; return; }
      state.meta = null;
      status(e.message, true);
      clearMap();
      writeHash();
      return;
    }
    mark("coords");
    if (view !== state.view) { state.stale += 1; return; }
    state.meta = meta;
    const coords = new Float32Array(buf);
    state.n = coords.length / state.dims;
    state.xyz = state.dims === 3 ? coords : null;  // state.xy: the first two axes (the canvas fallback, the 2-D map)
    state.xy = state.dims === 3 ? coords.filter((_, j) => j % 3 !== 2) : coords;
    const colour = $("color-by"), want = restore && restore.color !== undefined ? restore.color : colour.value;
    colour.innerHTML = "";
    colour.add(new Option("(none)", ""));
    for (const f of meta.fields) colour.add(new Option(f, f));
    colour.value = meta.fields.includes(want) ? want : (meta.fields[0] || "");
    const tc = meta.trustworthiness === null || meta.trustworthiness === undefined ? ""
      : `trustworthiness ${meta.trustworthiness.toFixed(3)}, continuity ${meta.continuity.toFixed(3)} (k = 10) · `;
    $("layout-info").textContent = tc + meta.how;  // the distortion figure first: it must not be cut off
    $("layout-info").title = tc + meta.how;
    await applyColour(view);
    mark("colour");
    if (view !== state.view) return;
    await draw(restore);
    if (view !== state.view) return;
    if (restore && (restore.where || restore.regex)) await applyFilter();
    if (restore && restore.sel) select(restore.sel.filter((r) => r < state.n));
    if (restore && restore.cluster) {
      $("cluster-algorithm").value = restore.cluster.algorithm;
      if (restore.cluster.k) $("cluster-k").value = restore.cluster.k;
      if (restore.stop) $("stop-words").value = restore.stop;
      await cluster();
      if (view !== state.view) return;
    }
    status(`${state.n} points · ${methodName()} · ${state.name}`);
    if ($("compare").value) {
      await openCompare(restore && restore.cam);
      if (view !== state.view) return;
    }
    if (restore && restore.q) {  // last: its status (its nearest row, or its error) stays shown
      $("query").value = restore.q;
      await placeQuery();
      if (view !== state.view) return;
    }
    writeHash();
  }

  // ------------------------------------------------------------------ colour
  async function applyColour(view) {
    const field = $("color-by").value;
    state.colour = null;
    if (field === CLUSTERS) state.colour = state.clusters || null;
    else if (field) {
      try {
        const col = await api("GET", `${base()}/column/${enc(field)}`);
        if (view !== undefined && view !== state.view) return;
        state.colour = col;
      } catch (e) { status(e.message, true); }
    }
    legend();
  }

  function legend() {
    const el = $("legend"), c = state.colour;
    el.innerHTML = "";
    if (!c) return;
    const title = document.createElement("div");
    title.textContent = c.field === "cluster" && c.algorithm
      ? `clusters (${c.algorithm === "kmeans" ? "k-means" : "HDBSCAN"}, named by c-TF-IDF)`
      : c.field + (c.mixed ? " (mixed types, shown as text)" : "");
    el.append(title);
    if (c.type === "number") {
      const bar = document.createElement("div");
      bar.className = "bar"; bar.style.background = `linear-gradient(to right, ${SCALE.join(",")})`;
      const ends = document.createElement("div");
      ends.textContent = `${c.min} … ${c.max}`;
      el.append(bar, ends);
      return;
    }
    c.categories.forEach((cat, i) => {
      const row = document.createElement("div");
      row.className = "entry"; row.dataset.color = PALETTE[i % PALETTE.length];
      const sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = PALETTE[i % PALETTE.length];
      row.append(sw, document.createTextNode(`${cat} (${c.counts[i]})`));
      el.append(row);
    });
  }

  const extent = () => window.ProjectorColours.extent(state.xy);
  const colourOf = (i) => window.ProjectorColours.colourOf(state.colour, i);

  // ------------------------------------------------------------------ drawing
  function webglAvailable() {
    try {
      const c = document.createElement("canvas");
      return !!(c.getContext("webgl2") || c.getContext("webgl"));
    } catch (e) { return false; }
  }

  const methodName = () => METHOD_NAMES[state.method] + (state.dims === 3 ? " 3-D" : "");

  function clearMap() {
    if (map2d) map2d.clear();
    if (view3d) view3d.clear();
    if (fallback) fallback.clear();
  }

  function setupPlot() {
    const map = $("map");
    state.webgl = typeof createScatterplot === "function" && webglAvailable();
    if (!state.webgl) {
      state.baseNote = `WebGL is unavailable in this browser, so the map is a plain canvas of at most ` +
        `${FALLBACK_MAX.toLocaleString()} sampled points (no lasso). Enable hardware acceleration or WebGL for the full view.`;
      note(state.baseNote);
      fallback = new CanvasMap(map, { hover: (i, x, y) => hover(i, x, y), out: hideTooltip,
                                      click: (i) => showNeighbors(i) }, FALLBACK_MAX);
      $("dims").disabled = true; $("dims").title = "the 3-D view needs WebGL";
      $("compare").disabled = true; $("compare").title = "the compare view needs WebGL";
      return;
    }
    map2d = new Scatter2D(map, {
      hover: (i, x, y) => hover(i, x, y), out: hideTooltip, click: (i) => showNeighbors(i),
      select: (rows) => { state.selected = rows; state.neighbors = null; selectionInfo(); writeHash(); },
      deselect: () => { state.selected = []; selectionInfo(); writeHash(); },
      view: () => { hideTooltip(); if (state.meta) scheduleHash(); if (state.query) markQuery(); },
      drawn: () => { state.drawn += 1; if (state.marks.points && !state.marks.drawEvent) mark("drawEvent"); },
    }, $("lasso-type").value);
    setupCompare();
  }

  // the 3-D view (projector-3d.js), made the first time it is shown
  function ensure3d() {
    if (view3d) return view3d;
    view3d = new View3D($("map"), {
      hover: (i, x, y) => hover(i, x, y), out: hideTooltip, click: (i) => showNeighbors(i),
      view: () => { hideTooltip(); if (state.meta) scheduleHash(); if (state.query) markQuery(); },
      drawn: () => { state.drawn += 1; },
    });
    return view3d;
  }

  let hashTimer = null;
  function scheduleHash() { clearTimeout(hashTimer); hashTimer = setTimeout(writeHash, 150); }

  function draw(restore) {
    if (!state.meta) return Promise.resolve();
    if (!map2d) { drawFallback(); return Promise.resolve(); }
    map2d.show(state.dims !== 3);
    if (view3d) view3d.show(state.dims === 3);
    if (state.dims === 3) {
      const v = ensure3d();
      v.show(true);
      mark("points");
      v.draw(state.xyz, colourOf, window.ProjectorColours.pointSize(state.n));
      if (restore && restore.cam) v.setCamera(restore.cam);
      state.drawnPoints = state.n;
      state.firstFrame = state.firstFrame || performance.now();
      return Promise.resolve();
    }
    mark("points");
    return map2d.draw(state.xy, state.colour, restore && restore.cam, state.spatialIndex).then(() => {
      state.drawnPoints = state.n;
      state.firstFrame = state.firstFrame || performance.now();
    });
  }

  function drawFallback() {
    state.drawnPoints = fallback.draw(state.xy, colourOf, state.selected);
    state.drawn += 1;
  }

  function select(rows) {
    state.selected = rows;
    if (state.dims === 3 && view3d) view3d.select(rows);
    else if (map2d) map2d.select(rows); else if (fallback) drawFallback();
    selectionInfo();
  }

  // ------------------------------------------------------------------ compare: a second source beside the map
  function setupCompare() {
    compare = new Compare($("map2"), {
      layout: async (kind, name, view) => {
        const b = `/api/projector/${kind}/${enc(name)}`;
        const meta = await viaJob(`${b}/layout?method=${state.method}&dims=2`, `${name}: ${METHOD_NAMES[state.method]}`,
                                  view);
        if (meta === null) return null;
        const buf = (await request("GET", `${b}/coords?method=${state.method}&dims=2`, null, true)).data;
        return { meta, xy: new Float32Array(buf) };
      },
      ids: async (kind, name) => (await api("GET", `/api/projector/${kind}/${enc(name)}/ids`)).ids,
      column: (kind, name, field) => api("GET", `/api/projector/${kind}/${enc(name)}/column/${enc(field)}`)
        .catch(() => null),  // the second source has no such field: one colour
      select: (rows) => { select(rows); writeHash(); },
      status, view: () => {},
    }, $("lasso-type").value);
  }

  // keepCamera: the main map's camera came from the link (else the map, half as wide now, is fitted again)
  async function openCompare(keepCamera) {
    const [kind, ...rest] = $("compare").value.split(":");
    $("dims").disabled = true; $("dims").title = "the compare view is 2-D";
    const field = $("color-by").value === CLUSTERS ? "" : $("color-by").value;
    try {
      const done = await compare.open(kind, rest.join(":"), { kind: state.kind, name: state.name, field,
        methodName: METHOD_NAMES[state.method], selected: state.selected }, state.view);
      if (done === null) { state.stale += 1; return; }
      if (!keepCamera) map2d.fit();
      writeHash();
    } catch (e) { status(e.message, true); }
  }

  function changeCompare() {
    if (!$("compare").value) {
      compare.close(); $("dims").disabled = false; $("dims").title = "";
      map2d.fit(); writeHash();
      return Promise.resolve();
    }
    if (state.dims === 3) { $("dims").value = "2"; return loadLayout(); }  // compare is 2-D: relaid, then opened
    return openCompare();
  }

  function selectionInfo() {
    if (compare && compare.active) compare.link(state.selected);
    $("selection-info").textContent = state.selected.length ? `${state.selected.length} selected` : "nothing selected";
  }

  // ------------------------------------------------------------------ hover and neighbours
  async function pointInfo(i) {
    if (!state.points.has(i)) state.points.set(i, api("GET", `${base()}/point/${i}`));
    return state.points.get(i);
  }

  async function hover(i, x, y) {
    const tip = $("tooltip");
    tip.style.left = `${x + 12}px`; tip.style.top = `${y + 12}px`;
    tip.dataset.row = i;
    const p = await pointInfo(i);
    if (tip.dataset.row !== String(i)) return;
    tip.textContent = "";
    const b = document.createElement("b");
    b.textContent = p.id;
    tip.append(b, document.createElement("br"), document.createTextNode(p.label === p.id ? "" : p.label));
    tip.style.display = "block";
  }
  function hideTooltip() { $("tooltip").style.display = "none"; delete $("tooltip").dataset.row; }

  async function showNeighbors(row) {
    const view = state.view;
    try {
      const res = await api("POST", `${base()}/neighbors`, { row, k: 10, method: state.method, dims: state.dims });
      if (view !== state.view) { state.stale += 1; return; }
      state.neighbors = res;
      $("neighbors-title").textContent = `Neighbours of ${res.id}`;
      $("neighbors-title").dataset.id = res.id;
      $("overlap").textContent = `${res.also_2d} of ${res.k} are also ${state.dims}-D neighbours (${res.metric})`;
      renderHits(res.hits);
      select([row, ...res.hits.map((h) => h.row).filter((r) => r >= 0)]);
      status(`neighbours of ${res.id}`);
      writeHash();
    } catch (e) { status(e.message, true); }
  }

  function renderHits(hits) {
    $("neighbors-hint").hidden = true;
    const list = $("neighbors");
    list.innerHTML = "";
    for (const h of hits) {
      const li = document.createElement("li");
      li.dataset.id = h.id; li.dataset.row = h.row;
      const name = document.createElement("span"); name.textContent = h.id;
      const score = document.createElement("span"); score.className = "score"; score.textContent = h.score.toFixed(3);
      li.append(name, score);
      if (h.label && h.label !== h.id) {
        const l = document.createElement("span"); l.className = "label"; l.textContent = h.label; li.append(l);
      }
      if (h.row >= 0) li.addEventListener("click", () => showNeighbors(h.row));
      list.append(li);
    }
  }

  // ------------------------------------------------------------------ query: its neighbours, where it lands
  async function placeQuery(ev) {
    if (ev) ev.preventDefault();
    const q = $("query").value.trim();
    if (!q || !state.meta) return;
    const view = state.view;
    try {
      const res = await api("POST", `${base()}/query`, { query: q, k: 10, method: state.method, dims: state.dims });
      if (view !== state.view) { state.stale += 1; return; }
      state.query = res;
      renderHits(res.hits);
      $("neighbors-title").textContent = `Nearest to “${q}”`;
      $("neighbors-title").dataset.id = "";
      $("overlap").textContent = "";
      $("query-info").textContent = res.place ? `placed by ${PLACED[res.placed_by] || res.placed_by}` : "";
      select(res.hits.map((h) => h.row).filter((r) => r >= 0));
      markQuery();
      status(`“${q}” → ${res.hits.length ? res.hits[0].id : "nothing"}`);
      writeHash();
    } catch (e) { status(e.message, true); }
  }

  // Screen position of layout coordinates (x, y): the map is an affine image of the layout (uniform scale, no
  // rotation), so two rows' known screen positions give it.
  function screenOf(x, y) {
    const a = state.query.hits.find((h) => h.row >= 0), e = extent();
    if (!a) return null;
    const far = (a.row + Math.floor(state.n / 2)) % state.n;
    const pa = pointPosition(a.row), pb = pointPosition(far);
    const ax = state.xy[2 * a.row], ay = state.xy[2 * a.row + 1], bx = state.xy[2 * far], by = state.xy[2 * far + 1];
    if (!pa || !pb) return null;
    const dx = bx - ax, sx = Math.abs(dx) > 1e-9 ? (pb.x - pa.x) / dx : 0;
    const dy = by - ay, sy = Math.abs(dy) > 1e-9 ? (pb.y - pa.y) / dy : -sx;
    const s = sx || -sy || e.s;
    return { x: pa.x + (x - ax) * s, y: pa.y - (y - ay) * s };
  }

  function markQuery() {
    const m = $("query-marker"), q = state.query;
    if (!q || !q.place) { m.style.display = "none"; return; }
    if (state.dims === 3) {
      const p = view3d.screenOf(null, q.place);
      m.style.left = `${p.x}px`; m.style.top = `${p.y}px`; m.style.display = "block";
      return;
    }
    const p = screenOf(q.place[0], q.place[1]), box = $("map").getBoundingClientRect();
    if (!p) { m.style.display = "none"; return; }
    m.style.left = `${p.x - box.left}px`; m.style.top = `${p.y - box.top}px`; m.style.display = "block";
  }

  // ------------------------------------------------------------------ filter and export
  async function applyFilter() {
    const whereText = $("where").value.trim(), regex = $("regex").value.trim();
    if (!whereText && !regex) { clearFilter(); return; }
    const body = {};
    try {
      if (whereText) body.where = JSON.parse(whereText);
    } catch (e) { status(`the where filter is not JSON: ${e.message}`, true); return; }
    if (regex) body.regex = regex;
    const view = state.view;
    try {
      const res = await api("POST", `${base()}/select`, body);
      if (view !== state.view) { state.stale += 1; return; }
      state.filtered = res.rows;
      if (map2d && state.dims === 2) map2d.filter(res.rows);
      select(res.rows);
      status(`${res.count} of ${state.n} match the filter`);
      writeHash();
    } catch (e) { status(e.message, true); }
  }

  function clearFilter() {
    $("where").value = ""; $("regex").value = "";
    state.filtered = null;
    if (map2d) map2d.unfilter();
    select([]);
    writeHash();
  }

  async function exportSelection(format) {
    const rows = state.selected.length ? state.selected : (state.filtered || []);
    if (!rows.length) { status("select points first (click, lasso, box or filter)", true); return; }
    try {
      const res = await fetch(`${base()}/export`, { method: "POST", headers: headers(true),
        body: JSON.stringify({ rows, format, method: state.method, dims: state.dims }) });
      if (!res.ok) throw new Error((await res.json()).error.message);
      const blob = await res.blob(), a = document.createElement("a");
      a.href = URL.createObjectURL(blob); a.download = `${state.name}-selection.${format}`;
      document.body.append(a); a.click(); a.remove();
      status(`exported ${rows.length} rows as ${format.toUpperCase()}`);
    } catch (e) { status(e.message, true); }
  }

  // Page coordinates of a row (for tests and automation): {x, y} or null.
  function pointPosition(row) {
    const box = $("map").getBoundingClientRect();
    if (state.dims === 3 && view3d) {
      const p = view3d.screenOf(row);
      return { x: box.left + p.x, y: box.top + p.y };
    }
    if (map2d) {
      const p = map2d.screen(row);
      return p ? { x: box.left + p[0], y: box.top + p[1] } : null;
    }
    const p = fallback && fallback.screen(row);
    return p ? { x: box.left + p[0], y: box.top + p[1] } : null;
  }

  window.projector = { state, pointPosition, showNeighbors, select: (rows) => { select(rows); writeHash(); },
                       applyFilter, loadLayout, placeQuery,
                       plot: () => map2d && map2d.plot, map: () => map2d, frames: () => map2d && map2d.frames.stats,
                       view3d: () => view3d, compare: () => compare };
  mark("script");
  setupPlot();
  mark("plot");
  $("source").addEventListener("change", () => loadLayout().catch((e) => status(e.message, true)));
  $("method").addEventListener("change", () => loadLayout().catch((e) => status(e.message, true)));
  $("dims").addEventListener("change", () => loadLayout().catch((e) => status(e.message, true)));
  $("color-by").addEventListener("change", async () => {
    await applyColour(); draw(); writeHash();
    if (compare && compare.active) openCompare();  // the second panel takes the same field
  });
  $("compare").addEventListener("change", () => changeCompare().catch((e) => status(e.message, true)));
  $("apply-filter").addEventListener("click", applyFilter);
  $("query-form").addEventListener("submit", placeQuery);
  $("cluster-form").addEventListener("submit", cluster);
  $("clear-filter").addEventListener("click", clearFilter);
  $("lasso-type").addEventListener("change", () => {
    if (map2d) map2d.setLassoType($("lasso-type").value);
    if (compare) compare.setLassoType($("lasso-type").value);
  });
  for (const f of ["csv", "jsonl", "parquet"]) $("export-" + f).addEventListener("click", () => exportSelection(f));
  $("api-key").addEventListener("change", () => loadSources().catch((e) => status(e.message, true)));
  loadSources().catch((e) => status(e.message, true));
})();
