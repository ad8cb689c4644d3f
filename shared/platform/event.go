package platform

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxEventDepth bounds the nesting of an event's values.
const maxEventDepth = 64

// decodeEvent reads the fields of apiRequest from an HTTP API event, as
// encoding/json.Unmarshal would (keys matched without regard to case, the
// last of duplicates winning, invalid UTF-8 replaced, null leaving a field
// as it is), and skips the rest without building it. The event is most of
// what the message function parses per message; this reads it in one pass.
func decodeEvent(data []byte) (apiRequest, error) {
	var ev apiRequest
	d := &eventDecoder{data: data}
	err := d.object(0, func(key []byte) error {
		switch {
		case eq(key, "rawPath"):
			return d.str(&ev.RawPath)
		case eq(key, "rawQueryString"):
			return d.str(&ev.RawQueryString)
		case eq(key, "body"):
			return d.str(&ev.Body)
		case eq(key, "isBase64Encoded"):
			return d.boolean(&ev.IsBase64Encoded)
		case eq(key, "cookies"):
			return d.strings(&ev.Cookies)
		case eq(key, "headers"):
			return d.stringMap(&ev.Headers)
		case eq(key, "requestContext"):
			return d.object(1, func(key []byte) error {
				switch {
				case eq(key, "domainName"):
					return d.str(&ev.RequestContext.DomainName)
				case eq(key, "http"):
					return d.object(2, func(key []byte) error {
						switch {
						case eq(key, "method"):
							return d.str(&ev.RequestContext.HTTP.Method)
						case eq(key, "path"):
							return d.str(&ev.RequestContext.HTTP.Path)
						case eq(key, "sourceIp"):
							return d.str(&ev.RequestContext.HTTP.SourceIP)
						}
						return d.skip(3)
					})
				}
				return d.skip(2)
			})
		}
		return d.skip(1)
	})
	if err == nil {
		d.ws()
		if d.pos != len(d.data) {
			err = d.fail("data after the event")
		}
	}
	if err != nil {
		return apiRequest{}, err
	}
	return ev, nil
}

type eventDecoder struct {
	data []byte
	pos  int
}

var errEventSyntax = errors.New("malformed JSON")

func (d *eventDecoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errEventSyntax, what, d.pos)
}

func (d *eventDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, 0 at the end.
func (d *eventDecoder) peek() byte {
	d.ws()
	if d.pos == len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *eventDecoder) literal(word string) bool {
	if bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		d.pos += len(word)
		return true
	}
	return false
}

// null consumes a null and reports whether there was one.
func (d *eventDecoder) null() bool {
	return d.peek() == 'n' && d.literal("null")
}

// object reads an object, calling field for each key with the decoder
// before the key's value, which field must consume; null is no object. The
// key is only valid during the call.
func (d *eventDecoder) object(depth int, field func(key []byte) error) error {
	if depth > maxEventDepth {
		return d.fail("nesting too deep")
	}
	if d.null() {
		return nil
	}
	if d.peek() != '{' {
		return d.fail("want an object")
	}
	d.pos++
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.fail("want a key")
		}
		key, err := d.bytesValue()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.fail("want a colon")
		}
		d.pos++
		if err := field(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.fail("want a comma or the object's end")
		}
	}
}

// array reads an array, calling elem before each element, which elem must
// consume; null is no array.
func (d *eventDecoder) array(depth int, elem func() error) (isNull bool, err error) {
	if depth > maxEventDepth {
		return false, d.fail("nesting too deep")
	}
	if d.null() {
		return true, nil
	}
	if d.peek() != '[' {
		return false, d.fail("want an array")
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return false, nil
	}
	for {
		if err := elem(); err != nil {
			return false, err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return false, nil
		default:
			return false, d.fail("want a comma or the array's end")
		}
	}
}

func (d *eventDecoder) str(dst *string) error {
	if d.null() {
		return nil
	}
	if d.peek() != '"' {
		return d.fail("want a string")
	}
	s, err := d.stringValue()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

func (d *eventDecoder) boolean(dst *bool) error {
	switch {
	case d.null():
	case d.peek() == 't' && d.literal("true"):
		*dst = true
	case d.peek() == 'f' && d.literal("false"):
		*dst = false
	default:
		return d.fail("want true or false")
	}
	return nil
}

func (d *eventDecoder) strings(dst *[]string) error {
	var list []string
	isNull, err := d.array(1, func() error {
		var s string
		if err := d.str(&s); err != nil {
			return err
		}
		list = append(list, s)
		return nil
	})
	if err != nil || isNull {
		return err
	}
	if list == nil {
		list = []string{}
	}
	*dst = list
	return nil
}

// stringMap reads an object of strings into *dst, adding to a map already
// there as encoding/json does.
func (d *eventDecoder) stringMap(dst *map[string]string) error {
	if d.null() {
		return nil
	}
	if *dst == nil {
		*dst = make(map[string]string, 16)
	}
	return d.object(1, func(key []byte) error {
		var v string // null stores ""
		if err := d.str(&v); err != nil {
			return err
		}
		(*dst)[string(key)] = v
		return nil
	})
}

// skip consumes one value of any kind.
func (d *eventDecoder) skip(depth int) error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(depth+1, func([]byte) error { return d.skip(depth + 1) })
	case c == '[':
		_, err := d.array(depth+1, func() error { return d.skip(depth + 1) })
		return err
	case c == '"':
		_, err := d.bytesValue()
		return err
	case c == 't' && d.literal("true"), c == 'f' && d.literal("false"), c == 'n' && d.literal("null"):
		return nil
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.fail("want a value")
}

// number consumes a number of JSON's grammar.
func (d *eventDecoder) number() error {
	digits := func() int {
		start := d.pos
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
		}
		return d.pos - start
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	start := d.pos
	if n := digits(); n == 0 || n > 1 && d.data[start] == '0' {
		return d.fail("bad number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return d.fail("bad number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return d.fail("bad number")
		}
	}
	return nil
}

// eq reports whether key matches name as encoding/json matches them.
func eq(key []byte, name string) bool {
	return len(key) == len(name) && string(key) == name || bytes.EqualFold(key, []byte(name))
}

// stringValue reads a string at d.pos, on its opening quote, unescaped.
func (d *eventDecoder) stringValue() (string, error) {
	b, err := d.bytesValue()
	return string(b), err
}

// bytesValue reads a string at d.pos, on its opening quote, unescaped,
// without copying it when it has no escapes and is valid UTF-8 (nearly
// always): the result is then only valid until the data changes.
func (d *eventDecoder) bytesValue() ([]byte, error) {
	d.pos++
	start := d.pos
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			b := d.data[start:d.pos]
			d.pos++
			return b, nil
		case c == '\\' || c >= utf8.RuneSelf:
			return d.slowString(start)
		case c < 0x20:
			return nil, d.fail("control character in a string")
		}
		d.pos++
	}
	return nil, d.fail("unterminated string")
}

// slowString finishes a string that has escapes or non-ASCII bytes.
func (d *eventDecoder) slowString(start int) ([]byte, error) {
	b := make([]byte, 0, d.pos-start+64)
	b = append(b, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return b, nil
		case c < 0x20:
			return nil, d.fail("control character in a string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			b = utf8.AppendRune(b, r) // invalid bytes become U+FFFD
			d.pos += size
			continue
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos == len(d.data) {
			break
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if save := d.pos; d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					var ok2 bool
					if r2, ok2 = d.hex4(); !ok2 {
						return nil, d.fail("bad \\u escape")
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						continue
					}
					d.pos = save
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return nil, d.fail("bad escape")
		}
	}
	return nil, d.fail("unterminated string")
}

func (d *eventDecoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}
