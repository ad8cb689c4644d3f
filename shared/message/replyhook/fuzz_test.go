package replyhook_test

import (
	"testing"

	"github.com/wxcomponent/wxcomponent/shared/message/replyhook"
)

// FuzzParseAnswer: whatever a hook answers, ParseAnswer returns a reply or
// an error, never both, and never panics.
func FuzzParseAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"type":"text","content":"hi"}`, `{"type":"news","articles":[{"title":"a"}]}`,
		`{"type":"music","thumb_media_id":"m"}`, `null`, `{"type":"none"}`, `{"type":"text"}`, `[`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := replyhook.ParseAnswer(data)
		if err != nil && !r.IsZero() {
			t.Errorf("%q: a %s reply with the error %v", data, r.MsgType(), err)
		}
	})
}
