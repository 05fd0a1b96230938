// Proxy mode: the page as a client of `framewire proxy`'s inspector socket
// (ws://HOST/__framewire/inspect?key=KEY, protocol v1). Lists the relayed connections,
// attaches to some or every new one, decodes each attached connection's bytes with the
// wasm decoder (one stream decoder per direction, permessage-deflate as its response
// head agreed) into the frame table, and injects pings, closes and any frame.
"use strict";

(function (page) {
  const { el } = page.render;
  const { addFrameRow, tableNote } = page.table;

  /** The inspector protocol version this page speaks. */
  const VERSION = 1;
  /** Bytes a stream decoder holds for one unfinished frame. */
  const DECODER_LIMIT = 1 << 20;
  /** Ended connections kept in the list. */
  const MAX_ENDED = 50;
  /** Injected pings remembered per connection (by frame index), to mark the pongs answering them. */
  const MAX_PINGS = 64;
  /** Header of a binary chunk: kind, connection id (u32), time (f64). */
  const CHUNK_HEADER = 13;
  /** How long the page waits for its own connection to show up in the proxy's list. */
  const TAG_TIMEOUT_MS = 5000;

  const $ = (id) => document.getElementById(id);

  let fw = null;
  /** Resolves to the decoder (loaded at start), or null when it cannot load. */
  let loadDecoder = async () => null;
  let sock = null;
  /** The proxy's clock: its T at hello, and performance.now() then. */
  let clockBase = null;
  /** id -> { conn, attached, decoders, endedAt, ended (the proxy's notice), pings (injected ones, "dir:frame index"), row (in the list) } */
  const conns = new Map();
  /** tag -> callback(conn) for the page's own connections through the proxy. */
  const ownTags = new Map();
  let ageTimer = null;
  /** The attached connections the frame table's status names, joined. */
  let shownIds = "";

  function setStatus(text, kind = "") {
    const node = $("proxy-status");
    node.textContent = text;
    node.dataset.kind = kind;
  }

  /** T (ms since the proxy started) as seconds with microseconds. */
  const proxyTime = (t) => `+${(t / 1000).toFixed(6)} s`;

  /** The proxy's T now, from its hello and the page's monotonic clock. */
  const proxyNow = () => (clockBase ? clockBase.t + (performance.now() - clockBase.at) : 0);

  /** `size` bytes in short form. */
  function size(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / (1 << 20)).toFixed(1)} MiB`;
  }

  function age(ms) {
    const s = Math.max(0, ms / 1000);
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  /** 16 bytes from crypto.getRandomValues as base64url (22 characters, 128 bits). */
  const randomToken = page.loader.randomToken;

  // ---- where the proxy is -------------------------------------------------

  /** The key from the page's `#key=` fragment, if any. */
  function keyFromLocation() {
    return new URLSearchParams(location.hash.slice(1)).get("key") ?? "";
  }

  /** The proxy's address: `?proxy=`, else the proxy serving this page, else none. */
  function proxyFromLocation() {
    const given = new URLSearchParams(location.search).get("proxy");
    if (given) return given;
    if (location.pathname.startsWith("/__framewire/")) {
      return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
    }
    return "";
  }

  /** The inspector socket's URL for a proxy address and key. */
  function inspectUrl(proxy, key) {
    const base = new URL(proxy);
    if (base.protocol === "http:") base.protocol = "ws:";
    if (base.protocol === "https:") base.protocol = "wss:";
    if (base.protocol !== "ws:" && base.protocol !== "wss:") {
      throw new Error(`the proxy's address must start with ws:// or wss://, not ${base.protocol}//`);
    }
    const url = new URL("/__framewire/inspect", base);
    url.searchParams.set("key", key);
    return url;
  }

  // ---- the connection list --------------------------------------------------

  /** The list's row of a connection, made once and kept (so that a click never meets a replaced row). */
  function connRow(entry) {
    if (entry.row) return entry.row;
    const id = entry.conn.id;
    const box = el("input", { type: "checkbox", class: "attach", "aria-label": `Attach to connection ${id}` });
    box.addEventListener("change", () => (box.checked ? attach([id]) : detach([id])));
    const cell = (name) => el("td", { class: `c-conn-${name}` });
    entry.row = el(
      "tr",
      { "data-id": String(id) },
      el("td", {}, box),
      ...["id", "peer", "path", "protocol", "ext", "age", "up", "down", "state"].map(cell),
    );
    return entry.row;
  }

  /** "the client (1000)" for a close frame the proxy reported. */
  function closer(close) {
    const code = close.code ?? "no code";
    return close.by === "proxy" ? `the proxy (injected towards the ${close.to}, ${code})` : `the ${close.by} (${code})`;
  }

  /** Who closed first, who answered and how TCP ended, from the proxy's report. */
  function endSummary(c, ended) {
    const parts = [];
    if (c.close) parts.push(`${closer(c.close)} sent the first close${c.close_answer ? `, ${closer(c.close_answer)} answered` : ""}`);
    const tcp = (ended?.tcp ?? []).map((t) => (t.how === "FIN" || t.how === "reset" ? `${t.by} ${t.how}` : `${t.by}: ${t.how}`));
    if (tcp.length) parts.push(`TCP: ${tcp.join(", then ")}`);
    return parts.join("; ");
  }

  /** The state column, short: the state, the HTTP status unless 101, and who started the end. */
  function stateText(entry) {
    const c = entry.conn;
    const text = c.status === null || c.status === 101 ? c.state : `${c.state} (HTTP ${c.status})`;
    const code = c.close ? ` (${c.close.code ?? "no code"})` : "";
    if (entry.ended) return `${text}: ${entry.ended.how} by the ${entry.ended.by}${code}`;
    return c.close ? `${text}: the ${c.close.by} sent close${code}` : text;
  }

  /** Brings a connection's row up to date. */
  function fillRow(entry) {
    const c = entry.conn;
    const tr = connRow(entry);
    tr.dataset.state = c.state;
    tr.classList.toggle("ended", c.state === "ended");
    const box = tr.querySelector("input.attach");
    box.checked = entry.attached;
    box.disabled = c.state === "ended";
    const text = {
      id: String(c.id),
      peer: c.peer ?? "",
      path: c.path ?? "",
      protocol: c.protocol ?? "—",
      ext: c.extensions || "—",
      age: age((entry.endedAt ?? proxyNow()) - c.opened),
      up: `${size(c.bytes_up)}, ${c.frames_up}`,
      down: `${size(c.bytes_down)}, ${c.frames_down}`,
      state: stateText(entry),
    };
    for (const [name, value] of Object.entries(text)) {
      const td = tr.querySelector(`.c-conn-${name}`);
      if (td.textContent !== value) td.textContent = value;
    }
    // The whole story (first close, its answer, the TCP ends) on hover.
    tr.querySelector(".c-conn-state").title = endSummary(c, entry.ended);
    return tr;
  }

  /** Says in the frame table's status which of the proxy's connections it shows. */
  function wireStatus() {
    const ids = [...conns.values()].filter((e) => e.attached).map((e) => `#${e.conn.id}`);
    if (ids.join() === shownIds) return;
    shownIds = ids.join();
    if (ids.length) {
      const node = $("wire-status");
      node.textContent = `Showing the frames of the proxy's connection${ids.length > 1 ? "s" : ""} ${ids.join(", ")}.`;
      node.dataset.kind = "ok";
    }
  }

  function renderList() {
    wireStatus();
    const rows = [...conns.values()].sort((a, b) => a.conn.id - b.conn.id);
    const body = $("proxy-conn-rows");
    const keep = new Set(rows.map(fillRow));
    for (const tr of [...body.children]) if (!keep.has(tr)) tr.remove();
    rows.forEach((entry, i) => {
      if (body.children[i] !== entry.row) body.insertBefore(entry.row, body.children[i] ?? null);
    });
    const live = rows.filter((e) => e.conn.state !== "ended");
    const select = $("inject-conn");
    const listed = live.map((e) => e.conn.id).join();
    if (select.dataset.ids === listed) return;
    select.dataset.ids = listed;
    const chosen = select.value;
    select.replaceChildren(
      ...live.map((e) => el("option", { value: String(e.conn.id), selected: String(e.conn.id) === chosen }, `#${e.conn.id} ${e.conn.path}`)),
    );
  }

  function refreshAges() {
    for (const tr of $("proxy-conn-rows").children) {
      const entry = conns.get(Number(tr.dataset.id));
      if (entry) tr.querySelector(".c-conn-age").textContent = age((entry.endedAt ?? proxyNow()) - entry.conn.opened);
    }
  }

  function dropOldEnded() {
    const ended = [...conns.values()].filter((e) => e.conn.state === "ended").sort((a, b) => a.endedAt - b.endedAt);
    for (const e of ended.slice(0, Math.max(0, ended.length - MAX_ENDED))) conns.delete(e.conn.id);
  }

  // ---- decoding -------------------------------------------------------------

  /** The two stream decoders of a connection, deflate on when its response agreed to it. */
  function decodersFor(entry) {
    if (entry.decoders || !fw) return entry.decoders;
    entry.decoders = [new fw.StreamDecoder("client", DECODER_LIMIT), new fw.StreamDecoder("server", DECODER_LIMIT)];
    entry.deflate = false;
    page.analysis.track(`proxy:${entry.conn.id}`, `proxy #${entry.conn.id} ${entry.conn.path ?? ""}`, entry.conn.request, entry.conn.response);
    // The connection's chunks are decoded in order after the deflate answer (read by the
    // analysis module, loaded when first needed).
    entry.ready = entry.conn.response
      ? page.loader.enableDeflate(entry.decoders, entry.conn.response).then(
          (on) => (entry.deflate = on),
          (e) => tableNote(`#${entry.conn.id}: cannot tell whether permessage-deflate is on: ${e.message ?? e}`, "warning"),
        )
      : Promise.resolve();
    return entry.decoders;
  }

  function freeDecoders(entry) {
    if (entry.decoders) for (const d of entry.decoders) d.free();
    entry.decoders = null;
  }

  /** A pong that the core's heartbeat analysis matched to a ping the proxy injected. */
  function answersInjected(entry, dir, f) {
    if (f.opcode !== 0xa || !entry.pings.size) return false;
    const ping = page.analysis.pingAnsweredBy(`proxy:${entry.conn.id}`, dir, f.index);
    return ping !== null && entry.pings.delete(`${1 - dir}:${ping}`);
  }

  function onBinary(data) {
    if (data.byteLength < CHUNK_HEADER) {
      tableNote(`Ignored a proxy chunk of ${data.byteLength} bytes (shorter than its ${CHUNK_HEADER}-byte header).`, "warning");
      return;
    }
    const view = new DataView(data);
    const kind = view.getUint8(0);
    const id = view.getUint32(1, false);
    const t = view.getFloat64(5, false);
    if (kind > 3) {
      tableNote(`Ignored a proxy chunk of unknown kind ${kind} for #${id}.`, "warning");
      return;
    }
    const entry = conns.get(id);
    if (!entry || !entry.attached) return;
    const decoders = decodersFor(entry);
    if (!decoders) return;
    entry.ready = entry.ready
      .then(() => decodeChunk(entry, decoders, kind, t, new Uint8Array(data, CHUNK_HEADER)))
      .catch((e) => tableNote(`#${id}: decoding failed: ${e.message ?? e}`, "warning"));
  }

  /** Decodes and lists chunk `bytes` of `entry` (of `kind`, at time `t`), unless its decoders
   *  have been freed meanwhile. */
  function decodeChunk(entry, decoders, kind, t, bytes) {
    if (entry.decoders !== decoders) return;
    const id = entry.conn.id;
    const dir = kind & 1;
    page.analysis.feed(`proxy:${id}`, dir, bytes, t);
    let frames;
    try {
      frames = decoders[dir].push(bytes);
    } catch (e) {
      tableNote(`#${id}: decoding failed: ${e.message ?? e}`, "warning");
      return;
    }
    // Kinds 2 and 3 are the frames the proxy injected for an inspector.
    const injected = kind >= 2;
    for (const f of frames) {
      if (injected && f.opcode === 0x9) {
        entry.pings.add(`${dir}:${f.index}`);
        if (entry.pings.size > MAX_PINGS) entry.pings.delete(entry.pings.values().next().value);
      }
      addFrameRow(dir, proxyTime(t), f, { conn: id, injected: injected ? "injected" : answersInjected(entry, dir, f) ? "answer" : null });
    }
  }

  // ---- the protocol's text messages ---------------------------------------------

  function upsert(conn, opened) {
    let entry = conns.get(conn.id);
    if (!entry) {
      entry = { conn, attached: false, decoders: null, endedAt: null, ended: null, pings: new Set(), row: null };
      conns.set(conn.id, entry);
    } else {
      entry.conn = conn;
    }
    const isNew = opened && clockBase && conn.opened >= clockBase.t;
    if (isNew && $("attach-new").checked && !entry.attached && conn.state !== "ended") {
      // The proxy attaches connections opened after attach_new itself.
      entry.attached = true;
      tableNote(`Attached to #${conn.id} ${conn.path} (from ${conn.peer}).`);
    }
    const own = conn.tag ? ownTags.get(conn.tag) : undefined;
    if (own) {
      ownTags.delete(conn.tag);
      if (!entry.attached) attach([conn.id]);
      own(conn);
    }
    if (entry.attached && entry.conn.response && !entry.decoders) decodersFor(entry);
    return entry;
  }

  function onText(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      setStatus(`The proxy sent text that is not JSON: ${text.slice(0, 80)}`, "warning");
      return;
    }
    switch (msg.type) {
      case "hello":
        clockBase = { t: Number(msg.now) || 0, at: performance.now() };
        if (msg.version !== VERSION) {
          setStatus(`The proxy speaks inspector protocol ${msg.version}; this page speaks ${VERSION}: some things may not show.`, "warning");
        } else {
          setStatus(`Connected to the proxy in front of ${msg.upstream}.`, "ok");
        }
        $("proxy").dataset.upstream = msg.upstream ?? "";
        break;
      case "opened":
      case "updated":
        upsert(msg.conn, msg.type === "opened");
        renderList();
        break;
      case "ended": {
        const entry = conns.get(msg.id);
        if (entry) {
          entry.conn = { ...entry.conn, state: "ended", close: msg.close, close_answer: msg.close_answer };
          entry.endedAt = msg.at;
          entry.ended = msg;
          if (entry.attached) tableNote(`#${msg.id} ended at ${proxyTime(msg.at)}: ${msg.how}, started by the ${msg.by}; ${endSummary(entry.conn, msg)}.`);
          entry.attached = false;
          freeDecoders(entry);
          page.analysis.end(`proxy:${msg.id}`);
          dropOldEnded();
          renderList();
        }
        break;
      }
      case "listed":
        if ($("proxy-status").dataset.kind === "ok") {
          setStatus(`Connected to the proxy in front of ${$("proxy").dataset.upstream}: ${msg.count} live connection${msg.count === 1 ? "" : "s"}.`, "ok");
        }
        break;
      case "injected":
        setStatus(`Injected a ${msg.what} into #${msg.id} towards the ${msg.dir === "up" ? "upstream" : "client"} at ${proxyTime(msg.at)}.`, "ok");
        break;
      case "error":
        setStatus(`The proxy refused: ${msg.message}`, "error");
        break;
      case "dropped":
        tableNote(`#${msg.id}: the proxy dropped ${msg.bytes} bytes for this page (its queue was full): frames after this point may be decoded wrongly.`, "warning");
        break;
      default:
        break;
    }
  }

  // ---- commands ---------------------------------------------------------------

  function send(command) {
    if (!sock || sock.readyState !== WebSocket.OPEN) {
      setStatus("Not connected to a proxy.", "error");
      return false;
    }
    sock.send(JSON.stringify(command));
    return true;
  }

  function attach(ids) {
    if (!send({ type: "attach", ids })) return;
    for (const id of ids) {
      const entry = conns.get(id);
      if (!entry || entry.attached) continue;
      entry.attached = true;
      tableNote(`Attached to #${id} ${entry.conn.path} (from ${entry.conn.peer}).`);
      // The opening handshake pane shows the last attached connection's heads.
      if (entry.conn.request) page.app.showHandshake(entry.conn.request, entry.conn.response);
    }
    renderList();
  }

  function detach(ids) {
    send({ type: "detach", ids });
    for (const id of ids) {
      const entry = conns.get(id);
      if (!entry || !entry.attached) continue;
      entry.attached = false;
      freeDecoders(entry);
      tableNote(`Detached from #${id}.`);
    }
    renderList();
  }

  function hexOf(text) {
    return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function inject() {
    const id = Number($("inject-conn").value);
    if (!$("inject-conn").value) {
      setStatus("No live connection to inject into.", "error");
      return;
    }
    const base = { type: "inject", id, dir: $("inject-dir").value };
    const what = $("inject-what").value;
    if (what === "ping") {
      send({ ...base, what, payload_hex: hexOf($("inject-payload").value) });
    } else if (what === "close") {
      send({ ...base, what, code: Number($("inject-code").value), reason: $("inject-reason").value });
    } else {
      let bytes;
      try {
        bytes = fw.parseHex($("inject-hex").value);
      } catch (e) {
        setStatus(`Not injected: ${e.message ?? e}`, "error");
        return;
      }
      send({ ...base, what, frame_hex: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") });
    }
  }

  // ---- the inspector socket -------------------------------------------------------

  function disconnect() {
    if (sock) {
      sock.onclose = null;
      sock.close(1000, "the page disconnected");
    }
    sock = null;
    for (const entry of conns.values()) freeDecoders(entry);
    conns.clear();
    renderList();
    clearInterval(ageTimer);
    $("proxy-live").hidden = true;
    $("proxy-connect").disabled = false;
    $("proxy-disconnect").disabled = true;
    delete document.body.dataset.proxy;
  }

  async function connect() {
    fw = await loadDecoder();
    if (!fw) setStatus("The decoder did not load: the proxy's connections can be listed but not decoded.", "warning");
    disconnect();
    const key = $("proxy-key").value.trim();
    if (!key) {
      setStatus("The inspector key is missing: paste the #key= part of the address the proxy printed.", "error");
      return;
    }
    let url;
    try {
      url = inspectUrl($("proxy-url").value.trim(), key);
    } catch (e) {
      setStatus(`Not a proxy address: ${e.message ?? e}`, "error");
      return;
    }
    const shown = `${url.protocol}//${url.host}`;
    setStatus(`Connecting to the proxy at ${shown}…`);
    $("proxy-connect").disabled = true;
    const s = new WebSocket(url.toString());
    s.binaryType = "arraybuffer";
    sock = s;
    let opened = false;
    s.onopen = () => {
      opened = true;
      $("proxy-live").hidden = false;
      $("proxy-disconnect").disabled = false;
      document.body.dataset.proxy = "connected";
      ageTimer = setInterval(refreshAges, 1000);
      if ($("attach-new").checked) send({ type: "attach_new", on: true });
    };
    s.onmessage = (e) => (typeof e.data === "string" ? onText(e.data) : onBinary(e.data));
    s.onclose = (e) => {
      const was = opened;
      disconnect();
      setStatus(
        was
          ? `The proxy closed the inspector socket (code ${e.code}${e.reason ? `: ${e.reason}` : ""}).`
          : `Could not open the inspector socket at ${shown}: the key is wrong (the proxy answers 403), ` +
              "no framewire proxy listens there, or it takes inspectors from loopback only.",
        "error",
      );
    };
  }

  // ---- the page's own connection through the proxy --------------------------------

  /** True when `url` (a ws:// URL) goes to the proxy the page is connected to. */
  function covers(url) {
    if (!sock || sock.readyState !== WebSocket.OPEN) return false;
    return new URL(sock.url).host === url.host;
  }

  /**
   * Tags `url` (a URL object) with `__framewire_tag` so that its connection can be found;
   * `onFound(conn)` runs once the proxy lists it (and the page has attached to it),
   * `onMissing()` when it does not within a few seconds.
   */
  function tagOwn(url, onFound, onMissing) {
    const tag = randomToken();
    url.searchParams.set("__framewire_tag", tag);
    ownTags.set(tag, onFound);
    setTimeout(() => {
      if (ownTags.delete(tag)) onMissing();
    }, TAG_TIMEOUT_MS);
  }

  function showFields() {
    const what = $("inject-what").value;
    for (const node of $("inject-form").querySelectorAll("[data-for]")) node.hidden = node.dataset.for !== what;
  }

  /** Wires up the proxy section; `decoder()` resolves to the wasm API (loaded at start) or null.
   *  Returns whether it connected at once (the address named the proxy and its key). */
  function initProxy(decoder) {
    loadDecoder = decoder;
    // Loaded when the section is first used: what was typed in meanwhile stays.
    $("proxy-url").value ||= proxyFromLocation() || "ws://127.0.0.1:9090";
    $("proxy-key").value ||= keyFromLocation();
    $("proxy-form").addEventListener("submit", (e) => {
      e.preventDefault();
      connect();
    });
    $("proxy-disconnect").addEventListener("click", () => {
      disconnect();
      setStatus("Disconnected from the proxy.");
    });
    $("attach-new").addEventListener("change", () => send({ type: "attach_new", on: $("attach-new").checked }));
    $("attach-all").addEventListener("click", () => {
      const ids = [...conns.values()].filter((e) => !e.attached && e.conn.state !== "ended").map((e) => e.conn.id);
      if (ids.length) attach(ids);
    });
    $("inject-what").addEventListener("change", showFields);
    $("inject-from-builder").addEventListener("click", () => {
      const built = page.builder?.lastBuilt() ?? null;
      if (built) $("inject-hex").value = built;
      else setStatus("Build a frame in the frame builder first.", "warning");
    });
    $("inject-form").addEventListener("submit", (e) => {
      e.preventDefault();
      inject();
    });
    showFields();
    // Served by the proxy, or told where it is, with the key: connect at once.
    if (!proxyFromLocation() || !$("proxy-key").value) return false;
    connect();
    return true;
  }

  page.proxy = { initProxy, connect, covers, tagOwn, proxyTime };
})((self.framewirePage ??= {}));
