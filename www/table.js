// The frame table: one row per decoded frame of either direction (of the page's own
// connection or of the proxy's relayed ones), notes between them, bounded in rows and
// bytes; selecting a row (click, arrow keys, Enter) shows its breakdown.
"use strict";

(function (page) {
  const { el, frameBreakdown, opcodeLabel, maskLabel, lengthLabel, preview } = page.render;

  /** Frames kept in the table; older rows are dropped. */
  const MAX_ROWS = 1000;
  /** Bytes of frame data kept for the table's rows; older rows are dropped beyond it. */
  const MAX_ROW_BYTES = 64 << 20;
  /** Columns of the table. */
  const COLUMNS = 9;

  const $ = (id) => document.getElementById(id);
  const DIRS = ["client → server", "server → client"];

  let selectedRow = null;
  let rowCount = 0;
  let rowBytes = 0;
  const rowFrames = new WeakMap();
  /** Analysis key ("own" or "proxy:ID") -> the seq (the core's frame number) of its next row. */
  const nextSeq = new Map();
  /** The analysis key of a row's connection. */
  const keyOf = (conn) => (conn === null ? "own" : `proxy:${conn}`);

  /** A wall-clock time (ms since the epoch) as hh:mm:ss.mmm. */
  function clock(ms) {
    const d = new Date(ms);
    const p = (n, w = 2) => String(n).padStart(w, "0");
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }

  /** A note across the table (a connection event, a warning). */
  function tableNote(text, kind = "note") {
    const tr = el("tr", { class: `note ${kind}` }, el("td", { colspan: String(COLUMNS) }, text));
    $("frame-rows").append(tr);
    trimRows();
  }

  /** Bytes a frame report holds. */
  const frameBytes = (f) => f.bytes.length + f.maskedPayload.length + f.payload.length + (f.inflated?.length ?? 0);

  function trimRows() {
    const body = $("frame-rows");
    while (body.children.length > MAX_ROWS || (rowBytes > MAX_ROW_BYTES && body.children.length > 1)) {
      const first = body.firstElementChild;
      if (first === selectedRow) selectedRow = null;
      const held = rowFrames.get(first);
      if (held) rowBytes -= frameBytes(held.f);
      first.remove();
    }
    const rows = body.querySelectorAll("tr.frame-row");
    if (rows.length && ![...rows].some((r) => r.tabIndex === 0)) rows[0].tabIndex = 0;
  }

  /** The tag and explanation of injected frames and of the pongs answering injected pings. */
  const INJECTED = {
    injected: [" injected", "injected by the inspector through the proxy"],
    answer: [" answers an injected ping", "the pong answering a ping the inspector injected"],
  };

  /**
   * Adds a frame: `dir` 0 is client to server, 1 server to client; `time` a label;
   * `opts.conn` the proxy's connection id (null for the page's own); `opts.injected`
   * "injected" for a frame the inspector injected, "answer" for the pong answering one.
   */
  function addFrameRow(dir, time, f, opts = {}) {
    const p = preview(f);
    const conn = opts.conn ?? null;
    const key = keyOf(conn);
    const seq = nextSeq.get(key) ?? 0;
    nextSeq.set(key, seq + 1);
    const tr = el(
      "tr",
      {
        class: `frame-row dir-${dir === 0 ? "c2s" : "s2c"}${f.violations.length ? " broken" : ""}${opts.injected ? " injected" : ""}`,
        "data-dir": dir === 0 ? "c2s" : "s2c",
        "data-conn": conn === null ? null : String(conn),
        "data-injected": opts.injected || null,
        "data-akey": key,
        "data-seq": String(seq),
        tabindex: $("frame-rows").querySelector("tr.frame-row") ? "-1" : "0",
      },
      el("td", { class: "c-index" }, String(++rowCount)),
      el("td", { class: "c-dir" }, conn === null ? DIRS[dir] : `#${conn} ${DIRS[dir]}`),
      el("td", { class: "c-time" }, time),
      el("td", { class: "c-fin" }, f.fin ? "1" : "0"),
      el("td", { class: "c-rsv" }, `${+f.rsv1}${+f.rsv2}${+f.rsv3}`),
      el("td", { class: "c-op" }, opcodeLabel(f)),
      el("td", { class: "c-mask" }, maskLabel(f)),
      el("td", { class: "c-len" }, lengthLabel(f)),
      el(
        "td",
        { class: "c-payload" },
        el("span", { class: p.binary ? "p-bin" : "p-text" }, p.text),
        f.compressed ? el("span", { class: "tag", title: "permessage-deflate: shown inflated" }, " deflate") : null,
        opts.injected ? el("span", { class: "injected-tag", title: INJECTED[opts.injected][1] }, INJECTED[opts.injected][0]) : null,
        f.violations.length ? el("span", { class: "warn" }, ` ⚠ ${f.violations.length} broken rule${f.violations.length > 1 ? "s" : ""}`) : null,
      ),
    );
    rowFrames.set(tr, { f, dir, time, conn, injected: opts.injected || null });
    rowBytes += frameBytes(f);
    $("frame-rows").append(tr);
    trimRows();
  }

  function selectRow(tr, focus = true) {
    if (!tr || !rowFrames.has(tr)) return;
    for (const r of $("frame-rows").querySelectorAll("tr.frame-row")) {
      r.removeAttribute("aria-current");
      r.tabIndex = -1;
    }
    tr.setAttribute("aria-current", "true");
    tr.tabIndex = 0;
    if (focus) tr.focus();
    selectedRow = tr;
    const { f, dir, time, conn, injected } = rowFrames.get(tr);
    const who = conn === null ? "" : `connection #${conn}, `;
    const how = injected ? `, ${INJECTED[injected][1]}` : "";
    $("frame-detail").replaceChildren(frameBreakdown(f, `${who}${DIRS[dir]}, frame ${f.index} of that direction, at ${time}${how}`));
  }

  function moveFocus(from, step) {
    const rows = [...$("frame-rows").querySelectorAll("tr.frame-row")];
    if (!rows.length) return;
    const i = rows.indexOf(from);
    const next = step === Infinity ? rows[rows.length - 1] : step === -Infinity ? rows[0] : rows[Math.max(0, Math.min(rows.length - 1, i + step))];
    for (const r of rows) r.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  /** The analysis of `key` starts over: its later rows count from seq 0, older rows leave the filter. */
  function restartSeq(key) {
    nextSeq.set(key, 0);
    for (const tr of $("frame-rows").querySelectorAll(`tr.frame-row[data-akey="${CSS.escape(key)}"]`)) delete tr.dataset.akey;
  }

  /** Hides the rows of `key` whose seq is not in `shown` (a Set); null shows them all. */
  function applyFilter(key, shown) {
    for (const tr of $("frame-rows").querySelectorAll("tr.frame-row")) {
      tr.hidden = !!shown && tr.dataset.akey === key && !shown.has(Number(tr.dataset.seq));
    }
  }

  /** Empties the table and the detail pane. */
  function clearTable() {
    $("frame-rows").replaceChildren();
    nextSeq.clear();
    rowCount = 0;
    rowBytes = 0;
    $("frame-detail").replaceChildren(el("p", { class: "help" }, "No frame selected."));
    selectedRow = null;
  }

  function initTable() {
    const body = $("frame-rows");
    body.addEventListener("click", (e) => selectRow(e.target.closest("tr.frame-row")));
    body.addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr.frame-row");
      if (!tr) return;
      const keys = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -Infinity, End: Infinity };
      if (e.key in keys) {
        e.preventDefault();
        moveFocus(tr, keys[e.key]);
      } else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        selectRow(tr);
      }
    });
  }

  page.table = { clock, tableNote, addFrameRow, clearTable, initTable, restartSeq, applyFilter };
})((self.framewirePage ??= {}));
