package tokens

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// leaseStore keeps leases in memory on the bubble's clock; it is the only
// part of a store the lease code uses.
type leaseStore struct {
	store.Store
	mu       sync.Mutex
	owner    string
	until    time.Time
	extended int // successful acquisitions by the lease's owner after the first
}

func (ls *leaseStore) AcquireLease(_ context.Context, _, owner string, until time.Time) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.owner != "" && ls.owner != owner && time.Now().Before(ls.until) {
		return store.ErrLeaseHeld
	}
	if ls.owner == owner {
		ls.extended++
	}
	ls.owner, ls.until = owner, until
	return nil
}

func (ls *leaseStore) ReleaseLease(_ context.Context, _, owner string) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.owner == owner {
		ls.owner = ""
	}
	return nil
}

// takeOver is another process taking the lease once it is free.
func (ls *leaseStore) takeOver() error {
	return ls.AcquireLease(context.Background(), "", "other-process", time.Now().Add(LeaseTTL))
}

func (ls *leaseStore) holder() string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.owner
}

func leaseSource(ls *leaseStore) *Source {
	return New(Options{Store: ls, Owner: "me", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestHeartbeatKeepsLeaseOfLongWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ls := &leaseStore{}
		s := leaseSource(ls)
		err := s.leased(t.Context(), "authorizer#wx1", false, func(ctx context.Context, l *heldLease) error {
			// Work three times as long as LeaseTTL, as a recovery walking a
			// long authorizer list may: nobody else gets the lease meanwhile.
			for sec := range 3 * LeaseTTL / time.Second {
				time.Sleep(time.Second)
				if err := ls.takeOver(); !errors.Is(err, store.ErrLeaseHeld) {
					t.Fatalf("%d s into the work another process took the lease: %v", sec+1, err)
				}
			}
			if err := ctx.Err(); err != nil {
				t.Fatalf("work context ended: %v", err)
			}
			return l.check(ctx)
		})
		if err != nil {
			t.Fatalf("leased: %v", err)
		}
		if ls.extended < int(3*LeaseTTL/heartbeatEvery) {
			t.Errorf("lease extended %d times in 3×LeaseTTL, want at least %d", ls.extended, 3*LeaseTTL/heartbeatEvery)
		}
		if h := ls.holder(); h != "" {
			t.Errorf("lease still held by %q after the work", h)
		}
	})
}

func TestLostLeaseStopsWork(t *testing.T) {
	tests := []struct {
		name string
		// lose makes the lease pass to another process while the work
		// runs; the work then returns what it does next.
		work func(t *testing.T, ls *leaseStore, ctx context.Context, l *heldLease) error
	}{
		{"noticed by the heartbeat", func(t *testing.T, ls *leaseStore, ctx context.Context, _ *heldLease) error {
			// The process stalls past LeaseTTL (no heartbeat can run
			// before it), and another process takes the account.
			stall(ls)
			<-ctx.Done()
			if !errors.Is(context.Cause(ctx), errLeaseLost) {
				t.Errorf("work context ended with %v, want errLeaseLost", context.Cause(ctx))
			}
			return ctx.Err()
		}},
		{"noticed before the write", func(t *testing.T, ls *leaseStore, ctx context.Context, l *heldLease) error {
			stall(ls)
			return l.check(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ls := &leaseStore{}
				s := leaseSource(ls)
				err := s.leased(t.Context(), "authorizer#wx1", false, func(ctx context.Context, l *heldLease) error {
					return tt.work(t, ls, ctx, l)
				})
				if !errors.Is(err, ErrBusy) || !errors.Is(err, errLeaseLost) {
					t.Fatalf("leased: %v, want ErrBusy for a lost lease", err)
				}
				if h := ls.holder(); h != "other-process" {
					t.Fatalf("lease held by %q after the work, want the other process's lease untouched", h)
				}
			})
		})
	}
}

// stall expires the lease as a process frozen longer than LeaseTTL would
// find it, and has another process take it.
func stall(ls *leaseStore) {
	ls.mu.Lock()
	ls.until = time.Now()
	ls.mu.Unlock()
	if err := ls.takeOver(); err != nil {
		panic(err)
	}
}

func TestWriteAfterAnswer(t *testing.T) {
	transientErr := errors.New("connection reset")
	tests := []struct {
		name     string
		failures []error // returned by the first attempts, in order
		wantErr  error
		attempts int
	}{
		{"succeeds at once", nil, nil, 1},
		{"transient failures pass", []error{transientErr, context.DeadlineExceeded}, nil, 3},
		// Backoffs of 50 ms doubling up to 1 s fit 14 attempts in the
		// write's 10 s.
		{"transient failures persist until the deadline", slices.Repeat([]error{transientErr}, 100), transientErr, 14},
		{"conflict is settled", []error{store.ErrConflict}, store.ErrConflict, 1},
		{"superseded is settled", []error{ErrSuperseded}, ErrSuperseded, 1},
		{"empty refresh token is refused", []error{store.ErrEmptyRefreshToken}, store.ErrEmptyRefreshToken, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := leaseSource(&leaseStore{})
				// The caller gave up right after WeChat answered.
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				attempts := 0
				err := s.writeAfterAnswer(ctx, "test", func(wctx context.Context) error {
					if wctx.Err() != nil {
						t.Errorf("attempt %d runs on an ended context", attempts+1)
					}
					attempts++
					if attempts <= len(tt.failures) {
						return tt.failures[attempts-1]
					}
					return nil
				})
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if attempts != tt.attempts {
					t.Errorf("%d attempts, want %d", attempts, tt.attempts)
				}
			})
		})
	}
}
