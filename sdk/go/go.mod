// Warrant's Go SDK, version 0.3.0: the version of the WIT contract it
// targets, wit/0.3.0/warrant.wit (warrant.Version). Plugins require
// warrant.dev/sdk/go v0.3.0 and replace it with this folder.
module warrant.dev/sdk/go

go 1.25
