//! The host side of Warrant's WIT package: the one place where bindings are
//! generated. Everything else in the runtime works with these types.

/// The `policy` world: exports `evaluate`.
pub(crate) mod policy {
    wasmtime::component::bindgen!({
        world: "policy",
        path: "../../wit",
    });
}

/// The `risk` world: exports `assess`. Its types and host imports are the
/// same as the `policy` world's.
pub(crate) mod risk {
    wasmtime::component::bindgen!({
        world: "risk",
        path: "../../wit",
        with: {
            "warrant:policy/types": crate::bindings::policy::warrant::policy::types,
            "warrant:policy/host": crate::bindings::policy::warrant::policy::host,
        },
    });
}

pub(crate) use policy::warrant::policy::host;
pub(crate) use policy::warrant::policy::types;
