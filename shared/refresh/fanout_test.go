package refresh_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// memQueue is a queue in memory; it refuses the sends fail says to.
type memQueue struct {
	mu     sync.Mutex
	bodies [][]byte
	fail   func(n int) bool // n: the send's number, from 0
	sends  int
}

func (q *memQueue) Send(_ context.Context, body []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.sends
	q.sends++
	if q.fail != nil && q.fail(n) {
		return errors.New("queue unavailable")
	}
	q.bodies = append(q.bodies, body)
	return nil
}

// fanOutOptions make a run whose budget, at an hour per account, holds no
// account at all: it fans out whatever is due.
func fanOutOptions(q refresh.Queue) (context.Context, context.CancelFunc, refresh.Options) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	return ctx, cancel, refresh.Options{Queue: q, AccountTime: time.Hour, FanOutBatch: 8}
}

func TestFanOut(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(60, 50)
	q := &memQueue{}
	ctx, cancel, opts := fanOutOptions(q)
	defer cancel()
	sum, err := e.tryRun(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, sum)
	if sum.Due != 50 || sum.Queued != 50 || sum.Refreshed != 0 || len(q.bodies) != 7 {
		t.Fatalf("fan-out run: %+v, %d batches; want 50 due, 50 queued in 7 batches", sum, len(q.bodies))
	}
	var queued []string
	for _, body := range q.bodies {
		b, err := refresh.ParseBatch(body)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.AppIDs) > 8 || !b.Due.Equal(e.clock.Now().Truncate(time.Second)) {
			t.Fatalf("batch %s", body)
		}
		queued = append(queued, b.AppIDs...)
	}
	slices.Sort(queued)
	want := slices.Sorted(slices.Values(ids[:50]))
	if !slices.Equal(queued, want) {
		t.Fatalf("queued %v, want the 50 due accounts once each", queued)
	}
	for _, id := range ids {
		if n := e.calls(id); n != 0 {
			t.Fatalf("%s refreshed %d times by the run that fanned out", id, n)
		}
	}

	// Each batch in a worker process of its own; a batch delivered twice
	// (the queue delivers at least once) finds its accounts done.
	work := func(body []byte) refresh.Summary {
		t.Helper()
		sum, err := refresh.Work(e.ctx, refresh.Options{Store: e.store, Tokens: e.source(nil), Now: e.clock.Now,
			Logger: discard(), Metrics: io.Discard, Concurrency: 4}, body)
		if err != nil {
			t.Fatal(err)
		}
		checkSum(t, sum)
		return sum
	}
	var done int
	for _, body := range q.bodies {
		done += work(body).Refreshed
	}
	if again := work(q.bodies[0]); again.Skipped != again.Due || again.Refreshed != 0 {
		t.Fatalf("batch delivered again: %+v", again)
	}
	if done != 50 {
		t.Fatalf("workers refreshed %d, want 50", done)
	}
	for _, id := range ids[:50] {
		if n := e.calls(id); n != 1 {
			t.Fatalf("%s refreshed %d times, want 1", id, n)
		}
		if err := e.valid(id, e.authorizer(id).AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if sum := e.run(refresh.Options{}); sum.Due != 0 {
		t.Fatalf("scheduled run after the workers: %+v", sum)
	}
}

func TestFanOutQueueFails(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	e.seed(20, 20)
	q := &memQueue{fail: func(n int) bool { return n%2 == 1 }}
	ctx, cancel, opts := fanOutOptions(q)
	defer cancel()
	opts.Concurrency = 1 // sends in order, so that the odd ones fail
	sum, err := e.tryRun(ctx, opts)
	checkSum(t, sum)
	if err == nil || sum.Queued != 12 || sum.Left != 8 {
		t.Fatalf("run with a failing queue: %+v, %v; want 12 queued, 8 left, an error", sum, err)
	}
	// What was not queued stays due for the next run.
	if sum := e.run(refresh.Options{}); sum.Due != 20 || sum.Refreshed != 20 {
		t.Fatalf("next run: %+v", sum)
	}
}

func TestSmallRunStaysLocal(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	e.seed(30, 30)
	q := &memQueue{}
	ctx, cancel := context.WithTimeout(e.ctx, time.Hour)
	defer cancel()
	sum, err := e.tryRun(ctx, refresh.Options{Queue: q, AccountTime: time.Second, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, sum)
	if sum.Refreshed != 30 || sum.Queued != 0 || len(q.bodies) != 0 {
		t.Fatalf("run within its budget: %+v, %d batches", sum, len(q.bodies))
	}
}

func TestWorkRejectsBadBatches(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(1, 1)
	long := string(make([]byte, 33))
	tests := []struct{ name, body string }{
		{"not JSON", `appids`},
		{"no due time", `{"appids":["` + ids[0] + `"]}`},
		{"no accounts", `{"due":1780000000,"appids":[]}`},
		{"empty appid", `{"due":1780000000,"appids":[""]}`},
		{"long appid", `{"due":1780000000,"appids":["` + long + `"]}`},
		{"appids not strings", `{"due":1780000000,"appids":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.authorizer(ids[0])
			_, err := refresh.Work(e.ctx, refresh.Options{Store: e.store, Tokens: e.source(nil), Logger: discard(), Metrics: io.Discard}, []byte(tt.body))
			if err == nil {
				t.Fatal("no error")
			}
			if after := e.authorizer(ids[0]); after.Version != before.Version || e.calls(ids[0]) != 0 {
				t.Fatalf("a bad batch changed the account: version %d -> %d", before.Version, after.Version)
			}
		})
	}
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`{"due":1780000000,"appids":["wx1234567890abcdef"]}`))
	f.Add([]byte(`{"due":-1,"appids":["a","b"]}`))
	f.Add([]byte(`{"due":1,"appids":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := refresh.ParseBatch(body)
		if err != nil {
			return
		}
		again, err := refresh.MarshalBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := refresh.ParseBatch(again)
		if err != nil || !c.Due.Equal(b.Due) || !slices.Equal(c.AppIDs, b.AppIDs) {
			t.Fatalf("round trip of %q: %+v, %v", body, c, err)
		}
	})
}
