// embedlab projector: how the 2-D map's frames reach the screen (window.MapFrames).
//
// regl-scatterplot (vendored) draws a frame through its renderer's render(draw, canvas): into a float framebuffer
// the size of the window, then a gamma pass onto its multisampled WebGL canvas, then a copy onto the map's 2-D
// canvas. In software WebGL (SwiftShader) that fixed cost was about 30-45 ms of each frame at 1200 x 800, whatever
// the number of points. MapFrames replaces that render() on the plot's own renderer (plot.get("renderer")):
//  - a full frame draws into an 8-bit framebuffer the size of the map plus a margin on every side (the plot centres
//    the map in its renderer's canvas, so the margin holds the points just outside the view), reads it back once and
//    puts it on the map's canvas: the same pixels as the library's path (gamma 1, no multisampling either way; under
//    100,000 points, where points are alpha-blended, a few overlaps differ by a few levels in 255);
//  - while the camera only pans (the view matrix's scale and rotation unchanged) and nothing else changed, a frame
//    is the last full frame moved by the pan, rounded to whole pixels (each point within half a pixel of its
//    place), as long as the margin covers the view: a pan is a pure translation, so that picture is the true one;
//  - otherwise (zoom, rotation, a pan past the margin, hover, selection, new points, colours) a full frame; and two
//    animation frames after the camera stops, one full frame at the camera where it stopped.
// The counts are in stats: presented (every frame put on the canvas), full (those drawn in full), moved (those
// that were the last full frame moved) and waiting (a moved frame is on the canvas, its full frame to come).
"use strict";
(function () {
  const MARGIN = 0.25;  // of the map's larger side, on each side
  const PAD = 16;       // CSS px: a point whose centre is outside the framebuffer is not drawn (GL clips points)
  const DIRTY = ["pointover", "pointout", "select", "deselect", "lassoStart", "lassoExtend", "lassoEnd", "filter",
                 "unfilter", "transitionStart", "transitionEnd"];

  class MapFrames {
    // plot: a regl-scatterplot; target: its canvas (the map's 2-D canvas)
    constructor(plot, target) {
      this.plot = plot; this.target = target; this.renderer = plot.get("renderer"); this.regl = this.renderer.regl;
      this.fbo = null; this.image = null; this.last = document.createElement("canvas");
      this.view0 = null; this.dirty = true; this.margin = 0; this.settling = false; this.wasMoved = false;
      this.stats = { presented: 0, full: 0, moved: 0, waiting: false };
      this.renderer.render = (draw, canvas) => this.render(draw, canvas);
      for (const e of DIRTY) plot.subscribe(e, () => { this.dirty = true; });
    }

    // the next frame is drawn in full (a change other than the camera's: points, colours, options)
    invalidate() { this.dirty = true; }

    render(draw, canvas) {
      const view = this.plot.get("cameraView"), shift = this.dirty ? null : this.shift(view, canvas);
      if (shift) { this.present(canvas, shift[0], shift[1]); this.stats.moved += 1; this.wasMoved = true; this.settle(); }
      else { this.full(draw, canvas, view); this.wasMoved = false; }
      this.stats.presented += 1; this.stats.waiting = this.wasMoved;
    }

    // [dx, dy]: whole device pixels the points moved on screen since the last full frame (y down), or null where a
    // moved frame would not be the true picture (no full frame yet, same camera, zoom or rotation, past the margin)
    shift(view, canvas) {
      const v0 = this.view0;
      if (!v0 || this.sizeOf(canvas)[0] !== this.last.width || this.sizeOf(canvas)[1] !== this.last.height) return null;
      for (const k of [0, 1, 2, 4, 5, 6, 8, 9, 10, 15]) if (view[k] !== v0[k]) return null;
      if (view[12] === v0[12] && view[13] === v0[13]) return null;  // re-drawn for something else: draw it
      const perUnit = canvas.height / 2;  // device px per view unit, both axes (the plot's projection)
      const dx = Math.round((view[12] - v0[12]) * perUnit), dy = Math.round(-(view[13] - v0[13]) * perUnit);
      const room = this.margin - PAD * window.devicePixelRatio;
      return Math.abs(dx) <= room && Math.abs(dy) <= room ? [dx, dy] : null;
    }

    // the framebuffer's size for this canvas: the canvas plus the margin on each side, in device px
    sizeOf(canvas) {
      const m = Math.round(MARGIN * Math.max(canvas.width, canvas.height));
      return [canvas.width + 2 * m, canvas.height + 2 * m, m];
    }

    full(draw, canvas, view) {
      const [w, h, m] = this.sizeOf(canvas), r = this.renderer, regl = this.regl;
      if (r.canvas.width !== w || r.canvas.height !== h) { r.canvas.width = w; r.canvas.height = h; }
      if (!this.fbo || this.fbo.width !== w || this.fbo.height !== h) {
        if (this.fbo) this.fbo.destroy();
        this.fbo = regl.framebuffer({ width: w, height: h, colorType: "uint8", depth: false, stencil: false });
        this.last.width = w; this.last.height = h;
        this.image = this.last.getContext("2d").createImageData(w, h);
      }
      this.fbo.use(() => { regl.clear({ color: [0, 0, 0, 0] }); draw(); });
      const px = new Uint8Array(this.image.data.buffer);
      regl.read({ framebuffer: this.fbo, data: px });  // rows bottom up, colours premultiplied by alpha
      const data = this.image.data;
      for (let i = 3; i < data.length; i += 4) {
        const a = data[i];
        if (a !== 0 && a !== 255) { const k = 255 / a; data[i - 3] *= k; data[i - 2] *= k; data[i - 1] *= k; }
      }
      this.last.getContext("2d").putImageData(this.image, 0, 0);  // upside down: present() flips it
      this.margin = m; this.view0 = Float32Array.from(view); this.dirty = false;
      this.present(canvas, 0, 0);
      this.stats.full += 1;
    }

    // the last full frame on the canvas, its points moved by (dx, dy) device px
    present(canvas, dx, dy) {
      const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, m = this.margin;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, W, H);
      ctx.imageSmoothingEnabled = false;
      ctx.setTransform(1, 0, 0, -1, 0, H);  // screen row Y shows the last frame's top-down row Y - dy + m
      ctx.drawImage(this.last, m - dx, this.last.height - H - m + dy, W, H, 0, 0, W, H);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
    }

    // after a moved frame: once two whole animation frames pass with nothing drawn, draw the view in full
    settle() {
      if (this.settling) return;
      this.settling = true;
      let seen = -1, idle = 0;
      const check = () => {
        if (this.renderer.isDestroyed) return;
        idle = seen === this.stats.presented ? idle + 1 : 0;
        seen = this.stats.presented;
        if (idle >= 2) {
          this.settling = false;
          if (this.wasMoved) { this.dirty = true; this.plot.redraw(); }
          return;
        }
        requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    }
  }

  window.MapFrames = MapFrames;
})();
