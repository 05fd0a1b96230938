// Loading the decoder: framewire's core compiled to wasm (www/pkg/, built by
// scripts/build-wasm.sh). Its bindings are a classic script defining `wasm_bindgen`.
// Served over http(s), the page fetches pkg/framewire_wasm_bg.wasm. Opened from file://,
// where browsers refuse fetch(), it loads pkg/framewire_wasm_bytes.js instead: a classic
// script holding the same bytes as base64. Every failure is an Error saying what to do.
"use strict";

(function (page) {
  /** True when the page was opened straight from disk. */
  const fromFile = location.protocol === "file:";

  /** How long the decoder may take to load before the page says it failed. */
  const LOAD_TIMEOUT_MS = 20000;

  const BUILD = "build it with scripts/build-wasm.sh";

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

  async function instantiate() {
    if (typeof wasm_bindgen === "undefined") {
      throw new Error(`the decoder's bindings (www/pkg/framewire_wasm.js) did not load: ${BUILD}`);
    }
    if (fromFile) {
      try {
        await loadScript("pkg/framewire_wasm_bytes.js");
      } catch {
        throw new Error(`www/pkg/framewire_wasm_bytes.js did not load from the file system: ${BUILD}`);
      }
      if (typeof self.framewireWasmBase64 !== "string") {
        throw new Error(`www/pkg/framewire_wasm_bytes.js holds no wasm bytes: ${BUILD}`);
      }
      await wasm_bindgen({ module_or_path: base64Bytes(self.framewireWasmBase64) });
      delete self.framewireWasmBase64;
    } else {
      await wasm_bindgen({ module_or_path: "pkg/framewire_wasm_bg.wasm" });
    }
    return wasm_bindgen;
  }

  /** Resolves to the decoder's API (decodeFrames, StreamDecoder, …); rejects with what to do. */
  function loadDecoder() {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the decoder took over ${LOAD_TIMEOUT_MS / 1000} s to load`)), LOAD_TIMEOUT_MS);
    });
    return Promise.race([instantiate(), timeout]).finally(() => clearTimeout(timer));
  }

  page.loader = { fromFile, loadDecoder, loadScript, base64Bytes };
})((self.framewirePage ??= {}));
