package refresh_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// The simulation's size. By default it is small enough for every test run
// and still fans out, its run's deadline holding fewer accounts than are due;
// the figures of the README come from 100,000 accounts and the template's
// 270 s timeout.
var (
	burstAccounts = flag.Int("burst.accounts", 1_000, "accounts all due at once in TestBurstSimulation")
	burstTimeout  = flag.Duration("burst.timeout", 25*time.Second, "the refresh function's timeout in TestBurstSimulation")
)

// The model of TestBurstSimulation: AWS's and WeChat's latencies, and the
// deployment as template.yaml's defaults make it.
const (
	dynamoLatency   = 5 * time.Millisecond   // one DynamoDB request
	dynamoPageItems = 1000                   // items of one Query page (1 MB)
	wechatLatency   = 100 * time.Millisecond // one api_authorizer_token call
	sqsSendLatency  = 10 * time.Millisecond  // one SendMessage
	sqsDelivery     = 500 * time.Millisecond // a message reaching a worker
	dueBuckets      = 16                     // DueBuckets
	workers         = 10                     // RefreshWorkers
	partitionLimit  = 500                    // writes a second the target allows one partition
)

// TestBurstSimulation runs the real refresh code, the scheduled run and its
// queue workers, over accounts all due at once (after an outage or a
// migration) in simulated time (testing/synctest): every store call takes
// dynamoLatency, every WeChat call wechatLatency, every queued batch
// sqsSendLatency and then sqsDelivery. It reports the simulated time until
// the last account is refreshed and the busiest second of the busiest due
// index partition, and holds them to the targets: 10 minutes, 500 writes a
// second. The store underneath is the embedded one (for the semantics of
// the claims); the partitions are DynamoDB's, as dynamo.DueBucket spreads
// the accounts.
//
//	go test -run BurstSimulation -v ./shared/refresh -args -burst.accounts=100000 -burst.timeout=270s
func TestBurstSimulation(t *testing.T) {
	n := *burstAccounts
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "wx.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		seedBurst(t, db, n)

		st := &modelStore{Store: db, start: time.Now(), writes: map[partitionSecond]int{}}
		src := tokens.New(tokens.Options{Store: st, WeChat: modelWeChat{}, ComponentAppID: componentAppID, Logger: discard()})
		q := &modelQueue{batches: make(chan []byte, n)}
		opts := refresh.Options{Store: st, Tokens: src, WeChat: modelWeChat{}, Logger: discard(), Metrics: io.Discard, Queue: q}

		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total refresh.Summary
		)
		add := func(s refresh.Summary) {
			mu.Lock()
			defer mu.Unlock()
			total.Refreshed += s.Refreshed
			total.Failed += s.Failed
			total.Left += s.Left
		}
		for range workers {
			wg.Go(func() {
				for body := range q.batches {
					time.Sleep(sqsDelivery)
					wctx, cancel := context.WithTimeout(ctx, *burstTimeout)
					sum, err := refresh.Work(wctx, opts, body)
					cancel()
					if err != nil {
						t.Errorf("worker: %v", err)
					}
					add(sum)
				}
			})
		}
		rctx, cancel := context.WithTimeout(ctx, *burstTimeout)
		sum, err := refresh.Run(rctx, opts)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		add(sum)
		close(q.batches)
		wg.Wait()
		elapsed := time.Since(st.start)

		if total.Refreshed != n || total.Failed+total.Left != 0 {
			t.Fatalf("refreshed %d of %d (failed %d, left %d); the run queued %d", total.Refreshed, n, total.Failed, total.Left, sum.Queued)
		}
		peak, at := st.peak()
		t.Logf("%d accounts due at once: all refreshed in %v simulated (the run queued %d in %d batches; %d workers × %d calls in flight); busiest due-index partition: %d writes/s (bucket %s, second %d); %d store requests",
			n, elapsed.Round(time.Second), sum.Queued, q.sent, workers, refresh.DefaultConcurrency, peak, at.bucket, at.second, st.requests)
		if elapsed > 10*time.Minute {
			t.Errorf("took %v simulated, want at most 10 minutes", elapsed)
		}
		if peak > partitionLimit {
			t.Errorf("a due-index partition took %d writes in one second, want at most %d", peak, partitionLimit)
		}
	})
}

// seedBurst stores a component token, a ticket and n active accounts, all
// due now.
func seedBurst(t *testing.T, st store.Store, n int) {
	ctx := context.Background()
	now := time.Now()
	if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: "ticket", CreateTime: now, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	_, err := st.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: componentAppID, AccessToken: "cat", ExpiresAt: now.Add(2 * time.Hour), UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_, err := st.PutAuthorizer(ctx, store.Authorizer{AppID: fmt.Sprintf("wx%016x", i), ComponentAppID: componentAppID,
			RefreshToken: "refreshtoken@@@", Status: store.StatusActive, NextRefreshAt: now.Add(-time.Minute), UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// partitionSecond is one second of one due-index partition.
type partitionSecond struct {
	bucket string
	second int64
}

// modelStore takes dynamoLatency per request and counts the writes each
// due-index partition takes per second: a claim updates an account's index
// entry once; the new token moves it (a new sort key: a delete and a put).
type modelStore struct {
	store.Store
	start time.Time

	mu       sync.Mutex
	requests int
	writes   map[partitionSecond]int
}

func (s *modelStore) request(d time.Duration) {
	time.Sleep(d)
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
}

func (s *modelStore) indexWrites(a store.Authorizer, n int) {
	if a.NextRefreshAt.IsZero() {
		return // not in the index
	}
	k := partitionSecond{dynamo.DueBucket(a.AppID, dueBuckets), int64(time.Since(s.start) / time.Second)}
	s.mu.Lock()
	s.writes[k] += n
	s.mu.Unlock()
}

func (s *modelStore) peak() (int, partitionSecond) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		most int
		at   partitionSecond
	)
	for k, n := range s.writes {
		if n > most {
			most, at = n, k
		}
	}
	return most, at
}

func (s *modelStore) GetTicket(ctx context.Context, appID string) (store.Ticket, error) {
	s.request(dynamoLatency)
	return s.Store.GetTicket(ctx, appID)
}

func (s *modelStore) GetComponentToken(ctx context.Context, appID string) (store.ComponentToken, error) {
	s.request(dynamoLatency)
	return s.Store.GetComponentToken(ctx, appID)
}

func (s *modelStore) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	s.request(dynamoLatency)
	return s.Store.GetAuthorizer(ctx, appID)
}

// DueAuthorizers reads the buckets at once, each page after page.
func (s *modelStore) DueAuthorizers(ctx context.Context, before time.Time, limit int) ([]store.Authorizer, error) {
	list, err := s.Store.DueAuthorizers(ctx, before, limit)
	pages := max(1, (len(list)/dueBuckets+dynamoPageItems-1)/dynamoPageItems)
	s.request(time.Duration(pages) * dynamoLatency)
	return list, err
}

func (s *modelStore) ClaimDue(ctx context.Context, appID string, before, until time.Time) (store.Authorizer, error) {
	s.request(dynamoLatency)
	a, err := s.Store.ClaimDue(ctx, appID, before, until)
	if err == nil {
		s.indexWrites(a, 1)
	}
	return a, err
}

func (s *modelStore) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	s.request(dynamoLatency)
	stored, err := s.Store.PutAuthorizer(ctx, a)
	if err == nil {
		s.indexWrites(a, 2)
	}
	return stored, err
}

// modelWeChat answers every call after wechatLatency.
type modelWeChat struct{}

func (modelWeChat) ComponentToken(context.Context, string) (wechat.ComponentToken, error) {
	time.Sleep(wechatLatency)
	return wechat.ComponentToken{ComponentAccessToken: "cat", ExpiresIn: 7200}, nil
}

func (modelWeChat) AuthorizerToken(_ context.Context, _, appID, refreshToken string) (wechat.AuthorizerToken, error) {
	time.Sleep(wechatLatency)
	return wechat.AuthorizerToken{AuthorizerAccessToken: "at-" + appID, ExpiresIn: 7200, AuthorizerRefreshToken: refreshToken}, nil
}

func (modelWeChat) GetAuthorizerList(context.Context, string, int, int) (wechat.AuthorizerList, error) {
	return wechat.AuthorizerList{}, errors.New("not in the model")
}

func (modelWeChat) StartPushTicket(context.Context) error { return nil }

// modelQueue is SQS: each send takes sqsSendLatency.
type modelQueue struct {
	batches chan []byte
	mu      sync.Mutex
	sent    int
}

func (q *modelQueue) Send(_ context.Context, body []byte) error {
	time.Sleep(sqsSendLatency)
	q.mu.Lock()
	q.sent++
	q.mu.Unlock()
	q.batches <- body
	return nil
}
