// embedlab projector, the map without WebGL: a plain 2-D canvas of at most `max` sampled rows (every step-th row),
// coloured as the WebGL map, selected rows outlined; hover and click find the nearest drawn row within 8 pixels.
"use strict";
(function () {
  class CanvasMap {
    // container: the map panel; on: { hover(row, x, y), out(), click(row) }; max: the most rows drawn
    constructor(container, on, max) {
      this.container = container; this.max = max; this.rows = []; this.px = null; this.enabled = false;
      this.canvas = document.createElement("canvas");
      container.prepend(this.canvas);
      this.ctx = this.canvas.getContext("2d");
      this.canvas.addEventListener("click", (ev) => {
        const i = this.nearest(ev.offsetX, ev.offsetY);
        if (i !== null) on.click(i);
      });
      this.canvas.addEventListener("mousemove", (ev) => {
        const i = this.nearest(ev.offsetX, ev.offsetY);
        if (i === null) on.out(); else on.hover(i, ev.offsetX, ev.offsetY);
      });
    }

    // xy: Float32Array (n * 2) layout coordinates; colourOf(row) -> "#rrggbb"; selected: rows to outline.
    // Returns how many rows were drawn.
    draw(xy, colourOf, selected) {
      const { canvas, ctx } = this, r = this.container.getBoundingClientRect(), n = xy.length / 2;
      canvas.width = r.width; canvas.height = r.height;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      const step = Math.max(1, Math.ceil(n / this.max)), e = window.ProjectorColours.extent(xy);
      const px = (i) => [(canvas.width / 2) * (1 + ((xy[2 * i] - e.cx) * e.s)),
                         (canvas.height / 2) * (1 - ((xy[2 * i + 1] - e.cy) * e.s))];
      this.rows = []; this.px = px;
      const size = n < 2000 ? 7 : 3;
      for (let i = 0; i < n; i += step) {
        const [x, y] = px(i);
        this.rows.push(i);
        ctx.fillStyle = colourOf(i);
        ctx.fillRect(x - size / 2, y - size / 2, size, size);
      }
      for (const i of selected) {
        const [x, y] = px(i);
        ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.strokeRect(x - 4, y - 4, 8, 8);
      }
      this.enabled = true;
      return this.rows.length;
    }

    clear() { this.enabled = false; this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height); }

    // the nearest drawn row to canvas pixel (x, y) within 8 pixels, or null
    nearest(x, y) {
      if (!this.enabled) return null;
      let best = null, bestD = 64;
      for (const i of this.rows) {
        const [px, py] = this.px(i), d = (px - x) ** 2 + (py - y) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      }
      return best;
    }

    // canvas pixel position of a row, [x, y], or null before the first draw
    screen(row) { return this.px ? this.px(row) : null; }
  }

  window.CanvasMap = CanvasMap;
})();
