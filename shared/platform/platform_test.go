package platform_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

// TestHandlersServeTheRouteTable checks that every route of package routes,
// which the template is checked against, is a pattern that its function's
// handler registers: a route the handler does not know would answer 404 or
// 405 in AWS.
func TestHandlersServeTheRouteTable(t *testing.T) {
	p, err := platform.New(platform.Options{
		Config: samples.Config("http://127.0.0.1:1", "http://127.0.0.1:1"),
		Store:  simtest.OpenStore(t, nil),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.All {
		t.Run(r.Pattern(), func(t *testing.T) {
			h, err := p.Handler(r.Function)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(r.Method, strings.ReplaceAll(r.Path, "{appid}", "wx0123456789abcdef"), nil))
			if w.Code == http.StatusNotFound || w.Code == http.StatusMethodNotAllowed {
				t.Errorf("%s function answers %d: it does not route %s", r.Function, w.Code, r.Pattern())
			}
		})
	}
	if _, err := p.Handler(routes.Refresh); err == nil {
		t.Error("the refresh function has an HTTP handler")
	}
}
