package samples

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
)

// SetUpSim makes sim the WeChat that sent the samples: it registers the
// sample component without a platform URL (the samples are its pushes) and
// the sample account, authorizes the account and issues a ticket. Serve
// the simulator through StandIn.
func SetUpSim(ctx context.Context, sim *wechatsim.Sim) error {
	err := sim.AddComponent(wechatsim.Component{
		AppID:          ComponentAppID,
		AppSecret:      ComponentAppSecret,
		Token:          ComponentToken,
		EncodingAESKey: ComponentAESKey,
		Name:           "Sample Platform 示例平台",
	})
	if err != nil {
		return fmt.Errorf("sample component: %w", err)
	}
	_, err = sim.AddAccount(wechatsim.Account{
		AppID:         AuthorizerAppID,
		Kind:          wechatsim.OfficialAccount,
		UserName:      AuthorizerUserName,
		NickName:      AuthorizerName,
		PrincipalName: "示例餐饮有限公司 Sample Catering Ltd",
		ServiceType:   2,
		Users:         []string{UserOpenID},
	})
	if err != nil {
		return fmt.Errorf("sample account: %w", err)
	}
	if _, err := sim.Grant(ctx, ComponentAppID, AuthorizerAppID); err != nil {
		return fmt.Errorf("sample authorization: %w", err)
	}
	// Without a platform URL this only issues the ticket.
	if err := sim.PushTicket(ctx, ComponentAppID); err != nil {
		return fmt.Errorf("sample ticket: %w", err)
	}
	return nil
}

// maxAPIBody bounds the request bodies StandIn reads.
const maxAPIBody = 1 << 20

// StandIn serves sim's handler, honouring the samples' fixed ticket and
// authorization code as WeChat honours the ones it issued: in
// api_component_token and api_query_auth requests it replaces them with the
// simulator's own, its current ticket and a fresh code for the sample
// account. Everything else reaches the simulator unchanged. sim must have
// been set up with SetUpSim.
func StandIn(sim *wechatsim.Sim) http.Handler {
	next := sim.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch r.URL.Path {
		case "/cgi-bin/component/" + wechatsim.APIComponentToken:
			err = replaceField(r, "component_verify_ticket", Ticket, func() (string, error) {
				t, ok := sim.Ticket(ComponentAppID)
				if !ok {
					return "", errors.New("the simulator has issued no ticket")
				}
				return t, nil
			})
		case "/cgi-bin/component/" + wechatsim.APIQueryAuth:
			err = replaceField(r, "authorization_code", AuthCode, func() (string, error) {
				return sim.NewAuthCode(ComponentAppID, AuthorizerAppID)
			})
		}
		if err != nil {
			http.Error(w, "sample stand-in: "+err.Error(), http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// replaceField replaces the JSON body's field when it holds sample. A body
// that is not a JSON object is left for the simulator to reject.
func replaceField(r *http.Request, field, sample string, replacement func() (string, error)) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	r.Body.Close()
	var m map[string]any
	if json.Unmarshal(body, &m) == nil && m[field] == sample {
		v, err := replacement()
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		m[field] = v
		if body, err = json.Marshal(m); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return nil
}
