// The analysis pane: each connection's bytes (the page's own, the proxy's attached ones,
// or an imported capture's) fed to the core's AnalysisSession, shown as the message view
// (with the filter), compression truth, heartbeats, the close diagnosis and traffic over
// time. Every answer is the core's. A classic script: this one tracks the connections and keeps
// their bytes; the drawing and the import (analysis_view.js) load with the core's analysis, its
// own wasm module, when first needed (the first connection tracked, an import or an export);
// bytes that arrive meanwhile are kept and analysed once it is there.
"use strict";

(function (page) {
  const { el } = page.render;

  /** Bytes of raw chunks each session records for export; later chunks are counted, not kept. */
  const MAX_KEPT_BYTES = 32 << 20;
  /** Connections kept in the pane; the oldest go first. */
  const MAX_CONNS = 50;
  /** Delay before a live connection's pane is redrawn (longer when drawing takes long). */
  const REDRAW_MS = 250;

  const $ = (id) => document.getElementById(id);
  const DIR_NAMES = ["c2s", "s2c"];

  /** The page's decoder loaded: the analysis can load too. */
  let enabled = false;
  /** The analysis module's API, once loaded. */
  let fw = null;
  let loading = null;
  /** Why the analysis module did not load, if it did not. */
  let loadError = null;
  /** key -> { key, label, session, request, response, ended, chunks (kept until the module loads), keptBytes, droppedBytes, firstT, lastT } */
  const conns = new Map();
  let redrawTimer = null;
  /** How long the last drawing took, in ms: the next waits at least four times that. */
  let lastDrawMs = 0;

  /** Starts (or restarts) the analysis of connection `key`; `response` turns on permessage-deflate. */
  function track(key, label, request, response) {
    if (!enabled) return null;
    untrack(key);
    const c = { key, label, session: null, request: request ?? "", response: response ?? "", ended: false, chunks: [], keptBytes: 0, droppedBytes: 0 };
    if (fw) {
      if (!startSession(c)) return null;
    } else {
      need().catch(() => {});
    }
    page.table.restartSeq(key);
    conns.set(key, c);
    while (conns.size > MAX_CONNS) untrack(conns.keys().next().value);
    renderChoice(key);
    return c;
  }

  /** Gives `c` its session, fed with the chunks kept before the module loaded. */
  function startSession(c) {
    try {
      c.session = new fw.AnalysisSession(c.response || undefined, c.request || undefined, MAX_KEPT_BYTES);
      for (const ch of c.chunks) c.session.feed(DIR_NAMES[ch.dir], ch.bytes, Number.isFinite(ch.t) ? ch.t : undefined);
      // The session records what it was fed (for export) from now on.
      c.chunks = [];
    } catch (e) {
      setStatus(`${c.label}: cannot analyse: ${e.message ?? e}`, "warning");
      return false;
    }
    if (c.ended) c.session.end();
    return true;
  }

  /** Resolves to the analysis module, loading it the first time; then analyses every connection kept. */
  function need() {
    if (fw) return Promise.resolve(fw);
    loading ??= page.loader.loadAnalysis().then(
      (api) => {
        fw = api;
        for (const c of [...conns.values()]) if (!startSession(c)) untrack(c.key);
        renderChoice();
        return api;
      },
      (e) => {
        loading = null;
        loadError = `The analysis did not load: ${e.message ?? e}.`;
        setStatus(loadError, "error");
        throw e;
      },
    );
    return loading;
  }

  function untrack(key) {
    const c = conns.get(key);
    if (!c) return;
    c.session?.free();
    conns.delete(key);
  }

  /** Feeds one chunk: `dir` 0 client to server, 1 server to client; `t` in milliseconds. */
  function feed(key, dir, bytes, t) {
    const c = conns.get(key);
    if (!c || c.ended) return;
    try {
      if (c.session) c.session.feed(DIR_NAMES[dir], bytes, Number.isFinite(t) ? t : undefined);
      else if (c.keptBytes + bytes.length <= MAX_KEPT_BYTES) {
        // Kept until the analysis module loads, then replayed into the session.
        c.chunks.push({ t, dir, bytes: bytes.slice() });
        c.keptBytes += bytes.length;
      } else {
        c.droppedBytes += bytes.length;
      }
    } catch (e) {
      setStatus(`${c.label}: ${e.message ?? e}`, "warning");
      return;
    }
    if (Number.isFinite(t)) {
      c.firstT ??= t;
      c.lastT = t;
    }
    scheduleRedraw(key);
  }

  /** The connection is over: the close diagnosis may now say how it ended. */
  function end(key) {
    const c = conns.get(key);
    if (!c || c.ended) return;
    c.ended = true;
    c.session?.end();
    scheduleRedraw(key);
  }

  function scheduleRedraw(key) {
    if (key !== selected() || redrawTimer) return;
    redrawTimer = setTimeout(() => {
      redrawTimer = null;
      render();
    }, Math.max(REDRAW_MS, 4 * lastDrawMs));
  }

  function setStatus(text, kind = "") {
    const s = $("an-status");
    s.textContent = text;
    s.dataset.kind = kind;
  }

  const selected = () => $("an-conn").value;

  function renderChoice(pick) {
    const sel = $("an-conn");
    const keep = pick ?? sel.value;
    sel.replaceChildren(...[...conns.values()].map((c) => el("option", { value: c.key }, c.label)));
    if (conns.has(keep)) sel.value = keep;
    render();
  }

  /** Draws the selected connection's analysis (analysis_view.js), or says why it cannot yet. */
  function render() {
    const c = conns.get(selected());
    const start = performance.now();
    if (c?.session && page.analysisView) {
      page.analysisView.draw(c);
    } else {
      for (const id of ["an-messages", "an-compression", "an-heartbeats", "an-close", "an-traffic"]) $(id).replaceChildren();
      $("an-filter-note").textContent = "";
      if (c) setStatus(loadError ?? `${c.label}: loading the analysis…`, loadError ? "error" : "");
    }
    lastDrawMs = performance.now() - start;
  }

  // ---- import and export ---------------------------------------------------------

  /** Shows a capture file's connections (analysis_view.js); 0 before the analysis has loaded. */
  function importBytes(bytes, name) {
    if (!fw || !page.analysisView) {
      setStatus(`${name}: not imported: the analysis module is not loaded yet.`, "error");
      return 0;
    }
    return page.analysisView.importBytes(fw, bytes, name);
  }

  /** The connection `key` (the selected one by default) as `format` ("capture", "har" or "pcapng"), written by the core. */
  function exportBytes(format, key = selected()) {
    const c = conns.get(key);
    if (!c) throw new Error("no connection to export");
    if (!c.session) throw new Error("the analysis module is not loaded yet");
    return c.session.exportAs(format);
  }

  /** The frame index of the ping that the pong `pongFrame` of `dir` (0 or 1) on `key` answered, by the core's heartbeats; null if none. */
  function pingAnsweredBy(key, dir, pongFrame) {
    const c = conns.get(key);
    return c?.session ? c.session.pingAnsweredBy(DIR_NAMES[dir], pongFrame) ?? null : null;
  }

  const EXT = { capture: ["jsonl", "application/x-ndjson"], har: ["har", "application/json"], pcapng: ["pcapng", "application/vnd.tcpdump.pcap"] };

  async function download(format) {
    let bytes;
    try {
      await need();
      bytes = exportBytes(format);
    } catch (e) {
      setStatus(`Not exported: ${e.message ?? e}`, "error");
      return;
    }
    const url = URL.createObjectURL(new Blob([bytes], { type: EXT[format][1] }));
    const a = el("a", { href: url, download: `framewire-session.${EXT[format][0]}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    setStatus(`Exported ${bytes.length} bytes as ${format}.`, "ok");
  }

  function initAnalysis(decoder) {
    enabled = !!decoder;
    if (!enabled) {
      setStatus("The decoder did not load: no analysis.", "error");
      return;
    }
    $("an-conn").addEventListener("change", () => render());
    for (const ev of ["input", "change"]) $("an-filter").addEventListener(ev, () => render());
    $("an-filter").addEventListener("submit", (e) => {
      e.preventDefault();
      render();
    });
    $("an-import").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      try {
        await need();
      } catch {
        return;
      }
      const n = importBytes(new Uint8Array(await file.arrayBuffer()), file.name);
      if (n) setStatus(`${file.name}: ${n} connection${n === 1 ? "" : "s"} imported.`, "ok");
      e.target.value = "";
    });
    for (const f of Object.keys(EXT)) $(`an-export-${f}`).addEventListener("click", () => download(f));
  }

  page.analysis = { track, feed, end, render, importBytes, exportBytes, pingAnsweredBy, initAnalysis, MAX_KEPT_BYTES, setStatus, renderChoice, selected };
})((self.framewirePage ??= {}));
