// embedlab projector, two spaces side by side: a second source (a collection re-embedded, vectors after `align`) in
// a second Scatter2D panel beside the main map, with the same layout method and colour field. Rows are matched by
// id: a selection in either panel (click, lasso, box, filter, neighbours) selects the same ids in the other.
"use strict";
(function () {
  class Compare {
    // panel: the second map's element; page: { layout(kind, name, view) -> {meta, xy} or null, ids(kind, name),
    // column(kind, name, field) -> colour or null, select(mainRows), status(text, isError), view() };
    // lassoType: the main map's
    constructor(panel, page, lassoType) {
      this.panelEl = panel; this.page = page; this.lassoType = lassoType;
      this.panel = null; this.kind = null; this.name = null; this.view = 0;
      this.mainIds = null; this.ids = null; this.rowOf = null; this.mainRowOf = null; this.rows = [];
      this.title = panel.querySelector(".panel-title");
      this.tip = panel.querySelector(".tooltip");
    }

    get active() { return this.name !== null; }

    // show source kind:name beside the main map (main: {kind, name, methodName, field, selected}; pageView: the
    // page's view number, which the page's layout call checks); null once superseded
    async open(kind, name, main, pageView) {
      const view = ++this.view;
      this.kind = kind; this.name = name;
      this.panelEl.hidden = false;
      if (!this.panel) {
        this.panel = new Scatter2D(this.panelEl, {
          hover: (i, x, y) => this.hover(i, x, y), out: () => { this.tip.style.display = "none"; },
          click: (i) => this.pick([i]), select: (rows) => this.pick(rows), deselect: () => this.pick([]),
          view: () => this.page.view(), drawn: () => {},
        }, this.lassoType);
      }
      this.title.textContent = `${name} · laying out with ${main.methodName}…`;
      const [got, ids, mainIds] = await Promise.all([this.page.layout(kind, name, pageView),
                                                     this.page.ids(kind, name), this.page.ids(main.kind, main.name)]);
      if (got === null || view !== this.view) return null;
      this.ids = ids; this.mainIds = mainIds;
      this.rowOf = new Map(ids.map((id, i) => [id, i]));
      this.mainRowOf = new Map(mainIds.map((id, i) => [id, i]));
      this.shared = mainIds.reduce((k, id) => k + (this.rowOf.has(id) ? 1 : 0), 0);
      const colour = main.field ? await this.page.column(kind, name, main.field) : null;
      if (view !== this.view) return null;
      this.meta = got.meta;
      await this.panel.draw(got.xy, colour);
      this.panel.fit();
      this.n = got.xy.length / 2;
      this.link(main.selected);
      return this;
    }

    setLassoType(t) { this.lassoType = t; if (this.panel) this.panel.setLassoType(t); }

    close() {
      ++this.view;
      this.kind = null; this.name = null; this.rows = [];
      this.panelEl.hidden = true;
      if (this.panel) this.panel.clear();
    }

    // the main map's selection (its rows) -> the same ids here
    link(mainRows) {
      if (!this.active || !this.rowOf) return;
      this.rows = mainRows.map((r) => this.rowOf.get(this.mainIds[r])).filter((r) => r !== undefined);
      this.panel.select(this.rows);
      this.caption(mainRows.length);
    }

    // a selection made here -> the main map (rows of the same ids there)
    pick(rows) {
      this.rows = rows;
      const main = rows.map((r) => this.mainRowOf.get(this.ids[r])).filter((r) => r !== undefined);
      this.caption(main.length);
      this.page.select(main);
    }

    caption(selectedMain) {
      const t = this.meta && this.meta.trustworthiness !== null && this.meta.trustworthiness !== undefined
        ? ` · trustworthiness ${this.meta.trustworthiness.toFixed(3)}` : "";
      const sel = selectedMain ? ` · ${this.rows.length} of ${selectedMain} selected ids here` : "";
      this.title.textContent = `${this.name} · ${this.n} points, ${this.shared} ids shared${t}${sel}`;
    }

    hover(i, x, y) {
      this.tip.textContent = this.ids[i];
      this.tip.style.left = `${x + 12}px`; this.tip.style.top = `${y + 12}px`; this.tip.style.display = "block";
    }

    // page coordinates of a row of the second source ({x, y}) or null (for tests and automation)
    pointPosition(row) {
      const p = this.panel && this.panel.screen(row), box = this.panelEl.getBoundingClientRect();
      return p ? { x: box.left + p[0], y: box.top + p[1] } : null;
    }
  }

  window.Compare = Compare;
})();
