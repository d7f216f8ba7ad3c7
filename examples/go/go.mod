module reference-policy

go 1.25

require warrant.dev/sdk/go v0.3.0

replace warrant.dev/sdk/go => ../../sdk/go
