//go:build !wasip1

package abi

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	warrant "warrant.dev/sdk/go"
)

// The package's layouts, checked against the WIT contract this build
// targets (warrant.Contract): values written by the tests' own canonical
// ABI (wit_test.go) must be read into the same Go values, and the answers
// the package writes must read back as the Go values they came from.

func ref(name string) *witType { return &witType{kind: "ref", name: name} }

func result(ok string) *witType {
	return &witType{kind: "result", fields: []witField{{"ok", ref(ok)}, {"err", ref("plugin-error")}}}
}

func TestReadArgumentsReadsEveryFieldOfTheContext(t *testing.T) {
	c := loadContract(t, warrant.Contract)
	arguments := &witType{kind: "record", name: "arguments", fields: []witField{
		{"context", ref("context")}, {"config", &witType{kind: "string"}},
	}}
	for _, f := range []*filler{
		{options: "some", items: 2},
		{options: "none", items: 0},
		{options: "mixed", items: 3},
	} {
		value := f.fill(c, arguments).(map[string]any)
		cx, config := ReadArguments(c.write(arguments, value))
		got, err := c.goValue(c.named("context"), reflect.ValueOf(cx))
		if err != nil {
			t.Fatal(err)
		}
		if why := difference("context", got, value["context"]); why != "" {
			t.Errorf("options %s, lists of %d: %s", f.options, f.items, why)
		}
		if config != value["config"] {
			t.Errorf("config: got %q, want %q", config, value["config"])
		}
	}
}

func TestTheLayoutsAreThoseTheCommentsGive(t *testing.T) {
	c := loadContract(t, warrant.Contract)
	want := map[string]uint32{"context": 656, "intent": 104, "agent": 176, "usage": 272, "charge": 64, "baseline": 64}
	if warrant.Contract == "0.1.0" {
		want = map[string]uint32{"context": 376, "intent": 104, "agent": 100, "usage": 136}
	}
	for name, size := range want {
		if got, _ := c.layout(c.named(name)); got != size {
			t.Errorf("%s: %d bytes, not %d", name, got, size)
		}
	}
	// The return area holds the largest answer.
	for _, answer := range []string{"decision", "assessment"} {
		if size, align := c.layout(result(answer)); size > returnAreaSize || align > 4 {
			t.Errorf("result<%s, plugin-error>: %d bytes aligned to %d, for a return area of %d", answer, size, align, returnAreaSize)
		}
	}
}

func TestWriteDecisionWritesEveryField(t *testing.T) {
	c := loadContract(t, warrant.Contract)
	for _, d := range []warrant.Decision{
		warrant.Approve(),
		warrant.Approve().WithAnnotation("maxAmount", "100.00 EUR"),
		warrant.Deny("why").WithCode("a").WithCode("b").WithAnnotation("k1", "v1").WithAnnotation("k2", "v2"),
		withActions(warrant.Review("look").WithCode("c")),
		withActions(warrant.Approve()),
	} {
		got := c.load(result("decision"), WriteDecision(d, nil))
		decision, err := c.goValue(c.named("decision"), reflect.ValueOf(d))
		if err != nil {
			t.Fatal(err)
		}
		if why := difference("answer", got, variantValue{"ok", decision}); why != "" {
			t.Errorf("%+v: %s", d, why)
		}
	}
	// An approval has no reason to write.
	got := c.load(result("decision"), WriteDecision(warrant.Decision{Verdict: warrant.VerdictApprove, Reason: "x"}, nil))
	if verdict := got.(variantValue).payload.(map[string]any)["verdict"]; verdict != (variantValue{name: "approve"}) {
		t.Errorf("got %v", verdict)
	}
	// Text that is not UTF-8, which the host refuses, becomes U+FFFD.
	got = c.load(result("decision"), WriteDecision(warrant.Deny("a\xffb").WithCode("\xfe"), nil))
	fields := got.(variantValue).payload.(map[string]any)
	if fields["verdict"] != (variantValue{"deny", "a\uFFFDb"}) || !reflect.DeepEqual(fields["codes"], []any{"\uFFFD"}) {
		t.Errorf("got %v", fields)
	}
}

func TestWriteAssessmentWritesEveryField(t *testing.T) {
	c := loadContract(t, warrant.Contract)
	for _, a := range []warrant.Assessment{
		{},
		{Score: 100},
		warrant.Assessment{Score: 42}.WithSignal("burst", 40, "5 intents in a minute").WithSignal("new-merchant", 2, ""),
	} {
		got := c.load(result("assessment"), WriteAssessment(a, nil))
		assessment, err := c.goValue(c.named("assessment"), reflect.ValueOf(a))
		if err != nil {
			t.Fatal(err)
		}
		if why := difference("answer", got, variantValue{"ok", assessment}); why != "" {
			t.Errorf("%+v: %s", a, why)
		}
	}
}

func TestErrorsAreWrittenAsThePluginsOwn(t *testing.T) {
	c := loadContract(t, warrant.Contract)
	for err, want := range map[error]map[string]any{
		warrant.InvalidConfig("`allow` must be a list"): {"code": "invalid-config", "message": "`allow` must be a list"},
		fmt.Errorf("checking: %w", warrant.NewPluginError("invalid-timezone", "no such zone")): {
			"code": "invalid-timezone", "message": "no such zone",
		},
		errors.New("out of range"): {"code": "internal-error", "message": "out of range"},
		// A nil *PluginError is no plugin error.
		fmt.Errorf("odd: %w", (*warrant.PluginError)(nil)): {"code": "internal-error", "message": "odd: <nil>"},
	} {
		for _, answer := range []struct {
			name    string
			address uint32
		}{
			{"decision", WriteDecision(warrant.Approve(), err)},
			{"assessment", WriteAssessment(warrant.Assessment{Score: 1}, err)},
		} {
			got := c.load(result(answer.name), answer.address)
			if why := difference("answer", got, variantValue{"err", want}); why != "" {
				t.Errorf("%v: %s", err, why)
			}
		}
	}
}

// difference says where got and want first differ, or is empty.
func difference(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %v, want a record", path, got)
		}
		var keys []string
		for key := range w {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			if why := difference(path+"."+key, g[key], w[key]); why != "" {
				return why
			}
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: got %d fields, want %d", path, len(g), len(w))
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			if why := difference(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); why != "" {
				return why
			}
		}
		return ""
	case variantValue:
		g, ok := got.(variantValue)
		if !ok || g.name != w.name {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		return difference(path+"."+w.name, g.payload, w.payload)
	default:
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
		}
		return ""
	}
}
