// Package policy makes a Go program a Warrant policy plugin: a component of
// the world `policy` that exports `evaluate`. Register the function that
// decides in an init function; main stays empty, as the host calls
// `evaluate`, never main.
//
//	func init() { policy.Export(evaluate) }
//
//	func main() {}
package policy

import warrant "warrant.dev/sdk/go"

// Func decides on cx.Intent, given the rule's configuration decoded into a
// C by warrant.DecodeConfig. An error that is a *warrant.PluginError is
// the plugin's own error, with its code; any other error is reported with
// the code `internal-error`. Either way the host never approves.
type Func[C any] func(cx *warrant.Context, config C) (warrant.Decision, error)

// evaluate is the function that Export registered.
var evaluate func(cx *warrant.Context, config string) (warrant.Decision, error)

// Export makes f the plugin's `evaluate`. A configuration that does not
// decode into a C never reaches f: the host gets an invalid-config error.
func Export[C any](f Func[C]) {
	evaluate = func(cx *warrant.Context, config string) (warrant.Decision, error) {
		return Run(f, cx, config)
	}
}

// Run decodes config and calls f as the host's call does, for unit tests
// that run natively.
func Run[C any](f Func[C], cx *warrant.Context, config string) (warrant.Decision, error) {
	var decoded C
	if err := warrant.DecodeConfig(config, &decoded); err != nil {
		return warrant.Decision{}, err
	}
	return f(cx, decoded)
}
