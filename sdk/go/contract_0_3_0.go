//go:build !warrant_wit_0_1_0

package warrant

// Contract is the version of the WIT contract this build of the SDK
// targets: wit/0.3.0/warrant.wit, or wit/warrant.wit (0.1.0) when built
// with the tag warrant_wit_0_1_0.
const Contract = "0.3.0"

// Decision is a policy plugin's answer. Build it with Approve, Deny or
// Review, then add codes, annotations and actions:
//
//	warrant.Deny("`casino.example` is not an allowed merchant").
//		WithCode("merchant-not-allowed").
//		WithAnnotation("maxAmount", "100.00 EUR").
//		WithAlert("tried to pay `casino.example`")
//
// Built for WIT 0.1.0 (the tag warrant_wit_0_1_0), a decision has no
// actions: Actions and the methods that add them do not exist, so a
// plugin that asks for one does not compile.
type Decision struct {
	Verdict Verdict
	// Reason says why, for a deny or a review; empty for an approval.
	Reason      string
	Codes       []string
	Annotations []Annotation
	// Actions are what the host is asked to do; usually none.
	Actions []Action
}

// Action is something a decision asks the host to do, in the same
// transaction that records the intent: suspend the agent
// (ActionSuspendAgent) or record an alert event for it (ActionAlert). The
// host ignores, and traces, any other kind, the actions of rules in monitor
// mode and every action of a dry run.
type Action struct {
	// Kind is ActionSuspendAgent or ActionAlert.
	Kind string
	// Message says why, for the people who read the agent's events.
	Message string
}

// The kinds of action the host knows.
const (
	// ActionSuspendAgent suspends the agent.
	ActionSuspendAgent = "suspend-agent"
	// ActionAlert records an alert event for the agent.
	ActionAlert = "alert"
)

// WithSuspendAgent returns the decision asking the host to suspend the
// agent, saying why. The host does so in the transaction that records the
// intent, unless the rule is in monitor mode or the evaluation is a dry
// run.
func (d Decision) WithSuspendAgent(reason string) Decision {
	return d.WithAction(ActionSuspendAgent, reason)
}

// WithAlert returns the decision asking the host to record an alert event
// for the agent, with message.
func (d Decision) WithAlert(message string) Decision {
	return d.WithAction(ActionAlert, message)
}

// WithAction returns the decision asking the host for an action of any
// kind; the host ignores, and traces, kinds it does not know.
func (d Decision) WithAction(kind, message string) Decision {
	d.Actions = append(d.Actions[:len(d.Actions):len(d.Actions)], Action{Kind: kind, Message: message})
	return d
}

// HasAction reports whether the decision asks for an action of kind.
func (d Decision) HasAction(kind string) bool {
	for _, a := range d.Actions {
		if a.Kind == kind {
			return true
		}
	}
	return false
}
