package warrant

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// DecodeConfig reads a rule's configuration, the text of a JSON value, into
// v, a pointer, strictly. At every depth, in nested structs, lists and maps
// as in the configuration itself:
//
//   - no object may give the same key twice, where encoding/json would keep
//     the last value;
//   - no string may hold a lone UTF-16 surrogate escape such as `\ud800`,
//     which is no character, where encoding/json would read U+FFFD;
//   - an object read into a struct may only have keys that are the `json`
//     tag name (or, without a tag, the name) of one of the struct's exported
//     fields, matched exactly, where encoding/json alone would ignore
//     unknown keys and match any case;
//   - a field tagged `warrant:"required"` must be present, and not null;
//   - null is accepted only for a pointer, which stays nil, and for an
//     `any`, which holds nil, where encoding/json would accept it for
//     anything and leave a zero value: `"allow": null` and `"allow": [null]`
//     are refused for a []string;
//   - a value of another type than its field's is refused, and numbers
//     keep their exact text: declare money as Amount, never float64; in an
//     `any`, a number is a json.Number.
//
// The fields of an embedded struct count as the outer struct's own, as in
// encoding/json. A map whose keys are not strings, such as map[int]T, is
// read by encoding/json alone, once the first two rules hold.
//
// When v points to a struct, the configuration must be a JSON object. A
// configuration that breaks any of these rules is an invalid-config
// *PluginError that names the value: `maxAmountEuros`, `limits.daily`,
// `allow[2]`.
//
//	type Config struct {
//		MaxAmountEuros warrant.Amount  `json:"maxAmountEuros" warrant:"required"`
//		ReviewAbove    *warrant.Amount `json:"reviewAboveEuros"`
//		Allow          []string        `json:"allow"`
//	}
func DecodeConfig(text string, v any) error {
	target := reflect.ValueOf(v)
	if target.Kind() != reflect.Pointer || target.IsNil() {
		panic("warrant.DecodeConfig needs a non-nil pointer, not " + target.Kind().String())
	}
	raw := []byte(text)
	if !json.Valid(raw) {
		return InvalidConfig("the configuration is not valid JSON")
	}
	if err := scan(raw); err != nil {
		return err
	}
	target = target.Elem()
	if target.Kind() == reflect.Struct && !decodesItself(target.Type()) && kindOf(raw) != '{' {
		return InvalidConfig("the configuration must be a JSON object")
	}
	return read(raw, target.Type(), target, "")
}

// read checks raw, one JSON value, by the rules of DecodeConfig for a t,
// and stores it in v, a settable t; when v is the zero Value, it only
// checks. path names the value in messages.
func read(raw []byte, t reflect.Type, v reflect.Value, path string) error {
	store := v.IsValid()
	if kindOf(raw) == 'n' {
		if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
			return InvalidConfig(name(path) + " must not be null")
		}
		if store {
			v.SetZero()
		}
		return nil
	}
	// A []byte is a base64 string in JSON, not a list.
	if decodesItself(t) || (t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
		return readLeaf(raw, t, v, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		var pointee reflect.Value
		if store {
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			pointee = v.Elem()
		}
		return read(raw, t.Elem(), pointee, path)
	case reflect.Struct:
		return readStruct(raw, t, v, path)
	case reflect.Slice, reflect.Array:
		var elements []json.RawMessage
		if kindOf(raw) != '[' || json.Unmarshal(raw, &elements) != nil {
			return mismatch(raw, t, path)
		}
		if t.Kind() == reflect.Array && len(elements) != t.Len() {
			return InvalidConfig(name(path) + " must be a list of " + strconv.Itoa(t.Len()) +
				", not of " + strconv.Itoa(len(elements)))
		}
		if store && t.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(t, len(elements), len(elements)))
		}
		for i, element := range elements {
			var slot reflect.Value
			if store {
				slot = v.Index(i)
			}
			if err := read(element, t.Elem(), slot, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if t.Key().Kind() == reflect.String && !decodesItself(t.Key()) {
			var entries map[string]json.RawMessage
			if kindOf(raw) != '{' || json.Unmarshal(raw, &entries) != nil {
				return mismatch(raw, t, path)
			}
			// In sorted order, so that the same configuration always gets
			// the same message.
			for _, key := range slices.Sorted(maps.Keys(entries)) {
				if err := read(entries[key], t.Elem(), reflect.Value{}, join(path, key)); err != nil {
					return err
				}
			}
		}
		// Once checked, encoding/json builds the map: building it here, by
		// reflection, would add some 50 KB to every plugin. A map whose
		// keys are not strings is read by encoding/json alone.
		return readLeaf(raw, t, v, path)
	default:
		return readLeaf(raw, t, v, path)
	}
}

// readStruct reads a JSON object into a struct: exact keys, required
// fields, no unknown keys, and each field's value.
func readStruct(raw []byte, t reflect.Type, v reflect.Value, path string) error {
	var fields map[string]json.RawMessage
	if kindOf(raw) != '{' || json.Unmarshal(raw, &fields) != nil {
		return mismatch(raw, t, path)
	}
	known := make(map[string]bool)
	for _, field := range jsonFields(t) {
		key, _ := jsonName(field)
		known[key] = true
		value, present := fields[key]
		if (!present || (kindOf(value) == 'n' && field.Type.Kind() == reflect.Pointer)) &&
			field.Tag.Get("warrant") == "required" {
			return InvalidConfig(name(join(path, key)) + " is required")
		}
		if !present {
			continue
		}
		var slot reflect.Value
		if v.IsValid() {
			slot = fieldOf(v, field.Index)
		}
		if err := read(value, field.Type, slot, join(path, key)); err != nil {
			return err
		}
	}
	// In sorted order, so that the same configuration always gets the
	// same message.
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		if !known[key] {
			return InvalidConfig("unknown field " + name(join(path, key)))
		}
	}
	return nil
}

// readLeaf reads, with encoding/json, a value that has no parts for
// DecodeConfig to look into, such as a string, a number or an Amount, or a
// map it has checked.
func readLeaf(raw []byte, t reflect.Type, v reflect.Value, path string) error {
	target := reflect.New(t)
	if v.IsValid() {
		target = v.Addr()
	}
	var err error
	switch t.Kind() {
	case reflect.Interface, reflect.Map:
		// Numbers as json.Number, and no unknown keys in the structs of a
		// map.
		err = decodeStrict(raw, target.Interface())
	default:
		err = json.Unmarshal(raw, target.Interface())
	}
	if err != nil {
		return InvalidConfig(name(path) + " " + describe(err, t))
	}
	return nil
}

func decodeStrict(raw []byte, v any) error {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	decoder.UseNumber()
	return decoder.Decode(v)
}

// decodesItself reports whether t reads its own JSON, as Amount,
// json.RawMessage and time.Time do.
func decodesItself(t reflect.Type) bool {
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler := reflect.TypeFor[encoding.TextUnmarshaler]()
	if t.Kind() != reflect.Pointer {
		t = reflect.PointerTo(t)
	}
	return t.Implements(unmarshaler) || t.Implements(textUnmarshaler)
}

// jsonFields are the fields of the struct type t that have a key in JSON,
// with those of the structs it embeds, which encoding/json reads as t's
// own; their Index leads from t to them.
func jsonFields(t reflect.Type) []reflect.StructField {
	var fields []reflect.StructField
	for i := range t.NumField() {
		field := t.Field(i)
		embedded := field.Type
		if embedded.Kind() == reflect.Pointer {
			embedded = embedded.Elem()
		}
		// A nil pointer to an unexported struct cannot be allocated: such
		// a field has no keys, as for encoding/json.
		if !field.Anonymous || field.Tag.Get("json") != "" || embedded.Kind() != reflect.Struct ||
			(!field.IsExported() && field.Type.Kind() == reflect.Pointer) {
			if _, ok := jsonName(field); ok {
				fields = append(fields, field)
			}
			continue
		}
		for _, inner := range jsonFields(embedded) {
			inner.Index = append([]int{i}, inner.Index...)
			fields = append(fields, inner)
		}
	}
	return fields
}

// fieldOf is the field of the struct v at index, through embedded
// structs, whose nil pointers it allocates.
func fieldOf(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// jsonName is the key of a struct field in JSON, false for a field that
// has none: unexported, or tagged `json:"-"`.
func jsonName(field reflect.StructField) (string, bool) {
	if !field.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return field.Name, true
	default:
		return name, true
	}
}

// name starts a message about the value at path: `allow[2]`, or the
// configuration itself for the empty path.
func name(path string) string {
	if path == "" {
		return "the configuration"
	}
	return "`" + path + "`"
}

// join is the path of the member key of the object at path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// kindOf is the first byte of a JSON value, which tells its kind: '{', '[',
// '"', 't' or 'f', 'n' for null, or a digit or '-' for a number.
func kindOf(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// mismatch is the error for raw, of the wrong kind for a t.
func mismatch(raw []byte, t reflect.Type, path string) error {
	var found string
	switch kindOf(raw) {
	case '{':
		found = "an object"
	case '[':
		found = "a list"
	case '"':
		found = "a string"
	case 't', 'f':
		found = "true or false"
	default:
		found = "a number"
	}
	return InvalidConfig(name(path) + " must be " + expected(t) + ", not " + found)
}

// describe completes a sentence that starts with the name of the value
// that failed to decode into a t.
func describe(err error, t reflect.Type) string {
	var amount amountError
	var mismatch *json.UnmarshalTypeError
	switch {
	case errors.As(err, &amount):
		return amount.Error()
	case errors.As(err, &mismatch):
		found := mismatch.Value
		if number, ok := strings.CutPrefix(found, "number "); ok {
			found = "`" + number + "`"
		} else {
			found = map[string]string{
				"string": "a string", "number": "a number", "bool": "true or false",
				"array": "a list", "object": "an object",
			}[found]
		}
		if mismatch.Type != t {
			return "must be " + expected(t) + ", but holds " + found
		}
		return "must be " + expected(t) + ", not " + found
	default:
		return "is invalid: " + strings.TrimPrefix(err.Error(), "json: ")
	}
}

// expected describes, for a message, the JSON that decodes into a t.
func expected(t reflect.Type) string {
	if t == reflect.TypeFor[Amount]() {
		return "a non-negative decimal number"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number that fits in " + t.Kind().String()
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "a JSON value"
	}
}

// scan reads raw, valid JSON, for what encoding/json lets pass: a string
// with a lone UTF-16 surrogate escape such as `\ud800`, which is no
// character, and a key given twice in one object, at any depth. The
// error names the first it finds.
func scan(raw []byte) error {
	// One level per object or list being read, innermost last.
	type level struct {
		path   string
		object bool
		keys   map[string]bool // an object's keys so far
		atKey  bool            // in an object, whether a key or `}` comes next
		key    string          // in an object, the last key
		index  int             // in a list, the next element's index
	}
	var stack []*level
	// passed moves the innermost level past one of its values.
	passed := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.atKey = true
		} else {
			top.index++
		}
	}
	// valuePath is the path of the value that starts next.
	valuePath := func() string {
		switch {
		case len(stack) == 0:
			return ""
		case stack[len(stack)-1].object:
			return join(stack[len(stack)-1].path, stack[len(stack)-1].key)
		default:
			return stack[len(stack)-1].path + "[" + strconv.Itoa(stack[len(stack)-1].index) + "]"
		}
	}
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
		case '{':
			stack = append(stack, &level{path: valuePath(), object: true, keys: map[string]bool{}, atKey: true})
		case '[':
			stack = append(stack, &level{path: valuePath()})
		case '}', ']':
			stack = stack[:len(stack)-1]
			passed()
		case '"':
			end, escaped, err := scanString(raw, i)
			if err != nil {
				return err
			}
			if top := len(stack) - 1; top >= 0 && stack[top].object && stack[top].atKey {
				key := string(raw[i+1 : end])
				if escaped {
					_ = json.Unmarshal(raw[i:end+1], &key)
				}
				if stack[top].keys[key] {
					return InvalidConfig(name(join(stack[top].path, key)) + " is given twice")
				}
				stack[top].keys[key], stack[top].atKey, stack[top].key = true, false, key
			} else {
				passed()
			}
			i = end
		default:
			// A number, true, false or null: up to the next delimiter.
			for i+1 < len(raw) && !strings.ContainsRune(" \t\r\n,]}", rune(raw[i+1])) {
				i++
			}
			passed()
		}
	}
	return nil
}

// scanString reads the string that starts at raw[start], a quote: it
// returns the index of its closing quote and whether it has escapes, or
// the error for a lone surrogate escape in it.
func scanString(raw []byte, start int) (end int, escaped bool, err error) {
	for i := start + 1; ; i++ {
		switch {
		case raw[i] == '"':
			return i, escaped, nil
		case raw[i] == '\\' && raw[i+1] == 'u':
			escaped = true
			// Valid JSON: four hexadecimal digits follow.
			switch first := hexValue(raw[i+2 : i+6]); {
			case 0xD800 <= first && first <= 0xDBFF:
				// A high surrogate, which a low one must follow at once.
				if raw[i+6] == '\\' && raw[i+7] == 'u' {
					if second := hexValue(raw[i+8 : i+12]); 0xDC00 <= second && second <= 0xDFFF {
						i += 11
						continue
					}
				}
				return 0, false, loneSurrogate(raw[i : i+6])
			case 0xDC00 <= first && first <= 0xDFFF:
				// A low surrogate without a high one before it.
				return 0, false, loneSurrogate(raw[i : i+6])
			}
			i += 5
		case raw[i] == '\\':
			escaped = true
			i++ // The escaped character, which may be a quote.
		}
	}
}

func loneSurrogate(escape []byte) error {
	return InvalidConfig("the configuration holds `" + string(escape) +
		"`, half of a UTF-16 surrogate pair, which is no character")
}

func hexValue(digits []byte) uint32 {
	value, _ := strconv.ParseUint(string(digits), 16, 32)
	return uint32(value)
}
