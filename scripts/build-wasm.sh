#!/usr/bin/env bash
# Builds the inspector's wasm bundle (crate framewire-wasm) for the web into www/pkg/,
# then shrinks it with Debian's wasm-opt (package binaryen) when that is installed.
# Installs the wasm32 target, wasm-pack and wasm-bindgen-cli when they are missing.
# Prints the bundle's size, raw and gzipped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

WASM_BINDGEN_VERSION=0.2.130
OUT_DIR=www/pkg
WASM=$OUT_DIR/framewire_wasm_bg.wasm

step() { printf '==> build-wasm: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi
if ! command -v wasm-pack >/dev/null 2>&1; then
    step "installing wasm-pack"
    cargo install --locked wasm-pack
fi
# wasm-pack uses the wasm-bindgen on PATH only when its version matches the crate's pin;
# otherwise it would try to download one.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force ||
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

step "wasm-pack build wasm-client --target web --release --out-dir ../$OUT_DIR"
wasm-pack build wasm-client --target web --release --out-dir "../$OUT_DIR" --no-pack

if command -v wasm-opt >/dev/null 2>&1; then
    step "wasm-opt -Oz ($(wasm-opt --version))"
    # Rust enables these proposals by default for wasm32; every current browser has them.
    wasm-opt -Oz --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-reference-types --enable-multivalue \
        "$WASM" -o "$WASM.opt"
    mv "$WASM.opt" "$WASM"
else
    step "wasm-opt not found (apt-get install binaryen): bundle left unoptimized"
fi

raw=$(wc -c <"$WASM")
gz=$(gzip -9 -c "$WASM" | wc -c)
js=$(wc -c <"$OUT_DIR/framewire_wasm.js")
jsgz=$(gzip -9 -c "$OUT_DIR/framewire_wasm.js" | wc -c)
step "bundle: $WASM $raw bytes ($gz gzipped), framewire_wasm.js $js bytes ($jsgz gzipped)"
