// The inspector page: the browser's own WebSocket beside the server's wire view (or
// the proxy's inspector socket), whose raw bytes the wasm module (framewire's core)
// decodes into frames. A classic script: it runs from file:// too.
"use strict";

(function (page) {
  const { el, hex, clock, frameBreakdown } = page.render;
  // The frame table (table.js) loads with the first connection (connect waits for it).
  const tableNote = (...a) => page.table.tableNote(...a);
  const addFrameRow = (...a) => page.table.addFrameRow(...a);

  /** Entries kept in the event log. */
  const MAX_EVENTS = 300;
  /** Bytes a stream decoder holds for one unfinished frame (longer frames are shown truncated). */
  const DECODER_LIMIT = 1 << 20;
  /** How long the wire view may take to open before messages go ahead without it. */
  const WIRE_TIMEOUT_MS = 3000;
  /** Largest file sent as one binary message. */
  const MAX_FILE_BYTES = 64 << 20;

  /** The analysis pane's key for the page's own connection. */
  const OWN = "own";

  const $ = (id) => document.getElementById(id);

  let fw = null;
  let ws = null;
  let wire = null;
  let decoders = null;
  let attached = false;

  function setStatus(id, text, kind = "") {
    const node = $(id);
    node.textContent = text;
    node.dataset.kind = kind;
  }

  // ---- event log ------------------------------------------------------------

  function logEvent(type, detail) {
    const log = $("event-log");
    log.append(el("li", { class: `ev ev-${type}` }, el("span", { class: "time" }, clock(Date.now())), el("strong", {}, type), " ", detail));
    while (log.children.length > MAX_EVENTS) log.firstElementChild.remove();
    log.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  function describeData(data) {
    if (typeof data === "string") return `text, ${data.length} characters: ${data.length > 200 ? data.slice(0, 200) + "…" : data}`;
    const bytes = new Uint8Array(data);
    return `binary, ${bytes.length} bytes: ${hex(bytes.subarray(0, 32))}${bytes.length > 32 ? " …" : ""}`;
  }

  // ---- the wire view --------------------------------------------------------

  function renderChecks(listId, report) {
    const list = $(listId);
    list.replaceChildren();
    if (!report) return;
    if (report.ok) list.append(el("li", { class: "ok" }, `Valid ${report.kind}.`));
    for (const p of report.problems) list.append(el("li", { class: "bad" }, p.message));
    for (const n of report.notes) list.append(el("li", { class: "help" }, n));
    if (report.expectedAccept && report.kind === "request") {
      list.append(el("li", {}, `Sec-WebSocket-Accept must be ${report.expectedAccept}`));
    }
  }

  /** Which heads showHandshake last showed: an older check arriving late is dropped. */
  let shownHeads = 0;

  /** The opening handshake's heads, each checked by the core. The check is in the analysis
   *  module (loaded for the connection's analysis anyway), so it follows when that has loaded. */
  async function showHandshake(request, response) {
    const shown = ++shownHeads;
    $("hs-request").textContent = request ?? "";
    $("hs-response").textContent = response ?? "";
    renderChecks("hs-request-check", null);
    renderChecks("hs-response-check", null);
    if (!page.loader.canDecode()) return;
    try {
      const checker = await page.loader.loadAnalysis();
      if (shown !== shownHeads) return;
      renderChecks("hs-request-check", checker.checkHandshake(request ?? ""));
      renderChecks("hs-response-check", checker.checkHandshake(response ?? "", request ?? undefined));
    } catch (e) {
      if (shown !== shownHeads) return;
      renderChecks("hs-request-check", { ok: false, problems: [{ message: `Not checked: ${e.message ?? e}` }], notes: [] });
    }
  }

  async function onWireText(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      tableNote(`The wire view sent text that is not JSON: ${text.slice(0, 80)}`, "warning");
      return;
    }
    if (msg.type === "attached") {
      attached = true;
      let deflate = false;
      if (decoders) {
        try {
          deflate = await page.loader.enableDeflate(decoders, msg.response ?? "");
        } catch (e) {
          tableNote(`Cannot tell whether permessage-deflate is on: ${e.message ?? e}`, "warning");
        }
      }
      setStatus(
        "wire-status",
        `Wire view attached to ${msg.path} (browser at ${msg.peer}).` +
          (deflate ? " permessage-deflate is on: compressed messages are shown inflated." : ""),
        "ok",
      );
      showHandshake(msg.request, msg.response);
      page.analysis.track(OWN, `this page's connection (${msg.path})`, msg.request, msg.response);
    } else if (msg.type === "closed") {
      tableNote(`Connection closed${msg.reason ? `: ${msg.reason}` : ""}.`);
      page.analysis.end(OWN);
    } else if (msg.type === "dropped") {
      tableNote(`The server dropped ${msg.bytes} bytes of the wire view (its queue was full): frames after this point may be decoded wrongly.`, "warning");
    }
  }

  function onWireBinary(data) {
    const buf = new Uint8Array(data);
    if (buf.length < 9 || buf[0] > 1) {
      tableNote(`Ignored a wire-view chunk that is not direction + time + bytes (${buf.length} bytes).`, "warning");
      return;
    }
    const dir = buf[0];
    const time = new DataView(data).getFloat64(1, false);
    page.analysis.feed(OWN, dir, buf.subarray(9), time);
    let frames;
    try {
      frames = decoders[dir].push(buf.subarray(9));
    } catch (e) {
      tableNote(`Decoding failed: ${e.message ?? e}`, "warning");
      return;
    }
    for (const f of frames) addFrameRow(dir, clock(time), f);
  }

  /** Opens the wire view; resolves true once it is open, false if it fails or times out. */
  function openWire(target, token) {
    const url = `${target.protocol}//${target.host}/__wire?tap=${token}`;
    return new Promise((resolve) => {
      let sock;
      try {
        sock = new WebSocket(url);
      } catch {
        resolve(false);
        return;
      }
      sock.binaryType = "arraybuffer";
      const timer = setTimeout(() => {
        sock.close();
        resolve(false);
      }, WIRE_TIMEOUT_MS);
      sock.onopen = () => {
        clearTimeout(timer);
        wire = sock;
        // In order, one after the other: "attached" waits for the deflate answer (read by the
        // analysis module) before the bytes after it are decoded.
        let queue = Promise.resolve();
        sock.onmessage = (e) => {
          queue = queue
            .then(() => (typeof e.data === "string" ? onWireText(e.data) : onWireBinary(e.data)))
            .catch((err) => tableNote(`The wire view failed: ${err.message ?? err}`, "warning"));
        };
        sock.onclose = () => {
          if (wire === sock) wire = null;
        };
        resolve(true);
      };
      sock.onerror = sock.onclose = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  }

  // ---- the connection -------------------------------------------------------

  function setConnected(open) {
    for (const id of ["send-text", "send-binary", "binary-file", "close", "disconnect"]) $(id).disabled = !open;
    $("connect").disabled = open;
  }

  function defaultUrl() {
    const secure = location.protocol === "https:";
    const host = location.host || "127.0.0.1:9090";
    return `${secure ? "wss" : "ws"}://${host}/echo`;
  }

  async function connect() {
    disconnect();
    dropWire(wire);
    let target;
    try {
      target = new URL($("url").value.trim());
    } catch {
      setStatus("conn-status", `"${$("url").value}" is not a URL.`, "error");
      return;
    }
    if (target.protocol !== "ws:" && target.protocol !== "wss:") {
      setStatus("conn-status", `The URL must start with ws:// or wss://, not ${target.protocol}//.`, "error");
      return;
    }
    const protocols = $("protocols").value.split(",").map((p) => p.trim()).filter(Boolean);
    $("connect").disabled = true;
    for (const id of ["hs-request", "hs-response", "hs-request-check", "hs-response-check"]) $(id).replaceChildren();

    await decoder();
    try {
      await page.loader.loadTable();
    } catch (e) {
      setStatus("conn-status", `Not connected: ${e.message ?? e}`, "error");
      $("connect").disabled = false;
      return;
    }
    const viaProxy = page.proxy?.covers(target) ?? false;
    if (!viaProxy) page.table.clearTable();
    let tapped = false;
    attached = false;
    if (viaProxy) {
      // Through the proxy the page is connected to: its inspector socket shows the frames.
      setStatus("wire-status", "Waiting for the proxy to list this connection…");
      page.proxy.tagOwn(
        target,
        (conn) => {
          attached = true;
          setStatus("wire-status", `Frames shown through the proxy: this is its connection #${conn.id} (${conn.path}).`, "ok");
          showHandshake(conn.request, conn.response);
        },
        () => setStatus("wire-status", "The proxy did not list this connection: its frames are not shown.", "warning"),
      );
    } else if (fw) {
      decoders = [new fw.StreamDecoder("client", DECODER_LIMIT), new fw.StreamDecoder("server", DECODER_LIMIT)];
      setStatus("wire-status", "Opening the wire view…");
      const token = page.loader.randomToken();
      tapped = await openWire(target, token);
      if (tapped) target.searchParams.set("tap", token);
    }
    if (!tapped && !viaProxy) {
      setStatus(
        "wire-status",
        fw
          ? "Wire view unavailable: this server has no framewire /__wire view, so only the WebSocket events are shown."
          : "Wire view unavailable: the decoder did not load.",
        "warning",
      );
      tableNote("Wire view unavailable.", "warning");
    }
    try {
      ws = new WebSocket(target.toString(), protocols);
    } catch (e) {
      setStatus("conn-status", `Cannot connect: ${e.message}`, "error");
      logEvent("error", e.message);
      $("connect").disabled = false;
      dropWire(wire);
      return;
    }
    ws.binaryType = "arraybuffer";
    setStatus("conn-status", `Connecting to ${target}…`);
    const sock = ws;
    const sockWire = wire;
    sock.onopen = () => {
      setConnected(true);
      setStatus("conn-status", `Open: ${sock.url}`, "ok");
      logEvent("open", `protocol "${sock.protocol}", extensions "${sock.extensions}"`);
      if (sockWire) {
        // A server that accepts any path may take /__wire without being framewire.
        setTimeout(() => {
          if (!attached && wire === sockWire) {
            dropWire(sockWire);
            setStatus("wire-status", "Wire view unavailable: the server took /__wire but sent no framewire wire view; only the WebSocket events are shown.", "warning");
            tableNote("Wire view unavailable.", "warning");
          }
        }, WIRE_TIMEOUT_MS);
      }
    };
    sock.onmessage = (e) => logEvent("message", describeData(e.data));
    sock.onerror = () => logEvent("error", "the browser reports an error (it gives no detail; see the close event)");
    sock.onclose = (e) => {
      logEvent("close", `code ${e.code}${e.reason ? `, reason "${e.reason}"` : ""}, ${e.wasClean ? "clean" : "not clean"}`);
      setStatus("conn-status", `Closed with code ${e.code}.`);
      if (ws === sock) {
        ws = null;
        setConnected(false);
      }
      // Let the last frames reach the wire view before it goes.
      setTimeout(() => dropWire(sockWire), 1000);
    };
  }

  /** Closes a wire-view socket (a later connection may have its own already). */
  function dropWire(sock) {
    if (!sock) return;
    sock.onmessage = null;
    sock.close();
    if (wire === sock) wire = null;
  }

  function disconnect() {
    if (ws) {
      ws.close(1000, "disconnect");
    }
  }

  function initConnection() {
    $("url").value = defaultUrl();
    $("endpoint").addEventListener("change", () => {
      try {
        const u = new URL($("url").value);
        u.pathname = $("endpoint").value;
        $("url").value = u.toString();
      } catch {
        $("url").value = defaultUrl().replace(/\/echo$/, $("endpoint").value);
      }
    });
    $("connect-form").addEventListener("submit", (e) => {
      e.preventDefault();
      connect();
    });
    $("disconnect").addEventListener("click", disconnect);
    $("send-text-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!ws) return;
      ws.send($("text").value);
    });
    $("send-binary-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!ws) return;
      await decoder();
      if (!fw) {
        setStatus("conn-status", "The decoder did not load, so hex cannot be read.", "error");
        return;
      }
      try {
        ws.send(fw.parseHex($("binary-hex").value));
      } catch (err) {
        setStatus("conn-status", `Not sent: ${err.message ?? err}`, "error");
      }
    });
    $("binary-file").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      if (!file || !ws) return;
      if (file.size > MAX_FILE_BYTES) {
        setStatus("conn-status", `Not sent: ${file.name} is ${file.size} bytes, over ${MAX_FILE_BYTES}.`, "error");
        return;
      }
      ws.send(await file.arrayBuffer());
      e.target.value = "";
    });
    $("close-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!ws) return;
      try {
        ws.close(Number($("close-code").value), $("close-reason").value);
      } catch (err) {
        setStatus("conn-status", `Not closed: ${err.message}`, "error");
      }
    });
  }

  // ---- the decode pane ------------------------------------------------------

  const RFC_EXAMPLE = "0000   81 85 37 fa 21 3d 7f 9f 4d 51 58                ..7.!=..MQX";

  function renderHandshake(out, report) {
    const list = el("ul", { class: "checks" });
    out.append(el("h3", {}, `${report.kind === "request" ? "Request" : "Response"}: ${report.startLine}`), list);
    const id = `chk-${Math.random().toString(36).slice(2)}`;
    list.id = id;
    renderChecks(id, report);
  }

  async function decodeInto(out, text, role) {
    await decoder();
    out.replaceChildren();
    if (!fw) {
      out.append(el("p", { class: "bad" }, "The decoder did not load."));
      return;
    }
    try {
      if (/^\s*(GET\s|HTTP\/)/.test(text)) {
        // The handshake check is in the analysis module, loaded the first time it is needed.
        renderHandshake(out, (await page.loader.loadAnalysis()).checkHandshake(text));
        return;
      }
      const r = fw.decodeHex(text, role, $("decode-deflate").checked);
      out.append(
        el("p", { class: "summary" }, `${r.frames.length} frame${r.frames.length === 1 ? "" : "s"} in ${r.consumed} bytes.`),
      );
      for (const f of r.frames) out.append(frameBreakdown(f, `Frame ${f.index} at byte ${f.offset}`));
      if (r.incomplete) {
        const i = r.incomplete;
        out.append(
          el(
            "p",
            { class: "warning" },
            `Incomplete frame at byte ${i.offset}: ${i.available} bytes present, ` +
              `${i.headerComplete ? "" : "at least "}${i.needed} more needed${i.headerComplete ? "" : " to finish its header"}.`,
          ),
        );
      }
    } catch (e) {
      out.append(el("p", { class: "bad", role: "alert" }, String(e.message ?? e)));
    }
  }

  function initDecode() {
    const run = () => decodeInto($("decode-output"), $("decode-input").value, $("decode-role").value);
    $("decode-form").addEventListener("submit", (e) => {
      e.preventDefault();
      run();
    });
    $("decode-example").addEventListener("click", () => {
      $("decode-input").value = RFC_EXAMPLE;
      $("decode-role").value = "client";
      run();
    });
  }

  // ---- start ----------------------------------------------------------------

  /** Opened from disk: what works offline, and where the frame table's data comes from. */
  function fileNote() {
    if (!page.loader.fromFile) return;
    const note = $("file-note");
    note.hidden = false;
    note.textContent =
      "Opened from a file: the decoder, the decode pane, the frame builder and the handshake check work offline. " +
      "The frame table needs a framewire server: framewire serve (its /__wire view; the page connects to " +
      "ws://127.0.0.1:9090 by default) or framewire proxy in front of any server (the Proxy section, with the key " +
      "it printed). A server that refuses pages from files (they send Origin: null) refuses this page's connection: " +
      "then open the page from framewire serve at http://127.0.0.1:9090/ instead.";
  }

  function decoderFailed(why) {
    setStatus("load-status", `The decoder did not load, so frames cannot be decoded or built (messages still work): ${why}.`, "error");
    document.body.dataset.ready = "false";
  }

  /** Resolves to the decoder, loading it the first time it is needed (connect, decode, build,
   *  the proxy), or to null when it cannot load (the page says why). */
  async function decoder() {
    if (fw) return fw;
    if (!page.loader.canDecode()) return null;
    setStatus("load-status", "Loading the decoder…");
    try {
      fw = await page.loader.loadDecoder();
      setStatus("load-status", "Decoder loaded.", "ok");
    } catch (e) {
      decoderFailed(e.message ?? e);
    }
    return fw;
  }

  /** At start only the decoder's bindings are checked: the wasm itself loads when first needed. */
  function checkDecoder() {
    if (page.loader.canDecode()) {
      setStatus("load-status", "Decoder ready: it loads when first needed (a connection, a decode, a build).", "ok");
      document.body.dataset.ready = "true";
    } else {
      decoderFailed("the decoder's bindings (www/pkg/framewire_wasm.js) did not load: build it with scripts/build-wasm.sh");
    }
  }

  async function start() {
    document.body.dataset.started = "true";
    fileNote();
    initConnection();
    initDecode();
    checkDecoder();
    initBuilderSection(decoder);
    page.analysis.initAnalysis(page.loader.canDecode());
    initProxySection(decoder);
  }

  /** The frame builder's script, builder.js, loads when the builder is first used (a field
   *  focused or the form sent): the page's start does without it. */
  function initBuilderSection(decoder) {
    const form = $("builder-form");
    let load = null;
    const loadBuilder = () =>
      (load ??= page.loader.loadScript("builder.js").then(
        () =>
          page.builder.initBuilder(decoder, (text, role) => {
            $("decode-input").value = text;
            $("decode-role").value = role;
            decodeInto($("decode-output"), text, role);
            $("decode").scrollIntoView({ block: "start" });
          }),
        (e) => {
          load = null;
          $("builder-output").textContent = `The frame builder did not load: ${e.message ?? e}`;
        },
      ));
    $("b-mask").addEventListener("change", () => ($("b-key").disabled = !$("b-mask").checked));
    form.addEventListener("focusin", loadBuilder);
    form.addEventListener("submit", (e) => {
      if (page.builder) return;
      e.preventDefault();
      loadBuilder().then(() => page.builder && form.requestSubmit());
    });
  }

  /** The proxy section's script, proxy.js, loads when the section is first used, or at once
   *  when the page's address names a proxy or its key (proxy mode): the start of the page
   *  opened by itself does without its 7 KB. */
  function initProxySection(decoder) {
    let load = null;
    const loadProxy = () =>
      (load ??= page.loader.loadTable().then(() => page.loader.loadScript("proxy.js")).then(
        () => page.proxy.initProxy(decoder),
        (e) => {
          load = null;
          $("proxy-status").textContent = `The proxy section did not load: ${e.message ?? e}`;
          $("proxy-status").dataset.kind = "error";
        },
      ));
    $("proxy-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!page.proxy) loadProxy().then((connected) => connected || page.proxy?.connect());
    });
    const q = new URLSearchParams(location.search);
    if (location.hash.includes("key=") || q.has("proxy") || location.pathname.startsWith("/__framewire/")) loadProxy();
  }

  page.app = { showHandshake };
  start();
})((self.framewirePage ??= {}));
