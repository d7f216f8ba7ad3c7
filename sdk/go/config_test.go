package warrant

import (
	"encoding/json"
	"errors"
	"testing"
)

type testConfig struct {
	Max    Amount   `json:"maxAmountEuros" warrant:"required"`
	Review *Amount  `json:"reviewAboveEuros"`
	Allow  []string `json:"allow"`
	Limit  uint8    `json:"limit"`
	hidden string
}

func TestDecodeConfigReadsFields(t *testing.T) {
	var c testConfig
	err := DecodeConfig(`{"maxAmountEuros": 92233720368547758.07, "reviewAboveEuros": null, "allow": ["a.example"], "limit": 3}`, &c)
	if err != nil {
		t.Fatal(err)
	}
	if cents, _ := c.Max.MinorUnits(2); cents != 1<<63-1 || c.Review != nil || len(c.Allow) != 1 || c.Limit != 3 {
		t.Errorf("got %+v", c)
	}
}

func TestDecodeConfigRefusesWithAMessage(t *testing.T) {
	for config, message := range map[string]string{
		`null`:                                       "the configuration must be a JSON object",
		`[]`:                                         "the configuration must be a JSON object",
		`{"maxAmountEuros": 1,}`:                     "the configuration is not valid JSON",
		`{}`:                                         "`maxAmountEuros` is required",
		`{"maxAmountEuros": null}`:                   "`maxAmountEuros` must not be null",
		`{"maxAmountEuros": -1}`:                     "`maxAmountEuros` must not be negative",
		`{"maxAmountEuros": "100"}`:                  "`maxAmountEuros` must be a number, not a string",
		`{"maxAmountEuros": 1, "allow": "x"}`:        "`allow` must be a list of strings, not a string",
		`{"maxAmountEuros": 1, "allow": [1]}`:        "`allow` must be a list of strings, but holds a number",
		`{"maxAmountEuros": 1, "allow": null}`:       "`allow` must not be null",
		`{"maxAmountEuros": 1, "limit": 300}`:        "`limit` must be a whole number that fits in uint8, not `300`",
		`{"maxAmountEuros": 1, "colour": "red"}`:     "unknown field `colour`",
		`{"maxAmountEuros": 1, "MaxAmountEuros": 1}`: "unknown field `MaxAmountEuros`",
		`{"maxAmountEuros": 1, "hidden": "x"}`:       "unknown field `hidden`",
	} {
		var c testConfig
		err := DecodeConfig(config, &c)
		var pluginError *PluginError
		if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" || pluginError.Message != message {
			t.Errorf("%s: got %v, want %q", config, err, message)
		}
	}
}

func TestDecodeConfigIntoAMapKeepsNumbersExact(t *testing.T) {
	var m map[string]any
	if err := DecodeConfig(`{"n": 90071992547409.93}`, &m); err != nil {
		t.Fatal(err)
	}
	if m["n"] != json.Number("90071992547409.93") {
		t.Errorf("got %#v", m["n"])
	}
	if err := DecodeConfig(`[1]`, &m); err == nil || err.Error() != "invalid-config: the configuration must be an object, not a list" {
		t.Errorf("got %v", err)
	}
}

func TestDecisionsBuiltFromOneDoNotShareCodes(t *testing.T) {
	base := Deny("no").WithCode("a")
	first, second := base.WithCode("b"), base.WithCode("c")
	if len(base.Codes) != 1 || first.Codes[1] != "b" || second.Codes[1] != "c" {
		t.Errorf("got %v, %v, %v", base.Codes, first.Codes, second.Codes)
	}
	if value, ok := Approve().WithAnnotation("k", "v").Annotation("k"); !ok || value != "v" {
		t.Errorf("got %q, %v", value, ok)
	}
}
