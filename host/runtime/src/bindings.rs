//! The host side of Warrant's WIT packages: the one place where bindings are
//! generated. The host runs plugins of every version of the contract:
//! 0.1.0 (`wit/warrant.wit`); 0.2.0 (`wit/0.2.0/warrant.wit`), which adds
//! baselines, the usage's time zone, charges and actions; 0.3.0
//! (`wit/0.3.0/warrant.wit`), which adds flagged settlements to the usage;
//! 0.4.0 (`wit/0.4.0/warrant.wit`), which adds the agent's signature of
//! the intent; and 0.5.0 (`wit/0.5.0/warrant.wit`), whose plugins return
//! their log lines with their answer and import no function that takes a
//! string.

/// Bindings of one version of the package: its `policy` world (exports
/// `evaluate`) and its `risk` world (exports `assess`), which shares the
/// policy world's types and host imports.
macro_rules! package_bindings {
    ($path:literal) => {
        pub(crate) mod policy {
            wasmtime::component::bindgen!({
                world: "policy",
                path: $path,
            });
        }

        pub(crate) mod risk {
            wasmtime::component::bindgen!({
                world: "risk",
                path: $path,
                with: {
                    "warrant:policy/types": super::policy::warrant::policy::types,
                    "warrant:policy/host": super::policy::warrant::policy::host,
                },
            });
        }

        pub(crate) use policy::warrant::policy::{host, types};
    };
}

/// `warrant:policy@0.1.0`.
pub(crate) mod v1 {
    package_bindings!("../../wit");
}

/// `warrant:policy@0.2.0`.
pub(crate) mod v2 {
    package_bindings!("../../wit/0.2.0");
}

/// `warrant:policy@0.3.0`.
pub(crate) mod v3 {
    package_bindings!("../../wit/0.3.0");
}

/// `warrant:policy@0.4.0`.
pub(crate) mod v4 {
    package_bindings!("../../wit/0.4.0");
}

/// `warrant:policy@0.5.0`.
pub(crate) mod v5 {
    package_bindings!("../../wit/0.5.0");
}
