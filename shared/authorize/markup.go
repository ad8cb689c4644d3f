package authorize

import (
	"html"
	"net/url"
	"strings"
)

// markup is HTML that is safe to write as it is.
//
// The pages are written by plain Go functions rather than html/template,
// whose executor calls reflect.Value.MethodByName: that makes the linker keep
// every exported method of every type in the binary, the whole AWS SDK's, and
// puts the authorize function over its size budget. Safety comes from this
// type instead. A page takes only markup; untyped string constants (this
// package's own HTML) convert to it implicitly, while any other string
// becomes markup only through text or attrURL, which escape it for where it
// goes.
type markup string

// text escapes s for element content.
func text(s string) markup {
	return markup(html.EscapeString(s))
}

// attrURL escapes u for a double-quoted href or src attribute. Only http(s)
// and relative URLs are kept: anything else, a javascript: URL above all,
// becomes "#", a link to the page itself.
func attrURL(u string) markup {
	if !safeURL(u) {
		return "#"
	}
	return markup(html.EscapeString(u))
}

// safeURL reports whether s is an http(s) or a relative URL. url.Parse
// rejects control characters and a colon in a relative URL's first segment,
// so nothing a browser would read as another scheme passes.
func safeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "" || u.Scheme == "http" || u.Scheme == "https")
}

// page is an HTML document being written.
type page struct {
	b strings.Builder
}

// line writes parts and a newline.
func (p *page) line(parts ...markup) {
	for _, m := range parts {
		p.b.WriteString(string(m))
	}
	p.b.WriteByte('\n')
}

// String returns the document written so far.
func (p *page) String() string {
	return p.b.String()
}
