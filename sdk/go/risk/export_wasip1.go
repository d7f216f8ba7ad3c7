//go:build wasip1

package risk

import "warrant.dev/sdk/go/internal/abi"

//go:wasmexport assess
func wasmAssess(arguments uint32) uint32 {
	abi.Enter()
	defer abi.Leave()
	defer abi.LogPanic()
	cx, config := abi.ReadArguments(arguments)
	if assess == nil {
		panic("no risk function: call risk.Export in an init function")
	}
	return abi.WriteAssessment(assess(&cx, config))
}

//go:wasmexport cabi_post_assess
func wasmPostAssess(uint32) {
	abi.ReleaseAnswer()
}
