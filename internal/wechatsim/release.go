package wechatsim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// The account WeChat's full-network release checker authorizes: the first
// test group's official account.
const (
	ReleaseTestAppID    = "wx570bc396a51b8ff8"
	ReleaseTestUserName = "gh_3c884a361561"
)

// The release check's cases, as Report names them.
const (
	CaseAuthorized = "authorized"      // the test account's authorized push answered "success"
	CaseTicket     = "ticket"          // a ticket push answered exactly "success"
	CaseText       = "text"            // TESTCOMPONENT_MSG_TYPE_TEXT → passive TESTCOMPONENT_MSG_TYPE_TEXT_callback
	CaseAPI        = "query_auth_code" // QUERY_AUTH_CODE:$code → empty answer, then a custom message $code_from_api
	CaseEvent      = "event"           // a LOCATION event → passive LOCATIONfrom_callback
)

// CaseResult is one case of a release check.
type CaseResult struct {
	Name    string        `json:"name"`
	Passed  bool          `json:"passed"`
	Reason  string        `json:"reason,omitempty"` // why it failed
	Latency time.Duration `json:"latency_ns"`       // real time the case took
}

// Report is the outcome of a release check.
type Report struct {
	Component  string       `json:"component_appid"`
	Authorizer string       `json:"authorizer_appid"`
	Passed     bool         `json:"passed"`
	Cases      []CaseResult `json:"cases"`
}

// ReleaseCheck runs WeChat's full-network release check (全网发布检测)
// against a component: it authorizes the test account ReleaseTestAppID with
// an authorized push, then runs the ticket, text, QUERY_AUTH_CODE and event
// cases. Every case runs even if an earlier one failed; a case the platform
// cannot answer fails. The QUERY_AUTH_CODE case waits up to
// Options.ReleaseWait for the custom message.
func (s *Sim) ReleaseCheck(ctx context.Context, componentAppID string) Report {
	rep := Report{Component: componentAppID, Authorizer: ReleaseTestAppID, Passed: true}
	run := func(name string, f func() error) {
		start := time.Now()
		err := f()
		c := CaseResult{Name: name, Passed: err == nil, Latency: time.Since(start)}
		if err != nil {
			c.Reason = err.Error()
			rep.Passed = false
		}
		rep.Cases = append(rep.Cases, c)
	}

	s.mu.RLock()
	comp, ok := s.components[componentAppID]
	var platform string
	if ok {
		platform = comp.PlatformURL
	}
	user := s.accounts[ReleaseTestAppID].Users[0]
	s.mu.RUnlock()
	var setupErr error
	switch {
	case !ok:
		setupErr = fmt.Errorf("%s: %w", componentAppID, ErrUnknownComponent)
	case platform == "":
		setupErr = fmt.Errorf("%s: %w", componentAppID, ErrNoPlatform)
	}
	if setupErr != nil {
		for _, name := range []string{CaseAuthorized, CaseTicket, CaseText, CaseAPI, CaseEvent} {
			run(name, func() error { return setupErr })
		}
		return rep
	}

	run(CaseAuthorized, func() error {
		auth, err := s.Grant(ctx, componentAppID, ReleaseTestAppID)
		if err != nil {
			return err
		}
		return auth.PushErr
	})
	run(CaseTicket, func() error { return s.PushTicket(ctx, componentAppID) })
	run(CaseText, func() error {
		return s.expectText(ctx, componentAppID, Message{From: user, Type: "text", Content: "TESTCOMPONENT_MSG_TYPE_TEXT"},
			"TESTCOMPONENT_MSG_TYPE_TEXT_callback")
	})
	run(CaseAPI, func() error { return s.checkQueryAuthCode(ctx, componentAppID, user) })
	run(CaseEvent, func() error {
		return s.expectText(ctx, componentAppID, Message{
			From: user, Type: "event", Event: "LOCATION",
			Extra: []wxxml.Field{
				{Name: "Latitude", Value: "23.137466", Number: true},
				{Name: "Longitude", Value: "113.352425", Number: true},
				{Name: "Precision", Value: "119.385040", Number: true},
			},
		}, "LOCATIONfrom_callback")
	})
	return rep
}

// expectText sends msg to the test account and wants a passive text reply
// with exactly want.
func (s *Sim) expectText(ctx context.Context, componentAppID string, msg Message, want string) error {
	msg.Component = componentAppID
	r, err := s.SendMessage(ctx, ReleaseTestAppID, msg)
	switch {
	case err != nil:
		return err
	case r.Empty:
		return fmt.Errorf("no passive reply, want text %q", want)
	case r.MsgType != "text" || r.Content != want:
		return fmt.Errorf("reply %s %q, want text %q", r.MsgType, r.Content, want)
	}
	return nil
}

// checkQueryAuthCode runs the QUERY_AUTH_CODE case: the platform answers the
// message empty, exchanges the code with api_query_auth and sends
// "<code>_from_api" to the user with the access token it got for that code.
func (s *Sim) checkQueryAuthCode(ctx context.Context, componentAppID, user string) error {
	code, err := s.NewAuthCode(componentAppID, ReleaseTestAppID)
	if err != nil {
		return err
	}
	r, err := s.SendMessage(ctx, ReleaseTestAppID, Message{
		Component: componentAppID, From: user, Type: "text", Content: "QUERY_AUTH_CODE:" + code,
	})
	if err != nil {
		return err
	}
	if !r.Empty {
		return fmt.Errorf("answered %s %q, want an empty answer", r.MsgType, r.Content)
	}
	want := code + "_from_api"
	wctx, cancel := context.WithTimeout(ctx, s.opts.ReleaseWait)
	defer cancel()
	m, err := s.WaitSent(wctx, ReleaseTestAppID, func(m SentMessage) bool {
		return m.Component == componentAppID && m.ToUser == user && m.MsgType == "text" && m.Content == want
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no custom message %q to %s within %v", want, user, s.opts.ReleaseWait)
		}
		return err
	}
	if m.TokenFromCode != code {
		return errors.New("the custom message was sent with an access token not obtained by api_query_auth of the code")
	}
	return nil
}
