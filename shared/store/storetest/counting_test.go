package storetest_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/store/storetest"
)

func TestCounting(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := storetest.NewCounting(s)
	now := time.Now()
	for _, id := range []string{"wx1", "wx2", "wx3"} {
		if _, err := c.PutAuthorizer(ctx, store.Authorizer{AppID: id, RefreshToken: "r", NextRefreshAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.GetAuthorizer(ctx, "wx1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DueAuthorizers(ctx, now, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetTicket(ctx, "none"); err == nil {
		t.Fatal("found a ticket in an empty store")
	}

	got := c.Counts()
	want := map[string]int{"PutAuthorizer": 3, "GetAuthorizer": 1, "DueAuthorizers": 1, "GetTicket": 1}
	if len(got.Calls) != len(want) {
		t.Fatalf("calls %v, want %v", got.Calls, want)
	}
	for name, n := range want {
		if got.Calls[name] != n {
			t.Fatalf("calls %v, want %v", got.Calls, want)
		}
	}
	if got.Listed != 2 || got.Reads() != 3 || got.Writes() != 3 {
		t.Fatalf("listed %d, reads %d, writes %d; want 2, 3, 3", got.Listed, got.Reads(), got.Writes())
	}
	c.Reset()
	if got := c.Counts(); len(got.Calls) != 0 || got.Listed != 0 {
		t.Fatalf("after reset: %+v", got)
	}
}
