//go:build warrant_wit_0_1_0

package warrant

import (
	"reflect"
	"testing"
)

func TestTheContractIs010(t *testing.T) {
	if Contract != "0.1.0" {
		t.Errorf("Contract is %s", Contract)
	}
}

// A 0.1.0 decision cannot carry actions: asking for one does not compile.
func TestDecisionsHaveNoActions(t *testing.T) {
	decision := reflect.TypeFor[Decision]()
	if _, ok := decision.FieldByName("Actions"); ok {
		t.Error("a 0.1.0 decision has actions")
	}
	for _, method := range []string{"WithSuspendAgent", "WithAlert", "WithAction", "HasAction"} {
		if _, ok := decision.MethodByName(method); ok {
			t.Errorf("a 0.1.0 decision has %s", method)
		}
	}
}
