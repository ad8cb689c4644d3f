package tokens

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

func TestKeyedLocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var k keyedLocks
		ctx := t.Context()

		unlock, ok, err := k.lock(ctx, "a", false)
		if !ok || err != nil {
			t.Fatalf("first lock: %v, %v", ok, err)
		}
		if _, ok, err := k.lock(ctx, "a", false); ok || err != nil {
			t.Fatalf("second lock without wait: %v, %v; want not taken", ok, err)
		}
		other, ok, _ := k.lock(ctx, "b", false)
		if !ok {
			t.Fatal("a different key is locked too")
		}
		other()

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, ok, err := k.lock(cancelled, "a", true); ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("waiting with a cancelled context: %v, %v", ok, err)
		}

		// The result channel is buffered and always written, so a failing
		// waiter cannot leave the test hanging.
		got := make(chan error, 1)
		go func() {
			u, ok, err := k.lock(ctx, "a", true)
			if ok {
				u()
			} else if err == nil {
				err = errors.New("not taken")
			}
			got <- err
		}()
		// Every goroutine of the bubble is blocked: the waiter is waiting.
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("the waiter returned (%v) while the lock was held", err)
		default:
		}
		unlock()
		if err := <-got; err != nil {
			t.Fatalf("waiting lock: %v", err)
		}

		k.mu.Lock()
		defer k.mu.Unlock()
		if len(k.locks) != 0 {
			t.Fatalf("%d lock entries left after every lock was released", len(k.locks))
		}
	})
}
