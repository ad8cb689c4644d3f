// Package storetest is the conformance suite every store.Store
// implementation passes, and a counting wrapper for tests that measure how
// much store traffic an operation costs.
//
// A backend's test calls [Run] with a function that returns a fresh, empty
// store judging expiry by the given clock:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
//			return openStore(t, now)
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Kind names a kind of item for [Inspector].
type Kind string

// Item kinds; the key of each is given in parentheses.
const (
	KindTicket     Kind = "ticket"     // component appid
	KindToken      Kind = "token"      // component appid
	KindAuthorizer Kind = "authorizer" // authorizer appid
	KindProfile    Kind = "profile"    // authorizer appid
	KindLease      Kind = "lease"      // lease name
	KindSeen       Kind = "seen"       // message key
)

// Inspector is implemented by a store under test that can look beneath the
// Store interface at what its backend holds; a backend's test usually adds
// it by wrapping the store it hands to [Run]. Run uses it to check that an
// expired item reads as absent while the backend still holds it, that the
// backend keeps ephemeral items at least until they expire, and that it
// never deletes authorizers or profiles by itself. Without it those checks
// are skipped.
type Inspector interface {
	// Raw reports whether the backend holds the item of kind under key,
	// expired or not, and from when the backend may delete it on its own
	// (DynamoDB's TTL; zero: never).
	Raw(ctx context.Context, kind Kind, key string) (held bool, deleteAt time.Time, err error)
}

// Purger is implemented by stores that delete expired items when asked
// (the SQLite store). Run calls it to check that it spares live items and
// items that never expire.
type Purger interface {
	PurgeExpired(ctx context.Context) (int64, error)
}

// clock is the suite's settable clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock returns a clock at the suite's start time, whose fraction of a
// second checks that whole-second storage never extends an expiry.
func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 1, 8, 0, 0, 250_000_000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// env is one subtest's fresh store and clock.
type env struct {
	ctx   context.Context
	s     store.Store
	clock *clock
}

// Run runs the conformance suite against stores made by newStore, which
// returns a fresh, empty store judging expiry by now (and registers its own
// cleanup with t). Every subtest gets its own store and clock; they run in
// parallel.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Ticket", ticketTests()},
		{"ComponentToken", tokenTests()},
		{"Authorizer", authorizerTests()},
		{"DueAuthorizers", dueTests()},
		{"ClaimDue", claimTests()},
		{"ListAuthorizers", listTests()},
		{"Profile", profileTests()},
		{"Lease", leaseTests()},
		{"Seen", seenTests()},
		{"Nonce", nonceTests()},
		{"PendingExchange", pendingTests()},
		{"Context", contextTests()},
		{"MiniProgram", miniProgramTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					c := newClock()
					tt.fn(t, &env{ctx: t.Context(), s: newStore(t, c.Now), clock: c})
				})
			}
		})
	}
}

// test is one conformance check.
type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// race runs fn(i) for i in [0, n) in n goroutines started together and
// returns their errors by i.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return errs
}

// oneWinner checks that exactly one of errs is nil and all others are want,
// and returns the winner's index.
func oneWinner(t *testing.T, errs []error, want error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, want):
			t.Fatalf("writer %d: got %v, want %v", i, err, want)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer won: %v", errs)
	}
	return winner
}

// wantErr fails t unless err is want (nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// wantEqual fails t unless got and want are equal once times are in UTC
// and empty slices nil.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	g, w := canonical(got), canonical(want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// canonical returns v with every time.Time field in UTC and every empty
// slice nil, so that values equal in meaning compare equal.
func canonical[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	canonicalValue(rv)
	return v
}

func canonicalValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			if !t.IsZero() {
				v.Set(reflect.ValueOf(t.UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				canonicalValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			canonicalValue(v.Index(i))
		}
	}
}

// sec is t as the stores keep it: whole seconds.
func sec(t time.Time) time.Time { return t.Truncate(time.Second) }

// raw asks the store, when it is an Inspector, what its backend holds;
// ok is false when it is not.
func (e *env) raw(t *testing.T, kind Kind, key string) (held bool, deleteAt time.Time, ok bool) {
	t.Helper()
	in, ok := e.s.(Inspector)
	if !ok {
		return false, time.Time{}, false
	}
	held, deleteAt, err := in.Raw(e.ctx, kind, key)
	if err != nil {
		t.Fatalf("raw %s %s: %v", kind, key, err)
	}
	return held, deleteAt, true
}

// wantHeldUntil checks, when the store is an Inspector, that the backend
// holds the item and will not delete it before expires.
func (e *env) wantHeldUntil(t *testing.T, kind Kind, key string, expires time.Time) {
	t.Helper()
	held, deleteAt, ok := e.raw(t, kind, key)
	if !ok {
		return
	}
	if !held {
		t.Fatalf("backend no longer holds %s %s", kind, key)
	}
	if deleteAt.IsZero() || deleteAt.Before(expires) {
		t.Fatalf("backend may delete %s %s at %v, before it expires at %v", kind, key, deleteAt, expires)
	}
}

// wantNeverDeleted checks, when the store is an Inspector, that the backend
// holds the item and will never delete it by itself.
func (e *env) wantNeverDeleted(t *testing.T, kind Kind, key string) {
	t.Helper()
	held, deleteAt, ok := e.raw(t, kind, key)
	if !ok {
		return
	}
	if !held || !deleteAt.IsZero() {
		t.Fatalf("%s %s: held %v, deleted by the backend at %v; want held, never deleted", kind, key, held, deleteAt)
	}
}

// purge runs the store's purge, if it has one.
func (e *env) purge(t *testing.T) {
	t.Helper()
	if p, ok := e.s.(Purger); ok {
		if _, err := p.PurgeExpired(e.ctx); err != nil {
			t.Fatalf("purge: %v", err)
		}
	}
}
