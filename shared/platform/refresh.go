package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wxcomponent/wxcomponent/shared/miniprogram"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// RefreshSettings tune the refresh job (zero values: the job's defaults).
type RefreshSettings struct {
	// Concurrency is how many WeChat calls one invocation keeps in flight.
	Concurrency int
	// Queue, when set, takes the due accounts a run cannot finish in time.
	Queue refresh.Queue
}

func (p *Platform) refreshOptions() refresh.Options {
	return refresh.Options{
		Store:       p.Store,
		Tokens:      p.Tokens,
		WeChat:      p.WeChat,
		Now:         p.Now,
		Logger:      p.Logger,
		Stage:       p.Stage,
		Metrics:     p.Metrics,
		Accounts:    p.Accounts,
		After:       p.afterRefresh,
		Concurrency: p.Refresh.Concurrency,
		Queue:       p.Refresh.Queue,
	}
}

// afterRefresh is the work that rides on every refresh run with a usable
// component token: the JS-SDK tickets in use that are due, and the mini
// program audits whose poll is due.
func (p *Platform) afterRefresh(ctx context.Context) error {
	var errs []error
	if p.JSSDK != nil {
		sum, err := p.JSSDK.RefreshDue(ctx)
		if sum.Due > 0 {
			p.Logger.InfoContext(ctx, "JS-SDK tickets", "due", sum.Due, "refreshed", sum.Refreshed,
				"idled", sum.Idled, "skipped", sum.Skipped, "failed", sum.Failed)
		}
		errs = append(errs, err)
	}
	if p.MiniPrograms != nil {
		sum, err := p.MiniPrograms.PollDue(ctx, miniprogram.FleetOptions{Concurrency: p.Refresh.Concurrency})
		if sum.Due > 0 {
			p.Logger.InfoContext(ctx, "mini program audits polled", "due", sum.Due, "decided", sum.Decided,
				"in_review", sum.InReview, "failed", sum.Failed)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RunRefresh runs the refresh job once: the component token, then every
// authorizer that is due, then the JS-SDK tickets in use and the mini
// program audits that are due.
func (p *Platform) RunRefresh(ctx context.Context) (refresh.Summary, error) {
	return refresh.Run(ctx, p.refreshOptions())
}

// WorkRefreshBatches refreshes the accounts of queued batches, one message
// after the other, and names the messages to deliver again (SQS partial
// batch responses, ReportBatchItemFailures): the malformed ones, which end
// in the dead-letter queue, and those not worked through.
func (p *Platform) WorkRefreshBatches(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for i, rec := range ev.Records {
		if ctx.Err() != nil {
			for _, r := range ev.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
			break
		}
		if _, err := refresh.Work(ctx, p.refreshOptions(), []byte(rec.Body)); err != nil {
			p.Logger.ErrorContext(ctx, "refresh batch not done", "message_id", rec.MessageId, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp
}

// refreshEvent is what invokes the refresh function: the schedule's "{}"
// or a batch of queue messages.
type refreshEvent struct {
	Records []events.SQSMessage `json:"Records"`
}

// handleRefreshEvent runs the scheduled job for a schedule's event, and the
// workers for an SQS event.
func (p *Platform) handleRefreshEvent(ctx context.Context, payload json.RawMessage) (any, error) {
	var ev refreshEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("refresh event: %w", err)
	}
	if len(ev.Records) == 0 {
		_, err := p.RunRefresh(ctx)
		return nil, err
	}
	for _, r := range ev.Records {
		if r.EventSource != "aws:sqs" {
			return nil, fmt.Errorf("refresh event: a record from %q, want aws:sqs", r.EventSource)
		}
	}
	return p.WorkRefreshBatches(ctx, events.SQSEvent{Records: ev.Records}), nil
}

// Environment variables of the refresh settings, set by template.yaml.
const (
	EnvDueBuckets         = "WX_DUE_BUCKETS"
	EnvRefreshConcurrency = "WX_REFRESH_CONCURRENCY"
)

// intSetting reads a whole number in [1, maxValue] from the environment; 0
// when unset.
func intSetting(getenv func(string) string, name string, maxValue int) (int, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxValue {
		return 0, fmt.Errorf("%s=%q: want a whole number from 1 to %d", name, v, maxValue)
	}
	return n, nil
}
