//go:build wasip1

package policy

import "warrant.dev/sdk/go/internal/abi"

//go:wasmexport evaluate
func wasmEvaluate(arguments uint32) uint32 {
	abi.Enter()
	defer abi.Leave()
	defer abi.LogPanic()
	cx, config := abi.ReadArguments(arguments)
	if evaluate == nil {
		panic("no policy function: call policy.Export in an init function")
	}
	return abi.WriteDecision(evaluate(&cx, config))
}

//go:wasmexport cabi_post_evaluate
func wasmPostEvaluate(uint32) {
	abi.ReleaseAnswer()
}
