package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// MaxBatch is the most accounts one queued batch may name: with appids of
// at most 32 bytes it stays far below a queue message's 256 KiB.
const MaxBatch = 1000

// maxAppIDLen bounds one appid in a batch (WeChat's are 18 characters).
const maxAppIDLen = 32

// Queue carries batches of due accounts to the workers: an SQS queue whose
// consumer calls Work with each message body.
type Queue interface {
	Send(ctx context.Context, body []byte) error
}

// Batch is one queued message: the appids of accounts due at Due. It names
// accounts only; no token ever travels through the queue, and a worker's
// claim reads the account as stored.
type Batch struct {
	Due    time.Time
	AppIDs []string
}

type batchJSON struct {
	Due    int64    `json:"due"`
	AppIDs []string `json:"appids"`
}

// MarshalBatch encodes b as a queue message body.
func MarshalBatch(b Batch) ([]byte, error) {
	return json.Marshal(batchJSON{Due: b.Due.Unix(), AppIDs: b.AppIDs})
}

// ParseBatch decodes a queue message body, rejecting anything MarshalBatch
// would not have written for a batch of at most MaxBatch accounts.
func ParseBatch(body []byte) (Batch, error) {
	var j batchJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return Batch{}, fmt.Errorf("refresh batch: %w", err)
	}
	switch {
	case j.Due <= 0:
		return Batch{}, errors.New("refresh batch: no due time")
	case len(j.AppIDs) == 0 || len(j.AppIDs) > MaxBatch:
		return Batch{}, fmt.Errorf("refresh batch: %d accounts, want 1 to %d", len(j.AppIDs), MaxBatch)
	}
	for _, id := range j.AppIDs {
		if id == "" || len(id) > maxAppIDLen {
			return Batch{}, fmt.Errorf("refresh batch: bad appid %.40q", id)
		}
	}
	return Batch{Due: time.Unix(j.Due, 0).UTC(), AppIDs: j.AppIDs}, nil
}

// fanOut reads up to MaxFanOut due accounts and sends them to the queue in
// batches, several sends at once. Accounts another run holds are counted
// Skipped; those of batches the queue refused are counted Left and stay due
// for the next run.
func (r *run) fanOut(ctx context.Context, due time.Time, sum *Summary) error {
	page, err := r.store.DueAuthorizers(ctx, due, r.maxFanOut)
	if err != nil {
		return fmt.Errorf("read due authorizers: %w", err)
	}
	sum.Due += len(page)
	now := r.now()
	var batches []Batch
	for _, a := range page {
		if a.RefreshingUntil.After(now) {
			sum.Skipped++
			continue
		}
		if n := len(batches); n == 0 || len(batches[n-1].AppIDs) == r.fanOutBatch {
			batches = append(batches, Batch{Due: due, AppIDs: make([]string, 0, r.fanOutBatch)})
		}
		b := &batches[len(batches)-1]
		b.AppIDs = append(b.AppIDs, a.AppID)
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan Batch)
	)
	for range min(r.concurrency, len(batches)) {
		wg.Go(func() {
			for b := range next {
				err := r.send(ctx, b)
				mu.Lock()
				if err != nil {
					sum.Left += len(b.AppIDs)
					errs = append(errs, err)
				} else {
					sum.Queued += len(b.AppIDs)
				}
				mu.Unlock()
			}
		})
	}
	for _, b := range batches {
		next <- b
	}
	close(next)
	wg.Wait()
	r.log.InfoContext(ctx, "fanned out due accounts", "due", len(page), "queued", sum.Queued, "batches", len(batches))
	if len(errs) > 0 {
		return fmt.Errorf("queue %d of %d batches: %w", len(errs), len(batches), errors.Join(errs...))
	}
	return nil
}

func (r *run) send(ctx context.Context, b Batch) error {
	body, err := MarshalBatch(b)
	if err != nil {
		return err
	}
	if err := r.queue.Send(ctx, body); err != nil {
		return fmt.Errorf("send batch of %d: %w", len(b.AppIDs), err)
	}
	return nil
}

// Work refreshes the accounts of one queued batch (a message body), as a
// run refreshes its own: each claimed and renewed with two store writes,
// Concurrency at a time, none started within StopMargin of the deadline.
// Accounts that failed stay due for the scheduled runs. The error reports
// a batch that could not be worked through (malformed, the store failing,
// accounts left at the deadline): the queue should deliver it again, and
// the accounts done meanwhile are then skipped at their claim.
func Work(ctx context.Context, opts Options, body []byte) (Summary, error) {
	b, err := ParseBatch(body)
	if err != nil {
		return Summary{}, err
	}
	if opts.Store == nil || opts.Tokens == nil {
		return Summary{}, errors.New("refresh: Options need a Store and Tokens")
	}
	r := newRun(opts)
	wallStart := time.Now()
	sum := Summary{ComponentAppID: r.tokens.ComponentAppID(), Start: r.now(), Due: len(b.AppIDs)}
	pool := r.startPool(ctx, r.now(), &sum)
	stop, cancel := r.stopBefore(ctx)
	defer cancel()
	for i, id := range b.AppIDs {
		if !pool.send(stop, store.Authorizer{AppID: id}) {
			sum.Left = len(b.AppIDs) - i
			break
		}
	}
	pool.wait()
	sum.Duration = time.Since(wallStart)
	r.log.InfoContext(ctx, "refreshed a queued batch", "accounts", len(b.AppIDs), "batch_age", sum.Start.Sub(b.Due),
		"refreshed", sum.Refreshed, "failed", sum.Failed, "left", sum.Left)
	if werr := writeEMF(r.metrics, sum, r.stage); werr != nil {
		r.log.ErrorContext(ctx, "write batch summary", "err", werr)
	}
	if sum.Left > 0 {
		return sum, fmt.Errorf("refresh batch: %d of %d accounts left at the deadline", sum.Left, len(b.AppIDs))
	}
	return sum, nil
}
