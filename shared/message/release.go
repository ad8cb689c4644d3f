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

// isReleaseAccount reports whether the push is to one of WeChat's test
// accounts, by the appid in the URL or the account's original id.
func isReleaseAccount(appID, userName string) bool {
	switch appID {
	case "wx570bc396a51b8ff8", "wx9252c5e0bb1836fc", "wx8e1097c5bc82cde9", "wx14550af28c71a144", "wxa35b9c23cfe664eb", // official accounts
		"wxd101a85aa106f53e", "wxc39235c15087f6f3", "wx7720d01d4b2a4500", "wx05d483572dcd5d8b", "wx5910277cae6fd970": // mini programs
		return true
	}
	switch userName {
	case "gh_3c884a361561", "gh_c0f28a78b318", "gh_3f222ed8d140", "gh_26128078e9ab", "gh_2b3713f184a6",
		"gh_8dad206e9538", "gh_905ae9d01059", "gh_393666f1fdf4", "gh_39abb5d4e1b7", "gh_7818dcb60240":
		return true
	}
	return false
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
