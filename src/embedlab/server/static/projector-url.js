// embedlab projector, the view in the URL hash: read(hash) checks every field (what is malformed becomes a note, the
// rest is used); write(view) is its inverse. Fields: source, method, color, where, regex, cluster (kmeans:K or
// hdbscan), stop, sel (rows), cam (x,y,distance in 2-D; position and target in 3-D), dims, cmp (the compare
// source), q (the typed query).
"use strict";
(function () {
  const METHODS = ["pca", "tsne", "umap"];

  // hash: location.hash; -> { out: the usable fields, notes: what was ignored, as phrases }
  function read(hash) {
    const out = {}, notes = [];
    const raw = hash.replace(/^#/, "");
    if (!raw) return { out, notes };
    let params;
    try { params = new URLSearchParams(raw); } catch (e) { return { out, notes: ["the link's view state is malformed"] }; }
    for (const [k, v] of params) {
      if (k === "source") out.source = v;
      else if (k === "method") { if (METHODS.includes(v)) out.method = v; else notes.push(`unknown layout '${v}'`); }
      else if (k === "color") out.color = v;
      else if (k === "where") {
        try { JSON.parse(v); out.where = v; } catch (e) { notes.push("a where filter that is not JSON"); }
      } else if (k === "regex") out.regex = v;
      else if (k === "cluster") {
        const m = /^(kmeans):([1-9][0-9]{0,3})$|^(hdbscan)$/.exec(v);
        if (m) out.cluster = m[1] ? { algorithm: "kmeans", k: m[2] } : { algorithm: "hdbscan" };
        else notes.push(`unknown clustering '${v}'`);
      } else if (k === "stop") out.stop = v;
      else if (k === "sel") {
        const rows = v.split(",").filter((s) => s !== "").map(Number);
        if (rows.every((r) => Number.isInteger(r) && r >= 0)) out.sel = rows; else notes.push("a malformed selection");
      } else if (k === "cam") {
        const c = v.split(",").map(Number);
        if (c.every(Number.isFinite) && ((c.length === 3 && c[2] > 0) || c.length === 6)) out.cam = c;
        else notes.push("a malformed camera");
      } else if (k === "dims") {
        if (v === "2" || v === "3") out.dims = v; else notes.push(`a view of ${v} dimensions (2 or 3)`);
      } else if (k === "cmp") out.cmp = v;
      else if (k === "q") {
        if (v.trim() && v.length <= 2000) out.q = v; else notes.push("an empty or overlong query");
      } else notes.push(`an unknown field '${k}'`);
    }
    return { out, notes };
  }

  // view: { source, method, color, cluster: {algorithm, k}, stop, where, regex, sel, q, cmp, dims, cam } (absent or
  // empty fields left out; a selection of more than 2,000 rows is not written) -> the hash, without "#"
  function write(view) {
    const p = new URLSearchParams();
    if (view.source) p.set("source", view.source);
    p.set("method", view.method);
    if (view.color) p.set("color", view.color);
    if (view.cluster) {
      p.set("cluster", view.cluster.algorithm === "kmeans" ? `kmeans:${view.cluster.k}` : "hdbscan");
      if (view.stop) p.set("stop", view.stop);
    }
    if (view.where) p.set("where", view.where);
    if (view.regex) p.set("regex", view.regex);
    if (view.sel && view.sel.length && view.sel.length <= 2000) p.set("sel", view.sel.join(","));
    if (view.q) p.set("q", view.q);
    if (view.cmp) p.set("cmp", view.cmp);
    if (view.dims === 3) p.set("dims", "3");
    if (view.cam) p.set("cam", view.cam.map((x) => +x.toFixed(4)).join(","));
    return p.toString();
  }

  window.ProjectorURL = { read, write };
})();
