package warrant

// Verdict is what a policy rule says about an intent.
type Verdict uint8

const (
	VerdictApprove Verdict = iota
	VerdictDeny
	VerdictReview
)

// Annotation is a key and a value attached to a decision for the trace.
type Annotation struct {
	Key   string
	Value string
}

// Approve is a decision with no objection.
func Approve() Decision {
	return Decision{Verdict: VerdictApprove}
}

// Deny is a decision that forbids the intent, saying why.
func Deny(reason string) Decision {
	return Decision{Verdict: VerdictDeny, Reason: reason}
}

// Review is a decision that sends the intent to a human, saying why.
func Review(reason string) Decision {
	return Decision{Verdict: VerdictReview, Reason: reason}
}

// WithCode returns the decision with one more machine-readable reason code,
// e.g. `amount-over-max`.
func (d Decision) WithCode(code string) Decision {
	// The full slice expression makes append copy, so that two decisions
	// built from the same one never share their codes.
	d.Codes = append(d.Codes[:len(d.Codes):len(d.Codes)], code)
	return d
}

// WithAnnotation returns the decision with one more fact for the trace.
func (d Decision) WithAnnotation(key, value string) Decision {
	d.Annotations = append(d.Annotations[:len(d.Annotations):len(d.Annotations)], Annotation{Key: key, Value: value})
	return d
}

// Annotation returns the value of the first annotation named key.
func (d Decision) Annotation(key string) (string, bool) {
	for _, a := range d.Annotations {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Signal is one factor behind a risk score.
type Signal struct {
	Name string
	// Score is how much this factor weighs, 0..=100.
	Score  uint8
	Detail string
}

// Assessment is a risk plugin's answer.
type Assessment struct {
	// Score is how risky the intent is, 0 (none) ..= 100 (certain fraud).
	Score   uint8
	Signals []Signal
}

// WithSignal returns the assessment with one more factor behind its score.
func (a Assessment) WithSignal(name string, score uint8, detail string) Assessment {
	a.Signals = append(a.Signals[:len(a.Signals):len(a.Signals)], Signal{Name: name, Score: score, Detail: detail})
	return a
}

// PluginError is the plugin's own error: it could not decide, e.g. because
// its configuration is invalid. The host never approves in that case.
type PluginError struct {
	// Code is stable and machine-readable, e.g. `invalid-config`.
	Code string
	// Message is for the person who wrote the configuration.
	Message string
}

// NewPluginError is an error with the plugin's own code.
func NewPluginError(code, message string) *PluginError {
	return &PluginError{Code: code, Message: message}
}

// InvalidConfig is the error for a configuration the plugin does not
// accept.
func InvalidConfig(message string) *PluginError {
	return NewPluginError("invalid-config", message)
}

func (e *PluginError) Error() string {
	return e.Code + ": " + e.Message
}
