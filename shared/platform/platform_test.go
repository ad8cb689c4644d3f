package platform_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/config"
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

// TestFunctionsBuildFromTheirOwnSecrets builds each function's handler from
// a configuration holding only the secrets Secrets gives it, as its cold
// start in Lambda reads them.
func TestFunctionsBuildFromTheirOwnSecrets(t *testing.T) {
	for _, fn := range []string{routes.Ticket, routes.Authorize, routes.Message, routes.Refresh} {
		t.Run(fn, func(t *testing.T) {
			cfg := samples.Config("http://127.0.0.1:1", "http://127.0.0.1:1")
			cfg.Omitted = config.AllSecrets &^ platform.Secrets(fn)
			for _, s := range []struct {
				secret config.Secrets
				value  *string
			}{
				{config.SecretComponentToken, &cfg.ComponentToken},
				{config.SecretComponentAESKey, &cfg.ComponentAESKey},
				{config.SecretState, &cfg.StateSecret},
			} {
				if cfg.Omitted&s.secret != 0 {
					*s.value = ""
				}
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			p, err := platform.New(platform.Options{Config: cfg, Store: simtest.OpenStore(t, nil), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if fn == routes.Refresh {
				return
			}
			if _, err := p.Handler(fn); err != nil {
				t.Errorf("Handler: %v", err)
			}
		})
	}
	// A function without the message secrets cannot serve pushes.
	cfg := samples.Config("http://127.0.0.1:1", "http://127.0.0.1:1")
	cfg.Omitted = config.SecretComponentToken | config.SecretComponentAESKey
	cfg.ComponentToken, cfg.ComponentAESKey = "", ""
	p, err := platform.New(platform.Options{Config: cfg, Store: simtest.OpenStore(t, nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{routes.Ticket, routes.Message} {
		if _, err := p.Handler(fn); err == nil {
			t.Errorf("%s handler built without the message token and key", fn)
		}
	}
	if platform.Secrets(routes.Message)&config.SecretState != 0 {
		t.Error("the message function reads the state secret")
	}
}
