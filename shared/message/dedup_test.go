package message_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/message"
)

// stepClock is a clock tests move by hand.
type stepClock struct{ unix atomic.Int64 }

func (c *stepClock) now() time.Time        { return time.Unix(c.unix.Load(), 0) }
func (c *stepClock) set(created, at int64) { c.unix.Store(created + at) }

// TestNewMessageOneRequest: on the warm path (the account known active) a
// new message costs one store request; WeChat's retries at five and ten
// seconds run no handler and get the first reply.
func TestNewMessageOneRequest(t *testing.T) {
	tests := []struct {
		name  string
		reply message.Reply
	}{
		{"reply", message.TextReply("hello")},
		{"no reply", message.Reply{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clock stepClock
			clock.set(testCreateTime, 1)
			st := newMemStore(clock.now)
			var runs counter
			r := message.NewRouter()
			r.Handle(message.TypeText, runs.replying(tt.reply))
			h := newHandler(t, st, r, message.Options{Now: clock.now})
			if rec := post(h, accountAppID, seal(t, textAt(1, testCreateTime, "warm up"), accountName)); rec.Code != http.StatusOK {
				t.Fatalf("warm-up answered %d", rec.Code)
			}

			push := seal(t, textAt(2, testCreateTime, "hi"), accountName)
			c := newCrypter(t)
			// The answer as the user sees it: the reply document, or the body.
			answer := func(rec *httptest.ResponseRecorder) string {
				t.Helper()
				if rec.Code != http.StatusOK {
					t.Fatalf("answered %d %q", rec.Code, rec.Body)
				}
				if tt.reply.IsZero() {
					return rec.Body.String()
				}
				plain, err := c.OpenReply(rec.Body.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				return string(plain)
			}
			st.requests.Store(0)
			first := answer(post(h, accountAppID, push))
			if n := st.requests.Load(); n != 1 {
				t.Errorf("new message: %d store requests, want 1", n)
			}
			for _, at := range []int64{6, 11} {
				clock.set(testCreateTime, at)
				if retry := answer(post(h, accountAppID, push)); retry != first {
					t.Errorf("retry at +%ds answered %q, want the first answer %q", at, retry, first)
				}
			}
			if runs.runs() != 2 {
				t.Errorf("handler ran %d times for the warm-up and one message, want 2", runs.runs())
			}
		})
	}
}

// TestSlowNewMessageClaims: a handler that outlasts the claim grace gets an
// in-flight claim, so that WeChat's retry five seconds later waits for its
// reply instead of running the handler again.
func TestSlowNewMessageClaims(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		created := time.Now().Unix()
		st := newMemStore(time.Now)
		release := make(chan struct{})
		var runs counter
		r := message.NewRouter()
		r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
			runs.n.Add(1)
			<-release
			return message.TextReply("slow"), nil
		})
		h := newHandler(t, st, r, message.Options{Now: time.Now, RetryWait: 4 * time.Second})
		push := sealAt(t, textAt(3, created, "hi"), accountName, time.Unix(created, 0))

		var wg sync.WaitGroup
		bodies := make([][]byte, 2)
		wg.Go(func() { bodies[0] = post(h, accountAppID, push).Body.Bytes() })
		time.Sleep(message.DefaultClaimGrace / 2)
		synctest.Wait()
		if n := st.liveSeen(); n != 0 {
			t.Errorf("%d records within the grace, want none", n)
		}
		time.Sleep(5*time.Second - message.DefaultClaimGrace/2)
		synctest.Wait()
		if n := st.liveSeen(); n != 1 {
			t.Errorf("%d records after the grace, want the claim", n)
		}
		wg.Go(func() { bodies[1] = post(h, accountAppID, push).Body.Bytes() })
		time.Sleep(time.Second)
		close(release)
		wg.Wait()

		c := newCrypter(t)
		if a, b := openReply(t, c, bodies[0]).Get("Content"), openReply(t, c, bodies[1]).Get("Content"); a != "slow" || b != "slow" {
			t.Errorf("replies %q and %q, want both \"slow\"", a, b)
		}
		if runs.runs() != 1 {
			t.Errorf("handler ran %d times, want 1", runs.runs())
		}
	})
}

// TestDuplicateDeliveryAnswersAlike: the same message delivered twice
// within the fresh window (not WeChat's retry pattern) runs the handler
// twice, as documented, but both answers are the first reply.
func TestDuplicateDeliveryAnswersAlike(t *testing.T) {
	var clock stepClock
	clock.set(testCreateTime, 0)
	var runs atomic.Int64
	r := message.NewRouter()
	r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		if runs.Add(1) == 1 {
			return message.TextReply("first"), nil
		}
		return message.TextReply("second"), nil
	})
	h := newHandler(t, newMemStore(clock.now), r, message.Options{Now: clock.now})
	push := seal(t, textAt(4, testCreateTime, "hi"), accountName)
	c := newCrypter(t)
	first := openReply(t, c, post(h, accountAppID, push).Body.Bytes()).Get("Content")
	clock.set(testCreateTime, 1)
	again := openReply(t, c, post(h, accountAppID, push).Body.Bytes()).Get("Content")
	if first != "first" || again != "first" || runs.Load() != 2 {
		t.Errorf("answers %q, %q after %d runs; want both \"first\" after 2", first, again, runs.Load())
	}
}
