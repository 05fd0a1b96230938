// The inspector page: the browser's own WebSocket beside the server's wire view (or
// the proxy's inspector socket), whose raw bytes the wasm module (framewire's core)
// decodes into frames. A classic script: it runs from file:// too.
"use strict";

(function (page) {
  const { el, frameBreakdown } = page.render;

  const $ = (id) => document.getElementById(id);

  let fw = null;

  function setStatus(id, text, kind = "") {
    const node = $(id);
    node.textContent = text;
    node.dataset.kind = kind;
  }

  // ---- the handshake view ---------------------------------------------------

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

  // ---- the connection -------------------------------------------------------

  function defaultUrl() {
    const secure = location.protocol === "https:";
    const host = location.host || "127.0.0.1:9090";
    return `${secure ? "wss" : "ws"}://${host}/echo`;
  }

  /** The address field and its endpoint list; the connection's code (connection.js) loads on
   *  the first connect, which waits for it. */
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
    const load = lazyScript(
      "connection.js",
      () => page.connection.initConnection({ setStatus, decoder, showHandshake }),
      (why) => setStatus("conn-status", `Not connected: the connection's code did not load: ${why}`, "error"),
    );
    $("connect-form").addEventListener("submit", (e) => {
      e.preventDefault();
      load().then(() => page.connection?.connect());
    });
  }

  /** Loads the script `src` once and then runs `init()`; a failed load calls `fail(why)` and is
   *  tried again on the next call. */
  function lazyScript(src, init, fail) {
    let load = null;
    return () =>
      (load ??= page.loader.loadScript(src).then(init, (e) => {
        load = null;
        fail(e.message ?? e);
      }));
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

  /** The decoder loads at start (within issue 14's base load), so the first connection, decode
   *  or build finds it there; the page is ready once it has loaded. */
  async function checkDecoder() {
    if (!page.loader.canDecode()) {
      decoderFailed("the decoder's bindings (www/pkg/framewire_wasm.js) did not load: build it with scripts/build-wasm.sh");
    } else if (await decoder()) {
      document.body.dataset.ready = "true";
    }
  }

  async function start() {
    document.body.dataset.started = "true";
    fileNote();
    initConnection();
    initDecode();
    checkDecoder();
    initBuilderSection(decoder);
    initAnalysisPane();
    initProxySection(decoder);
  }

  /** The frame builder's script, builder.js, loads when the builder is first used (a field
   *  focused or the form sent): the page's start does without it. */
  function initBuilderSection(decoder) {
    const form = $("builder-form");
    const loadBuilder = lazyScript(
      "builder.js",
      () =>
        page.builder.initBuilder(decoder, (text, role) => {
          $("decode-input").value = text;
          $("decode-role").value = role;
          decodeInto($("decode-output"), text, role);
          $("decode").scrollIntoView({ block: "start" });
        }),
      (why) => ($("builder-output").textContent = `The frame builder did not load: ${why}`),
    );
    $("b-mask").addEventListener("change", () => ($("b-key").disabled = !$("b-mask").checked));
    form.addEventListener("focusin", loadBuilder);
    form.addEventListener("submit", (e) => {
      if (page.builder) return;
      e.preventDefault();
      loadBuilder().then(() => page.builder && form.requestSubmit());
    });
  }

  /** The analysis pane's script (analysis.js) loads with the first connection or proxy use, or
   *  when the pane's import or an export is first asked for (then asked again). */
  function initAnalysisPane() {
    const later = (e) => {
      if (page.analysis) return;
      page.loader.loadPane().then(
        () => e.target.dispatchEvent(new Event(e.type)),
        (err) => setStatus("an-status", `The analysis did not load: ${err.message ?? err}`, "error"),
      );
    };
    $("an-import").addEventListener("change", later);
    for (const f of ["har", "capture", "pcapng"]) $(`an-export-${f}`).addEventListener("click", later);
  }

  /** The proxy section's script, proxy.js, loads when the section is first used, or at once
   *  when the page's address names a proxy or its key (proxy mode): the start of the page
   *  opened by itself does without its 7 KB. */
  function initProxySection(decoder) {
    let load = null;
    const loadProxy = () =>
      (load ??= page.loader
        .loadTable()
        .then(() => page.loader.loadPane())
        .then(() => page.loader.loadScript("proxy.js"))
        .then(
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
