// The projector page without projector-frames.js's frame path, for comparisons (tests/test_projector_pan.py,
// benchmarks/bench_projector.py serve it in place of static/projector-frames.js): a MapFrames that leaves
// regl-scatterplot's own renderer in place (a float framebuffer the window's size, a gamma pass, a copy), so
// every frame is drawn in full, as before MapFrames, and counts its frames as MapFrames does.
window.MapFrames = class {
  constructor(plot) {
    this.stats = { presented: 0, full: 0, moved: 0, waiting: false };
    plot.subscribe("draw", () => { this.stats.presented += 1; this.stats.full += 1; });
  }
  invalidate() {}
};
