package refresh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// BenchmarkRefresh10k is one run over 10,000 due accounts with every WeChat
// call taking 20 ms, on the embedded store: ns/op is one run's duration.
//
//	go test -run '^$' -bench Refresh10k -benchtime 1x ./shared/refresh
func BenchmarkRefresh10k(b *testing.B) {
	const (
		accounts    = 10_000
		latency     = 20 * time.Millisecond
		concurrency = 64
	)
	e := newEnv(b)
	e.pushTicket()
	start := time.Now()
	e.seed(accounts, accounts)
	b.Logf("seeded %d accounts in %v", accounts, time.Since(start).Round(time.Millisecond))
	e.sim.SetLatency(latency)

	b.ResetTimer()
	for i := range b.N {
		if i > 0 {
			b.StopTimer()
			e.advance(wechatsim.TokenLifetime) // every token due again
			b.StartTimer()
		}
		e.store.resetCounts()
		sum := e.run(refresh.Options{Concurrency: concurrency})
		if sum.Refreshed != accounts {
			b.Fatalf("run refreshed %d of %d: %+v", sum.Refreshed, accounts, sum)
		}
		b.ReportMetric(float64(sum.Refreshed)/sum.Duration.Seconds(), "accounts/s")
		b.Logf("run %d: %d accounts refreshed in %v (%d in flight, %v per WeChat call), %d due queries, %d WeChat retries",
			i+1, sum.Refreshed, sum.Duration.Round(time.Millisecond), concurrency, latency, e.store.dueQueries.Load(), e.retries.n.Load())
	}
}

// BenchmarkRefreshDue shows that a run's store reads grow with the number of
// due accounts, not with the total: ns/op is one run over 1,000 due
// accounts, rows/op the authorizer rows it read.
//
//	go test -run '^$' -bench RefreshDue -benchtime 1x ./shared/refresh
func BenchmarkRefreshDue(b *testing.B) {
	for _, total := range []int{10_000, 100_000} {
		const due = 1_000
		b.Run(fmt.Sprintf("total=%d/due=%d", total, due), func(b *testing.B) {
			e := newEnv(b)
			e.pushTicket()
			start := time.Now()
			e.seed(total, due)
			b.Logf("seeded %d accounts (%d due) in %v", total, due, time.Since(start).Round(time.Millisecond))

			b.ResetTimer()
			for i := range b.N {
				if i > 0 {
					b.StopTimer()
					e.advance(wechatsim.TokenLifetime) // the same accounts due again
					b.StartTimer()
				}
				e.store.resetCounts()
				sum := e.run(refresh.Options{Concurrency: 32})
				if sum.Refreshed != due || sum.Due != due {
					b.Fatalf("run: %+v", sum)
				}
				b.ReportMetric(float64(e.store.rows.Load()), "rows/op")
				b.ReportMetric(float64(e.store.dueRows.Load()), "due-rows/op")
				dueTime := time.Duration(e.store.dueTime.Load())
				b.ReportMetric(float64(dueTime.Microseconds())/1000, "due-query-ms/op")
				b.Logf("run %d: %d refreshed in %v; read %d authorizer rows (%d from %d due queries taking %v)",
					i+1, sum.Refreshed, sum.Duration.Round(time.Millisecond), e.store.rows.Load(), e.store.dueRows.Load(),
					e.store.dueQueries.Load(), dueTime.Round(time.Microsecond))
			}
		})
	}
}
