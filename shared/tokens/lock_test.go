package tokens

import (
	"context"
	"errors"
	"testing"
)

func TestKeyedLocks(t *testing.T) {
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

	got := make(chan struct{})
	go func() {
		u, ok, err := k.lock(ctx, "a", true)
		if !ok || err != nil {
			t.Errorf("waiting lock: %v, %v", ok, err)
			return
		}
		u()
		close(got)
	}()
	unlock()
	<-got

	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.locks) != 0 {
		t.Fatalf("%d lock entries left after every lock was released", len(k.locks))
	}
}
