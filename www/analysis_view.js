// The analysis pane's drawing (the message view with the filter, compression truth,
// heartbeats, the close diagnosis, traffic over time) and the import of capture files: loaded
// by www/loader.js with the analysis module (loadAnalysis), not at the page's start. The
// connections and their sessions are analysis.js's. A classic script.
"use strict";

(function (page) {
  const { el } = page.render;
  const A = page.analysis;
  const { MAX_KEPT_BYTES, setStatus, selected, track, feed, end, renderChoice } = A;

  /** Bytes a stream decoder of an imported connection holds for one unfinished frame. */
  const DECODER_LIMIT = 1 << 20;
  /** Rows drawn in the message view (the newest). */
  const MAX_VIEW_ROWS = 500;
  /** Points of the traffic chart, about. */
  const CHART_BUCKETS = 60;

  const $ = (id) => document.getElementById(id);
  const DIR = { c2s: "client → server", s2c: "server → client" };
  const DIR_NAMES = ["c2s", "s2c"];
  const OPCODES = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

  const ms = (t) => (t == null ? "–" : `${Number(t).toFixed(1)} ms`);
  const time = (t) => (t == null ? "–" : t > 1e11 ? page.table.clock(t) : `${(t / 1000).toFixed(3)} s`);

  /** Traffic buckets for about CHART_BUCKETS points over the time seen, at least 1 ms, a round number. */
  function bucketFor(c) {
    const span = (c.lastT ?? 0) - (c.firstT ?? 0);
    const raw = Math.max(1, span / CHART_BUCKETS);
    const p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((m) => m * p).find((b) => b >= raw);
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

  /** Draws connection `c`, whose session has started. */
  function draw(c) {
    for (const id of ["an-messages", "an-compression", "an-heartbeats", "an-close", "an-traffic"]) $(id).replaceChildren();
    $("an-filter-note").textContent = "";
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
    drawMessages(report.messages, shown, report.viewEntries, subprotocol(c.response));
    drawCompression(report.compression);
    drawHeartbeats(report.heartbeats);
    drawClose(report.close);
    page.chart?.draw($("an-traffic"), report.traffic);
  }

  /** Loading state of decoders.js: null (not asked), a promise, or "failed". */
  let decodersLoad = null;

  /** The subprotocol the handshake answer `response` agreed on, or "". */
  function subprotocol(response) {
    return /^sec-websocket-protocol:[ \t]*([^\r\n]*?)[ \t]*$/im.exec(response ?? "")?.[1] ?? "";
  }

  /** The payload shown by the decoders (loaded, as a separate script, when a text first
   *  may need them or the connection's `protocol` names one). */
  function decoded(text, protocol) {
    if (page.decoders) return page.decoders.render(text, protocol);
    if (text && decodersLoad === null && (protocol || /^\s*[[{]|^[0-6]|^[A-Z]+\r?\n/.test(text))) {
      decodersLoad = page.loader.loadScript("decoders.js").then(A.render, (e) => {
        decodersLoad = "failed";
        setStatus(`Payload decoders unavailable: ${e.message}`, "warning");
      });
    }
    return text;
  }

  function drawMessages(entries, shown, total, protocol) {
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
        el("td", { class: "an-payload" }, decoded(body, protocol)),
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

  /** A time label for a frame of an imported capture. */
  const timeLabel = (t) => (t > 1e11 ? page.table.clock(t) : `+${(t / 1000).toFixed(6)} s`);

  /**
   * Shows a capture file's connections (pcap, pcapng, HAR or framewire capture), read
   * by the core: each one analysed and its frames added to the frame table.
   */
  function importBytes(fw, bytes, name) {
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

  page.analysisView = { draw, importBytes };
})((self.framewirePage ??= {}));
