package risk

import (
	"errors"
	"testing"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/warranttest"
)

type config struct {
	PerIntent uint8 `json:"perIntent"`
}

func burst(cx *warrant.Context, c config) (warrant.Assessment, error) {
	score := min(100, int(c.PerIntent)*int(cx.Usage.LastMinute.Count))
	a := warrant.Assessment{Score: uint8(score)}
	if score > 0 {
		a = a.WithSignal("burst", uint8(score), "intents in the last minute")
	}
	return a, nil
}

func TestRunDecodesTheConfigurationThenScores(t *testing.T) {
	cx := warranttest.Context()
	cx.Usage.LastMinute.Count = 3
	a, err := Run(burst, cx, `{"perIntent": 20}`)
	if err != nil || a.Score != 60 || len(a.Signals) != 1 || a.Signals[0].Name != "burst" {
		t.Errorf("got %+v, %v", a, err)
	}
	_, err = Run(burst, cx, `{"perIntent": 300}`)
	var pluginError *warrant.PluginError
	if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" {
		t.Errorf("got %v", err)
	}
}

func TestExportRegistersTheFunction(t *testing.T) {
	Export(burst)
	if a, err := assess(warranttest.Context(), `{}`); err != nil || a.Score != 0 {
		t.Errorf("got %+v, %v", a, err)
	}
}
