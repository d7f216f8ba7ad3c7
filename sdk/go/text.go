package warrant

// EqualFoldASCII reports whether a and b are equal when the letters A-Z
// are folded to a-z, and only those: Warrant compares merchants so, and
// strings.EqualFold, which folds all of Unicode, would also match
// `BÜCHER` to `bücher`.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
