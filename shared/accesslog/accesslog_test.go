package accesslog_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accesslog"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantLevel string
		wantCode  int
		wantAttr  map[string]any
	}{
		{
			name: "ok with attributes",
			handler: func(w http.ResponseWriter, r *http.Request) {
				accesslog.Add(r.Context(), slog.String("appid", "wx1234"))
				w.Write([]byte("success"))
			},
			wantLevel: "INFO", wantCode: 200, wantAttr: map[string]any{"appid": "wx1234"},
		},
		{
			name:      "no write at all is 200",
			handler:   func(http.ResponseWriter, *http.Request) {},
			wantLevel: "INFO", wantCode: 200,
		},
		{
			name: "client error warns",
			handler: func(w http.ResponseWriter, r *http.Request) {
				accesslog.Add(r.Context(), slog.String("err", "bad signature"))
				http.Error(w, "no", http.StatusUnauthorized)
			},
			wantLevel: "WARN", wantCode: 401, wantAttr: map[string]any{"err": "bad signature"},
		},
		{
			name: "server error is an error; the first status counts",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.WriteHeader(http.StatusOK)
			},
			wantLevel: "ERROR", wantCode: 503,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clock := time.Unix(1700000000, 0)
			now := func() time.Time { clock = clock.Add(7 * time.Millisecond); return clock }
			mux := http.NewServeMux()
			mux.Handle("POST /wechat/{appid}/callback", tt.handler)
			h := accesslog.Handler(accesslog.Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Message: "message", Now: now}, mux)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat/wx1234/callback", nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantCode)
			}
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			want := map[string]any{
				"level": tt.wantLevel, "msg": "message", "method": "POST",
				"route": "POST /wechat/{appid}/callback", "status": float64(tt.wantCode), "latency_ms": float64(7),
			}
			for k, v := range tt.wantAttr {
				want[k] = v
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, buf.String())
				}
			}
		})
	}
}

func TestAddOutsideMiddleware(t *testing.T) {
	// Must not panic: handlers are also called directly in tests.
	accesslog.Add(t.Context(), slog.String("k", "v"))
}
