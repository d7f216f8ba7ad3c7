package policy

import (
	"errors"
	"testing"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/warranttest"
)

type config struct {
	MaxAmountEuros warrant.Amount `json:"maxAmountEuros" warrant:"required"`
}

func limit(cx *warrant.Context, c config) (warrant.Decision, error) {
	cents, _ := c.MaxAmountEuros.MinorUnits(2)
	if cx.Intent.Amount != nil && cx.Intent.Amount.MinorUnits > cents {
		return warrant.Deny("over the limit").WithCode("amount-over-max"), nil
	}
	return warrant.Approve(), nil
}

func TestRunDecodesTheConfigurationThenDecides(t *testing.T) {
	cx := warranttest.Context()
	cx.Intent.Amount = &warrant.Money{MinorUnits: 15_000, Currency: "EUR"}
	if d, err := Run(limit, cx, `{"maxAmountEuros": 100}`); err != nil || d.Verdict != warrant.VerdictDeny {
		t.Errorf("got %+v, %v", d, err)
	}
	if d, err := Run(limit, cx, `{"maxAmountEuros": 150}`); err != nil || d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v, %v", d, err)
	}
}

func TestAnInvalidConfigurationNeverReachesTheFunction(t *testing.T) {
	called := false
	f := func(*warrant.Context, config) (warrant.Decision, error) {
		called = true
		return warrant.Approve(), nil
	}
	_, err := Run(f, warranttest.Context(), `{"max": 100}`)
	var pluginError *warrant.PluginError
	if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" || called {
		t.Errorf("got %v, called: %v", err, called)
	}
}

func TestExportRegistersTheFunction(t *testing.T) {
	Export(limit)
	cx := warranttest.Context()
	cx.Intent.Amount = &warrant.Money{MinorUnits: 1, Currency: "EUR"}
	if d, err := evaluate(cx, `{"maxAmountEuros": 100}`); err != nil || d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v, %v", d, err)
	}
}
