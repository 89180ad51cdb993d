// embedlab projector, the 2-D map as a component: one regl-scatterplot (vendored, window.createScatterplot) in a
// panel, with the page's colours. The main map and the compare panel are two instances of Scatter2D.
// Also the colours every view shares (window.ProjectorColours): category palette, number scale, one-colour base.
"use strict";
(function () {
  const PALETTE = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                   "#d62728", "#7f7f7f", "#aec7e8", "#98df8a", "#ffbb78", "#c5b0d5", "#c49c94", "#f7b6d2",
                   "#9edae5", "#dbdb8d", "#ff9896", "#c7c7c7"];
  const SCALE = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
                 "#b5de2b", "#fde725"];
  const BASE = "#1f77b4", MISSING = "#bbbbbb", PERF_POINTS = 100000;

  // colour: null (one colour), {type: "category", codes, categories} or {type: "number", values, min, max}
  function colourOf(colour, i) {
    const c = colour;
    if (!c) return BASE;
    if (c.type === "category") return PALETTE[c.codes[i] % PALETTE.length];
    const v = c.values[i];
    if (v === null) return MISSING;
    const t = c.max > c.min ? (v - c.min) / (c.max - c.min) : 0;
    return SCALE[Math.min(SCALE.length - 1, Math.floor(t * SCALE.length))];
  }

  // centre and scale that put the 2-D layout xy (x0 y0 x1 y1 ...) in [-0.9, 0.9], aspect kept
  function extent(xy) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < xy.length; i += 2) {
      const x = xy[i], y = xy[i + 1];
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    const s = 1.8 / Math.max(x1 - x0, y1 - y0, 1e-12);
    return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, s };
  }

  const pointSize = (n) => (n < 2000 ? 7 : n < 200000 ? 3 : 2);

  class Scatter2D {
    // container: the panel (position: relative); on: { hover(row, x, y), out(), click(row), select(rows),
    // deselect(), view(), drawn() }; lassoType: "freeform" or "rectangle"
    constructor(container, on, lassoType) {
      this.container = container; this.on = on; this.lassoType = lassoType;
      this.plot = null; this.perf = null; this.canvas = null; this.quiet = false; this.lassoing = false;
      this.make(false);
      this.resize = new ResizeObserver(() => {
        const r = container.getBoundingClientRect();
        this.plot.set({ width: r.width, height: r.height });
      });
      this.resize.observe(container);
    }

    // performanceMode (square points, no alpha blending) from PERF_POINTS up: about twice the frame rate in
    // software WebGL. It is a creation option, so switching it makes a new scatterplot on a new canvas.
    make(perf) {
      if (this.plot) { this.plot.destroy(); this.canvas.remove(); }
      this.canvas = document.createElement("canvas");
      this.canvas.className = "scatter2d";
      this.container.prepend(this.canvas);
      const { width, height } = this.container.getBoundingClientRect();
      const plot = createScatterplot({ canvas: this.canvas, width, height, pointSize: 4, performanceMode: perf,
                                       pointSizeSelected: 3, pointOutlineWidth: 2, opacityInactiveScale: 0.5,
                                       lassoType: this.lassoType, pointColorActive: [0.05, 0.05, 0.05, 1] });
      plot.subscribe("pointover", (i) => { const p = plot.getScreenPosition(i); if (p) this.on.hover(i, p[0], p[1]); });
      plot.subscribe("pointout", () => this.on.out());
      plot.subscribe("select", ({ points }) => {
        if (this.quiet) return;
        if (points.length === 1 && !this.lassoing) this.on.click(points[0]); else this.on.select([...points]);
        this.lassoing = false;
      });
      plot.subscribe("lassoEnd", () => { this.lassoing = true; });
      plot.subscribe("deselect", () => { if (!this.quiet) this.on.deselect(); });
      plot.subscribe("view", () => this.on.view());
      plot.subscribe("draw", () => this.on.drawn());
      this.plot = plot; this.perf = perf;
      this.frames = new MapFrames(plot, this.canvas);  // full frames, and the last one moved while the camera pans
    }

    // xy: Float32Array (n * 2) layout coordinates; colour as colourOf's; cam: [x, y, distance], or undefined to
    // keep the camera (fit(): a new panel); spatialIndex: the server's KDBush index of these points as scaled
    // here (server/spatial_index.py; keep extent() and it in step), or undefined to let regl-scatterplot build it
    draw(xy, colour, cam, spatialIndex) {
      const n = xy.length / 2, perf = n >= PERF_POINTS;
      if (this.perf !== perf) this.make(perf);
      const e = extent(xy), c = colour;
      const x = new Float32Array(n), y = new Float32Array(n), z = new Float32Array(n), w = new Float32Array(n);
      const span = c && c.type === "number" && c.max > c.min ? c.max - c.min : 1;
      for (let i = 0; i < n; i++) {  // z: category code, w: number in [0, 1]
        x[i] = (xy[2 * i] - e.cx) * e.s; y[i] = (xy[2 * i + 1] - e.cy) * e.s;
        if (c && c.type === "category") z[i] = c.codes[i];
        else if (c && c.type === "number") w[i] = c.values[i] === null ? 0 : (c.values[i] - c.min) / span;
      }
      const opts = { pointColor: BASE, colorBy: null, pointSize: pointSize(n) };
      if (c && c.type === "category") {
        opts.pointColor = c.categories.map((_, i) => PALETTE[i % PALETTE.length]);
        opts.colorBy = "valueA";
      } else if (c && c.type === "number") { opts.pointColor = SCALE; opts.colorBy = "valueB"; }
      this.frames.invalidate();
      this.plot.set(opts);
      return this.plot.draw({ x, y, z, w }, { zDataType: "categorical", wDataType: "continuous",
                                             spatialIndex: spatialIndex || undefined }).then(() => {
        // the new points reach the GPU only now (after the library's own processing, in a worker when it builds the
        // spatial index): the frame that shows them must be drawn in full, never the old picture moved by a pan
        this.frames.invalidate();
        if (cam) this.setCamera(cam);
      });
    }

    select(rows) { this.frames.invalidate(); this.quiet = true; this.plot.select(rows); this.quiet = false; }
    selected() { return this.plot.get("selectedPoints"); }
    filter(rows) { this.frames.invalidate(); this.plot.filter(rows); }
    unfilter() { this.frames.invalidate(); this.plot.unfilter(); }
    clear() { this.frames.invalidate(); this.plot.clear(); }
    setLassoType(t) { this.lassoType = t; this.plot.set({ lassoType: t }); }
    show(visible) { this.canvas.style.display = visible ? "block" : "none"; }
    // canvas pixel position of a row, [x, y], or null
    screen(row) { return this.plot.getScreenPosition(row) || null; }
    getCamera() {
      const t = this.plot.get("cameraTarget");
      return [t[0], t[1], this.plot.get("cameraDistance")];
    }
    setCamera(c) { this.plot.set({ cameraTarget: [c[0], c[1]], cameraDistance: c[2] }); }
    // the whole layout in view: y spans the panel's height, so a panel taller than wide zooms out to fit x too
    fit() {
      const r = this.container.getBoundingClientRect();
      this.setCamera([0, 0, Math.max(1, r.height / Math.max(1, r.width))]);
    }
    destroy() { this.resize.disconnect(); this.plot.destroy(); this.canvas.remove(); }
  }

  window.ProjectorColours = { PALETTE, SCALE, BASE, colourOf, extent, pointSize };
  window.Scatter2D = Scatter2D;
})();
