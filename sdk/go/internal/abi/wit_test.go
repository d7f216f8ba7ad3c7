//go:build !wasip1

package abi

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// A canonical ABI for the tests, independent of the package's own: it reads
// the types of the WIT contract itself, computes every size, alignment and
// offset from the ABI's rules, and writes values to (or reads them from)
// the memory that stands for linear memory. The tests then check the
// package's hand-written layouts against it.

// witType is a type of the contract's `types` interface.
type witType struct {
	// kind is bool, u8, u32, u64, s64, string, list, option, result,
	// record, variant, enum, or ref (a named type, in name).
	kind string
	name string
	// elem is the element of a list or an option.
	elem *witType
	// fields are a record's fields, a variant's cases (typ nil for a case
	// without payload), an enum's cases, or a result's ok and err.
	fields []witField
}

type witField struct {
	name string
	typ  *witType
}

// variantValue is a value of a variant, an option or a result: its case,
// and its payload (nil for a case without one).
type variantValue struct {
	name    string
	payload any
}

// contract is the parsed `types` interface of a WIT file.
type contract struct {
	types map[string]*witType
}

// loadContract reads the WIT file of the contract this build targets.
func loadContract(t *testing.T, version string) *contract {
	t.Helper()
	path := filepath.Join("..", "..", "..", "..", "wit", "warrant.wit")
	if version != "0.1.0" {
		path = filepath.Join("..", "..", "..", "..", "wit", version, "warrant.wit")
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the WIT contract is not beside the SDK: %v", err)
	}
	if !strings.Contains(string(text), "package warrant:policy@"+version+";") {
		t.Fatalf("%s is not the contract %s", path, version)
	}
	c, err := parseTypes(string(text))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

var (
	comment = regexp.MustCompile(`//[^\n]*`)
	token   = regexp.MustCompile(`[a-z][a-z0-9-]*|[{}<>(),:;]`)
)

// parseTypes reads the records, variants and enums of `interface types`.
func parseTypes(text string) (*contract, error) {
	tokens := token.FindAllString(comment.ReplaceAllString(text, ""), -1)
	start := -1
	for i := 0; i+2 < len(tokens); i++ {
		if tokens[i] == "interface" && tokens[i+1] == "types" && tokens[i+2] == "{" {
			start = i + 3
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no `interface types`")
	}
	p := &parser{tokens: tokens, at: start}
	c := &contract{types: map[string]*witType{}}
	for p.peek() != "}" {
		kind, name := p.next(), p.next()
		p.expect("{")
		t := &witType{kind: kind, name: name}
		for p.peek() != "}" {
			field := witField{name: p.next()}
			switch kind {
			case "record":
				p.expect(":")
				field.typ = p.parseType()
			case "variant":
				if p.peek() == "(" {
					p.next()
					field.typ = p.parseType()
					p.expect(")")
				}
			case "enum":
			default:
				return nil, fmt.Errorf("unknown item `%s %s`", kind, name)
			}
			t.fields = append(t.fields, field)
			if p.peek() == "," {
				p.next()
			}
		}
		p.expect("}")
		c.types[name] = t
	}
	return c, p.err
}

type parser struct {
	tokens []string
	at     int
	err    error
}

func (p *parser) peek() string {
	if p.at >= len(p.tokens) {
		return "}"
	}
	return p.tokens[p.at]
}

func (p *parser) next() string {
	s := p.peek()
	p.at++
	return s
}

func (p *parser) expect(s string) {
	if got := p.next(); got != s && p.err == nil {
		p.err = fmt.Errorf("expected `%s`, found `%s`", s, got)
	}
}

func (p *parser) parseType() *witType {
	switch name := p.next(); name {
	case "bool", "u8", "u32", "u64", "s64", "string":
		return &witType{kind: name}
	case "list", "option":
		p.expect("<")
		elem := p.parseType()
		p.expect(">")
		return &witType{kind: name, elem: elem}
	case "result":
		p.expect("<")
		ok := p.parseType()
		p.expect(",")
		err := p.parseType()
		p.expect(">")
		return &witType{kind: name, fields: []witField{{"ok", ok}, {"err", err}}}
	default:
		return &witType{kind: "ref", name: name}
	}
}

// resolve follows a named type to its definition.
func (c *contract) resolve(t *witType) *witType {
	for t.kind == "ref" {
		defined, ok := c.types[t.name]
		if !ok {
			panic("no type " + t.name)
		}
		t = defined
	}
	return t
}

func (c *contract) named(name string) *witType {
	return c.resolve(&witType{kind: "ref", name: name})
}

// cases are the payloads of a variant, an option, a result or an enum.
func (c *contract) cases(t *witType) []witField {
	if t.kind == "option" {
		return []witField{{"none", nil}, {"some", t.elem}}
	}
	return t.fields
}

func alignTo(n, align uint32) uint32 { return (n + align - 1) / align * align }

// layout is the size and alignment of t, by the canonical ABI's rules.
func (c *contract) layout(t *witType) (size, align uint32) {
	t = c.resolve(t)
	switch t.kind {
	case "bool", "u8":
		return 1, 1
	case "u32":
		return 4, 4
	case "u64", "s64":
		return 8, 8
	case "string", "list":
		return 8, 4
	case "record":
		align = 1
		for _, f := range t.fields {
			fieldSize, fieldAlign := c.layout(f.typ)
			size = alignTo(size, fieldAlign) + fieldSize
			align = max(align, fieldAlign)
		}
		return alignTo(size, align), align
	default: // variant, enum, option, result: a u8 discriminant, then the payload
		payloadOffset, payloadSize := c.payload(t)
		_, align = c.payloadLayout(t)
		return alignTo(payloadOffset+payloadSize, align), align
	}
}

// payloadLayout is the largest payload of a variant-like type and the
// alignment of the whole.
func (c *contract) payloadLayout(t *witType) (size, align uint32) {
	align = 1
	for _, f := range c.cases(t) {
		if f.typ != nil {
			caseSize, caseAlign := c.layout(f.typ)
			size, align = max(size, caseSize), max(align, caseAlign)
		}
	}
	return size, align
}

// payload is where a variant-like type's payload starts, and its largest
// size.
func (c *contract) payload(t *witType) (offset, size uint32) {
	size, align := c.payloadLayout(t)
	return alignTo(1, align), size
}

// fieldOffsets are the offsets of a record's fields.
func (c *contract) fieldOffsets(t *witType) []uint32 {
	var offsets []uint32
	var at uint32
	for _, f := range t.fields {
		fieldSize, fieldAlign := c.layout(f.typ)
		at = alignTo(at, fieldAlign)
		offsets = append(offsets, at)
		at += fieldSize
	}
	return offsets
}

// store writes v, of type t, at address.
func (c *contract) store(t *witType, v any, address uint32) {
	t = c.resolve(t)
	switch t.kind {
	case "bool":
		memory[address] = 0
		if v.(bool) {
			memory[address] = 1
		}
	case "u8":
		memory[address] = v.(uint8)
	case "u32":
		binary.LittleEndian.PutUint32(memory[address:], v.(uint32))
	case "u64":
		binary.LittleEndian.PutUint64(memory[address:], v.(uint64))
	case "s64":
		binary.LittleEndian.PutUint64(memory[address:], uint64(v.(int64)))
	case "string":
		s := v.(string)
		data := allocate(uint32(len(s)), 1)
		copy(memory[data:], s)
		binary.LittleEndian.PutUint32(memory[address:], data)
		binary.LittleEndian.PutUint32(memory[address+4:], uint32(len(s)))
	case "list":
		items := v.([]any)
		size, align := c.layout(t.elem)
		data := allocate(size*uint32(len(items)), align)
		for i, item := range items {
			c.store(t.elem, item, data+uint32(i)*size)
		}
		binary.LittleEndian.PutUint32(memory[address:], data)
		binary.LittleEndian.PutUint32(memory[address+4:], uint32(len(items)))
	case "record":
		fields := v.(map[string]any)
		if len(fields) != len(t.fields) {
			panic(fmt.Sprintf("%d values for the %d fields of %s", len(fields), len(t.fields), t.name))
		}
		for i, offset := range c.fieldOffsets(t) {
			c.store(t.fields[i].typ, fields[t.fields[i].name], address+offset)
		}
	default:
		var chosen variantValue
		switch {
		case t.kind == "option" && v == nil:
			chosen = variantValue{name: "none"}
		case t.kind == "option":
			chosen = variantValue{"some", v}
		case t.kind == "enum":
			chosen = variantValue{name: v.(string)}
		default:
			chosen = v.(variantValue)
		}
		offset, _ := c.payload(t)
		for i, f := range c.cases(t) {
			if f.name == chosen.name {
				memory[address] = uint8(i)
				if f.typ != nil {
					c.store(f.typ, chosen.payload, address+offset)
				}
				return
			}
		}
		panic("no case " + chosen.name)
	}
}

// load reads a value of type t from address, in the shapes store takes.
func (c *contract) load(t *witType, address uint32) any {
	t = c.resolve(t)
	switch t.kind {
	case "bool":
		return memory[address] != 0
	case "u8":
		return memory[address]
	case "u32":
		return binary.LittleEndian.Uint32(memory[address:])
	case "u64":
		return binary.LittleEndian.Uint64(memory[address:])
	case "s64":
		return int64(binary.LittleEndian.Uint64(memory[address:]))
	case "string":
		data, length := binary.LittleEndian.Uint32(memory[address:]), binary.LittleEndian.Uint32(memory[address+4:])
		return string(memory[data : data+length])
	case "list":
		data, length := binary.LittleEndian.Uint32(memory[address:]), binary.LittleEndian.Uint32(memory[address+4:])
		size, align := c.layout(t.elem)
		if data%align != 0 {
			panic(fmt.Sprintf("a list at %d, not aligned to %d", data, align))
		}
		items := []any{}
		for i := range length {
			items = append(items, c.load(t.elem, data+i*size))
		}
		return items
	case "record":
		fields := map[string]any{}
		for i, offset := range c.fieldOffsets(t) {
			fields[t.fields[i].name] = c.load(t.fields[i].typ, address+offset)
		}
		return fields
	default:
		cases := c.cases(t)
		chosen := cases[memory[address]]
		offset, _ := c.payload(t)
		switch {
		case t.kind == "enum":
			return chosen.name
		case t.kind == "option" && chosen.typ == nil:
			return nil
		case t.kind == "option":
			return c.load(chosen.typ, address+offset)
		case chosen.typ == nil:
			return variantValue{name: chosen.name}
		default:
			return variantValue{chosen.name, c.load(chosen.typ, address+offset)}
		}
	}
}

// write stores v, of type t, in new memory and returns its address.
func (c *contract) write(t *witType, v any) uint32 {
	size, align := c.layout(t)
	address := allocate(size, align)
	c.store(t, v, address)
	return address
}

// filler makes values in which every leaf differs from every other, so
// that a field read from the wrong offset shows.
type filler struct {
	n int
	// options: "some" for all present, "none" for all absent, else each
	// in turn.
	options string
	// items is the length of every list.
	items int
}

func (f *filler) fill(c *contract, t *witType) any {
	t = c.resolve(t)
	f.n++
	n := f.n
	switch t.kind {
	case "bool":
		return n%2 == 1
	case "u8":
		return uint8(n)
	case "u32":
		return uint32(1<<31) + uint32(n)
	case "u64":
		return uint64(1<<63) + uint64(n)
	case "s64":
		return int64(-1_000_000_007 * n)
	case "string":
		return fmt.Sprintf("v%d-ü", n)
	case "list":
		items := []any{}
		for range f.items {
			items = append(items, f.fill(c, t.elem))
		}
		return items
	case "record":
		fields := map[string]any{}
		for _, field := range t.fields {
			fields[field.name] = f.fill(c, field.typ)
		}
		return fields
	case "option":
		if f.options == "none" || (f.options == "mixed" && n%2 == 0) {
			return nil
		}
		return f.fill(c, t.elem)
	case "enum":
		return t.fields[n%len(t.fields)].name
	default: // variant
		chosen := t.fields[n%len(t.fields)]
		if chosen.typ == nil {
			return variantValue{name: chosen.name}
		}
		return variantValue{chosen.name, f.fill(c, chosen.typ)}
	}
}

// goValue is the value of the Go v, read as the WIT type t, in the shapes
// store takes: an option is a pointer, a record a struct whose fields are
// the record's (`agent-type` is Type), an enum a number, the variant card
// a struct of Kind and Value, and the variant verdict a number whose
// payload is the struct's field Reason. The struct's other fields must be
// zero: they are those of a newer contract.
func (c *contract) goValue(t *witType, v reflect.Value) (any, error) {
	t = c.resolve(t)
	switch t.kind {
	case "bool":
		return v.Bool(), nil
	case "u8":
		return uint8(v.Uint()), nil
	case "u32":
		return uint32(v.Uint()), nil
	case "u64":
		return v.Uint(), nil
	case "s64":
		return v.Int(), nil
	case "string":
		return v.String(), nil
	case "list":
		items := []any{}
		for i := range v.Len() {
			item, err := c.goValue(t.elem, v.Index(i))
			if err != nil {
				return nil, err
			}
			items = append(items, item)
		}
		return items, nil
	case "option":
		if v.IsNil() {
			return nil, nil
		}
		return c.goValue(t.elem, v.Elem())
	case "enum":
		return t.fields[v.Uint()].name, nil
	case "variant":
		chosen := t.fields[v.FieldByName("Kind").Uint()]
		if chosen.typ == nil {
			return variantValue{name: chosen.name}, nil
		}
		payload, err := c.goValue(chosen.typ, v.FieldByName("Value"))
		return variantValue{chosen.name, payload}, err
	}
	fields := map[string]any{}
	used := map[string]bool{}
	for _, field := range t.fields {
		name := goName(field.name, v.Type())
		goField := v.FieldByName(name)
		if !goField.IsValid() {
			return nil, fmt.Errorf("%s has no field for `%s.%s`", v.Type(), t.name, field.name)
		}
		used[name] = true
		if fieldType := c.resolve(field.typ); fieldType.kind == "variant" && goField.Kind() == reflect.Uint8 {
			// The verdict: a number, and the reason beside it.
			chosen := fieldType.fields[goField.Uint()]
			fields[field.name] = variantValue{name: chosen.name}
			if chosen.typ != nil {
				fields[field.name] = variantValue{chosen.name, v.FieldByName("Reason").String()}
			}
			used["Reason"] = true
			continue
		}
		value, err := c.goValue(field.typ, goField)
		if err != nil {
			return nil, err
		}
		fields[field.name] = value
	}
	for i := range v.NumField() {
		if name := v.Type().Field(i).Name; !used[name] && !v.Field(i).IsZero() {
			return nil, fmt.Errorf("%s.%s is not in `%s` but holds %v", v.Type(), name, t.name, v.Field(i))
		}
	}
	return fields, nil
}

// goName is the Go field for a WIT field: `client-intent-id` is
// ClientIntentID.
func goName(witName string, structType reflect.Type) string {
	if witName == "agent-type" {
		return "Type"
	}
	want := strings.ReplaceAll(witName, "-", "")
	for i := range structType.NumField() {
		if name := structType.Field(i).Name; strings.EqualFold(name, want) {
			return name
		}
	}
	return string(unicode.ToUpper(rune(witName[0]))) + witName[1:]
}

func TestTheTestsCanonicalABIKnowsItsRules(t *testing.T) {
	c, err := parseTypes(`interface types {
		record a { x: u8, y: u64, z: u8, }
		record b { s: string, o: option<a>, f: bool, }
		variant v { none, some(u32), }
		enum e { one, two, }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][2]uint32{"a": {24, 8}, "b": {48, 8}, "v": {8, 4}, "e": {1, 1}} {
		if size, align := c.layout(c.named(name)); size != want[0] || align != want[1] {
			t.Errorf("%s: got %d, %d; want %v", name, size, align, want)
		}
	}
	if offsets := c.fieldOffsets(c.named("b")); !reflect.DeepEqual(offsets, []uint32{0, 8, 40}) {
		t.Errorf("got %v", offsets)
	}
	value := map[string]any{"s": "é", "o": map[string]any{"x": uint8(1), "y": uint64(2), "z": uint8(3)}, "f": true}
	if got := c.load(c.named("b"), c.write(c.named("b"), value)); !reflect.DeepEqual(got, value) {
		t.Errorf("got %v", got)
	}
}
