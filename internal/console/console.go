// Package console is a log/slog handler for a person at a terminal: one
// short line per event, "15:04:05 WARN message key=value …", instead of the
// JSON the functions write for CloudWatch. The operator's tools (make dev,
// wxctl) use it on a terminal and JSON elsewhere.
package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Handler writes records as short lines. It is safe for concurrent use.
type Handler struct {
	opts   slog.HandlerOptions
	mu     *sync.Mutex
	w      io.Writer
	prefix string // the pre-formatted attributes of WithAttrs
	group  string // the WithGroup prefix for keys, "a.b."
}

// NewHandler returns a handler writing to w; opts may be nil (level Info).
func NewHandler(w io.Writer, opts *slog.HandlerOptions) *Handler {
	h := &Handler{w: w, mu: new(sync.Mutex)}
	if opts != nil {
		h.opts = *opts
	}
	return h
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	least := slog.LevelInfo
	if h.opts.Level != nil {
		least = h.opts.Level.Level()
	}
	return l >= least
}

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if !r.Time.IsZero() {
		b.WriteString(r.Time.Format(time.TimeOnly))
		b.WriteByte(' ')
	}
	if r.Level != slog.LevelInfo {
		fmt.Fprintf(&b, "%-5s ", r.Level.String())
	}
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	c := *h
	c.prefix += b.String()
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group += name + "."
	return &c
}

// appendAttr writes " key=value", quoting values with spaces or quotes and
// flattening groups into dotted keys. Empty attributes and empty strings
// are left out: the line is for reading, not parsing.
func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) || (a.Value.Kind() == slog.KindString && a.Value.String() == "") {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	var v string
	switch a.Value.Kind() {
	case slog.KindTime:
		v = a.Value.Time().Format(time.RFC3339)
	case slog.KindDuration:
		v = a.Value.Duration().String()
	default:
		v = a.Value.String()
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == '"' || r == '=' }) {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

// Terminal reports whether w is a terminal (a character device), where a
// person reads the output, rather than a pipe or a file.
func Terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Span writes a duration the way a person reads it: "42s", "3m12s",
// "1h59m", "3d4h". Its precision shrinks as it grows.
func Span(d time.Duration) string {
	d = d.Abs()
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		return trimZero(fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second)), "00s")
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		return trimZero(fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute)), "00m")
	}
	d = d.Round(time.Hour)
	return trimZero(fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)), "0h")
}

func trimZero(s, zero string) string { return strings.TrimSuffix(s, zero) }
