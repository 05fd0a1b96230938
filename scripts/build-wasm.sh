#!/usr/bin/env bash
# Builds the inspector's wasm bundle (crate framewire-wasm, with its feature `analysis`: the page's
# message view, compression, heartbeats, close diagnosis, import and export) for the web into
# www/pkg/: cargo build for wasm32-unknown-unknown, then wasm-bindgen --target no-modules (a classic
# script defining `wasm_bindgen`, which loads from file:// where ES modules do not). Then shrinks it
# with wasm-opt -Oz when binaryen is installed, keeping the result only if it still works
# (checked by loading it in node; Debian 12's binaryen 108 mis-writes wasm-bindgen's
# externref table, and that output is refused). Installs the wasm32 target and
# wasm-bindgen-cli when missing. Last, writes www/pkg/framewire_wasm_bytes.js, a classic script
# holding the wasm bytes as base64 for a page opened from file:// (where fetch() is refused);
# over http the page fetches the .wasm itself. Prints the bundle's size, raw and gzipped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

WASM_BINDGEN_VERSION=0.2.130
OUT_DIR=www/pkg
WASM=$OUT_DIR/framewire_wasm_bg.wasm

step() { printf '==> build-wasm: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi
# The CLI must match the crate's wasm-bindgen pin exactly.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force ||
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

step "cargo build --release -p framewire-wasm --target wasm32-unknown-unknown --features analysis"
cargo build --release -p framewire-wasm --target wasm32-unknown-unknown --features analysis

step "wasm-bindgen --target no-modules --out-dir $OUT_DIR"
rm -rf "$OUT_DIR"
wasm-bindgen --target no-modules --remove-name-section --remove-producers-section \
    --out-dir "$OUT_DIR" "$TARGET_DIR/wasm32-unknown-unknown/release/framewire_wasm.wasm"

# works WASM_FILE: loads the bundle's JS with WASM_FILE in node and decodes RFC 6455's masked "Hello".
works() {
    local dir
    dir=$(mktemp -d)
    cat >"$dir/check.cjs" <<'JS'
const { readFileSync } = require("node:fs");
const vm = require("node:vm");
vm.runInThisContext(readFileSync(process.argv[3], "utf8") + "\nglobalThis.wasm_bindgen = wasm_bindgen;");
wasm_bindgen.initSync({ module: readFileSync(process.argv[2]) });
const r = wasm_bindgen.decodeFrames(Uint8Array.of(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58), "client");
if (r.frames[0].text !== "Hello") throw new Error("decoded " + JSON.stringify(r.frames[0].text));
JS
    local status=0
    node "$dir/check.cjs" "$1" "$OUT_DIR/framewire_wasm.js" >/dev/null 2>&1 || status=$?
    rm -rf "$dir"
    return "$status"
}

if ! command -v wasm-opt >/dev/null 2>&1; then
    step "wasm-opt not found (apt-get install binaryen): bundle left unoptimized"
elif ! command -v node >/dev/null 2>&1; then
    step "node not found: wasm-opt's output cannot be checked, bundle left unoptimized"
else
    step "wasm-opt -Oz ($(wasm-opt --version))"
    wasm-opt -Oz --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-reference-types --enable-multivalue \
        "$WASM" -o "$WASM.opt"
    if works "$WASM.opt"; then
        mv "$WASM.opt" "$WASM"
        step "wasm-opt output checked in node: kept"
    else
        rm -f "$WASM.opt"
        step "wasm-opt output does not load (binaryen too old for externref tables): kept the unoptimized bundle"
    fi
fi
if command -v node >/dev/null 2>&1 && ! works "$WASM"; then
    echo "build-wasm: the bundle in $OUT_DIR does not decode a frame in node" >&2
    exit 1
fi

BYTES_JS=$OUT_DIR/framewire_wasm_bytes.js
step "writing $BYTES_JS (the wasm as base64, for the page opened from file://)"
{
    printf '// The wasm bytes of framewire_wasm_bg.wasm as base64, for the inspector page opened from\n'
    printf '// file:// (where fetch() is refused). Written by scripts/build-wasm.sh.\n'
    printf 'self.framewireWasmBase64 = "'
    base64 -w0 "$WASM"
    printf '";\n'
} >"$BYTES_JS"

raw=$(wc -c <"$WASM")
gz=$(gzip -9 -c "$WASM" | wc -c)
js=$(wc -c <"$OUT_DIR/framewire_wasm.js")
jsgz=$(gzip -9 -c "$OUT_DIR/framewire_wasm.js" | wc -c)
b64=$(wc -c <"$BYTES_JS")
b64gz=$(gzip -9 -c "$BYTES_JS" | wc -c)
step "bundle: $WASM $raw bytes ($gz gzipped), framewire_wasm.js $js bytes ($jsgz gzipped)"
step "file:// only: $BYTES_JS $b64 bytes ($b64gz gzipped)"
