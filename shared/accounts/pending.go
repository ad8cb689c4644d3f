package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/emf"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// Pushed is an authorized or updateauthorized push from WeChat.
type Pushed struct {
	InfoType        string
	AuthorizerAppID string
	Code            string    // AuthorizationCode
	CodeExpiresAt   time.Time // AuthorizationCodeExpiredTime; zero: an hour from now
}

// CodeUnusable reports WeChat's answers to an authorization code it will
// never exchange: 61009 code is invalid (also given for a used one), 61010
// code is expired.
func CodeUnusable(err error) bool {
	c := wechat.Code(err)
	return c == 61009 || c == 61010
}

// AuthorizePushed exchanges a pushed authorization code. The push is often
// the only arrival of an authorization (the browser may never come back),
// so it must not be lost: when the exchange fails for a reason that may
// pass (WeChat busy, a timeout, the IP whitelist, a missing ticket), the
// code is stored as pending for the refresh job to retry, and the push can
// be acknowledged. A code WeChat refuses for good is logged and counted as
// an authorization lost. The error reports only what should make WeChat
// push again: the pending record could not be stored.
func (s *Service) AuthorizePushed(ctx context.Context, p Pushed) error {
	res, err := s.Authorize(ctx, p.Code, "")
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "authorization stored", "info_type", p.InfoType, "authorizer_appid", res.Authorizer.AppID)
		return nil
	case CodeUnusable(err):
		s.lost(ctx, p.AuthorizerAppID, p.InfoType, err)
		return nil
	}
	now := s.now()
	expires := p.CodeExpiresAt
	if expires.IsZero() {
		expires = now.Add(codeLifetime)
	}
	pending := store.PendingExchange{
		Code: p.Code, AuthorizerAppID: p.AuthorizerAppID, InfoType: p.InfoType,
		ExpiresAt: expires, ReceivedAt: now, Attempts: 1, LastError: err.Error(),
	}
	if perr := s.store.PutPendingExchange(ctx, pending); perr != nil {
		return errors.Join(err, fmt.Errorf("keep the code as pending: %w", perr))
	}
	s.log.WarnContext(ctx, "authorization code kept for the refresh job to exchange", "info_type", p.InfoType,
		"authorizer_appid", p.AuthorizerAppID, "code_expires_at", expires, "err", err)
	return nil
}

// lost logs and counts an authorization WeChat will never exchange: the
// account's administrator must authorize again. An alarm watches the
// metric.
func (s *Service) lost(ctx context.Context, appID, infoType string, err error) {
	s.log.ErrorContext(ctx, "authorization lost: WeChat refuses its code for good; the administrator must authorize again",
		"authorizer_appid", appID, "info_type", infoType, "err", err)
	s.metric(ctx, map[string]any{"AuthorizerAppID": appID}, emf.Metric{Name: "AuthorizationLost", Unit: "Count", Value: 1})
}

// RetryReport counts what a RetryPending did with the pending exchanges.
type RetryReport struct {
	Pending   int // records read
	Exchanged int // exchanged now (or meanwhile by the redirect); record removed
	Lost      int // code expired or refused for good; logged, counted, record removed
	Failed    int // failed again; kept for the next run
}

// pendingPage is how many pending exchanges RetryPending reads at a time.
const pendingPage = 100

// RetryPending tries every pending exchange once: a code that is exchanged
// or lost for good is removed, one that fails again is kept with its
// attempt counted. Each loss is logged and counted once, as its record goes
// with it. The error reports only store failures.
func (s *Service) RetryPending(ctx context.Context) (RetryReport, error) {
	var r RetryReport
	for after := ""; ; {
		page, err := s.store.PendingExchanges(ctx, after, pendingPage)
		if err != nil {
			return r, fmt.Errorf("read pending exchanges: %w", err)
		}
		for _, p := range page {
			r.Pending++
			if err := s.retry(ctx, p, &r); err != nil {
				return r, err
			}
		}
		if len(page) < pendingPage {
			break
		}
		after = page[len(page)-1].Code
	}
	if r.Pending > 0 {
		s.metric(ctx, nil,
			emf.Metric{Name: "PendingExchanges", Unit: "Count", Value: float64(r.Pending)},
			emf.Metric{Name: "PendingExchanged", Unit: "Count", Value: float64(r.Exchanged)})
	}
	return r, nil
}

func (s *Service) retry(ctx context.Context, p store.PendingExchange, r *RetryReport) error {
	var err error
	if s.now().Before(p.ExpiresAt) {
		var res Result
		if res, err = s.Authorize(ctx, p.Code, ""); err == nil {
			r.Exchanged++
			s.log.InfoContext(ctx, "pending authorization exchanged", "info_type", p.InfoType,
				"authorizer_appid", res.Authorizer.AppID, "attempts", p.Attempts+1)
			return s.dropPending(ctx, p)
		}
	} else {
		err = fmt.Errorf("code expired at %s before it could be exchanged (last error: %s)", p.ExpiresAt.Format(time.RFC3339), p.LastError)
	}
	if !s.now().Before(p.ExpiresAt) || CodeUnusable(err) {
		r.Lost++
		s.lost(ctx, p.AuthorizerAppID, p.InfoType, err)
		return s.dropPending(ctx, p)
	}
	r.Failed++
	p.Attempts++
	p.LastError = err.Error()
	if err := s.store.PutPendingExchange(ctx, p); err != nil {
		return fmt.Errorf("count attempt of pending exchange of %s: %w", p.AuthorizerAppID, err)
	}
	s.log.WarnContext(ctx, "pending authorization still not exchanged", "authorizer_appid", p.AuthorizerAppID,
		"attempts", p.Attempts, "code_expires_at", p.ExpiresAt, "err", err)
	return nil
}

func (s *Service) dropPending(ctx context.Context, p store.PendingExchange) error {
	if err := s.store.DeletePendingExchange(ctx, p.Code); err != nil {
		return fmt.Errorf("remove pending exchange of %s: %w", p.AuthorizerAppID, err)
	}
	return nil
}
