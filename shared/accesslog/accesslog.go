// Package accesslog is HTTP middleware that writes one log line per
// request: the route, the status, the latency and whatever the handler
// added about the request, at a level that follows the status.
package accesslog

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Options configure the middleware.
type Options struct {
	// Logger receives the lines; nil means slog.Default().
	Logger *slog.Logger
	// Message is each line's message; empty means "request".
	Message string
	// Now is the clock of the latency; nil means time.Now.
	Now func() time.Time
}

type lineKey struct{}

// line is one request's log line in the making; one allocation holds what
// a handler usually adds, the response writer's wrapper and the output.
type line struct {
	recorder
	added []slog.Attr
	buf   [6]slog.Attr
	out   [10]slog.Attr
}

// Add puts attrs on the log line of the request that ctx belongs to. Outside
// the middleware it does nothing.
func Add(ctx context.Context, attrs ...slog.Attr) {
	if l, ok := ctx.Value(lineKey{}).(*line); ok {
		l.added = append(l.added, attrs...)
	}
}

// Handler wraps next so that every request it serves is logged once, after
// next returns: Info below 400, Warn for 4xx, Error for 5xx.
func Handler(opts Options, next http.Handler) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	msg := opts.Message
	if msg == "" {
		msg = "request"
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		l := &line{recorder: recorder{ResponseWriter: w}}
		l.added = l.buf[:0]
		ctx := context.WithValue(r.Context(), lineKey{}, l)
		r = r.WithContext(ctx)
		next.ServeHTTP(&l.recorder, r)
		status := l.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelWarn
		}
		attrs := append(l.out[:0],
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.Int("status", status),
			slog.Int64("latency_ms", now().Sub(start).Milliseconds()),
		)
		attrs = append(attrs, l.added...)
		log.LogAttrs(ctx, level, msg, attrs...)
	})
}

// recorder keeps the status a handler answered with.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
