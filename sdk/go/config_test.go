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
		`null`:                                "the configuration must be a JSON object",
		`[]`:                                  "the configuration must be a JSON object",
		`{"maxAmountEuros": 1,}`:              "the configuration is not valid JSON",
		`{}`:                                  "`maxAmountEuros` is required",
		`{"maxAmountEuros": null}`:            "`maxAmountEuros` must not be null",
		`{"maxAmountEuros": -1}`:              "`maxAmountEuros` must not be negative",
		`{"maxAmountEuros": "100"}`:           "`maxAmountEuros` must be a number, not a string",
		`{"maxAmountEuros": 1, "allow": "x"}`: "`allow` must be a list of strings, not a string",
		`{"maxAmountEuros": 1, "allow": [1]}`: "`allow[0]` must be a string, not a number",
		`{"maxAmountEuros": 1, "allow": ["a", null]}`:  "`allow[1]` must not be null",
		`{"maxAmountEuros": 1, "allow": null}`:         "`allow` must not be null",
		`{"maxAmountEuros": 1, "limit": 300}`:          "`limit` must be a whole number that fits in uint8, not `300`",
		`{"maxAmountEuros": 1, "colour": "red"}`:       "unknown field `colour`",
		`{"maxAmountEuros": 1, "MaxAmountEuros": 1}`:   "unknown field `MaxAmountEuros`",
		`{"maxAmountEuros": 1, "hidden": "x"}`:         "unknown field `hidden`",
		`5`:                                            "the configuration must be a JSON object",
		`"{}"`:                                         "the configuration must be a JSON object",
		`{"maxAmountEuros": 1, "maxAmountEuros": 2}`:   "`maxAmountEuros` is given twice",
		`{"maxAmountEuros": 1e500000000}`:              "`maxAmountEuros` is too large",
		`{"maxAmountEuros": 1e100000000000000000000}`:  "`maxAmountEuros` is too large",
		`{"maxAmountEuros": 1e-100000000000000000000}`: "`maxAmountEuros` has too many decimals",
		`{"maxAmountEuros": 1, "allow": ["\ud800"]}`:   "the configuration holds `\\ud800`, half of a UTF-16 surrogate pair, which is no character",
	} {
		var c testConfig
		err := DecodeConfig(config, &c)
		var pluginError *PluginError
		if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" || pluginError.Message != message {
			t.Errorf("%s: got %v, want %q", config, err, message)
		}
	}
}

type nestedConfig struct {
	Limits   *limits           `json:"limits"`
	Tiers    []limits          `json:"tiers"`
	ByName   map[string]Amount `json:"byName"`
	Extra    map[string]any    `json:"extra"`
	Optional []*string         `json:"optional"`
	Pair     [2]uint8          `json:"pair"`
	Blob     []byte            `json:"blob"`
}

type limits struct {
	Daily   Amount  `json:"daily" warrant:"required"`
	Monthly *Amount `json:"monthly"`
}

func TestDecodeConfigIsStrictAtEveryDepth(t *testing.T) {
	var c nestedConfig
	err := DecodeConfig(`{"limits": {"daily": 5, "monthly": null}, "tiers": [{"daily": 1}, {"daily": 2.5}],
		"byName": {"a": 1.10}, "extra": {"n": null, "list": [null, 1.5]}, "optional": [null, "x"], "pair": [1, 2], "blob": "aGk="}`, &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.Daily.String() != "5" || c.Limits.Monthly != nil || len(c.Tiers) != 2 || c.Tiers[1].Daily.String() != "2.5" ||
		c.ByName["a"].String() != "1.1" || c.Extra["n"] != nil || c.Extra["list"].([]any)[1] != json.Number("1.5") ||
		c.Optional[0] != nil || *c.Optional[1] != "x" || c.Pair != [2]uint8{1, 2} || string(c.Blob) != "hi" {
		t.Errorf("got %+v", c)
	}

	for config, message := range map[string]string{
		`{"limits": {"daily": 1, "daily": 2}}`:                            "`limits.daily` is given twice",
		`{"tiers": [{"daily": 1}, {"daily": 1, "Daily": 2, "daily": 3}]}`: "`tiers[1].daily` is given twice",
		`{"extra": {"a": {"b": 1, "b": 1}}}`:                              "`extra.a.b` is given twice",
		`{"limits": {"daily": 1}, "limits": null}`:                        "`limits` is given twice",
		`{"limits": {}}`:                         "`limits.daily` is required",
		`{"limits": {"daily": null}}`:            "`limits.daily` must not be null",
		`{"limits": {"daily": 1, "Monthly": 2}}`: "unknown field `limits.Monthly`",
		`{"tiers": [{"daily": 1}, null]}`:        "`tiers[1]` must not be null",
		`{"tiers": [{"daily": -1}]}`:             "`tiers[0].daily` must not be negative",
		`{"tiers": {"daily": 1}}`:                "`tiers` must be a list, not an object",
		`{"limits": [1]}`:                        "`limits` must be an object, not a list",
		`{"byName": {"a": null}}`:                "`byName.a` must not be null",
		`{"byName": []}`:                         "`byName` must be an object, not a list",
		`{"pair": [1]}`:                          "`pair` must be a list of 2, not of 1",
		`{"pair": [1, 256]}`:                     "`pair[1]` must be a whole number that fits in uint8, not `256`",
	} {
		var c nestedConfig
		err := DecodeConfig(config, &c)
		var pluginError *PluginError
		if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" || pluginError.Message != message {
			t.Errorf("%s: got %v, want %q", config, err, message)
		}
	}
}

type embeddingConfig struct {
	limits
	Name string `json:"name"`
}

type Embedded struct {
	Weekly uint32 `json:"weekly"`
}

type embeddingPointers struct {
	*Embedded
	*limits
}

func TestDecodeConfigReadsEmbeddedStructsAsEncodingJSONDoes(t *testing.T) {
	var c embeddingConfig
	if err := DecodeConfig(`{"daily": 3, "name": "n"}`, &c); err != nil || c.Daily.String() != "3" || c.Name != "n" {
		t.Errorf("got %+v, %v", c, err)
	}
	if err := DecodeConfig(`{"name": "n"}`, &c); err == nil || err.Error() != "invalid-config: `daily` is required" {
		t.Errorf("got %v", err)
	}
	// An embedded pointer is allocated; one to an unexported struct cannot
	// be, so its fields have no keys.
	var p embeddingPointers
	if err := DecodeConfig(`{"weekly": 7}`, &p); err != nil || p.Embedded == nil || p.Weekly != 7 || p.limits != nil {
		t.Errorf("got %+v, %v", p, err)
	}
	if err := DecodeConfig(`{"daily": 1}`, &p); err == nil || err.Error() != "invalid-config: unknown field `daily`" {
		t.Errorf("got %v", err)
	}
}

func TestDecodeConfigRefusesLoneSurrogates(t *testing.T) {
	for _, text := range []string{`\ud800`, `\udbff`, `\udc00`, `\udfff`, `x\ud800y`, `\ud800\u0041`, `\ud800\ud800`, `\udc00\ud800`} {
		var m map[string]any
		config := `{"s": "` + text + `"}`
		if err := DecodeConfig(config, &m); err == nil {
			t.Errorf("%s: read as %q", config, m["s"])
		}
		if err := DecodeConfig(`{"`+text+`": 1}`, &m); err == nil {
			t.Errorf("%s as a key: read", text)
		}
	}
	for text, want := range map[string]string{
		`\ud83d\ude00`: "\U0001F600", `\\ud800`: `\ud800`, `\"\ud7ff\ue000`: "\"\ud7ff\ue000", `\u00e9`: "é",
	} {
		var m map[string]string
		if err := DecodeConfig(`{"s": "`+text+`"}`, &m); err != nil || m["s"] != want {
			t.Errorf("%s: got %q, %v; want %q", text, m["s"], err, want)
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
