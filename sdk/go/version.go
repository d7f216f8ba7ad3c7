package warrant

// Version is the SDK's version, which is always the version of the WIT
// contract it targets: wit/0.3.0/warrant.wit. The module's version
// (warrant.dev/sdk/go v0.3.0) is the same.
//
// Built with the tag warrant_wit_0_1_0, the SDK targets the older
// wit/warrant.wit (0.1.0) instead, for plugins that must run on hosts that
// know only 0.1.0: Contract says which contract a build targets.
const Version = "0.3.0"
