// embedlab projector: the source last chosen in this browser (localStorage). A link's #source= comes first; else
// projector.js asks window.projectorMemory.recall(usable) before falling back to the tour's collection.
"use strict";
(function () {
  const KEY = "embedlab.explorer.source";  // the old explorer's key: a choice made there carries over

  function recall(usable) {
    let value = null;
    try { value = localStorage.getItem(KEY); } catch (e) { return null; }  // storage off: nothing kept
    return value && usable.includes(value) ? value : null;
  }

  function remember(value) {
    try { localStorage.setItem(KEY, value); } catch (e) { /* storage off */ }
  }

  document.getElementById("source").addEventListener("change", (ev) => remember(ev.target.value));
  window.projectorMemory = { recall, remember };
})();
