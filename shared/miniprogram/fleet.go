package miniprogram

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// DefaultConcurrency is how many mini programs a fleet operation works on
// at once: enough to finish thousands in minutes, few enough that WeChat's
// per-platform frequency limits are not the bottleneck.
const DefaultConcurrency = 8

// Outcome is one mini program's result of a fleet operation.
type Outcome struct {
	AppID string
	State store.MiniProgram // the record after the step (also after a failure)
	Err   error
}

// FleetOptions shape a fleet operation.
type FleetOptions struct {
	// Concurrency bounds the calls in flight; 0 means DefaultConcurrency.
	Concurrency int
	// Progress, if set, is called once per mini program as it finishes, one
	// call at a time, with how many are done out of how many.
	Progress func(done, total int, o Outcome)
}

// Fleet runs op for every appid, at most opts.Concurrency at once, and
// returns the outcomes in the order of appIDs. Once ctx ends, the mini
// programs not yet started get ctx's error without a call.
func Fleet(ctx context.Context, appIDs []string, opts FleetOptions, op func(ctx context.Context, appID string) (store.MiniProgram, error)) []Outcome {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	out := make([]Outcome, len(appIDs))
	next := make(chan int)
	var mu sync.Mutex // serialises Progress
	done := 0
	var wg sync.WaitGroup
	for range min(n, len(appIDs)) {
		wg.Go(func() {
			for i := range next {
				o := Outcome{AppID: appIDs[i]}
				if err := ctx.Err(); err != nil {
					o.Err = err
				} else {
					o.State, o.Err = op(ctx, appIDs[i])
				}
				out[i] = o
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, len(appIDs), o)
				}
				mu.Unlock()
			}
		})
	}
	for i := range appIDs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// CommitAll commits to every mini program the Commit that commit returns
// for it (the ext_json usually names the mini program).
func (s *Service) CommitAll(ctx context.Context, appIDs []string, commit func(appID string) wechat.Commit, opts FleetOptions) []Outcome {
	return Fleet(ctx, appIDs, opts, func(ctx context.Context, appID string) (store.MiniProgram, error) {
		return s.Commit(ctx, appID, commit(appID))
	})
}

// SubmitAll submits every mini program's committed code for audit.
func (s *Service) SubmitAll(ctx context.Context, appIDs []string, req wechat.SubmitAudit, opts FleetOptions) []Outcome {
	return Fleet(ctx, appIDs, opts, func(ctx context.Context, appID string) (store.MiniProgram, error) {
		return s.Submit(ctx, appID, req)
	})
}

// ReleaseAll releases every mini program whose audit passed; the others
// are skipped with ErrNotPassed, without a call to WeChat.
func (s *Service) ReleaseAll(ctx context.Context, appIDs []string, opts FleetOptions) []Outcome {
	return Fleet(ctx, appIDs, opts, func(ctx context.Context, appID string) (store.MiniProgram, error) {
		m, err := s.store.GetMiniProgram(ctx, appID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return m, fmt.Errorf("release %s: %w", appID, err)
		}
		if m.Audit != store.AuditPassed {
			return m, fmt.Errorf("release %s: audit %s: %w", appID, orNone(string(m.Audit)), ErrNotPassed)
		}
		if m.ReleasedVersion == m.AuditVersion && !m.ReleasedAt.Before(m.AuditedAt) {
			return m, nil // released already
		}
		return s.Release(ctx, appID)
	})
}

// PollAll asks WeChat for the latest audit of every mini program.
func (s *Service) PollAll(ctx context.Context, appIDs []string, opts FleetOptions) []Outcome {
	return Fleet(ctx, appIDs, opts, s.Poll)
}

// maxDuePolls bounds the audits one PollDue reads; the rest stay due for
// the next run.
const maxDuePolls = 1000

// PollSummary counts what PollDue did. Due = Decided + InReview + Failed.
type PollSummary struct {
	Due      int // audits whose poll was due
	Decided  int // WeChat had decided them: passed, rejected or withdrawn
	InReview int // still in review (or delayed): polled again later
	Failed   int // the call failed: tried again after AuditPollInterval
}

// PollDue asks WeChat about the audits still in review whose poll is due
// (see AuditPollAfter) and records what it answers. The refresh job calls
// it on every run.
func (s *Service) PollDue(ctx context.Context, opts FleetOptions) (PollSummary, error) {
	var sum PollSummary
	due, err := s.store.DueAudits(ctx, s.now(), maxDuePolls)
	if err != nil {
		return sum, fmt.Errorf("poll audits: %w", err)
	}
	ids := make([]string, len(due))
	for i, m := range due {
		ids[i] = m.AppID
	}
	sum.Due = len(ids)
	var errs []error
	for _, o := range s.PollAll(ctx, ids, opts) {
		switch {
		case o.Err != nil:
			sum.Failed++
			if err := s.postpone(ctx, o.AppID); err != nil {
				errs = append(errs, err)
			}
			s.log.WarnContext(ctx, "poll audit", "authorizer_appid", o.AppID, "err", o.Err)
		case o.State.Audit.InReview():
			sum.InReview++
		default:
			sum.Decided++
		}
	}
	return sum, errors.Join(errs...)
}

// postpone moves the poll of appID's audit AuditPollInterval on, so that a
// failing call is not repeated on every run.
func (s *Service) postpone(ctx context.Context, appID string) error {
	now := s.now()
	_, err := store.UpdateMiniProgram(ctx, s.store, appID, func(m *store.MiniProgram) error {
		m.PollAt = nextPoll(*m, now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("postpone audit poll of %s: %w", appID, err)
	}
	return nil
}

// ErrNotPassed reports that a mini program's latest audit has not passed,
// so there is nothing to release.
var ErrNotPassed = errors.New("no passed audit to release")

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// MiniPrograms returns the appids of the active authorizers that are mini
// programs (by their stored profile), in appid order.
func (s *Service) MiniPrograms(ctx context.Context) ([]string, error) {
	var ids []string
	err := store.EachAuthorizer(ctx, s.store, func(a store.Authorizer) error {
		if a.Status != store.StatusActive {
			return nil
		}
		p, err := s.store.GetProfile(ctx, a.AppID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("profile of %s: %w", a.AppID, err)
		}
		if p.MiniProgram {
			ids = append(ids, a.AppID)
		}
		return nil
	})
	return ids, err
}

// Status is a mini program's pipeline with its name.
type Status struct {
	Name string `json:"name"`
	store.MiniProgram
}

// Status returns the pipeline of each appid with the mini program's name;
// one never touched has only its appid.
func (s *Service) Status(ctx context.Context, appIDs []string) ([]Status, error) {
	out := make([]Status, 0, len(appIDs))
	for _, id := range appIDs {
		m, err := s.store.GetMiniProgram(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			m = store.MiniProgram{AppID: id}
		case err != nil:
			return nil, err
		}
		st := Status{MiniProgram: m}
		p, err := s.store.GetProfile(ctx, id)
		switch {
		case err == nil:
			st.Name = p.NickName
		case m.Registration != nil:
			st.Name = m.Registration.Name
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("profile of %s: %w", id, err)
		}
		out = append(out, st)
	}
	return out, nil
}
