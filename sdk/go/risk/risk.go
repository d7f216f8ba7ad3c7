// Package risk makes a Go program a Warrant risk plugin: a component of the
// world `risk` that exports `assess`. Register the function that scores in
// an init function; main stays empty, as the host calls `assess`, never
// main.
//
//	func init() { risk.Export(assess) }
//
//	func main() {}
package risk

import warrant "warrant.dev/sdk/go"

// Func scores how risky cx.Intent is, given the rule's configuration
// decoded into a C by warrant.DecodeConfig. Errors are reported as in
// policy.Func.
type Func[C any] func(cx *warrant.Context, config C) (warrant.Assessment, error)

// assess is the function that Export registered.
var assess func(cx *warrant.Context, config string) (warrant.Assessment, error)

// Export makes f the plugin's `assess`. A configuration that does not
// decode into a C never reaches f: the host gets an invalid-config error.
func Export[C any](f Func[C]) {
	assess = func(cx *warrant.Context, config string) (warrant.Assessment, error) {
		return Run(f, cx, config)
	}
}

// Run decodes config and calls f as the host's call does, for unit tests
// that run natively.
func Run[C any](f Func[C], cx *warrant.Context, config string) (warrant.Assessment, error) {
	var decoded C
	if err := warrant.DecodeConfig(config, &decoded); err != nil {
		return warrant.Assessment{}, err
	}
	return f(cx, decoded)
}
