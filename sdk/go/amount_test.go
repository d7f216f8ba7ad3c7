package warrant

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAmountsAreReadExactly(t *testing.T) {
	for _, c := range []struct {
		json  string
		cents uint64
	}{
		{"100", 10_000},
		{"100.5", 10_050},
		{"4.51", 451},
		{"0.1", 10},
		{"1e2", 10_000},
		{"100.0", 10_000},
		{"2.5E-1", 25},
		{"0.10e1", 100},
		{"0e999999", 0},
		{"0e400000000", 0},
		{"0.0e-100000000000000000000", 0},
		{"1" + strings.Repeat("0", 90) + "e-85", 10_000_000},
		{"1" + strings.Repeat("0", 200) + "e-198", 10_000},
		{"0." + strings.Repeat("0", 100) + "1e102", 1_000},
		{"92233720368547758.07", 1<<63 - 1},
		{"184467440737095516.15", 1<<64 - 1},
		{"90071992547409.93", 1<<53 + 1},
	} {
		var a Amount
		if err := json.Unmarshal([]byte(c.json), &a); err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if cents, ok := a.MinorUnits(2); !ok || cents != c.cents {
			t.Errorf("%s: got %d, %v; want %d", c.json, cents, ok, c.cents)
		}
	}
}

func TestMinorUnitsRefusesFractionsAndOverflow(t *testing.T) {
	for _, text := range []string{"0.005", "1.001", "1e-9", "184467440737095516.16", "1e30"} {
		a, err := ParseAmount(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if cents, ok := a.MinorUnits(2); ok {
			t.Errorf("%s: got %d cents", text, cents)
		}
	}
}

func TestAmountsThatAreNotAmounts(t *testing.T) {
	for _, text := range []string{`-1`, `-0.5`, `"4.51"`, `true`, `[]`, `1e99`, `1e-99`, `1e999999999999999999999`,
		`1e500000000`, `1e100000000000000000000`, `1e-100000000000000000000`, `1e1000000000`, `1e-1000000000`,
		`1` + strings.Repeat("0", 90) + `e-49`, `1.` + strings.Repeat("0", 90) + `1`} {
		var a Amount
		if err := json.Unmarshal([]byte(text), &a); err == nil {
			t.Errorf("%s: read as %s", text, a)
		}
	}
	for _, text := range []string{"", ".5", "5.", "+1", "abc", "1.2.3", "1e", "1e+-2", "0x10"} {
		if a, err := ParseAmount(text); err == nil {
			t.Errorf("%q: read as %s", text, a)
		}
	}
}

func TestAmountsPrintAndCompare(t *testing.T) {
	for text, want := range map[string]string{
		"4.510": "4.51", "7": "7", "1e3": "1000", "0.05": "0.05", "000": "0", "12.5e-3": "0.0125",
	} {
		a, err := ParseAmount(text)
		if err != nil || a.String() != want {
			t.Errorf("%s: got %s, %v; want %s", text, a, err, want)
		}
	}
	if got := AmountFromMinorUnits(5, 2).String(); got != "0.05" {
		t.Errorf("5 cents: got %s", got)
	}
	if got := AmountFromMinorUnits(1200, 2).String(); got != "12" {
		t.Errorf("1200 cents: got %s", got)
	}
	ordered := []string{"0", "0.01", "0.1", "1", "1.49", "1.5", "10", "1e17"}
	for i := range ordered {
		for j := range ordered {
			a, _ := ParseAmount(ordered[i])
			b, _ := ParseAmount(ordered[j])
			if want := compareInts(i, j); a.Cmp(b) != want {
				t.Errorf("%s vs %s: got %d, want %d", ordered[i], ordered[j], a.Cmp(b), want)
			}
		}
	}
}

func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
