package refresh_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// TestFortyEightHours runs the job every 5 simulated minutes for 48 hours
// over 200 accounts, with readers (other Lambdas, with their caches) asking
// for tokens at random moments in between: every token a reader gets is
// one WeChat accepts, readers never have to refresh, and no token is fetched
// more than 14 times a day.
func TestFortyEightHours(t *testing.T) {
	t.Parallel()
	const (
		accounts    = 200
		step        = 5 * time.Minute
		day         = 24 * time.Hour
		readsPerGap = 3
		maxPerDay   = 14
	)
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(accounts, accounts)
	// Readers write to the store only when they refresh a token themselves.
	readerStore := &countingStore{Store: e.store.Store}
	readers := []*tokens.Source{e.source(readerStore), e.source(readerStore)}
	rng := rand.New(rand.NewPCG(5, 48))

	var (
		refreshed    int
		reads        int
		busiestRun   [2]int // most accounts one run refreshed, per day
		perDay       [2]map[string]int
		componentDay [2]int
	)
	prev := map[string]int{}
	prevComponent := 0
	for d := range 2 {
		for range int(day / step) {
			sum := e.run(refresh.Options{})
			checkSum(t, sum)
			if sum.Failed+sum.NeedsReauth+sum.Skipped+sum.Left+sum.Recovered != 0 || sum.Component == refresh.ComponentFailed {
				t.Fatalf("at %s: %+v", e.clock.Now(), sum)
			}
			refreshed += sum.Refreshed
			busiestRun[d] = max(busiestRun[d], sum.Refreshed)

			// Readers at random moments before the next run.
			offsets := make([]time.Duration, readsPerGap)
			for i := range offsets {
				offsets[i] = time.Duration(rng.Int64N(int64(step)))
			}
			slices.Sort(offsets)
			var at time.Duration
			for _, off := range offsets {
				e.advance(off - at)
				at = off
				id := ids[rng.IntN(len(ids))]
				tok, err := readers[rng.IntN(len(readers))].AccessToken(e.ctx, id)
				if err != nil {
					t.Fatalf("at %s: AccessToken(%s): %v", e.clock.Now(), id, err)
				}
				if err := e.valid(id, tok); err != nil {
					t.Fatalf("at %s: reader got a token WeChat rejects: %v", e.clock.Now(), err)
				}
				reads++
			}
			e.advance(step - at)
		}
		perDay[d] = map[string]int{}
		for _, id := range ids {
			n := e.calls(id)
			perDay[d][id] = n - prev[id]
			prev[id] = n
		}
		n := e.sim.Calls(wechatsim.APIComponentToken)
		componentDay[d] = n - prevComponent
		prevComponent = n
	}

	if n := readerStore.puts.Load(); n != 0 {
		t.Errorf("readers refreshed %d tokens themselves", n)
	}
	for d := range 2 {
		most := 0
		for _, n := range perDay[d] {
			most = max(most, n)
		}
		if most > maxPerDay || componentDay[d] > maxPerDay {
			t.Errorf("day %d: up to %d authorizer token fetches per account, %d component token fetches; want <= %d", d+1, most, componentDay[d], maxPerDay)
		}
		t.Logf("day %d: authorizer tokens fetched up to %d times per account (%.2f on average), component token %d times; busiest run refreshed %d of %d accounts",
			d+1, most, average(perDay[d]), componentDay[d], busiestRun[d], accounts)
	}
	t.Logf("%d runs, %d refreshes, %d reads checked against WeChat, %d WeChat calls retried", 2*int(day/step), refreshed, reads, e.retries.n.Load())
}

func average(m map[string]int) float64 {
	sum := 0
	for _, n := range m {
		sum += n
	}
	return float64(sum) / float64(len(m))
}
