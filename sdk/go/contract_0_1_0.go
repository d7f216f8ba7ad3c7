//go:build warrant_wit_0_1_0

package warrant

// Contract is the version of the WIT contract this build of the SDK
// targets: wit/warrant.wit (0.1.0), as the tag warrant_wit_0_1_0 asks.
const Contract = "0.1.0"

// Decision is a policy plugin's answer. Build it with Approve, Deny or
// Review, then add codes and annotations:
//
//	warrant.Deny("`casino.example` is not an allowed merchant").
//		WithCode("merchant-not-allowed").
//		WithAnnotation("maxAmount", "100.00 EUR")
//
// WIT 0.1.0 has no actions: this build of the SDK has neither
// Decision.Actions nor the methods that add them (WithSuspendAgent,
// WithAlert, WithAction, HasAction), so a plugin that asks for one does
// not compile. Build it for 0.3.0, without the tag warrant_wit_0_1_0.
type Decision struct {
	Verdict Verdict
	// Reason says why, for a deny or a review; empty for an approval.
	Reason      string
	Codes       []string
	Annotations []Annotation
}
