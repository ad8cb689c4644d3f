package authorize

import (
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentCallbacksOneWins: the same state and cookie arriving many
// times at once, with the codes of two different accounts (a replay racing
// the real redirect), bind exactly one account once.
func TestConcurrentCallbacksOneWins(t *testing.T) {
	e := newEnv(t, setup{})
	st, ck := e.state(t, "victim-42")
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		code := []string{"code-acme", "code-mini"}[i%2]
		wg.Go(func() {
			<-start
			statuses[i] = e.get(callbackURL(st, code), ck...).Code
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusForbidden:
		default:
			t.Errorf("callback %d: status %d, want 200 or 403", i, s)
		}
	}
	if won != 1 {
		t.Fatalf("%d callbacks succeeded (%v), want exactly 1", won, statuses)
	}
	if as := e.authorizers(t); len(as) != 1 || as[0].CustomerRef != "victim-42" || as[0].Version != 1 {
		t.Fatalf("stored %+v, want one account bound once to victim-42", as)
	}
	if got := e.wx.count("api_query_auth"); got != 1 {
		t.Errorf("api_query_auth called %d times, want 1", got)
	}
}
