// embedlab projector, the 3-D view: every row of a 3-component layout as three.js Points (vendored, window.THREE),
// orbit / zoom / pan with OrbitControls, hover and click picked with a Raycaster whose threshold is a few pixels at
// the camera's distance, selected rows drawn as dark rings behind their points. Renders on demand (after a change),
// not every animation frame. One instance per map panel: new View3D(container, callbacks).
"use strict";
(function () {
  const PICK_PX = 6, RING = "#0d0d0d";

  class View3D {
    // container: the panel element (position: relative); on: { hover(row, x, y), out(), click(row), view() }
    constructor(container, on) {
      const T = window.THREE;
      this.container = container; this.on = on; this.n = 0; this.rows = [];
      this.canvas = document.createElement("canvas");
      this.canvas.className = "view3d";
      container.prepend(this.canvas);
      const { width, height } = container.getBoundingClientRect();
      this.renderer = new T.WebGLRenderer({ canvas: this.canvas, antialias: false });
      this.renderer.setPixelRatio(window.devicePixelRatio || 1);
      this.renderer.setSize(width, height, false);
      this.scene = new T.Scene();
      this.scene.background = new T.Color("#ffffff");
      this.camera = new T.PerspectiveCamera(50, width / Math.max(1, height), 0.01, 100);
      this.camera.position.set(0, 0, 3.2);
      this.controls = new T.OrbitControls(this.camera, this.canvas);
      this.controls.addEventListener("change", () => { this.render(); this.on.view(); });
      this.raycaster = new T.Raycaster();
      this.geometry = null; this.points = null; this.ring = null;
      this.colours = new Map();
      this.resize = new ResizeObserver(() => {
        const r = container.getBoundingClientRect();
        this.camera.aspect = r.width / Math.max(1, r.height);
        this.camera.updateProjectionMatrix();
        this.renderer.setSize(r.width, r.height, false);
        this.render();
      });
      this.resize.observe(container);
      let down = null;
      this.canvas.addEventListener("pointerdown", (ev) => { down = [ev.offsetX, ev.offsetY]; });
      this.canvas.addEventListener("pointerup", (ev) => {
        if (!down || Math.hypot(ev.offsetX - down[0], ev.offsetY - down[1]) > 4) return;  // a drag, not a click
        const i = this.pick(ev.offsetX, ev.offsetY);
        if (i !== null) this.on.click(i);
      });
      let moved = null;  // picking walks every point: at most once per animation frame, for the latest position
      this.canvas.addEventListener("pointermove", (ev) => {
        if (ev.buttons) return;
        if (moved === null) {
          requestAnimationFrame(() => {
            const [x, y] = moved, i = this.pick(x, y);
            moved = null;
            if (i === null) this.on.out(); else this.on.hover(i, x, y);
          });
        }
        moved = [ev.offsetX, ev.offsetY];
      });
      this.canvas.addEventListener("pointerleave", () => this.on.out());
    }

    rgb(hex) {
      let c = this.colours.get(hex);
      if (!c) { c = new window.THREE.Color(hex); this.colours.set(hex, c); }
      return c;
    }

    // xyz: Float32Array (n * 3) layout coordinates; colourOf(row) -> "#rrggbb"; size: point size in pixels
    draw(xyz, colourOf, size) {
      const T = window.THREE, n = xyz.length / 3;
      let lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < 3; a++) {
          const v = xyz[3 * i + a];
          if (v < lo[a]) lo[a] = v; if (v > hi[a]) hi[a] = v;
        }
      }
      const s = 2 / Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2], 1e-12);
      this.centre = [0, 1, 2].map((a) => (lo[a] + hi[a]) / 2); this.scale = s;
      const pos = new Float32Array(3 * n), col = new Float32Array(3 * n);
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < 3; a++) pos[3 * i + a] = (xyz[3 * i + a] - (lo[a] + hi[a]) / 2) * s;
        const c = this.rgb(colourOf(i));
        col[3 * i] = c.r; col[3 * i + 1] = c.g; col[3 * i + 2] = c.b;
      }
      this.clear();
      this.n = n; this.pos = pos; this.size = size;
      this.geometry = new T.BufferGeometry();
      this.geometry.setAttribute("position", new T.BufferAttribute(pos, 3));
      this.geometry.setAttribute("color", new T.BufferAttribute(col, 3));
      this.points = new T.Points(this.geometry, new T.PointsMaterial({ size, sizeAttenuation: false,
                                                                        vertexColors: true }));
      this.points.renderOrder = 1;
      this.scene.add(this.points);
      this.select(this.rows);
    }

    // rows drawn with a dark ring (a larger dark point behind each, not depth-tested)
    select(rows) {
      const T = window.THREE;
      this.rows = rows.filter((r) => r >= 0 && r < this.n);
      if (this.ring) { this.scene.remove(this.ring); this.ring.geometry.dispose(); this.ring.material.dispose(); }
      this.ring = null;
      if (this.rows.length && this.pos) {
        const pos = new Float32Array(3 * this.rows.length);
        this.rows.forEach((r, j) => pos.set(this.pos.subarray(3 * r, 3 * r + 3), 3 * j));
        const g = new T.BufferGeometry();
        g.setAttribute("position", new T.BufferAttribute(pos, 3));
        this.ring = new T.Points(g, new T.PointsMaterial({ size: this.size + 5, sizeAttenuation: false,
                                                           color: this.rgb(RING), depthTest: false, depthWrite: false }));
        this.ring.renderOrder = 0;
        this.scene.add(this.ring);
      }
      this.render();
    }

    render() { this.renderer.render(this.scene, this.camera); if (this.on.drawn) this.on.drawn(); }

    clear() {
      if (this.points) { this.scene.remove(this.points); this.geometry.dispose(); this.points.material.dispose(); }
      this.points = null; this.geometry = null; this.pos = null; this.n = 0;
      this.render();
    }

    // the nearest row to the ray through canvas pixel (x, y), within PICK_PX pixels at the camera's distance
    pick(x, y) {
      if (!this.points) return null;
      const T = window.THREE, r = this.canvas.getBoundingClientRect();
      const ndc = new T.Vector2((x / r.width) * 2 - 1, -(y / r.height) * 2 + 1);
      const dist = this.camera.position.distanceTo(this.controls.target);
      const perPixel = (2 * dist * Math.tan((this.camera.fov * Math.PI) / 360)) / r.height;
      this.raycaster.params.Points.threshold = PICK_PX * perPixel;
      this.raycaster.setFromCamera(ndc, this.camera);
      let best = null;
      for (const hit of this.raycaster.intersectObject(this.points)) {
        if (best === null || hit.distanceToRay < best.distanceToRay) best = hit;
      }
      return best ? best.index : null;
    }

    // canvas pixel position ({x, y}) of layout row `row`, or of layout coordinates p ([x, y, z]) when row is null
    screenOf(row, p) {
      const T = window.THREE, r = this.canvas.getBoundingClientRect(), c = this.centre, s = this.scale;
      const v = row === null ? new T.Vector3((p[0] - c[0]) * s, (p[1] - c[1]) * s, (p[2] - c[2]) * s)
        : new T.Vector3().fromArray(this.pos, 3 * row);
      v.project(this.camera);
      return { x: ((v.x + 1) / 2) * r.width, y: ((1 - v.y) / 2) * r.height };
    }

    // the camera as 6 numbers (position, target) for the URL, and back
    getCamera() { return [...this.camera.position.toArray(), ...this.controls.target.toArray()]; }
    setCamera(c) {
      this.camera.position.set(c[0], c[1], c[2]);
      this.controls.target.set(c[3], c[4], c[5]);
      this.controls.update();  // its "change" event renders (once)
    }

    show(visible) { this.canvas.style.display = visible ? "block" : "none"; this.controls.enabled = visible; }

    destroy() {
      this.clear(); this.select([]);
      this.resize.disconnect(); this.controls.dispose(); this.renderer.dispose(); this.canvas.remove();
    }
  }

  window.View3D = View3D;
})();
