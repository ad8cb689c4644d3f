package tokens

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// heartbeatEvery is how often a held lease is extended while its work runs:
// a third of LeaseTTL, so that two extensions in a row may fail (a slow
// store, a stalled process) before another process can take the lease.
//
// The lease is extended rather than sized from the WeChat client's worst
// case (attempts × timeout + backoff, about 16 s per call) because that case
// has no fixed bound here: a rejected refresh token walks
// api_get_authorizer_list, one call per 500 accounts, and a rejected
// component token adds a refresh of its own. A lease sized for the longest
// walk would also keep an account blocked that long after its holder died;
// with a heartbeat LeaseTTL stays short and only live work keeps its lease.
const heartbeatEvery = LeaseTTL / 3

// Bounds of a store write made after WeChat answered. The write runs on a
// context detached from the caller's, so a deadline or cancellation that
// comes with the answer cannot discard what WeChat issued.
const (
	writeTimeout    = 10 * time.Second      // all attempts together
	writeBackoff    = 50 * time.Millisecond // doubled after each attempt
	writeMaxBackoff = time.Second
)

// errLeaseLost is the cause of a work context ended because another owner
// took the lease.
var errLeaseLost = errors.New("lease lost")

// heldLease is a lease this Source holds while work runs.
type heldLease struct {
	s      *Source
	name   string
	cancel context.CancelCauseFunc // ends the work's context

	mu   sync.Mutex
	lost bool
}

// extend renews the lease for another LeaseTTL and reports whether it is
// still held. When another owner holds it now, the work's context is ended
// and extend reports false from then on. A store error that leaves the
// question open counts as held: the versioned write stays the last guard.
func (l *heldLease) extend(ctx context.Context) bool {
	if l == nil {
		return true // no lease: a refresh job's claim guards the account
	}
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost {
		return false
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	err := l.s.store.AcquireLease(wctx, l.name, l.s.owner, l.s.now().Add(LeaseTTL))
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrLeaseHeld):
		l.mu.Lock()
		l.lost = true
		l.mu.Unlock()
		l.cancel(errLeaseLost)
		l.s.log.WarnContext(ctx, "lease taken over by another owner; work stops", "lease", l.name)
		return false
	default:
		l.s.log.WarnContext(ctx, "extend lease", "lease", l.name, "err", err)
		return true
	}
}

// lostErr is the error of work that stopped because its lease was lost:
// ErrBusy, since the lease's new owner is doing the work.
func (l *heldLease) lostErr() error {
	return fmt.Errorf("lease %s %w: %w", l.name, errLeaseLost, ErrBusy)
}

// check is extend before a store write: nil while the lease is held, else
// lostErr.
func (l *heldLease) check(ctx context.Context) error {
	if !l.extend(ctx) {
		return l.lostErr()
	}
	return nil
}

// heartbeat extends the lease every heartbeatEvery until done is closed or
// the lease is lost.
func (l *heldLease) heartbeat(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if !l.extend(ctx) {
				return
			}
		}
	}
}

// leased runs fn while holding the named lease, extended by a heartbeat
// while fn runs. When another goroutine or process holds it, leased either
// returns ErrBusy at once or, with wait, waits for the holder to finish
// (another process: at most LeaseTTL) and then runs fn itself, which
// normally finds the fresh token and returns without calling WeChat.
//
// fn gets a context that ends when ctx does or when the lease is lost, and
// the lease, whose check it calls before each store write.
func (s *Source) leased(ctx context.Context, name string, wait bool, fn func(ctx context.Context, l *heldLease) error) error {
	unlock, ok, err := s.locks.lock(ctx, name, wait)
	if err != nil {
		return fmt.Errorf("wait for lease %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("lease %s: %w", name, ErrBusy)
	}
	defer unlock()

	backoff := 20 * time.Millisecond
	deadline := time.Now().Add(LeaseTTL)
	for {
		err := s.store.AcquireLease(ctx, name, s.owner, s.now().Add(LeaseTTL))
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			return fmt.Errorf("acquire lease %s: %w", name, err)
		}
		if !wait || time.Now().After(deadline) {
			return fmt.Errorf("lease %s: %w", name, ErrBusy)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lease %s: %w", name, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}

	work, cancel := context.WithCancelCause(ctx)
	l := &heldLease{s: s, name: name, cancel: cancel}
	done := make(chan struct{})
	var beat sync.WaitGroup
	beat.Go(func() { l.heartbeat(work, done) })
	defer func() {
		close(done)
		beat.Wait()
		cancel(nil)
		// Release even when ctx is done, or the account stays blocked until
		// the lease expires. A lost lease is another owner's now.
		if l.isLost() {
			return
		}
		if err := s.store.ReleaseLease(context.WithoutCancel(ctx), name, s.owner); err != nil {
			s.log.WarnContext(ctx, "release lease", "lease", name, "err", err)
		}
	}()
	err = fn(work, l)
	if err != nil && l.isLost() && !errors.Is(err, ErrBusy) {
		err = errors.Join(err, l.lostErr())
	}
	return err
}

// isLost reports whether an extension found the lease taken by another owner.
func (l *heldLease) isLost() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// writeAfterAnswer runs write, a store write of something WeChat issued, on a
// context detached from ctx with its own timeout, and repeats it with
// backoff while it fails for a reason that may pass (a timeout, throttling,
// a broken connection). A write that fails for a reason of substance (a
// version conflict its own re-reads could not settle, a record superseded,
// an empty refresh token) is not repeated.
func (s *Source) writeAfterAnswer(ctx context.Context, what string, write func(ctx context.Context) error) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	backoff := writeBackoff
	for attempt := 1; ; attempt++ {
		err := write(wctx)
		// Attempts stop only at writeTimeout: what WeChat issued is lost if
		// this write gives up, so a busy store gets every chance there is.
		if err == nil || !transient(err) || wctx.Err() != nil {
			return err
		}
		s.log.WarnContext(ctx, "store write failed, retrying", "write", what, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-wctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, writeMaxBackoff)
	}
}

// transient reports whether a failed store write may succeed if repeated.
func transient(err error) bool {
	for _, settled := range []error{store.ErrConflict, store.ErrEmptyRefreshToken, store.ErrNotFound, ErrSuperseded} {
		if errors.Is(err, settled) {
			return false
		}
	}
	return true
}
