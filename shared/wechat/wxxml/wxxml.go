// Package wxxml reads and writes WeChat's XML documents: a root <xml> element
// whose children are named values, such as
//
//	<xml><ToUserName><![CDATA[gh_x]]></ToUserName><CreateTime>1348831860</CreateTime>…</xml>
//
// A few messages nest elements (ScanCodeInfo, SendPicsInfo with a PicList of
// <item>s) and replies do too (Image/MediaId, Articles/item).
//
// The parser is written by hand for this one shape instead of using
// encoding/xml, which allocates per token: Parse converts the document to a
// string once and returns values that are substrings of it wherever the
// value is one CDATA section or one run of text without entity references, so
// a typical message costs two allocations. It accepts XML's syntax for that
// shape (an optional <?xml …?> declaration, comments, CDATA, the five
// predefined entities and numeric character references, self-closing elements,
// whitespace between elements) and rejects everything else: attributes,
// DOCTYPE and entity declarations (so there is no external entity to
// resolve), processing instructions after the declaration, text mixed with
// elements, unbalanced or mismatched tags, a root other than <xml>, and
// anything after it. Character data is not checked for XML's forbidden
// control characters; values are returned as they were sent.
//
// Build writes documents from Fields made with Text (a CDATA value), Int (a
// plain number, as WeChat writes CreateTime) and Elem (nested elements, as in
// image and news replies).
package wxxml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// MaxSize is the largest document Parse accepts, in bytes. WeChat's pushes
	// are a few KiB; the callback handlers read at most 64 KiB.
	MaxSize = 1 << 20
	// MaxDepth is the deepest element nesting Parse accepts, the root <xml>
	// being depth 0. WeChat's documents go three deep.
	MaxDepth = 16
	// maxName bounds element names.
	maxName = 256
	// rootName is the only root element WeChat uses.
	rootName = "xml"
)

// ErrTooLarge is returned (wrapped) by Parse for a document over MaxSize.
var ErrTooLarge = errors.New("wxxml: document too large")

// SyntaxError is a document Parse rejects.
type SyntaxError struct {
	Offset int // byte offset into the document
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("wxxml: syntax error at offset %d: %s", e.Offset, e.Msg)
}

// Field is one element of a document.
//
// Parse sets Name and Value, and Children for an element that contains
// elements; the Value of such an element is its raw inner XML.
//
// Build writes a Field with non-nil Children as an element holding those
// children (Value is ignored); else, with Number set, Value as plain text
// (escaped), which is how WeChat writes numbers such as CreateTime; else Value
// in a CDATA section. Text, Int and Elem make the three kinds.
type Field struct {
	Name     string
	Value    string
	Number   bool
	Children []Field
}

// Text returns a field whose value Build writes as CDATA.
func Text(name, value string) Field { return Field{Name: name, Value: value} }

// Int returns a field whose value Build writes as a plain decimal number.
func Int(name string, v int64) Field {
	return Field{Name: name, Value: strconv.FormatInt(v, 10), Number: true}
}

// Elem returns a field that Build writes as an element holding children,
// e.g. Elem("Image", Text("MediaId", id)); with no children it is an empty
// element.
func Elem(name string, children ...Field) Field {
	if children == nil {
		children = []Field{}
	}
	return Field{Name: name, Children: children}
}

// Fields returns f's children as Fields.
func (f Field) Fields() Fields { return Fields{list: f.Children} }

// Fields is a parsed document: the root's child elements in document order,
// each with its text (CDATA unwrapped, entities decoded). Nested elements keep
// their raw inner XML as the value and their parsed children in the Field;
// Sub reaches them. The zero value is an empty document.
type Fields struct {
	list []Field
}

// Get returns the value of the first element called name, or "".
func (f Fields) Get(name string) string {
	for i := range f.list {
		if f.list[i].Name == name {
			return f.list[i].Value
		}
	}
	return ""
}

// Has reports whether an element called name is present, even if empty.
func (f Fields) Has(name string) bool {
	for i := range f.list {
		if f.list[i].Name == name {
			return true
		}
	}
	return false
}

// All returns a copy of the elements in document order.
func (f Fields) All() []Field {
	return append([]Field(nil), f.list...)
}

// Sub returns the children of the first element called name: for
// <ScanCodeInfo><ScanType>…</ScanType></ScanCodeInfo>, Sub("ScanCodeInfo").Get("ScanType").
// Repeated children, such as a PicList's <item>s, are each a Field in All;
// their Fields method reaches inside them.
func (f Fields) Sub(name string) Fields {
	for i := range f.list {
		if f.list[i].Name == name {
			return Fields{list: f.list[i].Children}
		}
	}
	return Fields{}
}

// Parse parses a WeChat XML document. Broken or unsupported XML is a
// *SyntaxError, a document over MaxSize wraps ErrTooLarge; Parse never panics.
func Parse(data []byte) (Fields, error) {
	if len(data) > MaxSize {
		return Fields{}, fmt.Errorf("wxxml: %d bytes exceed %d: %w", len(data), MaxSize, ErrTooLarge)
	}
	// One copy; every value is then a substring of it where it can be.
	p := parser{s: string(data)}
	list, err := p.document()
	if err != nil {
		return Fields{}, err
	}
	return Fields{list: list}, nil
}

// Envelope is the outer document of an encrypted push:
// <xml><AppId|ToUserName>…</…><Encrypt>…</Encrypt></xml>. Pushes to the
// authorization-event URL carry AppId (the component), pushes to a message
// URL carry ToUserName (the account's original id).
type Envelope struct {
	AppID, ToUserName, Encrypt string
}

// ParseEnvelope parses an encrypted push's outer document. A missing or empty
// Encrypt element is an error.
func ParseEnvelope(data []byte) (Envelope, error) {
	f, err := Parse(data)
	if err != nil {
		return Envelope{}, err
	}
	e := Envelope{AppID: f.Get("AppId"), ToUserName: f.Get("ToUserName"), Encrypt: f.Get("Encrypt")}
	if e.Encrypt == "" {
		return Envelope{}, errors.New("wxxml: envelope has no Encrypt element")
	}
	return e, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) errorf(offset int, format string, args ...any) error {
	return &SyntaxError{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) rest() string { return p.s[p.pos:] }

func (p *parser) document() ([]Field, error) {
	p.pos = 0
	if strings.HasPrefix(p.s, "\xef\xbb\xbf") {
		p.pos = 3
	}
	p.skipSpace()
	if r := p.rest(); strings.HasPrefix(r, "<?xml") && len(r) > 5 && isSpace(r[5]) {
		end := strings.Index(r, "?>")
		if end < 0 {
			return nil, p.errorf(p.pos, "unterminated XML declaration")
		}
		p.pos += end + len("?>")
	}
	if err := p.misc(); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(p.rest(), "<") || strings.HasPrefix(p.rest(), "<!") || strings.HasPrefix(p.rest(), "<?") {
		return nil, p.errorf(p.pos, "want root element <%s>", rootName)
	}
	start := p.pos
	name, empty, err := p.startTag()
	if err != nil {
		return nil, err
	}
	if name != rootName {
		return nil, p.errorf(start, "root element <%s>, want <%s>", name, rootName)
	}
	var list []Field
	if !empty {
		c, err := p.content(name, 0, rootCapacity(p.s))
		if err != nil {
			return nil, err
		}
		if c.text {
			return nil, p.errorf(start, "text directly inside <%s>", rootName)
		}
		list = c.children
	}
	if err := p.misc(); err != nil {
		return nil, err
	}
	if p.pos != len(p.s) {
		return nil, p.errorf(p.pos, "data after </%s>", rootName)
	}
	return list, nil
}

// rootCapacity guesses how many children the root has, so that a typical
// message fills one allocation: every element ends with "</" or "/>".
func rootCapacity(s string) int {
	return min(strings.Count(s, "</")+strings.Count(s, "/>"), 64)
}

// misc skips whitespace and comments.
func (p *parser) misc() error {
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.rest(), "<!--") {
			return nil
		}
		if err := p.comment(); err != nil {
			return err
		}
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAllSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// comment skips a comment; p.pos is at "<!--".
func (p *parser) comment() error {
	end := strings.Index(p.s[p.pos+len("<!--"):], "-->")
	if end < 0 {
		return p.errorf(p.pos, "unterminated comment")
	}
	p.pos += len("<!--") + end + len("-->")
	return nil
}

// name reads an element name at p.pos.
func (p *parser) name() (string, error) {
	start := p.pos
	n := nameLen(p.rest())
	if n == 0 {
		return "", p.errorf(start, "want an element name")
	}
	if n > maxName {
		return "", p.errorf(start, "element name longer than %d bytes", maxName)
	}
	p.pos += n
	return p.s[start:p.pos], nil
}

// nameLen returns the length of the name at the start of s: ASCII letters,
// digits, '_', '-' and '.', not starting with a digit, '-' or '.'. XML allows
// more, WeChat uses none of it.
func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '.'):
		default:
			return i
		}
	}
	return len(s)
}

// validName reports whether s is a whole name as nameLen reads it.
func validName(s string) bool {
	return s != "" && len(s) <= maxName && nameLen(s) == len(s)
}

// startTag reads "<name>" or "<name/>"; p.pos is at '<'.
func (p *parser) startTag() (name string, empty bool, err error) {
	p.pos++
	if name, err = p.name(); err != nil {
		return "", false, err
	}
	p.skipSpace()
	switch r := p.rest(); {
	case strings.HasPrefix(r, "/>"):
		p.pos += 2
		return name, true, nil
	case strings.HasPrefix(r, ">"):
		p.pos++
		return name, false, nil
	case r == "":
		return "", false, p.errorf(p.pos, "unterminated start tag <%s", name)
	default:
		return "", false, p.errorf(p.pos, "attributes or junk in start tag <%s>", name)
	}
}

// element reads an element at depth; p.pos is at its '<'.
func (p *parser) element(depth int) (Field, error) {
	name, empty, err := p.startTag()
	if err != nil || empty {
		return Field{Name: name}, err
	}
	c, err := p.content(name, depth, 0)
	if err != nil {
		return Field{}, err
	}
	if c.children != nil {
		return Field{Name: name, Value: c.inner, Children: c.children}, nil
	}
	return Field{Name: name, Value: c.value}, nil
}

type content struct {
	value    string  // the text, for an element without children
	inner    string  // the raw inner XML
	children []Field // the child elements, nil if none
	text     bool    // whether there was text other than whitespace, or CDATA
}

// content reads what follows the start tag of name, at depth, through its end
// tag. capacity sizes the children slice.
func (p *parser) content(name string, depth, capacity int) (content, error) {
	var (
		c     content
		v     valueBuilder
		inner = p.pos
		open  = p.pos
	)
	for {
		r := p.rest()
		if r == "" {
			return c, p.errorf(open, "unclosed <%s>", name)
		}
		if r[0] != '<' {
			n := strings.IndexByte(r, '<')
			if n < 0 {
				n = len(r)
			}
			text := r[:n]
			if !isAllSpace(text) {
				c.text = true
			}
			// Once there are children the text can only be whitespace
			// between them (anything else fails below): no value to build.
			if c.children == nil {
				if err := p.charData(text, &v); err != nil {
					return c, err
				}
			}
			p.pos += n
			continue
		}
		switch {
		case strings.HasPrefix(r, "</"):
			end := p.pos
			p.pos += 2
			got, err := p.name()
			if err != nil {
				return c, err
			}
			if got != name {
				return c, p.errorf(end, "end tag </%s> does not match <%s>", got, name)
			}
			p.skipSpace()
			if !strings.HasPrefix(p.rest(), ">") {
				return c, p.errorf(p.pos, "malformed end tag </%s>", name)
			}
			p.pos++
			if c.children != nil && c.text {
				return c, p.errorf(open, "text mixed with elements in <%s>", name)
			}
			c.inner = p.s[inner:end]
			c.value = v.String()
			return c, nil
		case strings.HasPrefix(r, "<![CDATA["):
			body := r[len("<![CDATA["):]
			n := strings.Index(body, "]]>")
			if n < 0 {
				return c, p.errorf(p.pos, "unterminated CDATA section")
			}
			v.add(body[:n])
			c.text = true
			p.pos += len("<![CDATA[") + n + len("]]>")
		case strings.HasPrefix(r, "<!--"):
			if err := p.comment(); err != nil {
				return c, err
			}
		case strings.HasPrefix(r, "<!"):
			return c, p.errorf(p.pos, "declarations (DOCTYPE, ENTITY, …) are not allowed")
		case strings.HasPrefix(r, "<?"):
			return c, p.errorf(p.pos, "processing instructions are not allowed")
		default:
			if depth+1 > MaxDepth {
				return c, p.errorf(p.pos, "elements nested deeper than %d", MaxDepth)
			}
			child, err := p.element(depth + 1)
			if err != nil {
				return c, err
			}
			if c.children == nil {
				c.children = make([]Field, 0, max(capacity, 4))
				v = valueBuilder{}
			}
			c.children = append(c.children, child)
		}
	}
}

// charData adds the text s, which starts at p.pos, to v, decoding entity and
// character references.
func (p *parser) charData(s string, v *valueBuilder) error {
	if i := strings.Index(s, "]]>"); i >= 0 {
		return p.errorf(p.pos+i, "]]> in text")
	}
	off := p.pos
	for {
		amp := strings.IndexByte(s, '&')
		if amp < 0 {
			v.add(s)
			return nil
		}
		v.add(s[:amp])
		s, off = s[amp:], off+amp
		semi := strings.IndexByte(s, ';')
		if semi < 0 || semi > 10 {
			return p.errorf(off, "malformed entity reference")
		}
		r, ok := entity(s[1:semi])
		if !ok {
			return p.errorf(off, "unknown or invalid entity reference &%s;", s[1:semi])
		}
		v.addRune(r)
		s, off = s[semi+1:], off+semi+1
	}
}

// entity decodes the reference &name;.
func entity(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	var n uint64
	var err error
	switch {
	case strings.HasPrefix(name, "#x"):
		n, err = strconv.ParseUint(name[2:], 16, 32)
	case strings.HasPrefix(name, "#"):
		n, err = strconv.ParseUint(name[1:], 10, 32)
	default:
		return 0, false
	}
	if err != nil || !isXMLChar(n) {
		return 0, false
	}
	return rune(n), true
}

// isXMLChar reports whether a character reference may name n.
func isXMLChar(n uint64) bool {
	switch {
	case n == 0x9, n == 0xA, n == 0xD:
		return true
	case 0x20 <= n && n <= 0xD7FF, 0xE000 <= n && n <= 0xFFFD, 0x10000 <= n && n <= utf8.MaxRune:
		return true
	}
	return false
}

// valueBuilder joins the pieces of an element's text. One piece stays a
// substring of the document; only a value made of several pieces (text
// around CDATA, entity references) is copied.
type valueBuilder struct {
	first string
	buf   []byte
	multi bool
}

func (v *valueBuilder) add(s string) {
	switch {
	case s == "":
	case v.multi:
		v.buf = append(v.buf, s...)
	case v.first == "":
		v.first = s
	default:
		v.toMulti()
		v.buf = append(v.buf, s...)
	}
}

func (v *valueBuilder) addRune(r rune) {
	if !v.multi {
		v.toMulti()
	}
	v.buf = utf8.AppendRune(v.buf, r)
}

func (v *valueBuilder) toMulti() {
	v.buf = append([]byte(nil), v.first...)
	v.multi = true
}

func (v *valueBuilder) String() string {
	if v.multi {
		return string(v.buf)
	}
	return v.first
}

// Build writes fields as a <xml> document, each as Field describes. Element
// names are fixed by the calling code, so Build panics on one that Parse would
// not accept (ASCII letters, digits, '_', '-' and '.', not starting with a
// digit, '-' or '.').
func Build(fields ...Field) []byte {
	b := make([]byte, 0, len("<xml></xml>")+buildLen(fields))
	b = append(b, "<xml>"...)
	b = appendFields(b, fields)
	return append(b, "</xml>"...)
}

const (
	cdataOpen  = "<![CDATA["
	cdataClose = "]]>"
	// cdataSplit ends a CDATA section after "]]" and opens another before
	// ">", so that a value containing "]]>" survives.
	cdataSplit = "]]><![CDATA["
)

func buildLen(fields []Field) int {
	n := 0
	for _, f := range fields {
		n += 2*len(f.Name) + len("<></>")
		switch {
		case f.Children != nil:
			n += buildLen(f.Children)
		case f.Number:
			n += len(f.Value)
			for i := 0; i < len(f.Value); i++ {
				switch f.Value[i] {
				case '&':
					n += len("&amp;") - 1
				case '<', '>':
					n += len("&lt;") - 1
				}
			}
		default:
			n += len(cdataOpen) + len(f.Value) + len(cdataClose) +
				strings.Count(f.Value, "]]>")*len(cdataSplit)
		}
	}
	return n
}

func appendFields(b []byte, fields []Field) []byte {
	for _, f := range fields {
		if !validName(f.Name) {
			panic(fmt.Sprintf("wxxml: Build: invalid element name %q", f.Name))
		}
		b = append(b, '<')
		b = append(b, f.Name...)
		b = append(b, '>')
		switch {
		case f.Children != nil:
			b = appendFields(b, f.Children)
		case f.Number:
			b = appendEscaped(b, f.Value)
		default:
			b = appendCDATA(b, f.Value)
		}
		b = append(b, "</"...)
		b = append(b, f.Name...)
		b = append(b, '>')
	}
	return b
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendCDATA(b []byte, s string) []byte {
	b = append(b, cdataOpen...)
	for {
		i := strings.Index(s, "]]>")
		if i < 0 {
			break
		}
		b = append(b, s[:i+2]...)
		b = append(b, cdataSplit...)
		s = s[i+2:]
	}
	b = append(b, s...)
	return append(b, cdataClose...)
}
