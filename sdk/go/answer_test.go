package warrant

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestDecisionsAreBuiltWithCodesAndAnnotations(t *testing.T) {
	d := Deny("`casino.example` is not an allowed merchant").
		WithCode("merchant-not-allowed").
		WithCode("amount-over-max").
		WithAnnotation("maxAmount", "100.00 EUR").
		WithAnnotation("maxAmount", "later")
	if d.Verdict != VerdictDeny || d.Reason != "`casino.example` is not an allowed merchant" ||
		!slices.Equal(d.Codes, []string{"merchant-not-allowed", "amount-over-max"}) || len(d.Annotations) != 2 {
		t.Errorf("got %+v", d)
	}
	// The first annotation of a key is its value.
	if value, ok := d.Annotation("maxAmount"); !ok || value != "100.00 EUR" {
		t.Errorf("got %q, %v", value, ok)
	}
	if _, ok := d.Annotation("missing"); ok {
		t.Error("found a missing annotation")
	}
	if a := Approve(); a.Verdict != VerdictApprove || a.Reason != "" || a.Codes != nil {
		t.Errorf("got %+v", a)
	}
	if r := Review("look"); r.Verdict != VerdictReview || r.Reason != "look" {
		t.Errorf("got %+v", r)
	}
}

func TestDecisionsBuiltFromOneDoNotShareTheirLists(t *testing.T) {
	base := Review("r").WithCode("a").WithAnnotation("k", "v")
	// Room to grow in place, which append would use.
	base.Codes = slices.Grow(base.Codes, 4)
	base.Annotations = slices.Grow(base.Annotations, 4)
	one := base.WithCode("b").WithAnnotation("k", "1")
	two := base.WithCode("c").WithAnnotation("k", "2")
	if !slices.Equal(one.Codes, []string{"a", "b"}) || !slices.Equal(two.Codes, []string{"a", "c"}) ||
		one.Annotations[1].Value != "1" || two.Annotations[1].Value != "2" || len(base.Codes) != 1 {
		t.Errorf("got %+v and %+v from %+v", one, two, base)
	}
}

func TestAssessmentsAreBuiltWithSignals(t *testing.T) {
	base := Assessment{Score: 70}.WithSignal("burst", 60, "5 intents in a minute")
	base.Signals = slices.Grow(base.Signals, 2)
	one := base.WithSignal("new-merchant", 10, "")
	two := base.WithSignal("unusual-hour", 20, "03:00")
	if one.Score != 70 || len(one.Signals) != 2 || one.Signals[1].Name != "new-merchant" || two.Signals[1].Name != "unusual-hour" {
		t.Errorf("got %+v and %+v", one, two)
	}
}

func TestPluginErrorsKeepTheirCode(t *testing.T) {
	err := fmt.Errorf("reading: %w", InvalidConfig("`allow` must be a list"))
	var pluginError *PluginError
	if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" || pluginError.Message != "`allow` must be a list" {
		t.Errorf("got %v", err)
	}
	if got := NewPluginError("invalid-timezone", "no such zone").Error(); got != "invalid-timezone: no such zone" {
		t.Errorf("got %q", got)
	}
}

func TestTheVersionIsTheContracts(t *testing.T) {
	if Version != "0.3.0" {
		t.Errorf("Version is %s", Version)
	}
	if Contract != "0.3.0" && Contract != "0.1.0" {
		t.Errorf("Contract is %s", Contract)
	}
}
