package tokens

import (
	"context"
	"sync"
)

// keyedLocks serialises the goroutines of one process per lease name. The
// store's lease is per owner and lets an owner re-acquire its own lease, so
// it cannot keep two goroutines of the same Source apart; this does.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	held  chan struct{} // holds one token while locked
	users int           // goroutines holding or waiting; the entry goes at zero
}

// lock takes the lock named key. Without wait it fails at once when another
// goroutine holds it; with wait it waits until it is free or ctx is done.
// ok is false when the lock was not taken (err says why when ctx ended).
func (k *keyedLocks) lock(ctx context.Context, key string, wait bool) (unlock func(), ok bool, err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{held: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()

	done := func() {
		k.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	if wait {
		select {
		case l.held <- struct{}{}:
		case <-ctx.Done():
			done()
			return nil, false, ctx.Err()
		}
	} else {
		select {
		case l.held <- struct{}{}:
		default:
			done()
			return nil, false, nil
		}
	}
	return func() {
		<-l.held
		done()
	}, true, nil
}
