// The page's own connection: connect and send through the browser's WebSocket, the event log,
// and the server's wire view (its bytes decoded into the frame table and fed to the analysis).
// Loaded by app.js on the first connect, not at the page's start. A classic script.
"use strict";

(function (page) {
  const { el, hex, clock } = page.render;
  const tableNote = (...a) => page.table.tableNote(...a);
  const addFrameRow = (...a) => page.table.addFrameRow(...a);
  /** app.js's status line, decoder loader and handshake view (initConnection). */
  let setStatus, decoder, showHandshake;

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

    fw = await decoder();
    try {
      await page.loader.loadTable();
      await page.loader.loadPane();
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

  /** Wires up the connection's buttons (enabled once connected). */
  function initConnection() {
    $("disconnect").addEventListener("click", disconnect);
    $("send-text-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!ws) return;
      ws.send($("text").value);
    });
    $("send-binary-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!ws) return;
      fw = await decoder();
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

  page.connection = {
    /** Takes app.js's helpers and wires up the connection's buttons. */
    initConnection(app) {
      ({ setStatus, decoder, showHandshake } = app);
      initConnection();
    },
    connect,
  };
})((self.framewirePage ??= {}));
