// The analysis pane: each connection's bytes (the page's own, the proxy's attached ones,
// or an imported capture's) fed to the core's AnalysisSession, shown as the message view
// (with the filter), compression truth, heartbeats, the close diagnosis and traffic over
// time. Every answer is the core's; this file only draws it. A classic script. The core's
// analysis is its own wasm module, loaded when first needed (the first connection tracked, an
// import or an export); bytes that arrive meanwhile are kept and analysed once it is there.
"use strict";

(function (page) {
  const { el } = page.render;

  /** Bytes of raw chunks each session records for export; later chunks are counted, not kept. */
  const MAX_KEPT_BYTES = 32 << 20;
  /** Bytes a stream decoder of an imported connection holds for one unfinished frame. */
  const DECODER_LIMIT = 1 << 20;
  /** Connections kept in the pane; the oldest go first. */
  const MAX_CONNS = 50;
  /** Rows drawn in the message view (the newest). */
  const MAX_VIEW_ROWS = 500;
  /** Points of the traffic chart, about. */
  const CHART_BUCKETS = 60;
  /** Delay before a live connection's pane is redrawn (longer when drawing takes long). */
  const REDRAW_MS = 250;

  const $ = (id) => document.getElementById(id);
  const DIR = { c2s: "client → server", s2c: "server → client" };
  const DIR_NAMES = ["c2s", "s2c"];
  const OPCODES = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

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

  const ms = (t) => (t == null ? "–" : `${Number(t).toFixed(1)} ms`);
  const time = (t) => (t == null ? "–" : t > 1e11 ? page.table.clock(t) : `${(t / 1000).toFixed(3)} s`);

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

  /** Traffic buckets for about CHART_BUCKETS points over the time seen, at least 1 ms, a round number. */
  function bucketFor(c) {
    const span = (c.lastT ?? 0) - (c.firstT ?? 0);
    const raw = Math.max(1, span / CHART_BUCKETS);
    const p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((m) => m * p).find((b) => b >= raw);
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

  // ---- the filter -------------------------------------------------------------

  /** The filter form as the core's filter spec; null when nothing is set. */
  function filterSpec() {
    const spec = {};
    const v = (id) => $(id).value.trim();
    if (v("an-f-dir")) spec.direction = v("an-f-dir");
    if (v("an-f-kind")) spec.kind = v("an-f-kind");
    if (v("an-f-op")) spec.opcodes = v("an-f-op").split(/[ ,]+/).filter(Boolean).map(Number);
    if (v("an-f-text")) spec.text = v("an-f-text");
    if (v("an-f-regex")) spec.regex = v("an-f-regex");
    if (v("an-f-min")) spec.minSize = Number(v("an-f-min"));
    if (v("an-f-max")) spec.maxSize = Number(v("an-f-max"));
    return Object.keys(spec).length ? spec : null;
  }

  // ---- drawing ------------------------------------------------------------------

  function render() {
    const start = performance.now();
    draw();
    lastDrawMs = performance.now() - start;
  }

  function draw() {
    const c = conns.get(selected());
    for (const id of ["an-messages", "an-compression", "an-heartbeats", "an-close", "an-traffic"]) $(id).replaceChildren();
    $("an-filter-note").textContent = "";
    if (!c) return;
    if (!c.session) {
      if (loadError) setStatus(loadError, "error");
      else setStatus(`${c.label}: loading the analysis…`);
      return;
    }
    const spec = filterSpec();
    let report;
    try {
      // Unfiltered, only the rows drawn cross from the core.
      report = c.session.report(bucketFor(c), spec ? undefined : MAX_VIEW_ROWS);
    } catch (e) {
      setStatus(`${c.label}: ${e.message ?? e}`, "warning");
      return;
    }
    let shown = null;
    if (spec) {
      try {
        const f = c.session.filter(spec);
        shown = new Set([...f.messages.map(([d, i]) => `m${d}:${i}`), ...f.frames.map((s) => `f${s}`)]);
        $("an-filter-note").textContent = `Filter: ${f.hiddenMessages} message${f.hiddenMessages === 1 ? "" : "s"} and ${f.hiddenFrames} frame${f.hiddenFrames === 1 ? "" : "s"} hidden.`;
        page.table.applyFilter(c.key, new Set(f.frames));
      } catch (e) {
        $("an-filter-note").textContent = `Filter not applied: ${e.message ?? e}`;
      }
    } else {
      page.table.applyFilter(c.key, null);
    }
    const lost = c.session.unrecordedBytes;
    const kept = lost ? ` ${lost} bytes past the export limit (${MAX_KEPT_BYTES >> 20} MiB) are analysed but not kept for export.` : "";
    setStatus(`${c.label}: ${report.frames} frames${report.droppedFrames ? ` (${report.droppedFrames} more past the limit)` : ""}${c.ended ? ", ended" : ""}.${kept}`, "ok");
    drawMessages(report.messages, shown, report.viewEntries);
    drawCompression(report.compression);
    drawHeartbeats(report.heartbeats);
    drawClose(report.close);
    page.chart?.draw($("an-traffic"), report.traffic);
  }

  /** Loading state of decoders.js: null (not asked), a promise, or "failed". */
  let decodersLoad = null;

  /** The payload shown by the decoders (loaded, as a separate script, when a text first may need them). */
  function decoded(text) {
    if (page.decoders) return page.decoders.render(text);
    if (text && decodersLoad === null && /^\s*[[{]|^[0-6]|^[A-Z]+\r?\n/.test(text)) {
      decodersLoad = page.loader.loadScript("decoders.js").then(render, (e) => {
        decodersLoad = "failed";
        setStatus(`Payload decoders unavailable: ${e.message}`, "warning");
      });
    }
    return text;
  }

  function drawMessages(entries, shown, total) {
    const keep = entries.filter((e) => !shown || (e.type === "message" ? shown.has(`m${e.direction}:${e.index}`) : shown.has(`f${e.seq}`)));
    const rows = keep.slice(-MAX_VIEW_ROWS).map((e) => {
      if (e.type === "control") {
        const what = e.close ? `close ${e.close.code ?? "(no code)"}${e.close.reason ? ` "${e.close.reason}"` : ""}` : OPCODES[e.opcode] ?? `opcode ${e.opcode}`;
        return el("tr", { class: `an-control dir-${e.direction}` }, el("td", {}, DIR[e.direction]), el("td", {}, what), el("td", {}, "1"), el("td", {}, String(e.payloadLen)), el("td", {}, time(e.timeMs)), el("td", {}, "–"), el("td", {}, ""));
      }
      const size = e.size ?? e.payloadSize;
      const body = e.text != null ? e.text + (e.textCut ? "…" : "") : e.kind === "binary" ? `(${size} bytes binary)` : "";
      return el(
        "tr",
        { class: `an-message dir-${e.direction}${e.valid ? "" : " broken"}` },
        el("td", {}, DIR[e.direction]),
        el("td", {}, `${e.kind ?? "unknown"}${e.compressed ? " (deflate)" : ""}${e.complete ? "" : " (incomplete)"}`),
        el("td", {}, String(e.frames.length)),
        el("td", {}, String(size)),
        el("td", {}, time(e.firstMs)),
        el("td", {}, time(e.lastMs)),
        el("td", { class: "an-payload" }, decoded(body)),
      );
    });
    $("an-messages").append(
      el(
        "table",
        { id: "an-message-table" },
        el("caption", {}, "Messages (fragments grouped) and control frames, in the order seen."),
        el("thead", {}, el("tr", {}, ...["Direction", "Kind", "Frames", "Size", "First", "Last", "Content"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...rows),
      ),
    );
    const all = shown ? keep.length : total;
    if (all > rows.length) $("an-messages").append(el("p", { class: "help" }, `The newest ${rows.length} of ${all} rows.`));
  }

  function drawCompression(comp) {
    const out = $("an-compression");
    out.append(el("h3", {}, "Compression"));
    if (comp.deflate) {
      out.append(el("p", {}, `Negotiated: ${comp.deflate.answer}`), el("ul", {}, ...comp.deflate.words.map((w) => el("li", {}, w))));
    } else {
      out.append(el("p", { class: "help" }, "permessage-deflate not negotiated: every message crosses the wire as is."));
    }
    const totals = comp.totals.map((t, i) =>
      el("li", { class: "an-total" }, `${DIR[DIR_NAMES[i]]}: ${t.messages} messages (${t.compressed} compressed), ${t.wire} bytes on the wire, ${t.inflated} inflated${t.ratio != null ? `, ratio ${t.ratio.toFixed(2)}` : ""}, ${t.saved} bytes saved`),
    );
    out.append(el("ul", {}, ...totals));
    const per = comp.messages.filter((m) => m.compressed).slice(-50);
    if (per.length) {
      out.append(el("ul", { class: "an-per-message" }, ...per.map((m) => el("li", {}, `${m.direction} #${m.index}: ${m.wire} → ${m.inflated ?? "?"} bytes${m.ratio != null ? ` (×${m.ratio.toFixed(2)})` : ""}`))));
    }
  }

  function drawHeartbeats(hb) {
    const out = $("an-heartbeats");
    out.append(el("h3", {}, "Heartbeats"));
    const pings = hb.pings.slice(-50).map((p) =>
      el("li", { class: p.rttMs == null ? "bad an-ping" : "an-ping" }, `ping ${DIR[p.direction]} at ${time(p.pingMs)}: ${p.rttMs == null ? "unanswered" : `pong after ${ms(p.rttMs)}`}`),
    );
    out.append(
      el("p", {}, `${hb.pings.length} pings, ${hb.unanswered} unanswered, ${hb.unsolicitedPongs} unsolicited pongs` + (hb.rttMs ? `; RTT min/mean/max ${hb.rttMs.map((x) => x.toFixed(1)).join(" / ")} ms` : "")),
      el("ul", {}, ...pings),
    );
    if (hb.silences.length) {
      out.append(el("p", {}, "Longest silences:"), el("ul", {}, ...hb.silences.map((s) => el("li", {}, `${DIR[s.direction]}: ${ms(s.durationMs)} from ${time(s.fromMs)}`))));
    }
  }

  function drawClose(close) {
    const out = $("an-close");
    out.append(el("h3", {}, "Close"), el("p", { class: "an-outcome" }, `Outcome: ${close.outcome}`));
    out.append(el("ul", {}, ...close.summary.map((s) => el("li", {}, s))));
    if (close.closeEvent) {
      const ev = close.closeEvent;
      out.append(el("p", { class: "an-close-event" }, `The browser's CloseEvent: code ${ev.code}, wasClean ${ev.wasClean}${ev.reason ? `, reason "${ev.reason}"` : ""}: ${ev.why}`));
    }
  }

  // ---- import and export ---------------------------------------------------------

  /** A time label for a frame of an imported capture. */
  const timeLabel = (t) => (t > 1e11 ? page.table.clock(t) : `+${(t / 1000).toFixed(6)} s`);

  /**
   * Shows a capture file's connections (pcap, pcapng, HAR or framewire capture), read
   * by the core: each one analysed and its frames added to the frame table.
   */
  function importBytes(bytes, name) {
    if (!fw) {
      setStatus(`${name}: not imported: the analysis module is not loaded yet.`, "error");
      return 0;
    }
    let cap;
    try {
      cap = fw.readCapture(bytes);
    } catch (e) {
      setStatus(`${name}: not imported: ${e.message ?? e}`, "error");
      return 0;
    }
    let first = null;
    for (const conn of cap.connections) {
      const key = `file:${name}:${conn.id}`;
      const label = `${name} #${conn.id}`;
      const c = track(key, `${label}${conn.client ? ` (${conn.client} → ${conn.server})` : ""}`, conn.request, conn.response);
      if (!c) continue;
      first ??= c;
      c.session.describe(conn.id, conn.client ?? undefined, conn.server ?? undefined);
      const decoders = [new fw.StreamDecoder("client", DECODER_LIMIT), new fw.StreamDecoder("server", DECODER_LIMIT)];
      try {
        const answer = conn.response ? fw.deflateAnswer(conn.response) : null;
        if (answer) for (const d of decoders) d.enableDeflateAgreed(answer);
        for (const ch of conn.chunks) {
          const dir = ch.dir === "c2s" ? 0 : 1;
          feed(key, dir, ch.bytes, ch.t);
          for (const f of decoders[dir].push(ch.bytes)) page.table.addFrameRow(dir, timeLabel(ch.t), f, { key, label });
        }
      } catch (e) {
        page.table.tableNote(`${label}: decoding stopped: ${e.message ?? e}`, "warning");
      } finally {
        for (const d of decoders) d.free();
      }
      if (conn.ended) end(key);
    }
    if (first) renderChoice(first.key);
    return cap.connections.length;
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

  page.analysis = { track, feed, end, render, importBytes, exportBytes, pingAnsweredBy, initAnalysis };
})((self.framewirePage ??= {}));
