package console_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/console"
)

func TestLines(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"info has no level", func(l *slog.Logger) { l.Info("ticket stored", "component_appid", "wxc") },
			"08:04:05 ticket stored component_appid=wxc\n"},
		{"warning names its level", func(l *slog.Logger) { l.Warn("refresh run", "err", "dial tcp: refused") },
			"08:04:05 WARN  refresh run err=\"dial tcp: refused\"\n"},
		{"below the level", func(l *slog.Logger) { l.Debug("noise") }, ""},
		{"attrs and groups", func(l *slog.Logger) {
			l.With("function", "ticket").WithGroup("req").Info("request", "status", 200, "took", 1500*time.Millisecond)
		}, "08:04:05 request function=ticket req.status=200 req.took=1.5s\n"},
		{"empty and nested", func(l *slog.Logger) {
			l.Info("x", "empty", "", slog.Group("g", "a", 1), slog.Group("", "b", 2))
		}, "08:04:05 x g.a=1 b=2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			h := console.NewHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo})
			tt.log(slog.New(fixedTime{h, at}))
			if b.String() != tt.want {
				t.Fatalf("got  %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}

// fixedTime stamps every record with one time, so lines can be compared.
type fixedTime struct {
	slog.Handler
	at time.Time
}

func (f fixedTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = f.at
	return f.Handler.Handle(ctx, r)
}

func (f fixedTime) WithAttrs(a []slog.Attr) slog.Handler {
	return fixedTime{f.Handler.WithAttrs(a), f.at}
}
func (f fixedTime) WithGroup(g string) slog.Handler { return fixedTime{f.Handler.WithGroup(g), f.at} }
