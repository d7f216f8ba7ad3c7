//go:build !warrant_wit_0_1_0

package warrant

import (
	"slices"
	"testing"
)

func TestTheContractIs030(t *testing.T) {
	if Contract != Version {
		t.Errorf("Contract is %s, Version %s", Contract, Version)
	}
}

func TestDecisionsAskForActions(t *testing.T) {
	d := Deny("spent 3 times its usual amount").
		WithCode("anomaly").
		WithSuspendAgent("spent 3 times its usual amount").
		WithAlert("a new merchant").
		WithAction("page-on-call", "now")
	want := []Action{
		{Kind: "suspend-agent", Message: "spent 3 times its usual amount"},
		{Kind: "alert", Message: "a new merchant"},
		{Kind: "page-on-call", Message: "now"},
	}
	if !slices.Equal(d.Actions, want) {
		t.Errorf("got %+v", d.Actions)
	}
	for _, kind := range []string{ActionSuspendAgent, ActionAlert, "page-on-call"} {
		if !d.HasAction(kind) {
			t.Errorf("no %s", kind)
		}
	}
	if d.HasAction("Alert") || d.HasAction("") || Approve().HasAction(ActionAlert) {
		t.Error("an action that was not asked for")
	}
	// Actions leave the rest of the decision alone, and an approval may
	// ask for them too.
	if d.Verdict != VerdictDeny || !slices.Equal(d.Codes, []string{"anomaly"}) {
		t.Errorf("got %+v", d)
	}
	if a := Approve().WithAlert("first payment to this merchant"); a.Verdict != VerdictApprove || len(a.Actions) != 1 {
		t.Errorf("got %+v", a)
	}
	if ActionSuspendAgent != "suspend-agent" || ActionAlert != "alert" {
		t.Error("the kinds are not the contract's")
	}
}

func TestDecisionsBuiltFromOneDoNotShareTheirActions(t *testing.T) {
	base := Review("r").WithAlert("a")
	base.Actions = slices.Grow(base.Actions, 4)
	one := base.WithSuspendAgent("one")
	two := base.WithAlert("two")
	if len(base.Actions) != 1 || one.Actions[1].Kind != ActionSuspendAgent || two.Actions[1].Message != "two" {
		t.Errorf("got %+v and %+v from %+v", one, two, base)
	}
}
