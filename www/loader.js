// Loading the decoder: framewire's core compiled to wasm (www/pkg/, built by
// scripts/build-wasm.sh) as two modules. The decoder (pkg/framewire_wasm*: decoding, hex, the
// frame builder) loads at start (app.js), within issue 14's 60 KiB base load with the page's
// JavaScript; its bindings, a small classic script defining `wasm_bindgen`, are in index.html. The analysis module (pkg/framewire_analysis*: message
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

  /** Makes the decoder's `StreamDecoder.push` return frames read from `pushPacked`
   *  (wasm-client/src/packed.rs: the fields as numbers, the bytes in one array): one call
   *  into wasm and one copy per chunk, each field (text included) read from the arrays
   *  only when asked for, as the virtualised table draws only the rows in view. A frame of
   *  64 KiB or more stays in wasm memory (wasm-client/src/store.rs) until `bytes` or
   *  `payload` is first read (then it is taken out) or `release()` lets it go (the table
   *  calls it when the frame leaves); `head(n)` reads its start for a preview. The
   *  wasm's own `push`, building every field as an object, stays as `pushObjects`. */
  function packedPush(api) {
    const proto = api.StreamDecoder.prototype;
    if (!proto.pushPacked || proto.pushObjects) return;
    proto.pushObjects = proto.push;
    const names = [];
    const utf8 = new TextDecoder();
    const NONE = Object.freeze([]);
    /** `kept` (a frame's header, then its payload unmasked) with the payload from `at` on
     *  masked again with `key` (a big-endian u32): the frame as on the wire. */
    const masked = (kept, at, key) => {
      const out = kept.slice();
      const k = [key >>> 24, (key >>> 16) & 255, (key >>> 8) & 255, key & 255];
      for (let i = at; i < out.length; i++) out[i] ^= k[(i - at) & 3];
      return out;
    };

    // A frame's last field: its id in wasm memory while its bytes are there, else one of these
    // (the frame objects keep no field of their own for it: Firefox makes them slower).
    const INLINE = -1, TAKEN = -2, RELEASED = -3;
    /** Frames whose bytes were taken out of wasm memory -> those bytes. */
    const taken = new WeakMap();

    /** A frame of a `pushPacked` batch: the same fields as the wasm's FrameReport. */
    class PackedFrame {
      constructor(n, b, i, at) {
        // Plain fields: Firefox makes these objects far faster than with #private ones.
        this._n = n;
        this._b = b;
        this._i = i;
        this._at = at;
        this._text = undefined;
        this._wire = undefined;
        this.close = null;
        this.violations = NONE;
      }
      _pair(k) {
        const n = this._n;
        return Number.isNaN(n[this._i + k]) ? null : [n[this._i + k], n[this._i + k + 1]];
      }
      _flag(bit) {
        return (this._n[this._i + 4] & bit) !== 0;
      }
      get index() { return this._n[this._i]; }
      get offset() { return this._n[this._i + 1]; }
      get length() { return this._n[this._i + 2]; }
      get headerLength() { return this._n[this._i + 3]; }
      get fin() { return this._flag(1); }
      get rsv1() { return this._flag(2); }
      get rsv2() { return this._flag(4); }
      get rsv3() { return this._flag(8); }
      get opcode() { return this._n[this._i + 5]; }
      get opcodeName() { const op = this.opcode; return (names[op] ??= api.opcodeName(op)); }
      get control() { return this._flag(16); }
      get masked() { return this._flag(32); }
      get maskKey() {
        const k = this._n[this._i + 6];
        return this.masked ? [k >>> 24, (k >>> 16) & 255, (k >>> 8) & 255, k & 255] : null;
      }
      get payloadLength() { return this._n[this._i + 7]; }
      get lengthEncoding() { return this._n[this._i + 8]; }
      get ranges() {
        return { flagsAndOpcode: this._pair(9), maskBitAndLength: this._pair(11), extendedLength: this._pair(13), maskKey: this._pair(15), payload: this._pair(17) };
      }
      /** The frame as kept: its header's bytes, then its payload unmasked. */
      get _kept() {
        const s = this._n[this._i + 22];
        if (s === INLINE) return this._b.subarray(this._at, this._at + this._n[this._i + 19]);
        let own = taken.get(this);
        if (own === undefined) {
          if (s === RELEASED) throw new Error(`frame ${this.index}'s bytes were released (it left the table)`);
          taken.set(this, (own = api.takeStored(s)));
          this._n[this._i + 22] = TAKEN;
        }
        return own;
      }
      /** Lets go of its bytes held in wasm memory, if they still are (not read). */
      release() {
        const s = this._n[this._i + 22];
        if (s >= 0) api.releaseStored(s);
        if (s !== INLINE) this._n[this._i + 22] = RELEASED;
      }
      /** While its bytes are in wasm memory: the first `n` bytes of its payload, copied, and
       *  whether it is text (for a preview without taking them out); else null. */
      head(n) {
        const s = this._n[this._i + 22];
        if (s < 0 || this._flag(256)) return null;
        const h = this.headerLength;
        return { bytes: api.storedSlice(s, h, h + n), text: this._flag(512) };
      }
      /** The frame as on the wire: a masked frame's payload is masked again (once, when
       *  first asked for: the hex view and exports ask, the table does not). */
      get bytes() {
        if (!this.masked) return this._kept;
        return (this._wire ??= masked(this._kept, Math.min(this.headerLength, this._n[this._i + 19]), this._n[this._i + 6]));
      }
      get maskedPayload() { const b = this.bytes; return b.subarray(Math.min(this.headerLength, b.length)); }
      get payload() { const k = this._kept; return k.subarray(Math.min(this.headerLength, k.length)); }
      get truncated() { return this._flag(64); }
      get compressed() { return this._flag(128); }
      get inflated() {
        if (!this._flag(256)) return null;
        const at = this._at + (this._n[this._i + 22] === INLINE ? this._n[this._i + 19] : 0);
        return this._b.subarray(at, at + this._n[this._i + 20]);
      }
      get text() {
        if (!this._flag(512)) return null;
        return (this._text ??= utf8.decode((this.inflated ?? this.payload).subarray(0, this._n[this._i + 21])));
      }
      /** Bytes of the batch this frame is in that it holds (the frame as kept, and inflated). */
      get heldBytes() { return this._n[this._i + 19] + this._n[this._i + 20]; }
    }

    proto.push = function (chunk) {
      const [n, b, extras] = this.pushPacked(chunk instanceof Uint8Array ? chunk : Uint8Array.from(chunk));
      const frames = [];
      let at = 0;
      for (let i = 0; i < n.length; i += FIELDS) {
        frames.push(new PackedFrame(n, b, i, at));
        at += (n[i + 22] < 0 ? n[i + 19] : 0) + n[i + 20];
      }
      for (const e of extras) Object.assign(frames[e.at], { close: e.close ?? null, violations: e.violations });
      return frames;
    };
  }

  let decoderLoad = null;
  /** The decoder's API once loaded. */
  let decoderApi = null;
  const decoderWaiters = [];

  /** True when the decoder's bindings are there, so it can load when needed. */
  const canDecode = () => BASE.api() !== undefined;

  /** Resolves to the decoder's API (decodeFrames, StreamDecoder, …), loading it the first time;
   *  rejects with what to do. A failed load is tried again on the next call. */
  function loadDecoder() {
    decoderLoad ??= timed(instantiate(BASE), BASE.what).then((api) => {
      packedPush(api);
      decoderApi = api;
      for (const f of decoderWaiters.splice(0)) f(api);
      return api;
    });
    decoderLoad.catch(() => (decoderLoad = null));
    return decoderLoad;
  }

  /** Calls `f(api)` once the decoder has loaded (whoever loaded it; at once if it has), without loading it. */
  function onDecoder(f) {
    if (decoderApi) f(decoderApi);
    else decoderWaiters.push(f);
  }

  /** A function that loads the script `src` and runs `init()`, the first time it is called;
   *  a failed load rejects and is tried again on the next call. */
  function scriptOnce(src, init) {
    let load = null;
    return () =>
      (load ??= loadScript(src).then(init, () => {
        load = null;
        throw new Error(`www/${src} could not be read`);
      }));
  }

  /** Loads the frame table (table.js) and sets it up: the first connection, proxy use or
   *  import waits for it; the page's start does without it. */
  const loadTable = scriptOnce("table.js", () => page.table.initTable());

  /** Loads the analysis pane's tracking of connections (analysis.js) and sets it up: the first
   *  connection, proxy use, import or export waits for it. */
  const loadPane = scriptOnce("analysis.js", () => page.analysis.initAnalysis(canDecode()));

  let analysisLoad = null;

  /** Loads the analysis module's bindings and wasm, the pane's drawing and import
   *  (analysis_view.js) and chart.js, the first time; resolves to the module's API
   *  (AnalysisSession, analyzeCapture, convertCapture). A failed load is tried again on the
   *  next call. */
  function loadAnalysis() {
    analysisLoad ??= timed(
      (async () => {
        const chart = loadScript("chart.js").catch(() => null);
        // An import adds its frames to the table.
        const table = loadTable();
        const view = page.analysisView
          ? null
          : loadPane().then(() =>
              loadScript("analysis_view.js").catch(() => {
                throw new Error(`www/analysis_view.js could not be read`);
              }),
            );
        if (ANALYSIS.api() === undefined) {
          try {
            await loadScript(`pkg/${ANALYSIS.name}.js`);
          } catch {
            throw new Error(`www/pkg/${ANALYSIS.name}.js could not be read: ${BUILD}`);
          }
        }
        const api = await instantiate(ANALYSIS);
        await view;
        await table;
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

  page.loader = { fromFile, canDecode, loadDecoder, onDecoder, decoderApi: () => decoderApi, loadTable, loadPane, loadAnalysis, enableDeflate, loadScript, base64Bytes, randomToken };
})((self.framewirePage ??= {}));
