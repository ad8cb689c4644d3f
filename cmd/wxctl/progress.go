package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/wxcomponent/wxcomponent/internal/console"
)

// logger is the platform's log for wxctl: warnings and errors, one short
// line each on a terminal, JSON in scripts (--json, or stderr redirected).
func (c *command) logger() *slog.Logger {
	level := &slog.HandlerOptions{Level: slog.LevelWarn}
	if c.opts.json || !console.Terminal(c.stderr) {
		return slog.New(slog.NewJSONHandler(c.stderr, level))
	}
	return slog.New(console.NewHandler(c.stderr, level))
}

// progress draws a bar of done out of total on a terminal, redrawn in
// place; elsewhere (a script, --json) it writes nothing.
type progress struct {
	w     io.Writer // nil: quiet
	label string
	total int
	shown int // the last percentage drawn, to redraw only when it moves
}

// newProgress returns the bar for c's stderr.
func (c *command) newProgress(label string, total int) *progress {
	p := &progress{label: label, total: total, shown: -1}
	if !c.opts.json && console.Terminal(c.stderr) {
		p.w = c.stderr
	}
	return p
}

// set moves the bar to done, with a note after it.
func (p *progress) set(done int, note string) {
	if p.w == nil || p.total <= 0 {
		return
	}
	pct := min(100, done*100/p.total)
	if pct == p.shown && done != p.total {
		return
	}
	p.shown = pct
	fmt.Fprintf(p.w, "\r\033[K%s", bar(p.label, done, p.total, 30, note))
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.w != nil && p.shown >= 0 {
		fmt.Fprintln(p.w)
	}
}

// bar renders "label [#####.....]  50%  5/10  note" with width cells.
func bar(label string, done, total, width int, note string) string {
	filled := width * min(done, total) / max(total, 1)
	s := fmt.Sprintf("%s [%s%s] %3d%%  %d/%d", label, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		min(100, done*100/max(total, 1)), done, total)
	if note != "" {
		s += "  " + note
	}
	return s
}
