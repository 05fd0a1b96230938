#!/usr/bin/env bash
# Builds the inspector's two wasm modules (crate framewire-wasm) for the web into www/pkg/:
#   framewire_wasm      the decoder: frame decoding (buffer and stream) with inflate, hex
#                       parsing, the frame builder (global `wasm_bindgen`), loaded by
#                       www/loader.js on the first connection, decode or build;
#   framewire_analysis  built with the feature `analysis` (the message view, compression,
#                       heartbeats, close diagnosis, filter, import and export, the handshake
#                       check, reading a server's 101 for permessage-deflate), loaded by
#                       www/loader.js when first needed (global `framewireAnalysis`).
# Each: cargo build --profile wasm (fat LTO, one codegen unit, panic=abort; the decoder at
# opt-level 3 for speed, the analysis module at z for size) for wasm32-unknown-unknown with SIMD
# (simd128: Firefox 89+, Chrome 91+, Safari 16.4+; the core's unmasking and simdutf8's UTF-8
# check use it), then wasm-bindgen --target no-modules (a classic script, which loads from
# file:// where ES modules do not), then wasm-opt (-O3 for the decoder, -Oz for the analysis),
# keeping its output only if it still works (checked in node) and is smaller gzipped:
# scripts/wasm-opt's binaryen 132 from npm (scripts/setup.sh installs it), else the system's
# (Debian 12's binaryen 108 mis-writes
# wasm-bindgen's externref table, and such output is refused). Installs the wasm32 target and
# wasm-bindgen-cli when missing. The bindings lose their JSDoc comments. Last, writes
# pkg/NAME_bytes.js per module, a classic script
# holding the wasm bytes as base64 for a page opened from file:// (where fetch() is refused);
# over http the page fetches the .wasm itself. Prints each module's size, raw and gzipped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

WASM_BINDGEN_VERSION=0.2.130
OUT_DIR=www/pkg
BUILT=$TARGET_DIR/wasm32-unknown-unknown/wasm/framewire_wasm.wasm

step() { printf '==> build-wasm: %s\n' "$*"; }

# For the wasm target only (host build scripts and proc macros are left alone).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-} -C target-feature=+simd128"
# wasm-opt: the npm one of scripts/wasm-opt if installed, else the system's.
WASM_OPT=$ROOT/scripts/wasm-opt/node_modules/.bin/wasm-opt
[ -x "$WASM_OPT" ] || WASM_OPT=$(command -v wasm-opt || true)

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

# works NAME GLOBAL WASM_FILE: loads pkg/NAME.js with WASM_FILE in node and checks the module:
# the base decodes RFC 6455's masked "Hello"; the analysis module analyses it.
works() {
    local dir status=0
    dir=$(mktemp -d)
    cat >"$dir/check.cjs" <<'JS'
const { readFileSync } = require("node:fs");
const vm = require("node:vm");
const [wasmFile, jsFile, global] = process.argv.slice(2);
vm.runInThisContext(readFileSync(jsFile, "utf8") + `\nglobalThis.fw = ${global};`);
fw.initSync({ module: readFileSync(wasmFile) });
const hello = Uint8Array.of(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
if (fw.AnalysisSession) {
  const s = new fw.AnalysisSession();
  if (s.feed("c2s", hello, 1) !== 1) throw new Error("the analysis saw no frame");
  const m = s.report().messages[0];
  if (m.text !== "Hello") throw new Error("analysed " + JSON.stringify(m));
} else {
  const r = fw.decodeFrames(hello, "client");
  if (r.frames[0].text !== "Hello") throw new Error("decoded " + JSON.stringify(r.frames[0].text));
}
JS
    node "$dir/check.cjs" "$3" "$OUT_DIR/$1.js" "$2" >/dev/null 2>&1 || status=$?
    rm -rf "$dir"
    return "$status"
}

# module NAME GLOBAL WASM_OPT_LEVEL [CARGO_ARGS...]: builds one module into
# $OUT_DIR/NAME{.js,_bg.wasm,_bytes.js}.
module() {
    local name=$1 global=$2 level=$3
    shift 3
    local wasm=$OUT_DIR/${name}_bg.wasm
    step "$name: cargo build --profile wasm -p framewire-wasm --target wasm32-unknown-unknown $*"
    cargo build --profile wasm -p framewire-wasm --target wasm32-unknown-unknown "$@"

    step "$name: wasm-bindgen --target no-modules --no-modules-global $global"
    wasm-bindgen --target no-modules --no-modules-global "$global" --out-name "$name" \
        --no-typescript --remove-name-section --remove-producers-section \
        --out-dir "$OUT_DIR" "$BUILT"
    # The bindings' doc comments (the Rust docs copied as JSDoc, for editors) are dropped from
    # what the page loads: the decoder's bindings 5,135 -> 4,167 bytes gzipped. The API is
    # documented in wasm-client/src.
    perl -0pi -e 's{\n[ \t]*/\*\*(?:[^*]|\*(?!/))*\*/}{}g' "$OUT_DIR/$name.js"

    if [ -z "$WASM_OPT" ]; then
        step "$name: wasm-opt not found (scripts/setup.sh installs it): left unoptimized"
    elif ! command -v node >/dev/null 2>&1; then
        step "$name: node not found: wasm-opt's output cannot be checked, left unoptimized"
    elif ! "$WASM_OPT" "$level" --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-reference-types --enable-multivalue --enable-simd \
        "$wasm" -o "$wasm.opt"; then
        rm -f "$wasm.opt"
        step "$name: $WASM_OPT ($("$WASM_OPT" --version)) cannot read the module (binaryen too old; scripts/setup.sh installs binaryen 132 from npm): left unoptimized"
    else
        local before after
        before=$(gzip -9 -c "$wasm" | wc -c)
        after=$(gzip -9 -c "$wasm.opt" | wc -c)
        if ! works "$name" "$global" "$wasm.opt"; then
            rm -f "$wasm.opt"
            step "$name: wasm-opt output does not load (binaryen too old for externref tables): kept the unoptimized module"
        elif [ "$after" -ge "$before" ]; then
            # Smaller raw is not smaller gzipped: the analysis module grows about 4% gzipped with -Oz.
            rm -f "$wasm.opt"
            step "$name: wasm-opt output is no smaller gzipped ($after against $before bytes): kept the unoptimized module"
        else
            mv "$wasm.opt" "$wasm"
            step "$name: wasm-opt $level ($("$WASM_OPT" --version)) output checked in node: kept ($before -> $after bytes gzipped)"
        fi
    fi
    if command -v node >/dev/null 2>&1 && ! works "$name" "$global" "$wasm"; then
        echo "build-wasm: $wasm does not work in node (see works() in $0)" >&2
        exit 1
    fi

    local bytes_js=$OUT_DIR/${name}_bytes.js var=${global}Base64
    [ "$global" = wasm_bindgen ] && var=framewireWasmBase64
    {
        printf '// The wasm bytes of %s as base64, for the inspector page opened from\n' "${name}_bg.wasm"
        printf '// file:// (where fetch() is refused). Written by scripts/build-wasm.sh.\n'
        printf 'self.%s = "' "$var"
        base64 -w0 "$wasm"
        printf '";\n'
    } >"$bytes_js"
    local f
    for f in "$wasm" "$OUT_DIR/$name.js" "$bytes_js"; do
        step "$(printf '%-36s %9d bytes, %8d gzipped' "$f" "$(wc -c <"$f")" "$(gzip -9 -c "$f" | wc -c)")"
    done
}

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
module framewire_wasm wasm_bindgen -O3
# The analysis module stays size-first (opt-level z): at 3 it is 13% larger (300 KB gzipped
# against 264 KB), and it is not on the live table's decode path.
module framewire_analysis framewireAnalysis -Oz --features analysis --config 'profile.wasm.opt-level="z"'
step "the page's base load is measured by tests/tests/browser_size.rs (cargo test --test browser_size)"
