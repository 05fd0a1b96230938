// Loading the decoder: framewire's core compiled to wasm (www/pkg/, built by
// scripts/build-wasm.sh) as two modules, each fetched when first needed, not at start (the
// page's start stays within issue 14's 60 KiB). The decoder (pkg/framewire_wasm*: decoding,
// hex, the frame builder) loads on the first connection, decode or build;
// its bindings, a small classic script defining `wasm_bindgen`, are in index.html. The analysis module (pkg/framewire_analysis*: message
// view, compression, heartbeats, close, filter, import and export, the handshake check, the 101's
// permessage-deflate answer, global `framewireAnalysis`)
// loads with chart.js when first needed (loadAnalysis). Served over http(s), the page fetches
// pkg/NAME_bg.wasm. Opened from file://, where browsers refuse fetch(), it loads
// pkg/NAME_bytes.js instead: a classic script holding the same bytes as base64. Every failure
// is an Error saying what to do.
"use strict";

(function (page) {
  /** True when the page was opened straight from disk. */
  const fromFile = location.protocol === "file:";

  /** How long a module may take to load before the page says it failed. */
  const LOAD_TIMEOUT_MS = 20000;

  const BUILD = "build it with scripts/build-wasm.sh";

  /** The two modules: file names in pkg/, the global their bindings define, the base64 variable. */
  const BASE = {
    name: "framewire_wasm",
    what: "the decoder",
    base64: "framewireWasmBase64",
    api: () => (typeof wasm_bindgen === "undefined" ? undefined : wasm_bindgen),
  };
  const ANALYSIS = {
    name: "framewire_analysis",
    what: "the analysis module",
    base64: "framewireAnalysisBase64",
    api: () => (typeof framewireAnalysis === "undefined" ? undefined : framewireAnalysis),
  };

  /** Loads a classic script; rejects when it cannot be read. */
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`${src} could not be read`));
      document.head.append(s);
    });
  }

  function base64Bytes(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  /** Instantiates module `m`, whose bindings are loaded; resolves to its API. */
  async function instantiate(m) {
    const api = m.api();
    if (api === undefined) {
      throw new Error(`${m.what}'s bindings (www/pkg/${m.name}.js) did not load: ${BUILD}`);
    }
    if (fromFile) {
      const bytes = `www/pkg/${m.name}_bytes.js`;
      try {
        await loadScript(`pkg/${m.name}_bytes.js`);
      } catch {
        throw new Error(`${bytes} did not load from the file system: ${BUILD}`);
      }
      if (typeof self[m.base64] !== "string") throw new Error(`${bytes} holds no wasm bytes: ${BUILD}`);
      await api({ module_or_path: base64Bytes(self[m.base64]) });
      delete self[m.base64];
    } else {
      await api({ module_or_path: `pkg/${m.name}_bg.wasm` });
    }
    return api;
  }

  /** `promise`, or a rejection after LOAD_TIMEOUT_MS naming `what`. */
  function timed(promise, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${LOAD_TIMEOUT_MS / 1000} s to load`)), LOAD_TIMEOUT_MS);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Numbers per frame from `pushPacked` (wasm-client/src/packed.rs, FIELDS). */
  const FIELDS = 23;

  /** Makes the decoder's `StreamDecoder.push` build its FrameReport objects here from
   *  `pushPacked` (wasm-client/src/packed.rs: the fields as numbers, the bytes in one array),
   *  one call into wasm per chunk instead of one per field; the wasm's own `push` stays as
   *  `pushObjects`. */
  function packedPush(api) {
    const proto = api.StreamDecoder.prototype;
    if (!proto.pushPacked || proto.pushObjects) return;
    proto.pushObjects = proto.push;
    const names = [];
    const utf8 = new TextDecoder();
    proto.push = function (chunk) {
      const [n, b, extras] = this.pushPacked(chunk);
      const frames = [];
      let at = 0;
      const pair = (i) => (Number.isNaN(n[i]) ? null : [n[i], n[i + 1]]);
      for (let i = 0; i < n.length; i += FIELDS) {
        const flags = n[i + 4];
        const op = n[i + 5];
        const key = n[i + 6];
        const masked = (flags & 32) !== 0;
        const bytes = b.subarray(at, (at += n[i + 19]));
        const maskedPayload = bytes.subarray(Math.min(n[i + 3], bytes.length));
        const payload = flags & 1024 ? b.subarray(at, (at += n[i + 20])) : maskedPayload;
        const inflated = flags & 256 ? b.subarray(at, (at += n[i + 21])) : null;
        frames.push({
          index: n[i],
          offset: n[i + 1],
          length: n[i + 2],
          headerLength: n[i + 3],
          fin: (flags & 1) !== 0,
          rsv1: (flags & 2) !== 0,
          rsv2: (flags & 4) !== 0,
          rsv3: (flags & 8) !== 0,
          opcode: op,
          opcodeName: (names[op] ??= api.opcodeName(op)),
          control: (flags & 16) !== 0,
          masked,
          maskKey: masked ? [key >>> 24, (key >>> 16) & 255, (key >>> 8) & 255, key & 255] : null,
          payloadLength: n[i + 7],
          lengthEncoding: n[i + 8],
          ranges: { flagsAndOpcode: pair(i + 9), maskBitAndLength: pair(i + 11), extendedLength: pair(i + 13), maskKey: pair(i + 15), payload: pair(i + 17) },
          bytes,
          maskedPayload,
          payload,
          truncated: (flags & 64) !== 0,
          compressed: (flags & 128) !== 0,
          inflated,
          text: flags & 512 ? utf8.decode((inflated ?? payload).subarray(0, n[i + 22])) : null,
          close: null,
          violations: [],
        });
      }
      for (const e of extras) Object.assign(frames[e.at], { close: e.close ?? null, violations: e.violations });
      return frames;
    };
  }

  let decoderLoad = null;
  const decoderWaiters = [];

  /** True when the decoder's bindings are there, so it can load when needed. */
  const canDecode = () => BASE.api() !== undefined;

  /** Resolves to the decoder's API (decodeFrames, StreamDecoder, …), loading it the first time;
   *  rejects with what to do. A failed load is tried again on the next call. */
  function loadDecoder() {
    decoderLoad ??= timed(instantiate(BASE), BASE.what).then((api) => {
      packedPush(api);
      for (const f of decoderWaiters.splice(0)) f(api);
      return api;
    });
    decoderLoad.catch(() => (decoderLoad = null));
    return decoderLoad;
  }

  /** Calls `f(api)` once the decoder has loaded (whoever loaded it), without loading it. */
  function onDecoder(f) {
    decoderWaiters.push(f);
  }

  let analysisLoad = null;

  /** Loads the analysis module's bindings and wasm, and chart.js, the first time; resolves to
   *  its API (AnalysisSession, analyzeCapture, convertCapture). A failed load is tried again
   *  on the next call. */
  function loadAnalysis() {
    analysisLoad ??= timed(
      (async () => {
        const chart = loadScript("chart.js").catch(() => null);
        if (ANALYSIS.api() === undefined) {
          try {
            await loadScript(`pkg/${ANALYSIS.name}.js`);
          } catch {
            throw new Error(`www/pkg/${ANALYSIS.name}.js could not be read: ${BUILD}`);
          }
        }
        const api = await instantiate(ANALYSIS);
        await chart;
        return api;
      })(),
      ANALYSIS.what,
    );
    analysisLoad.catch(() => (analysisLoad = null));
    return analysisLoad;
  }

  /** Turns on permessage-deflate in the stream `decoders` when the server's 101 head
   *  `response` agreed to it; resolves to whether it did, rejects when the head does not read.
   *  The analysis module reads the head (the decoder has no HTTP parser: it would be 6 KB
   *  gzipped more at start), and a live connection loads that module anyway: the caller
   *  holds the connection's bytes back until this resolves. */
  async function enableDeflate(decoders, response) {
    const answer = (await loadAnalysis()).deflateAnswer(response);
    if (!answer) return false;
    for (const d of decoders) d.enableDeflateAgreed(answer);
    return true;
  }

  /** 16 random bytes as base64url: a wire-view token or a proxy tag. */
  function randomToken() {
    const raw = crypto.getRandomValues(new Uint8Array(16));
    return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  page.loader = { fromFile, canDecode, loadDecoder, onDecoder, loadAnalysis, enableDeflate, loadScript, base64Bytes, randomToken };
})((self.framewirePage ??= {}));
