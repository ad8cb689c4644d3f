package tokenfunc_test

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokenfunc"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// FuzzInvoke: whatever a caller sends, the function answers one JSON
// document holding either a token with its expiry or an error code with a
// message.
func FuzzInvoke(f *testing.F) {
	for _, seed := range []string{
		`{"appid":"wx00000000000000aa"}`, `{"component":true}`, `{"appid":"wx00000000000000aa","ticket":"jsapi"}`,
		`{}`, `null`, `[]`, `{"appid":1}`, `{"component":true,"appid":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	exp := now.Add(time.Hour)
	st := fakeStore{
		component: store.ComponentToken{AccessToken: "cat", ExpiresAt: exp},
		auth:      map[string]store.Authorizer{"wx00000000000000aa": {AccessToken: "tok", ExpiresAt: exp}},
	}
	h := tokenfunc.New(tokenfunc.Options{
		Tokens: fakeTokens{st: st}, Expiries: st,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := h.Invoke(t.Context(), data)
		if err != nil {
			t.Fatal(err)
		}
		var a tokens.Answer
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatalf("%q: answer %s: %v", data, out, err)
		}
		token := a.AccessToken != "" || a.Ticket != ""
		if token == (a.Error != "") || (token && a.ExpiresAt == 0) || (a.Error != "" && a.Message == "") {
			t.Errorf("%q: answer %s is neither a token with its expiry nor an error with a message", data, out)
		}
	})
}
