// Package refresh is the scheduled refresh job: it keeps the component
// access token and every authorizer access token fresh ahead of expiry.
//
// [Run] is the whole job as a plain function; the refresh Lambda function,
// the local dev server's timer and the tests all call it. A run
//
//   - renews the component token once less than
//     [tokens.ComponentRefreshBefore] is left, and asks WeChat to push a
//     ticket (api_start_push_ticket, at most once per [PushTicketInterval])
//     when there is no live ticket;
//   - reads only the accounts that are due from the store's sparse index,
//     page by page, and renews each under its lease with bounded concurrency;
//     an account that another run or an on-demand refresh holds is skipped,
//     one that fails stays due and is tried again by the next run;
//   - stops taking accounts when the context's deadline comes within
//     StopMargin, leaving the rest for the next run;
//   - ends with one log line in CloudWatch Embedded Metric Format.
package refresh

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// PushTicketInterval is the least time between two api_start_push_ticket
// calls for a component, across all runs and processes.
const PushTicketInterval = 10 * time.Minute

// Defaults of Options.
const (
	DefaultConcurrency = 16
	DefaultBatchSize   = 200
	DefaultStopMargin  = 10 * time.Second
	// DefaultAccountTime is the estimate of one account's refresh for
	// deciding to fan out: a WeChat call (about 100 ms, often more) and two
	// store writes, with room for WeChat's slow moments.
	DefaultAccountTime = 250 * time.Millisecond
	DefaultFanOutBatch = 200
	DefaultMaxFanOut   = 200_000
)

// ClaimTTL is how long a run's claim on an account keeps other runs off it:
// long enough for a refresh with a recovery from the authorizer list, short
// enough that an account whose run died is taken by the next one.
const ClaimTTL = time.Minute

// PushTicketStarter asks WeChat to push a component_verify_ticket now.
// *wechat.Client satisfies it.
type PushTicketStarter interface {
	StartPushTicket(ctx context.Context) error
}

// Options configure a run. Store, Tokens and WeChat are required.
type Options struct {
	Store  store.Store
	Tokens *tokens.Source // built on the same Store
	WeChat PushTicketStarter
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Concurrency is how many accounts are refreshed at once, the WeChat
	// calls one invocation keeps in flight; 0: DefaultConcurrency.
	// The WeChat client's HTTP transport should keep at least as many idle
	// connections per host (http.Transport.MaxIdleConnsPerHost, default 2).
	Concurrency int
	// BatchSize is how many due accounts one store query reads; 0: DefaultBatchSize.
	BatchSize int
	// StopMargin: no account is started once the context's deadline is this
	// close; 0: DefaultStopMargin.
	StopMargin time.Duration
	// Metrics receives the run's summary line in Embedded Metric Format;
	// nil: os.Stdout, where Lambda's log agent picks it up.
	Metrics io.Writer
	// Stage, when set, is the metrics' one dimension (e.g. "prod").
	Stage string
	// Accounts, when set, retries pushed authorizations whose exchange
	// failed, once per run.
	Accounts PendingRetrier
	// After, when set, runs at the end of every run that had a usable
	// component token: more work that rides on the job (JS-SDK tickets,
	// mini program audit polls).
	After func(ctx context.Context) error

	// Queue, when set, receives the due accounts in batches whenever more
	// are due than the run can refresh before its deadline; nil: a run
	// refreshes everything itself, as a small platform wants.
	Queue Queue
	// AccountTime estimates one account's refresh; with Concurrency and the
	// time to the deadline it gives how many accounts one run can finish.
	// 0: DefaultAccountTime.
	AccountTime time.Duration
	// FanOutBatch is how many accounts one queued batch holds; 0:
	// DefaultFanOutBatch, at most MaxBatch.
	FanOutBatch int
	// MaxFanOut bounds the accounts one run reads to fan out (they are held
	// in memory); the rest wait for the next run. 0: DefaultMaxFanOut.
	MaxFanOut int
}

// ComponentState is what a run found or did about the component token.
type ComponentState string

// Component token states.
const (
	ComponentFresh     ComponentState = "fresh"     // more than the margin left; nothing to do
	ComponentRefreshed ComponentState = "refreshed" // renewed from the newest ticket
	ComponentNoTicket  ComponentState = "no_ticket" // renewal due, but no live ticket (or WeChat rejected it)
	ComponentFailed    ComponentState = "failed"    // renewal due and failed for another reason
)

// PushState is what a run did about api_start_push_ticket.
type PushState string

// Push ticket states; the zero value means no ticket push was needed.
const (
	PushRequested   PushState = "requested"    // api_start_push_ticket called and accepted
	PushRateLimited PushState = "rate_limited" // needed, but called less than PushTicketInterval ago
	PushFailed      PushState = "failed"       // called and failed
)

// Summary counts what a run did. Every due account the run read is counted
// in exactly one of Refreshed, Recovered, NeedsReauth, Revoked, Failed,
// Skipped, Left and Queued, so they add up to Due.
type Summary struct {
	ComponentAppID string
	Start          time.Time     // by Options.Now
	Duration       time.Duration // wall-clock

	Due         int // distinct due accounts read from the index
	Refreshed   int // new token fetched and stored
	Recovered   int // refresh token recovered from api_get_authorizer_list, then refreshed
	NeedsReauth int // refresh token rejected and not recoverable: the admin must authorize again
	Revoked     int // the account removed the platform (WeChat answered 61003; the push was lost)
	Failed      int // not refreshed this run; still due, so the next run tries again
	Skipped     int // already renewed, being renewed elsewhere, or revoked meanwhile
	Left        int // not started: the deadline was near
	Queued      int // sent to the queue for workers

	Component          ComponentState
	ComponentExpiresAt time.Time // of the stored component token after the run; zero: none
	PushTicket         PushState
	HasTicket          bool
	TicketAge          time.Duration // since the live ticket's CreateTime; 0 without one
}

// Run runs the refresh job once. Accounts that fail are counted and logged,
// not returned: the error reports what kept the run from doing its work (the
// store failing, or no usable component token for a reason other than a
// missing ticket). The summary is complete and written either way.
func Run(ctx context.Context, opts Options) (Summary, error) {
	if opts.Store == nil || opts.Tokens == nil || opts.WeChat == nil {
		return Summary{}, errors.New("refresh: Options need a Store, Tokens and WeChat")
	}
	r := newRun(opts)
	wallStart := time.Now()
	sum := Summary{ComponentAppID: r.tokens.ComponentAppID(), Start: r.now()}

	usable, err := r.component(ctx, &sum)
	if usable {
		err = errors.Join(err, r.authorizers(ctx, sum.Start, &sum))
		err = errors.Join(err, retryPending(ctx, opts.Accounts, r.log))
	}
	if usable && opts.After != nil {
		err = errors.Join(err, opts.After(ctx))
	}
	sum.Duration = time.Since(wallStart)
	if werr := writeEMF(r.metrics, sum, r.stage); werr != nil {
		r.log.ErrorContext(ctx, "write run summary", "err", werr)
	}
	return sum, err
}

type run struct {
	store       store.Store
	tokens      *tokens.Source
	wx          PushTicketStarter
	now         func() time.Time
	log         *slog.Logger
	concurrency int
	batch       int
	stopMargin  time.Duration
	metrics     io.Writer
	stage       string
	queue       Queue
	accountTime time.Duration
	fanOutBatch int
	maxFanOut   int
}

func newRun(opts Options) *run {
	r := &run{
		store:       opts.Store,
		tokens:      opts.Tokens,
		wx:          opts.WeChat,
		now:         opts.Now,
		log:         opts.Logger,
		concurrency: opts.Concurrency,
		batch:       opts.BatchSize,
		stopMargin:  opts.StopMargin,
		metrics:     opts.Metrics,
		stage:       opts.Stage,
		queue:       opts.Queue,
		accountTime: opts.AccountTime,
		fanOutBatch: opts.FanOutBatch,
		maxFanOut:   opts.MaxFanOut,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.concurrency <= 0 {
		r.concurrency = DefaultConcurrency
	}
	if r.batch <= 0 {
		r.batch = DefaultBatchSize
	}
	if r.stopMargin <= 0 {
		r.stopMargin = DefaultStopMargin
	}
	if r.metrics == nil {
		r.metrics = os.Stdout
	}
	if r.accountTime <= 0 {
		r.accountTime = DefaultAccountTime
	}
	if r.fanOutBatch <= 0 {
		r.fanOutBatch = DefaultFanOutBatch
	}
	r.fanOutBatch = min(r.fanOutBatch, MaxBatch)
	if r.maxFanOut <= 0 {
		r.maxFanOut = DefaultMaxFanOut
	}
	return r
}

// component renews the component token when it is due and asks for a ticket
// push when there is none. usable reports whether a component token with
// tokens.MinValidity left is stored, without which no authorizer can be
// refreshed.
func (r *run) component(ctx context.Context, sum *Summary) (usable bool, err error) {
	appID := sum.ComponentAppID
	now := r.now()
	ticket, terr := r.store.GetTicket(ctx, appID)
	switch {
	case terr == nil:
		sum.HasTicket = true
		sum.TicketAge = now.Sub(ticket.CreateTime)
	case !errors.Is(terr, store.ErrNotFound):
		err = fmt.Errorf("read ticket: %w", terr)
	}

	before, berr := r.store.GetComponentToken(ctx, appID)
	if berr != nil && !errors.Is(berr, store.ErrNotFound) {
		err = errors.Join(err, fmt.Errorf("read component token: %w", berr))
	}
	tok, rerr := r.tokens.RefreshComponent(ctx, "")
	switch {
	case rerr == nil && tok.AccessToken != before.AccessToken:
		sum.Component = ComponentRefreshed
	case rerr == nil:
		sum.Component = ComponentFresh
	case errors.Is(rerr, tokens.ErrNoTicket):
		sum.Component = ComponentNoTicket
		r.log.WarnContext(ctx, "component token due but no ticket", "component_appid", appID, "err", rerr)
	default:
		sum.Component = ComponentFailed
		err = errors.Join(err, fmt.Errorf("refresh component token: %w", rerr))
	}
	if errors.Is(terr, store.ErrNotFound) || sum.Component == ComponentNoTicket {
		sum.PushTicket = r.startPushTicket(ctx, appID)
	}

	if rerr != nil {
		// The refresh failed; an older token may still be good for a while.
		tok, berr = r.store.GetComponentToken(ctx, appID)
		if berr != nil {
			tok = store.ComponentToken{}
		}
	}
	sum.ComponentExpiresAt = tok.ExpiresAt
	usable = tok.AccessToken != "" && r.now().Add(tokens.MinValidity).Before(tok.ExpiresAt)
	if !usable {
		r.log.ErrorContext(ctx, "no usable component token: authorizer tokens not refreshed", "component_appid", appID)
	}
	return usable, err
}

// startPushTicket calls api_start_push_ticket unless some run did within
// PushTicketInterval. The rate limit is a lease that is never released and
// whose owner is unique to this call, so no caller can extend it.
func (r *run) startPushTicket(ctx context.Context, appID string) PushState {
	lease := "start-push-ticket#" + appID
	err := r.store.AcquireLease(ctx, lease, "run-"+rand.Text(), r.now().Add(PushTicketInterval))
	if errors.Is(err, store.ErrLeaseHeld) {
		return PushRateLimited
	}
	if err != nil {
		r.log.ErrorContext(ctx, "claim api_start_push_ticket", "component_appid", appID, "err", err)
		return PushFailed
	}
	if err := r.wx.StartPushTicket(ctx); err != nil {
		r.log.ErrorContext(ctx, "api_start_push_ticket", "component_appid", appID, "err", err)
		return PushFailed
	}
	r.log.InfoContext(ctx, "asked WeChat to push a ticket", "component_appid", appID)
	return PushRequested
}

// result is how one account's refresh ended.
type result int

const (
	resRefreshed result = iota
	resRecovered
	resNeedsReauth
	resRevoked
	resFailed
	resSkipped
)

// authorizers refreshes the accounts due at the given time, here or, when
// more are due than this run can finish before its deadline and a queue is
// set, by fanning them out to workers (see fanOut).
//
// The index is read earliest first. Accounts this run refreshed leave it;
// those in flight, failed or held elsewhere stay, ahead of the unread ones.
// So each query asks for one batch more than the accounts the run has seen
// and not yet seen leave (or than the seen ones the last page held, should
// the index lag behind the writes, as DynamoDB's may), and skips the ones it
// has seen: every account is tried at most once per run, and a run never
// loops on one that keeps failing.
func (r *run) authorizers(ctx context.Context, due time.Time, sum *Summary) error {
	var first []store.Authorizer // the first page, when already read
	limit := r.batch
	if capacity, ok := r.capacity(ctx); ok && r.queue != nil {
		page, err := r.store.DueAuthorizers(ctx, due, capacity+1)
		if err != nil {
			return fmt.Errorf("read due authorizers: %w", err)
		}
		if len(page) > capacity {
			return r.fanOut(ctx, due, sum)
		}
		first, limit = page, capacity+1
	}

	pool := r.startPool(ctx, due, sum)
	stop, cancel := r.stopBefore(ctx)
	defer cancel()
	var (
		err        error
		seen       = make(map[string]bool)
		dispatched int
		left       int
		seenInPage int
	)
	// The first page is read even when stopping already, so that the
	// summary shows what was left.
queries:
	for n := 0; n == 0 || stop.Err() == nil; n++ {
		page := first
		if n > 0 || first == nil {
			limit = r.batch + max(dispatched-pool.gone(), seenInPage)
			var qerr error
			if page, qerr = r.store.DueAuthorizers(ctx, due, limit); qerr != nil {
				err = fmt.Errorf("read due authorizers: %w", qerr)
				break
			}
		}
		seenInPage = 0
		for i, a := range page {
			if seen[a.AppID] {
				seenInPage++
				continue
			}
			seen[a.AppID] = true
			if !pool.send(stop, a) {
				left = 1 + countUnseen(page[i+1:], seen)
				break queries
			}
			dispatched++
		}
		if len(page) < limit {
			break
		}
	}
	pool.wait()
	sum.Due += dispatched + left
	sum.Left += left
	return err
}

// capacity is how many accounts this run can refresh before its deadline,
// by the estimate Options.AccountTime; ok is false without a deadline.
func (r *run) capacity(ctx context.Context) (n int, ok bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	budget := time.Until(deadline) - r.stopMargin
	return max(0, int(budget/r.accountTime)) * r.concurrency, true
}

// stopBefore returns a context that ends StopMargin before ctx's deadline:
// no account is started after it, those in flight finish, the rest stay due
// for the next run.
func (r *run) stopBefore(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-r.stopMargin))
	}
	return ctx, func() {}
}

// pool refreshes accounts with bounded concurrency and counts the results.
type pool struct {
	jobs chan store.Authorizer
	wg   sync.WaitGroup

	mu     sync.Mutex // guards sum's counts and left
	sum    *Summary
	passed int // accounts known to have left the due index
}

func (r *run) startPool(ctx context.Context, due time.Time, sum *Summary) *pool {
	p := &pool{jobs: make(chan store.Authorizer), sum: sum}
	for range r.concurrency {
		p.wg.Go(func() {
			for a := range p.jobs {
				p.count(r.refreshOne(ctx, a, due))
			}
		})
	}
	return p
}

// send hands a to a worker, or reports false when stop ends first.
func (p *pool) send(stop context.Context, a store.Authorizer) bool {
	if stop.Err() != nil {
		return false
	}
	select {
	case p.jobs <- a:
		return true
	case <-stop.Done():
		return false
	}
}

func (p *pool) wait() {
	close(p.jobs)
	p.wg.Wait()
}

func (p *pool) gone() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed
}

func (p *pool) count(res result, leftIndex bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch res {
	case resRefreshed:
		p.sum.Refreshed++
	case resRecovered:
		p.sum.Recovered++
	case resNeedsReauth:
		p.sum.NeedsReauth++
	case resRevoked:
		p.sum.Revoked++
	case resFailed:
		p.sum.Failed++
	case resSkipped:
		p.sum.Skipped++
	}
	if leftIndex {
		p.passed++
	}
}

// countUnseen counts the accounts of page not in seen and marks them seen.
func countUnseen(page []store.Authorizer, seen map[string]bool) int {
	n := 0
	for _, a := range page {
		if !seen[a.AppID] {
			seen[a.AppID] = true
			n++
		}
	}
	return n
}

// refreshOne claims one due account and refreshes it: two store writes on
// the usual path (the claim, which also reads the account, and the new
// token). a is the account as the due index showed it, possibly a moment
// old; only its AppID and claim are looked at. It says how the refresh
// ended and whether the account has left the due index.
func (r *run) refreshOne(ctx context.Context, a store.Authorizer, due time.Time) (result, bool) {
	now := r.now()
	if a.RefreshingUntil.After(now) {
		return resSkipped, false // another run holds it
	}
	claimed, err := r.store.ClaimDue(ctx, a.AppID, due, now.Add(ClaimTTL))
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		// Refreshed, revoked or claimed elsewhere since the index was read.
		return resSkipped, false
	case err != nil:
		r.log.WarnContext(ctx, "claim failed; the account stays due", "authorizer_appid", a.AppID, "err", err)
		return resFailed, false
	}
	_, outcome, err := r.tokens.RefreshClaimed(ctx, claimed)
	switch {
	case err == nil && outcome == tokens.Refreshed:
		return resRefreshed, true
	case err == nil && outcome == tokens.Recovered:
		return resRecovered, true
	case err == nil:
		return resSkipped, true
	case errors.Is(err, tokens.ErrNeedsReauth):
		r.log.WarnContext(ctx, "account must authorize again", "authorizer_appid", a.AppID, "err", err)
		return resNeedsReauth, true
	case errors.Is(err, tokens.ErrRevoked):
		return resRevoked, true
	case errors.Is(err, tokens.ErrNotAuthorized):
		return resSkipped, true
	}
	r.log.WarnContext(ctx, "refresh failed; the account stays due", "authorizer_appid", a.AppID, "err", err)
	return resFailed, false
}
