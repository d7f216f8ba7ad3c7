package warrant

import "testing"

func TestEqualFoldASCIIFoldsOnlyAToZ(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"Hetzner.com", "hetzner.COM", true},
		{"", "", true},
		{"hetzner.com", "hetzner.de", false},
		{"hetzner", "hetzner.com", false},
		{"BÜCHER", "bücher", false},
		{"bücher", "bücher", true},
		{"[", "{", false},
	}
	for _, c := range cases {
		if got := EqualFoldASCII(c.a, c.b); got != c.want {
			t.Errorf("EqualFoldASCII(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
