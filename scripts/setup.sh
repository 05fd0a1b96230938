#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test framewire.
# Idempotent: every step checks first and does nothing when its tool is already there.
#
# Environment:
#   FRAMEWIRE_CACHE   where the Autobahn virtualenv lives (default: $HOME/.cache/framewire)
#   PYTHON27          a Python 2.7 interpreter for the Autobahn testsuite
#                     (default: $PYENV_ROOT/versions/2.7.18/bin/python, else python2.7 on PATH)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

WASM_BINDGEN_VERSION=0.2.130
PY_WEBSOCKETS_VERSION=15.0.1
APT_PACKAGES=(firefox-esr chromium chromium-driver binaryen tinyproxy tshark redis-server)
CACHE_DIR=${FRAMEWIRE_CACHE:-$HOME/.cache/framewire}
AUTOBAHN_VENV=$CACHE_DIR/autobahn-venv
AUTOBAHN_REQUIREMENTS=$ROOT/tests/autobahn/requirements-py27.txt

export PIP_ROOT_USER_ACTION=ignore PIP_NO_PYTHON_VERSION_WARNING=1 PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '==> setup: %s\n' "$*"; }
fail() {
    printf 'setup FAILED: %s\n' "$*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        fail "need root (or sudo) to run: $*"
    fi
}

# --- Rust toolchain -------------------------------------------------------

command -v rustup >/dev/null 2>&1 || fail "rustup is not on PATH; install Rust with rustup first (https://rustup.rs)"
command -v cargo >/dev/null 2>&1 || fail "cargo is not on PATH"

installed_components=$(rustup component list --installed)
for component in rustfmt clippy; do
    if grep -q "^$component" <<<"$installed_components"; then
        step "rustup component $component: present"
    else
        step "rustup component $component: installing"
        rustup component add "$component"
    fi
done

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "rustup target wasm32-unknown-unknown: present"
else
    step "rustup target wasm32-unknown-unknown: installing"
    rustup target add wasm32-unknown-unknown
fi

# `--locked` can fail when the published lockfile names crate versions a registry mirror does
# not carry; then cargo resolves afresh within the same semver ranges.
for tool in wasm-pack geckodriver; do
    if command -v "$tool" >/dev/null 2>&1; then
        step "$tool: present ($(command -v "$tool"))"
    else
        step "$tool: cargo install --locked $tool"
        cargo install --locked "$tool" || cargo install "$tool"
    fi
done

# cargo-fuzz (scripts/fuzz.sh) runs on a nightly toolchain only; without one the
# fuzz step of scripts/test.sh says it was skipped.
if rustup toolchain list | grep -q '^nightly'; then
    if cargo fuzz --version >/dev/null 2>&1; then
        step "cargo-fuzz: present ($(cargo fuzz --version))"
    else
        step "cargo-fuzz: cargo install --locked cargo-fuzz"
        cargo install --locked cargo-fuzz || cargo install cargo-fuzz
    fi
else
    step "cargo-fuzz: skipped (no nightly toolchain)"
fi

# wasm-pack only uses a wasm-bindgen from PATH whose version matches the crate's exactly.
current_bindgen=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$current_bindgen" = "$WASM_BINDGEN_VERSION" ]; then
    step "wasm-bindgen-cli $WASM_BINDGEN_VERSION: present"
else
    step "wasm-bindgen-cli $WASM_BINDGEN_VERSION: installing (found '${current_bindgen:-none}')"
    cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force ||
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# --- Debian packages: browsers, their drivers, wasm-opt, tinyproxy (the client's proxy tests),
# tshark (reads the pcapng export back in core/tests/capture_tshark.rs) ---

# A C compiler builds the Autobahn suite's Python 2.7 extensions; pip installs `websockets`.
command -v cc >/dev/null 2>&1 || APT_PACKAGES+=(build-essential)
python3 -m pip --version >/dev/null 2>&1 || APT_PACKAGES+=(python3-pip)

missing_packages=()
for package in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing_packages+=("$package")
    fi
done
if [ "${#missing_packages[@]}" -eq 0 ]; then
    step "apt packages ${APT_PACKAGES[*]}: present"
else
    command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${missing_packages[*]} by hand"
    step "apt packages: installing ${missing_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-y -q -o DPkg::Lock::Timeout=900)
    if ! as_root apt-get install "${apt_opts[@]}" --no-install-recommends "${missing_packages[@]}"; then
        step "apt packages: refreshing package lists"
        as_root apt-get update -q -o DPkg::Lock::Timeout=900
        as_root apt-get install "${apt_opts[@]}" --no-install-recommends "${missing_packages[@]}"
    fi
fi

# --- Python 3: the websockets library for interop tests -------------------

command -v python3 >/dev/null 2>&1 || fail "python3 is not on PATH"
if python3 -c "import sys, websockets; sys.exit(websockets.__version__ != '$PY_WEBSOCKETS_VERSION')" 2>/dev/null; then
    step "python3 websockets $PY_WEBSOCKETS_VERSION: present"
else
    step "python3 websockets $PY_WEBSOCKETS_VERSION: installing"
    python3 -m pip --version >/dev/null 2>&1 || fail "python3 has no pip (python3-pip did not install)"
    # Debian's own python3 refuses system-wide pip installs (PEP 668) unless told otherwise.
    python3 -m pip install -q "websockets==$PY_WEBSOCKETS_VERSION" 2>/dev/null ||
        python3 -m pip install -q --break-system-packages "websockets==$PY_WEBSOCKETS_VERSION"
fi

# --- Node: packages of the node interop peer, of the bench's JavaScript servers and wasm-opt ---
# bench/node holds Bun (the npm package @oven/bun-linux-x64 ships the binary) and ws;
# scripts/wasm-opt holds binaryen's wasm-opt (scripts/build-wasm.sh prefers it to Debian's).

for NODE_DIR in tests/interop/node bench/node scripts/wasm-opt; do
    if [ -f "$NODE_DIR/package-lock.json" ]; then
        command -v npm >/dev/null 2>&1 || fail "npm is not on PATH (needed for $NODE_DIR)"
        if [ -f "$NODE_DIR/node_modules/.package-lock.json" ] &&
            [ "$NODE_DIR/node_modules/.package-lock.json" -nt "$NODE_DIR/package-lock.json" ]; then
            step "npm packages of $NODE_DIR: present"
        else
            step "npm packages of $NODE_DIR: npm ci"
            npm ci --prefix "$NODE_DIR" --no-audit --no-fund
        fi
    else
        step "npm packages: skipped ($NODE_DIR/package-lock.json does not exist)"
    fi
done

# --- Autobahn|Testsuite (Python 2.7 only) ----------------------------------

if [ -z "${PYTHON27:-}" ]; then
    if [ -x "${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python" ]; then
        PYTHON27=${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python
    elif [ -x /root/.pyenv/versions/2.7.18/bin/python ]; then
        PYTHON27=/root/.pyenv/versions/2.7.18/bin/python
    elif command -v python2.7 >/dev/null 2>&1; then
        PYTHON27=$(command -v python2.7)
    fi
fi

requirements_hash=$(sha256sum "$AUTOBAHN_REQUIREMENTS" | cut -d' ' -f1)
stamp=$AUTOBAHN_VENV/.framewire-requirements.sha256
if [ -x "$AUTOBAHN_VENV/bin/wstest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$requirements_hash" ]; then
    step "autobahn testsuite: present ($AUTOBAHN_VENV/bin/wstest)"
else
    [ -n "${PYTHON27:-}" ] && [ -x "$PYTHON27" ] ||
        fail "the Autobahn testsuite needs Python 2.7 (expected /root/.pyenv/versions/2.7.18/bin/python; set PYTHON27=/path/to/python2.7)"
    "$PYTHON27" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' ||
        fail "PYTHON27=$PYTHON27 is not Python 2.7"
    step "autobahn testsuite: creating a Python 2.7 virtualenv in $AUTOBAHN_VENV"
    mkdir -p "$CACHE_DIR"
    tools=$CACHE_DIR/virtualenv-tool
    if ! PYTHONPATH=$tools python3 -c 'import virtualenv' 2>/dev/null; then
        # virtualenv 20.22 dropped support for creating Python 2.7 environments.
        python3 -m pip install -q --target "$tools" 'virtualenv<20.22'
    fi
    rm -rf "$AUTOBAHN_VENV"
    PYTHONPATH=$tools python3 -m virtualenv -q -p "$PYTHON27" "$AUTOBAHN_VENV"
    step "autobahn testsuite: pip install -r tests/autobahn/requirements-py27.txt"
    "$AUTOBAHN_VENV/bin/pip" install -q -r "$AUTOBAHN_REQUIREMENTS"
    "$AUTOBAHN_VENV/bin/wstest" --help >/dev/null 2>&1 || fail "wstest does not start in $AUTOBAHN_VENV"
    echo "$requirements_hash" >"$stamp"
    step "autobahn testsuite: installed ($AUTOBAHN_VENV/bin/wstest)"
fi

step "done"
