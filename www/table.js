// The frame table: one entry per decoded frame of either direction (of the page's own
// connection, the proxy's relayed ones or an imported capture), notes between them.
// The entries are kept in memory up to a cap of frames (set in the page) and of bytes;
// only the rows in view are in the DOM (virtualised: spacers stand for the rest), so
// 100,000 frames scroll as lightly as ten. Selecting a row (click, arrow keys, Enter)
// shows its breakdown. Loaded by www/loader.js (loadTable) on the first connection, proxy use
// or import, not at the page's start.
"use strict";

(function (page) {
  const { el, hex, clock, frameBreakdown, opcodeLabel, maskLabel, lengthLabel } = page.render;

  /** Frames kept when the page does not say otherwise; older entries are dropped. */
  const DEFAULT_MAX_FRAMES = 50_000;
  /** The cap's range in the page's input. */
  const MIN_FRAMES = 100;
  const MAX_FRAMES = 1_000_000;
  /** Bytes of frame data kept for the entries; older entries are dropped beyond it. */
  const MAX_ROW_BYTES = 64 << 20;
  /** Columns of the table. */
  const COLUMNS = 9;
  /** Rows drawn above and below the visible ones. */
  const OVERSCAN = 10;
  /** Row height assumed until one is measured, in pixels. */
  const GUESS_ROW_PX = 27;

  const $ = (id) => document.getElementById(id);
  const DIRS = ["client → server", "server → client"];

  /**
   * The entries, oldest first, from `head` on (dropped ones are cut off in batches):
   * { ord, n, note?, kind?, f?, dir, time, conn, label, key, seq, injected, hidden, bytes }.
   */
  let entries = [];
  let head = 0;
  /** The shown (not hidden) entries, in order, from `viewHead` on. */
  let view = [];
  let viewHead = 0;
  let maxFrames = DEFAULT_MAX_FRAMES;
  let rowCount = 0;
  /** Every entry's number, notes too (`ord`): the order of `view`. */
  let ordCount = 0;
  let heldBytes = 0;
  let dropped = 0;
  let hiddenCount = 0;
  let selected = null;
  /** The entry whose row has the keyboard's focus. */
  let focused = null;
  /** Entries drawn now -> their rows. */
  let drawn = new Map();
  let rowPx = GUESS_ROW_PX;
  /** Scrolled to the end: new rows keep it there. */
  let follow = true;
  let drawPending = false;
  /** Analysis key ("own", "proxy:ID", "file:…") -> the seq (the core's frame number) of its next row. */
  const nextSeq = new Map();
  /** The analysis key of a proxy connection's rows. */
  const keyOf = (conn) => (conn === null ? "own" : `proxy:${conn}`);

  /** Bytes a frame holds (its bytes, unmasked payload and inflated payload: www/loader.js), in
   *  JavaScript or, for a large frame not yet read, in the decoder's wasm memory. */
  const frameBytes = (f) => f.heldBytes;

  const live = () => entries.length - head;

  function push(entry) {
    entry.ord = ++ordCount;
    entries.push(entry);
    heldBytes += entry.bytes;
    if (!entry.hidden) view.push(entry);
    trim();
    scheduleDraw();
  }

  /** Drops the oldest entries past the caps. */
  function trim() {
    while (live() > maxFrames || (heldBytes > MAX_ROW_BYTES && live() > 1)) {
      const first = entries[head];
      entries[head++] = undefined;
      heldBytes -= first.bytes;
      first.f?.release?.();
      if (first.f) dropped++;
      if (first.hidden) hiddenCount--;
      else if (view[viewHead] === first) view[viewHead++] = undefined;
      if (first === selected) selected = null;
      if (first === focused) focused = null;
    }
    // Cut the dropped slots off now and then, not on every drop.
    if (head > 4096 && head * 2 > entries.length) {
      entries = entries.slice(head);
      head = 0;
    }
    if (viewHead > 4096 && viewHead * 2 > view.length) {
      view = view.slice(viewHead);
      viewHead = 0;
    }
  }

  /** A note across the table (a connection event, a warning). */
  function tableNote(text, kind = "note") {
    push({ note: text, kind, bytes: text.length * 2, hidden: false });
  }

  /** The tag and explanation of injected frames and of the pongs answering injected pings. */
  const INJECTED = {
    injected: [" injected", "injected by the inspector through the proxy"],
    answer: [" answers an injected ping", "the pong answering a ping the inspector injected"],
  };

  /**
   * Adds a frame: `dir` 0 is client to server, 1 server to client; `time` a label;
   * `opts.conn` the proxy's connection id (null for the page's own); `opts.key` and
   * `opts.label` another source's analysis key and name (an imported capture's);
   * `opts.injected` "injected" for a frame the inspector injected, "answer" for the
   * pong answering one.
   */
  function addFrameRow(dir, time, f, opts = {}) {
    const conn = opts.conn ?? null;
    const key = opts.key ?? keyOf(conn);
    const seq = nextSeq.get(key) ?? 0;
    nextSeq.set(key, seq + 1);
    const label = opts.label ?? (conn === null ? "" : `#${conn}`);
    push({ n: ++rowCount, f, dir, time, conn, label, key, seq, injected: opts.injected || null, bytes: frameBytes(f), hidden: false });
  }

  /** Most payload characters or bytes shown in a table preview. */
  const PREVIEW_CHARS = 80;
  const PREVIEW_BYTES = 24;

  /** A short preview of the payload: text, close code and reason, or hex. */
  function preview(f) {
    if (f.close) {
      const code = f.close.code === null ? "no code" : `${f.close.code} ${f.close.meaning}`;
      return { text: f.close.reason ? `${code}: ${f.close.reason}` : code, binary: false };
    }
    // A large frame still in wasm memory (www/loader.js): only its start is read.
    const h = f.head?.(PREVIEW_CHARS * 4);
    if (h) {
      if (h.text) return { text: `${new TextDecoder().decode(h.bytes, { stream: true }).slice(0, PREVIEW_CHARS)}…`, binary: false };
      return { text: `${hex(h.bytes.subarray(0, PREVIEW_BYTES))} …`, binary: true };
    }
    if (f.text !== null) {
      const t = f.text.length > PREVIEW_CHARS ? `${f.text.slice(0, PREVIEW_CHARS)}…` : f.text;
      return { text: t, binary: false };
    }
    const content = f.inflated ?? f.payload;
    if (content.length === 0) return { text: "(empty)", binary: true };
    const more = content.length > PREVIEW_BYTES ? " …" : "";
    return { text: hex(content.subarray(0, PREVIEW_BYTES)) + more, binary: true };
  }

  /** The row of an entry. */
  function rowOf(e) {
    if (e.note !== undefined) {
      return el("tr", { class: `note ${e.kind}` }, el("td", { colspan: String(COLUMNS), title: e.note }, el("div", { class: "clip" }, e.note)));
    }
    const { f, dir } = e;
    const p = preview(f);
    return el(
      "tr",
      {
        class: `frame-row dir-${dir === 0 ? "c2s" : "s2c"}${f.violations.length ? " broken" : ""}${e.injected ? " injected" : ""}`,
        "data-dir": dir === 0 ? "c2s" : "s2c",
        "data-conn": e.conn === null ? null : String(e.conn),
        "data-injected": e.injected,
        "data-n": String(e.n),
        tabindex: "-1",
      },
      el("td", { class: "c-index" }, String(e.n)),
      el("td", { class: "c-dir" }, e.label ? `${e.label} ${DIRS[dir]}` : DIRS[dir]),
      el("td", { class: "c-time" }, e.time),
      el("td", { class: "c-fin" }, f.fin ? "1" : "0"),
      el("td", { class: "c-rsv" }, `${+f.rsv1}${+f.rsv2}${+f.rsv3}`),
      el("td", { class: "c-op" }, opcodeLabel(f)),
      el("td", { class: "c-mask" }, maskLabel(f)),
      el("td", { class: "c-len" }, lengthLabel(f)),
      el(
        "td",
        { class: "c-payload" },
        el(
          "div",
          { class: "clip" },
          el("span", { class: p.binary ? "p-bin" : "p-text" }, p.text),
          f.compressed ? el("span", { class: "tag", title: "permessage-deflate: shown inflated" }, " deflate") : null,
          e.injected ? el("span", { class: "injected-tag", title: INJECTED[e.injected][1] }, INJECTED[e.injected][0]) : null,
          f.violations.length ? el("span", { class: "warn" }, ` ⚠ ${f.violations.length} broken rule${f.violations.length > 1 ? "s" : ""}`) : null,
        ),
      ),
    );
  }

  // ---- drawing the rows in view ------------------------------------------------------

  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      draw();
    });
  }

  const shown = () => view.length - viewHead;

  /** The position in `view` (from viewHead) of entry `e`, by its `ord`; -1 if not shown. */
  function viewIndex(e) {
    let lo = viewHead;
    let hi = view.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (view[mid] === e) return mid - viewHead;
      if (view[mid].ord < e.ord) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Draws the rows in view (and OVERSCAN more each side) between two spacers. */
  function draw() {
    const wrap = $("frames-wrap");
    const body = $("frame-rows");
    const total = shown();
    const above = $("rows-above").firstElementChild.firstElementChild;
    const top = above.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop;
    const firstVisible = Math.floor(Math.max(0, wrap.scrollTop - top) / rowPx);
    const visible = Math.ceil(wrap.clientHeight / rowPx) + 1;
    let from = Math.max(0, Math.min(firstVisible, total - visible) - OVERSCAN);
    let to = Math.min(total, Math.max(firstVisible, 0) + visible + OVERSCAN);
    if (follow) {
      to = total;
      from = Math.max(0, to - visible - 2 * OVERSCAN);
    }
    const rows = [];
    const next = new Map();
    for (let i = from; i < to; i++) {
      const e = view[viewHead + i];
      const tr = drawn.get(e) ?? rowOf(e);
      next.set(e, tr);
      if (e === selected) tr.setAttribute("aria-current", "true");
      else tr.removeAttribute("aria-current");
      rows.push(tr);
    }
    // One row takes Tab: the focused one when drawn, else the first frame drawn.
    let tabStop = focused && next.has(focused) ? focused : null;
    for (const [e, tr] of next) {
      if (!e.f) continue;
      tabStop ??= e;
      tr.tabIndex = e === tabStop ? 0 : -1;
    }
    drawn = next;
    const hadFocus = body.contains(document.activeElement);
    // Rows that stay are not moved (a moved row would lose the focus): only the others come and go.
    const keep = new Set(rows);
    for (const child of [...body.children]) if (!keep.has(child)) child.remove();
    let at = body.firstElementChild;
    for (const r of rows) {
      if (r === at) at = at.nextElementSibling;
      else body.insertBefore(r, at);
    }
    if (hadFocus && !body.contains(document.activeElement) && focused && drawn.has(focused)) drawn.get(focused).focus({ preventScroll: true });
    above.style.height = `${from * rowPx}px`;
    $("rows-below").firstElementChild.firstElementChild.style.height = `${(total - to) * rowPx}px`;
    // Measure a frame row once one is drawn: the spacers stand for rows of that height.
    const sample = rows.find((r) => r.classList.contains("frame-row"));
    if (sample) {
      const h = sample.getBoundingClientRect().height;
      if (h > 0 && Math.abs(h - rowPx) > 0.5) {
        rowPx = h;
        scheduleDraw();
      }
    }
    if (follow) wrap.scrollTop = wrap.scrollHeight;
    showBound();
  }

  /** `n` bytes in MiB, one decimal. */
  const mib = (n) => (n / (1 << 20)).toFixed(1);

  /** How much of what the rows hold is large frames' bytes in the decoder's memory (www/loader.js). */
  function stored() {
    const n = page.loader.decoderApi?.()?.storedBytes?.() ?? 0;
    return n ? `, ${mib(n)} MiB of it in the decoder's memory` : "";
  }

  /** Says what the table keeps and how much it dropped. */
  function showBound() {
    const text =
      `Keeping the last ${maxFrames} frames / ${mib(MAX_ROW_BYTES)} MiB: ${live()} rows held (${mib(heldBytes)} MiB${stored()}), ` +
      `${dropped} frame${dropped === 1 ? "" : "s"} dropped` +
      (hiddenCount ? `, ${hiddenCount} hidden by the filter.` : ".");
    const node = $("table-bound");
    if (node.textContent !== text) node.textContent = text;
    node.dataset.dropped = String(dropped);
  }

  /** Scrolls so that the `i`th shown entry is in view. */
  function scrollToIndex(i) {
    const wrap = $("frames-wrap");
    const above = $("rows-above").firstElementChild.firstElementChild;
    const top = above.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop;
    const y = top + i * rowPx;
    if (y < wrap.scrollTop + top) wrap.scrollTop = y - top;
    else if (y + rowPx > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = y + rowPx - wrap.clientHeight;
    follow = wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 1 && i === shown() - 1;
    draw();
  }

  /** Scrolls to the last row (and keeps following new ones). */
  function scrollToEnd() {
    follow = true;
    draw();
  }

  // ---- selection and keys -------------------------------------------------------------

  const entryOf = (tr) => {
    for (const [e, r] of drawn) if (r === tr) return e;
    return null;
  };

  function selectEntry(e, focus = true) {
    if (!e || !e.f) return;
    selected = e;
    focused = e;
    draw();
    const tr = drawn.get(e);
    if (focus && tr) tr.focus();
    const who = e.conn !== null ? `connection #${e.conn}, ` : e.label ? `${e.label}, ` : "";
    const how = e.injected ? `, ${INJECTED[e.injected][1]}` : "";
    $("frame-detail").replaceChildren(frameBreakdown(e.f, `${who}${DIRS[e.dir]}, frame ${e.f.index} of that direction, at ${e.time}${how}`));
  }

  function moveFocus(from, step) {
    const total = shown();
    if (!total) return;
    const i = viewIndex(from);
    let j = step === Infinity ? total - 1 : step === -Infinity ? 0 : Math.max(0, Math.min(total - 1, i + step));
    // Notes take no focus: go on past them.
    const dir = step > 0 ? 1 : -1;
    while (view[viewHead + j] && !view[viewHead + j].f && j + dir >= 0 && j + dir < total) j += dir;
    const next = view[viewHead + j];
    if (!next?.f) return;
    focused = next;
    scrollToIndex(j);
    drawn.get(next)?.focus();
  }

  /** The analysis of `key` starts over: its later rows count from seq 0, older rows leave the filter. */
  function restartSeq(key) {
    nextSeq.set(key, 0);
    for (let i = head; i < entries.length; i++) if (entries[i].key === key) entries[i].key = null;
  }

  /** Hides the rows of `key` whose seq is not in `shownSeqs` (a Set); null shows them all. */
  function applyFilter(key, shownSeqs) {
    if (!shownSeqs && !hiddenCount) return;
    hiddenCount = 0;
    view = [];
    viewHead = 0;
    for (let i = head; i < entries.length; i++) {
      const e = entries[i];
      e.hidden = !!shownSeqs && e.key === key && e.f !== undefined && !shownSeqs.has(e.seq);
      if (e.hidden) hiddenCount++;
      else view.push(e);
    }
    if (selected?.hidden) selected = null;
    if (focused?.hidden) focused = null;
    scheduleDraw();
  }

  /** Empties the table and the detail pane. */
  function clearTable() {
    for (let i = head; i < entries.length; i++) entries[i].f?.release?.();
    entries = [];
    head = 0;
    view = [];
    viewHead = 0;
    nextSeq.clear();
    rowCount = 0;
    ordCount = 0;
    heldBytes = 0;
    dropped = 0;
    hiddenCount = 0;
    selected = null;
    focused = null;
    follow = true;
    $("frame-detail").replaceChildren(el("p", { class: "help" }, "No frame selected."));
    scheduleDraw();
  }

  /** Sets the cap of frames kept (clamped to its range); drops the oldest past it. */
  function setMaxFrames(n) {
    maxFrames = Math.max(MIN_FRAMES, Math.min(MAX_FRAMES, Math.floor(Number(n) || DEFAULT_MAX_FRAMES)));
    trim();
    scheduleDraw();
    return maxFrames;
  }

  function initTable() {
    const body = $("frame-rows");
    const wrap = $("frames-wrap");
    const input = $("keep-frames");
    input.min = String(MIN_FRAMES);
    input.max = String(MAX_FRAMES);
    // A cap typed before this script loaded is kept.
    input.value = String(setMaxFrames(input.value || maxFrames));
    input.addEventListener("change", () => (input.value = String(setMaxFrames(input.value))));
    // Following stops only when the view moves up (the user scrolled back), never
    // because rows were added or the layout changed under a scroll not yet handled.
    let lastTop = wrap.scrollTop;
    wrap.addEventListener("scroll", () => {
      if (wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 2) follow = true;
      else if (wrap.scrollTop < lastTop) follow = false;
      lastTop = wrap.scrollTop;
      scheduleDraw();
    });
    body.addEventListener("click", (e) => selectEntry(entryOf(e.target.closest("tr.frame-row"))));
    body.addEventListener("focusin", (e) => {
      const en = entryOf(e.target.closest("tr.frame-row"));
      if (en) focused = en;
    });
    body.addEventListener("keydown", (e) => {
      const en = entryOf(e.target.closest("tr.frame-row"));
      if (!en) return;
      const keys = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -Infinity, End: Infinity };
      if (e.key in keys) {
        e.preventDefault();
        moveFocus(en, keys[e.key]);
      } else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        selectEntry(en);
      }
    });
    draw();
  }

  page.table = { clock, tableNote, addFrameRow, clearTable, initTable, restartSeq, applyFilter, setMaxFrames, scrollToEnd };
})((self.framewirePage ??= {}));
