package warrant

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// DecodeConfig reads a rule's configuration, the text of a JSON value, into
// v, a pointer to a struct, strictly:
//
//   - the configuration must be a JSON object;
//   - every key must be the `json` tag name (or, without a tag, the name) of
//     one of the struct's exported fields, matched exactly, where
//     encoding/json alone would ignore unknown keys and match any case;
//   - a field tagged `warrant:"required"` must be present;
//   - null is accepted only for a pointer field, which stays nil;
//   - a value of another type than its field's is refused, and numbers
//     keep their exact text: declare money as Amount, never float64.
//
// A configuration that breaks any of these is an invalid-config
// *PluginError that names the field. When v points to something else than
// a struct (a map, any, json.RawMessage), the configuration is decoded by
// encoding/json with numbers as json.Number.
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
	if !json.Valid([]byte(text)) {
		return InvalidConfig("the configuration is not valid JSON")
	}
	if target.Elem().Kind() != reflect.Struct {
		if err := decodeStrict([]byte(text), v); err != nil {
			return InvalidConfig("the configuration " + describe(err, target.Elem().Type()))
		}
		return nil
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &fields); err != nil || fields == nil {
		return InvalidConfig("the configuration must be a JSON object")
	}
	target = target.Elem()
	known := make(map[string]bool)
	for i := range target.NumField() {
		field := target.Type().Field(i)
		name, ok := jsonName(field)
		if !ok {
			continue
		}
		known[name] = true
		raw, present := fields[name]
		null := present && bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
		switch {
		case !present || (null && field.Type.Kind() == reflect.Pointer):
			if field.Tag.Get("warrant") == "required" {
				return InvalidConfig("`" + name + "` is required")
			}
			continue
		case null:
			return InvalidConfig("`" + name + "` must not be null")
		}
		if err := decodeStrict(raw, target.Field(i).Addr().Interface()); err != nil {
			return InvalidConfig("`" + name + "` " + describe(err, field.Type))
		}
	}
	// In sorted order, so that the same configuration always gets the
	// same message.
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !known[name] {
			return InvalidConfig("unknown field `" + name + "`")
		}
	}
	return nil
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

func decodeStrict(raw []byte, v any) error {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	decoder.UseNumber()
	return decoder.Decode(v)
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
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
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
