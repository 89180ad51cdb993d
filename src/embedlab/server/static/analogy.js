// embedlab projector: word arithmetic ("king - man + woman", 3CosAdd) on a vectors set beside any source: the set
// on the map if the map shows one, else the server's first. POST /api/vectors/{set}/arithmetic; the answers are
// listed with their scores. (The query box places such an expression on a vectors set's map.)
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let sets = [], turn = 0;

  function headers() {
    const h = { "Content-Type": "application/json" }, key = $("api-key").value.trim();
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  function status(text, isError) {
    $("status").textContent = text;
    $("status").className = isError ? "error" : "";
  }

  function target() {
    const st = window.projector && window.projector.state;  // the source on the map (projector.js)
    return st && st.kind === "vectors" ? st.name : sets[0] || null;
  }

  function title() {
    const set = target();
    $("analogy-title").textContent = set ? `Analogy (on ${set})` : "Analogy (no vectors set on this server)";
    $("analogy-button").disabled = !set;
  }

  async function loadSets() {
    try {
      const res = await fetch("/api/vectors", { headers: headers() });
      sets = res.ok ? (await res.json()).vectors : [];
    } catch (e) { sets = []; }
    title();
  }

  function render(hits) {
    const list = $("analogy-results");
    list.innerHTML = "";
    for (const h of hits) {
      const li = document.createElement("li");
      li.dataset.id = h.id;
      const name = document.createElement("span"); name.textContent = h.id;
      const score = document.createElement("span"); score.className = "score"; score.textContent = h.score.toFixed(3);
      li.append(name, score);
      list.append(li);
    }
  }

  async function run(ev) {
    ev.preventDefault();
    const set = target(), expr = $("analogy-input").value.trim();
    if (!set || !expr) return;
    const mine = ++turn;
    try {
      const res = await fetch(`/api/vectors/${encodeURIComponent(set)}/arithmetic`,
                              { method: "POST", headers: headers(), body: JSON.stringify({ query: expr, k: 8 }) });
      const json = await res.json().catch(() => ({}));
      if (mine !== turn) return;  // a newer expression was sent: its answer is the one to show
      if (!res.ok) {
        const e = json.error || {};
        render([]);
        status((e.type ? e.type + ": " : "") + (e.message || res.statusText), true);
        return;
      }
      render(json.hits);
      status(`${expr} → ${json.hits.length ? json.hits[0].id : "nothing"}`);
    } catch (e) { if (mine === turn) status(e.message, true); }
  }

  $("analogy-form").addEventListener("submit", run);
  new MutationObserver(title).observe($("status"), { childList: true });  // projector.js reports each new view
  $("api-key").addEventListener("change", loadSets);
  loadSets();
})();
