package miniprogram

import (
	"context"
	"errors"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// errStale marks a push older than what is recorded.
var errStale = errors.New("push older than the recorded state")

// Register routes WeChat's audit pushes (weapp_audit_success,
// weapp_audit_fail, weapp_audit_delay, wxa_nickname_audit) to the Service.
// They reach the message handler's Forwarder (the EventBridge bus) as every
// message does, whatever the Service makes of them.
func (s *Service) Register(r *message.Router) {
	for _, ev := range []string{message.EventWeappAuditSuccess, message.EventWeappAuditFail, message.EventWeappAuditDelay} {
		r.HandleEvent(ev, s.handleCodeAudit)
	}
	r.HandleEvent(message.EventNicknameAudit, s.handleNicknameAudit)
}

// handleCodeAudit records an audit's result. A result older than the
// latest submission, or than the result already recorded, is about an
// earlier audit and changes nothing.
func (s *Service) handleCodeAudit(ctx context.Context, m *message.Message) (message.Reply, error) {
	a := m.CodeAudit()
	state := store.AuditDelayed
	switch m.Event {
	case message.EventWeappAuditSuccess:
		state = store.AuditPassed
	case message.EventWeappAuditFail:
		state = store.AuditRejected
	}
	now := s.now()
	_, err := store.UpdateMiniProgram(ctx, s.store, m.AppID, func(p *store.MiniProgram) error {
		if a.At.Before(p.SubmittedAt.Truncate(time.Second)) || a.At.Before(p.AuditedAt) {
			return errStale
		}
		p.Audit, p.AuditedAt, p.Reason, p.ScreenShot = state, a.At, a.Reason, a.ScreenShot
		if state == store.AuditPassed {
			p.Reason, p.ScreenShot = "", ""
		}
		p.PollAt, p.UpdatedAt = nextPoll(*p, now), now
		return nil
	})
	if errors.Is(err, errStale) {
		s.log.InfoContext(ctx, "audit push older than the recorded audit ignored", "authorizer_appid", m.AppID, "event", m.Event)
		return message.Reply{}, nil
	}
	if err != nil {
		return message.Reply{}, err
	}
	s.log.InfoContext(ctx, "mini program audit", "authorizer_appid", m.AppID, "audit", state, "reason", a.Reason)
	return message.Reply{}, nil
}

// handleNicknameAudit records a name audit's result.
func (s *Service) handleNicknameAudit(ctx context.Context, m *message.Message) (message.Reply, error) {
	n := m.NicknameAudit()
	at := m.Time()
	now := s.now()
	_, err := store.UpdateMiniProgram(ctx, s.store, m.AppID, func(p *store.MiniProgram) error {
		if at.Before(p.NicknameAt) {
			return errStale
		}
		p.Nickname, p.NicknameStatus, p.NicknameReason, p.NicknameAt = n.Nickname, "rejected", n.Reason, at
		if n.Passed {
			p.NicknameStatus, p.NicknameReason = "passed", ""
		}
		p.UpdatedAt = now
		return nil
	})
	if errors.Is(err, errStale) {
		return message.Reply{}, nil
	}
	return message.Reply{}, err
}
