package message

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// The full-network release check (全网发布): before a platform goes live,
// WeChat's checker authorizes one of its published test accounts and pushes
// messages to it, expecting these answers.
const (
	releaseText        = "TESTCOMPONENT_MSG_TYPE_TEXT"
	releaseTextReply   = releaseText + "_callback"
	releaseQueryAuth   = "QUERY_AUTH_CODE:"
	releaseFromAPI     = "_from_api"
	releaseEventSuffix = "from_callback"
	// releaseBudget bounds the QUERY_AUTH_CODE case, which must be done
	// inside WeChat's five seconds.
	releaseBudget = 4 * time.Second
)

// Authorizer exchanges an authorization code and stores the account;
// *accounts.Service satisfies it.
type Authorizer interface {
	Authorize(ctx context.Context, code, customerRef string) (accounts.Result, error)
}

// CustomMessenger sends customer-service messages; *wechat.Client satisfies
// it.
type CustomMessenger interface {
	SendCustomMessage(ctx context.Context, accessToken string, msg wechat.CustomMessage) error
}

// ReleaseAccount is one of WeChat's release-check test accounts.
type ReleaseAccount struct {
	AppID    string
	UserName string // the original id, gh_…
}

// ReleaseAccounts returns WeChat's release-check test accounts, official
// accounts and mini programs of the five groups. The platform may hold no
// profile for them, so their original ids are known here; template.yaml lets
// the message function write only these accounts' authorizer items (the
// QUERY_AUTH_CODE case exchanges a code for one of them).
func ReleaseAccounts() [10]ReleaseAccount {
	return [...]ReleaseAccount{
		{"wx570bc396a51b8ff8", "gh_3c884a361561"},
		{"wx9252c5e0bb1836fc", "gh_c0f28a78b318"},
		{"wx8e1097c5bc82cde9", "gh_3f222ed8d140"},
		{"wx14550af28c71a144", "gh_26128078e9ab"},
		{"wxa35b9c23cfe664eb", "gh_2b3713f184a6"},
		{"wxd101a85aa106f53e", "gh_8dad206e9538"},
		{"wxc39235c15087f6f3", "gh_905ae9d01059"},
		{"wx7720d01d4b2a4500", "gh_393666f1fdf4"},
		{"wx05d483572dcd5d8b", "gh_39abb5d4e1b7"},
		{"wx5910277cae6fd970", "gh_7818dcb60240"},
	}
}

// releaseUserName returns the original id of the release-check test
// account appID, or "" when appID is none of them.
func releaseUserName(appID string) string {
	for _, a := range ReleaseAccounts() {
		if a.AppID == appID {
			return a.UserName
		}
	}
	return ""
}

// releaseCase answers a push to a test account as the release check
// expects. ok is false for a message that is none of its cases, which goes
// to the router like any other.
func (h *handler) releaseCase(ctx context.Context, m *Message) (r Reply, ok bool, err error) {
	switch {
	case m.MsgType == TypeEvent:
		return TextReply(m.Event + releaseEventSuffix), true, nil
	case m.MsgType != TypeText:
		return Reply{}, false, nil
	case m.Content() == releaseText:
		return TextReply(releaseTextReply), true, nil
	case strings.HasPrefix(m.Content(), releaseQueryAuth):
		code := strings.TrimPrefix(m.Content(), releaseQueryAuth)
		return Reply{empty: true}, true, h.answerQueryAuth(ctx, m.FromUserName, code)
	}
	return Reply{}, false, nil
}

// answerQueryAuth exchanges the code the checker sent and answers through
// the customer-service API with the access token that exchange returned.
// It runs before the push is answered, inside WeChat's five seconds, because
// a Lambda function is frozen as soon as it has answered.
func (h *handler) answerQueryAuth(ctx context.Context, toUser, code string) error {
	if h.accounts == nil || h.wechat == nil {
		return errors.New("release check: no accounts service or WeChat client configured")
	}
	ctx, cancel := context.WithTimeout(ctx, releaseBudget)
	defer cancel()
	res, err := h.accounts.Authorize(ctx, code, "")
	if err != nil {
		return fmt.Errorf("release check: %w", err)
	}
	msg := wechat.Text(toUser, code+releaseFromAPI)
	if err := h.wechat.SendCustomMessage(ctx, res.Authorizer.AccessToken, msg); err != nil {
		return fmt.Errorf("release check: send to %s: %w", res.Authorizer.AppID, err)
	}
	return nil
}
