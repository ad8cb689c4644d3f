package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

func leaseTests() []test {
	return []test{
		{"HeldUntilExpiry", func(t *testing.T, e *env) {
			now := e.clock.Now()
			wantErr(t, "A acquires", e.s.AcquireLease(e.ctx, "job", "A", now.Add(30*time.Second)), nil)
			wantErr(t, "B acquires", e.s.AcquireLease(e.ctx, "job", "B", now.Add(30*time.Second)), store.ErrLeaseHeld)
			until := now.Add(time.Minute)
			wantErr(t, "A extends", e.s.AcquireLease(e.ctx, "job", "A", until), nil)
			e.wantHeldUntil(t, KindLease, "job", until)
			e.clock.Set(until.Add(-time.Millisecond))
			wantErr(t, "B acquires just before expiry", e.s.AcquireLease(e.ctx, "job", "B", until.Add(time.Minute)), store.ErrLeaseHeld)
			e.clock.Set(until)
			wantErr(t, "B acquires at expiry", e.s.AcquireLease(e.ctx, "job", "B", until.Add(time.Minute)), nil)
			wantErr(t, "A acquires again", e.s.AcquireLease(e.ctx, "job", "A", until.Add(time.Minute)), store.ErrLeaseHeld)
			wantErr(t, "A acquires another name", e.s.AcquireLease(e.ctx, "other", "A", until.Add(time.Minute)), nil)
		}},
		{"Release", func(t *testing.T, e *env) {
			until := e.clock.Now().Add(30 * time.Second)
			wantErr(t, "release a lease nobody holds", e.s.ReleaseLease(e.ctx, "job", "A"), nil)
			wantErr(t, "A acquires", e.s.AcquireLease(e.ctx, "job", "A", until), nil)
			wantErr(t, "B releases A's lease", e.s.ReleaseLease(e.ctx, "job", "B"), nil)
			wantErr(t, "B acquires", e.s.AcquireLease(e.ctx, "job", "B", until), store.ErrLeaseHeld)
			wantErr(t, "A releases", e.s.ReleaseLease(e.ctx, "job", "A"), nil)
			wantErr(t, "B acquires after release", e.s.AcquireLease(e.ctx, "job", "B", until), nil)
		}},
		{"ConcurrentAcquire", func(t *testing.T, e *env) {
			until := e.clock.Now().Add(30 * time.Second)
			errs := race(contenders, func(i int) error {
				return e.s.AcquireLease(e.ctx, "job", fmt.Sprint("owner-", i), until)
			})
			w := oneWinner(t, errs, store.ErrLeaseHeld)
			wantErr(t, "winner extends", e.s.AcquireLease(e.ctx, "job", fmt.Sprint("owner-", w), until.Add(time.Second)), nil)
		}},
	}
}

func seenTests() []test {
	return []test{
		{"PutIfAbsent", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(5 * time.Minute)
			wantPut := func(value string, wantPrior string, want error) {
				t.Helper()
				prior, err := e.s.PutSeenIfAbsent(e.ctx, "msg", []byte(value), expires)
				wantErr(t, "put "+value+" if absent", err, want)
				if want != nil && string(prior) != wantPrior {
					t.Fatalf("put %s if absent: got prior %q, want %q", value, prior, wantPrior)
				}
			}
			wantPut("first", "", nil)
			wantPut("second", "first", store.ErrExists)
			wantErr(t, "put seen", e.s.PutSeen(e.ctx, "msg", []byte("third"), expires), nil)
			wantPut("fourth", "third", store.ErrExists)

			e.clock.Set(sec(expires))
			e.wantHeldUntil(t, KindSeen, "msg", sec(expires))
			expires = expires.Add(5 * time.Minute)
			wantPut("fifth", "", nil)
			wantPut("sixth", "fifth", store.ErrExists)
		}},
		{"EmptyValue", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(time.Minute)
			_, err := e.s.PutSeenIfAbsent(e.ctx, "msg", nil, expires)
			wantErr(t, "put empty", err, nil)
			prior, err := e.s.PutSeenIfAbsent(e.ctx, "msg", []byte("x"), expires)
			wantErr(t, "put again", err, store.ErrExists)
			if len(prior) != 0 {
				t.Fatalf("prior %q, want empty", prior)
			}
		}},
		// A claim is given up by overwriting it with an expiry of now.
		{"ExpireNow", func(t *testing.T, e *env) {
			_, err := e.s.PutSeenIfAbsent(e.ctx, "code", nil, e.clock.Now().Add(time.Minute))
			wantErr(t, "claim", err, nil)
			wantErr(t, "give up", e.s.PutSeen(e.ctx, "code", nil, e.clock.Now()), nil)
			_, err = e.s.PutSeenIfAbsent(e.ctx, "code", []byte("again"), e.clock.Now().Add(time.Minute))
			wantErr(t, "claim again", err, nil)
		}},
		{"Concurrent", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(time.Minute)
			priors := make([][]byte, contenders)
			errs := race(contenders, func(i int) error {
				var err error
				priors[i], err = e.s.PutSeenIfAbsent(e.ctx, "msg", []byte(fmt.Sprint("reply-", i)), expires)
				return err
			})
			w := oneWinner(t, errs, store.ErrExists)
			for i, p := range priors {
				if i != w && string(p) != fmt.Sprint("reply-", w) {
					t.Fatalf("loser %d got prior %q, want the winner's reply-%d", i, p, w)
				}
			}
		}},
	}
}

// contextTests check that every method reports a cancelled context as an
// error wrapping context.Canceled.
func contextTests() []test {
	return []test{
		{"Canceled", func(t *testing.T, e *env) {
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			now := e.clock.Now()
			calls := map[string]func() error{
				"PutTicket": func() error {
					return e.s.PutTicket(ctx, store.Ticket{ComponentAppID: "c", Ticket: "t", CreateTime: now})
				},
				"GetTicket": func() error { _, err := e.s.GetTicket(ctx, "c"); return err },
				"PutComponentToken": func() error {
					_, err := e.s.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: "c", AccessToken: "t", ExpiresAt: now.Add(time.Hour)})
					return err
				},
				"GetComponentToken": func() error { _, err := e.s.GetComponentToken(ctx, "c"); return err },
				"PutAuthorizer": func() error {
					_, err := e.s.PutAuthorizer(ctx, newAuthorizer("a", now))
					return err
				},
				"GetAuthorizer":   func() error { _, err := e.s.GetAuthorizer(ctx, "a"); return err },
				"ListAuthorizers": func() error { _, err := e.s.ListAuthorizers(ctx, "", 10); return err },
				"DueAuthorizers":  func() error { _, err := e.s.DueAuthorizers(ctx, now, 10); return err },
				"ClaimDue": func() error {
					_, err := e.s.ClaimDue(ctx, "a", now, now.Add(time.Minute))
					return err
				},
				"PutProfile":   func() error { return e.s.PutProfile(ctx, newProfile("a", now)) },
				"GetProfile":   func() error { _, err := e.s.GetProfile(ctx, "a"); return err },
				"AcquireLease": func() error { return e.s.AcquireLease(ctx, "l", "o", now.Add(time.Minute)) },
				"ReleaseLease": func() error { return e.s.ReleaseLease(ctx, "l", "o") },
				"PutSeenIfAbsent": func() error {
					_, err := e.s.PutSeenIfAbsent(ctx, "k", nil, now.Add(time.Minute))
					return err
				},
				"PutSeen":    func() error { return e.s.PutSeen(ctx, "k", nil, now.Add(time.Minute)) },
				"ClaimNonce": func() error { return e.s.ClaimNonce(ctx, "n", now.Add(time.Minute)) },
				"PutPendingExchange": func() error {
					return e.s.PutPendingExchange(ctx, newPending("c", now))
				},
				"PendingExchanges":      func() error { _, err := e.s.PendingExchanges(ctx, "", 10); return err },
				"DeletePendingExchange": func() error { return e.s.DeletePendingExchange(ctx, "c") },
			}
			for name, call := range calls {
				wantErr(t, name+" with a cancelled context", call(), context.Canceled)
			}
		}},
	}
}
