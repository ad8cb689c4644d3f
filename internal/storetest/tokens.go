package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// contenders is how many goroutines race for one conditional write.
const contenders = 8

func ticketTests() []test {
	return []test{
		{"NotFound", func(t *testing.T, e *env) {
			_, err := e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get missing ticket", err, store.ErrNotFound)
		}},
		{"RoundTrip", func(t *testing.T, e *env) {
			now := e.clock.Now()
			in := store.Ticket{ComponentAppID: "wxcomp", Ticket: "ticket@@@abc", CreateTime: now.Add(-time.Minute), ReceivedAt: now}
			wantErr(t, "put", e.s.PutTicket(e.ctx, in), nil)
			got, err := e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			in.CreateTime, in.ReceivedAt = sec(in.CreateTime), sec(in.ReceivedAt)
			wantEqual(t, "ticket", got, in)
		}},
		{"NewerWins", func(t *testing.T, e *env) {
			t0 := sec(e.clock.Now())
			first := store.Ticket{ComponentAppID: "wxcomp", Ticket: "first", CreateTime: t0, ReceivedAt: t0}
			wantErr(t, "put first", e.s.PutTicket(e.ctx, first), nil)
			older := store.Ticket{ComponentAppID: "wxcomp", Ticket: "older", CreateTime: t0.Add(-time.Second), ReceivedAt: t0}
			wantErr(t, "put older", e.s.PutTicket(e.ctx, older), store.ErrStale)
			same := store.Ticket{ComponentAppID: "wxcomp", Ticket: "same", CreateTime: t0, ReceivedAt: t0.Add(time.Second)}
			wantErr(t, "put equal CreateTime", e.s.PutTicket(e.ctx, same), store.ErrStale)
			got, err := e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			wantEqual(t, "ticket after stale puts", got, first)

			newer := store.Ticket{ComponentAppID: "wxcomp", Ticket: "newer", CreateTime: t0.Add(time.Second), ReceivedAt: t0}
			wantErr(t, "put newer", e.s.PutTicket(e.ctx, newer), nil)
			got, err = e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			wantEqual(t, "ticket after newer put", got, newer)
		}},
		{"ExpiredReadsAbsent", func(t *testing.T, e *env) {
			created := sec(e.clock.Now()).Add(-time.Hour)
			tk := store.Ticket{ComponentAppID: "wxcomp", Ticket: "t", CreateTime: created, ReceivedAt: created}
			wantErr(t, "put", e.s.PutTicket(e.ctx, tk), nil)
			e.clock.Set(tk.ExpiresAt().Add(-time.Millisecond))
			_, err := e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get just before expiry", err, nil)
			e.clock.Set(tk.ExpiresAt())
			_, err = e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get at expiry", err, store.ErrNotFound)
			e.wantHeldUntil(t, KindTicket, "wxcomp", tk.ExpiresAt())
		}},
		// Expiry only affects reads: newer CreateTime wins. A ticket older
		// than an expired one has expired too, so refusing it loses nothing.
		{"ExpiredStillBeatsOlder", func(t *testing.T, e *env) {
			created := sec(e.clock.Now())
			tk := store.Ticket{ComponentAppID: "wxcomp", Ticket: "expired", CreateTime: created, ReceivedAt: created}
			wantErr(t, "put", e.s.PutTicket(e.ctx, tk), nil)
			e.clock.Set(tk.ExpiresAt().Add(time.Hour))
			older := store.Ticket{ComponentAppID: "wxcomp", Ticket: "older", CreateTime: created.Add(-time.Minute), ReceivedAt: created}
			wantErr(t, "put older than expired", e.s.PutTicket(e.ctx, older), store.ErrStale)
			_, err := e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get", err, store.ErrNotFound)

			now := sec(e.clock.Now())
			fresh := store.Ticket{ComponentAppID: "wxcomp", Ticket: "fresh", CreateTime: now, ReceivedAt: now}
			wantErr(t, "put fresh", e.s.PutTicket(e.ctx, fresh), nil)
			got, err := e.s.GetTicket(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			wantEqual(t, "ticket", got, fresh)
		}},
		{"PerComponent", func(t *testing.T, e *env) {
			now := sec(e.clock.Now())
			a := store.Ticket{ComponentAppID: "wxcompA", Ticket: "a", CreateTime: now, ReceivedAt: now}
			b := store.Ticket{ComponentAppID: "wxcompB", Ticket: "b", CreateTime: now.Add(-time.Minute), ReceivedAt: now}
			wantErr(t, "put a", e.s.PutTicket(e.ctx, a), nil)
			wantErr(t, "put older b for another component", e.s.PutTicket(e.ctx, b), nil)
			for _, want := range []store.Ticket{a, b} {
				got, err := e.s.GetTicket(e.ctx, want.ComponentAppID)
				wantErr(t, "get", err, nil)
				wantEqual(t, "ticket", got, want)
			}
		}},
	}
}

func tokenTests() []test {
	return []test{
		{"NotFound", func(t *testing.T, e *env) {
			_, err := e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get missing token", err, store.ErrNotFound)
		}},
		{"PutGet", func(t *testing.T, e *env) {
			now := e.clock.Now()
			in := store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "cat-1", ExpiresAt: now.Add(2 * time.Hour), UpdatedAt: now}
			stored, err := e.s.PutComponentToken(e.ctx, in)
			wantErr(t, "put", err, nil)
			want := store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "cat-1", ExpiresAt: sec(in.ExpiresAt), UpdatedAt: sec(now), Version: 1}
			wantEqual(t, "stored token", stored, want)
			got, err := e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			wantEqual(t, "read token", got, want)
		}},
		{"ExpiredReadsAbsent", func(t *testing.T, e *env) {
			expires := sec(e.clock.Now()).Add(2 * time.Hour)
			_, err := e.s.PutComponentToken(e.ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "cat", ExpiresAt: expires})
			wantErr(t, "put", err, nil)
			e.clock.Set(expires.Add(-time.Millisecond))
			_, err = e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get just before expiry", err, nil)
			e.clock.Set(expires)
			_, err = e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get at expiry", err, store.ErrNotFound)
			e.wantHeldUntil(t, KindToken, "wxcomp", expires)
		}},
		{"CreateRace", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(2 * time.Hour)
			errs := race(contenders, func(i int) error {
				_, err := e.s.PutComponentToken(e.ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: fmt.Sprint("cat-", i), ExpiresAt: expires})
				return err
			})
			w := oneWinner(t, errs, store.ErrConflict)
			got, err := e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			if got.AccessToken != fmt.Sprint("cat-", w) || got.Version != 1 {
				t.Fatalf("stored %q version %d, want the winner's cat-%d version 1", got.AccessToken, got.Version, w)
			}
		}},
		{"VersionConflict", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(2 * time.Hour)
			first, err := e.s.PutComponentToken(e.ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "cat-0", ExpiresAt: expires})
			wantErr(t, "put first", err, nil)
			errs := race(contenders, func(i int) error {
				tok := first
				tok.AccessToken = fmt.Sprint("cat-", i+1)
				_, err := e.s.PutComponentToken(e.ctx, tok)
				return err
			})
			w := oneWinner(t, errs, store.ErrConflict)
			got, err := e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			if got.AccessToken != fmt.Sprint("cat-", w+1) || got.Version != 2 {
				t.Fatalf("stored %q version %d, want the winner's cat-%d version 2", got.AccessToken, got.Version, w+1)
			}
			_, err = e.s.PutComponentToken(e.ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "late", ExpiresAt: expires})
			wantErr(t, "put version 0 over a live token", err, store.ErrConflict)
		}},
		// Writing over an expired token needs no version, and the version
		// keeps counting, so a writer that read the token before it expired
		// cannot overwrite its successor.
		{"OverwriteExpired", func(t *testing.T, e *env) {
			expires := sec(e.clock.Now()).Add(2 * time.Hour)
			old, err := e.s.PutComponentToken(e.ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "old", ExpiresAt: expires})
			wantErr(t, "put", err, nil)
			e.clock.Set(expires)
			fresh, err := e.s.PutComponentToken(e.ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "fresh", ExpiresAt: expires.Add(2 * time.Hour)})
			wantErr(t, "put over expired", err, nil)
			if fresh.Version <= old.Version {
				t.Fatalf("version went from %d to %d over an expired token, want it to grow", old.Version, fresh.Version)
			}
			late := old
			late.AccessToken, late.ExpiresAt = "late", expires.Add(time.Hour)
			_, err = e.s.PutComponentToken(e.ctx, late)
			wantErr(t, "put with the version read before expiry", err, store.ErrConflict)
			got, err := e.s.GetComponentToken(e.ctx, "wxcomp")
			wantErr(t, "get", err, nil)
			wantEqual(t, "token", got, fresh)
		}},
	}
}
