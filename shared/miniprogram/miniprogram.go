// Package miniprogram runs the release pipeline of the platform's mini
// programs: it commits a code template to a mini program, submits it for
// WeChat's audit and releases it, records each step in the store
// (store.MiniProgram), and moves that record forward when WeChat pushes an
// audit's result. The fleet functions do the same for many mini programs at
// once, with bounded concurrency and a result per mini program.
package miniprogram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// API is the part of WeChat's API the pipeline calls on behalf of a mini
// program; *wechat.Authorizers satisfies it.
type API interface {
	Commit(ctx context.Context, appID string, req wechat.Commit) error
	SubmitAudit(ctx context.Context, appID string, req wechat.SubmitAudit) (int64, error)
	LatestAuditStatus(ctx context.Context, appID string) (wechat.AuditStatus, error)
	Release(ctx context.Context, appID string) error
}

// Library lists the platform's code templates; *wechat.Client satisfies it.
type Library interface {
	TemplateList(ctx context.Context, cat string) ([]wechat.Template, error)
}

// ComponentTokens runs a call with a valid component token, renewing it
// once if WeChat rejects it; *tokens.Source satisfies it.
type ComponentTokens interface {
	WithComponentToken(ctx context.Context, call func(cat string) error) error
}

// Options are a Service's parts. Store and API are required; Library and
// Tokens only for Templates.
type Options struct {
	Store   store.Store
	API     API
	Library Library
	Tokens  ComponentTokens
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: slog.Default()
}

// Service runs the release pipeline. It is safe for concurrent use.
type Service struct {
	store   store.Store
	api     API
	library Library
	tokens  ComponentTokens
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, api: opts.API, library: opts.Library, tokens: opts.Tokens, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Templates lists the platform's code templates (wxa/gettemplatelist).
func (s *Service) Templates(ctx context.Context) ([]wechat.Template, error) {
	if s.library == nil || s.tokens == nil {
		return nil, errors.New("miniprogram: no template library configured")
	}
	var list []wechat.Template
	err := s.tokens.WithComponentToken(ctx, func(cat string) error {
		var err error
		list, err = s.library.TemplateList(ctx, cat)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return list, nil
}

// Commit uploads a template's code to the mini program appID and records
// what was committed. A failure is recorded as the pipeline's last error and
// changes nothing else.
func (s *Service) Commit(ctx context.Context, appID string, c wechat.Commit) (store.MiniProgram, error) {
	if c.TemplateID <= 0 || c.UserVersion == "" {
		return store.MiniProgram{}, fmt.Errorf("commit to %s: a template id and a user version are required", appID)
	}
	return s.step(ctx, appID, "commit", func() (func(*store.MiniProgram), error) {
		if err := s.api.Commit(ctx, appID, c); err != nil {
			return nil, err
		}
		now := s.now()
		return func(m *store.MiniProgram) {
			m.TemplateID, m.UserVersion, m.UserDesc, m.CommittedAt = c.TemplateID, c.UserVersion, c.UserDesc, now
		}, nil
	})
}

// Submit submits the committed code of appID for audit and records the
// audit as pending.
func (s *Service) Submit(ctx context.Context, appID string, req wechat.SubmitAudit) (store.MiniProgram, error) {
	return s.step(ctx, appID, "submit", func() (func(*store.MiniProgram), error) {
		id, err := s.api.SubmitAudit(ctx, appID, req)
		if err != nil {
			return nil, err
		}
		now := s.now()
		return func(m *store.MiniProgram) {
			m.AuditID, m.Audit, m.AuditVersion, m.SubmittedAt = id, store.AuditPending, m.UserVersion, now
			m.AuditedAt, m.Reason, m.ScreenShot = time.Time{}, "", ""
			m.PollAt = nextPoll(*m, now)
		}, nil
	})
}

// Release publishes the audited version of appID and records it as online.
func (s *Service) Release(ctx context.Context, appID string) (store.MiniProgram, error) {
	return s.step(ctx, appID, "release", func() (func(*store.MiniProgram), error) {
		if err := s.api.Release(ctx, appID); err != nil {
			return nil, err
		}
		now := s.now()
		return func(m *store.MiniProgram) {
			m.ReleasedVersion, m.ReleasedAt = m.AuditVersion, now
		}, nil
	})
}

// Poll asks WeChat for the latest audit of appID and records its state, for
// an audit whose push never arrived. An answer about an older audit than
// the one recorded changes nothing.
func (s *Service) Poll(ctx context.Context, appID string) (store.MiniProgram, error) {
	return s.step(ctx, appID, "poll", func() (func(*store.MiniProgram), error) {
		st, err := s.api.LatestAuditStatus(ctx, appID)
		if err != nil {
			return nil, err
		}
		state, ok := auditState(st.Status)
		if !ok {
			return nil, fmt.Errorf("wechat wxa/get_latest_auditstatus: unknown status %d", st.Status)
		}
		now := s.now()
		return func(m *store.MiniProgram) {
			// An answer about an older audit than the recorded one only
			// moves the next poll on.
			if m.AuditID == 0 || st.AuditID == m.AuditID {
				m.AuditID, m.Audit = st.AuditID, state
				if m.AuditVersion == "" {
					m.AuditVersion = st.UserVersion
				}
				if m.SubmittedAt.IsZero() && st.SubmitTime > 0 {
					m.SubmittedAt = time.Unix(st.SubmitTime, 0)
				}
				m.Reason, m.ScreenShot = st.Reason, st.ScreenShot
			}
			m.PollAt = nextPoll(*m, now)
		}, nil
	})
}

// Audits still in review a day after their submission are polled every six
// hours by the refresh job (PollDue), in case WeChat's push was lost.
const (
	AuditPollAfter    = 24 * time.Hour
	AuditPollInterval = 6 * time.Hour
)

// nextPoll returns when to ask WeChat about m's audit, from now on: zero
// once WeChat has decided it.
func nextPoll(m store.MiniProgram, now time.Time) time.Time {
	if !m.Audit.InReview() {
		return time.Time{}
	}
	first, next := m.SubmittedAt.Add(AuditPollAfter), now.Add(AuditPollInterval)
	if first.After(next) {
		return first
	}
	return next
}

// auditState converts get_auditstatus's status code.
func auditState(status int) (store.AuditState, bool) {
	switch status {
	case wechat.AuditStatusPassed:
		return store.AuditPassed, true
	case wechat.AuditStatusRejected:
		return store.AuditRejected, true
	case wechat.AuditStatusPending:
		return store.AuditPending, true
	case wechat.AuditStatusWithdrawn:
		return store.AuditWithdrawn, true
	case wechat.AuditStatusDelayed:
		return store.AuditDelayed, true
	}
	return "", false
}

// step runs one call to WeChat and records its outcome: on success the
// change call returns, with the last error cleared; on failure the error
// as the last error, nothing else.
func (s *Service) step(ctx context.Context, appID, name string, call func() (func(*store.MiniProgram), error)) (store.MiniProgram, error) {
	change, callErr := call()
	now := s.now()
	m, err := store.UpdateMiniProgram(ctx, s.store, appID, func(m *store.MiniProgram) error {
		if callErr != nil {
			m.LastError, m.LastErrorAt = name+": "+callErr.Error(), now
		} else {
			change(m)
			m.LastError, m.LastErrorAt = "", time.Time{}
		}
		m.UpdatedAt = now
		return nil
	})
	if callErr != nil {
		callErr = fmt.Errorf("%s %s: %w", name, appID, callErr)
		if err != nil {
			return m, errors.Join(callErr, fmt.Errorf("record the failure: %w", err))
		}
		return m, callErr
	}
	if err != nil {
		// WeChat acted; the record lags behind until the next push or poll.
		return m, fmt.Errorf("%s %s done at WeChat, not recorded: %w", name, appID, err)
	}
	s.log.InfoContext(ctx, "mini program "+name, "authorizer_appid", appID, "user_version", m.UserVersion, "audit", m.Audit)
	return m, nil
}
