package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ClearQuota resets the daily API call counts (clear_quota/v2, with the
// component's secret, so it works when the quota left no token to fetch).
// An empty appID clears the component's own quota, else that of the
// authorized account appID. WeChat allows 10 resets per account a month
// (48006 after that).
func (c *Client) ClearQuota(ctx context.Context, appID string) error {
	k := componentCall("clear_quota/v2", "", struct {
		AppID     string `json:"appid,omitempty"`
		Component string `json:"component_appid"`
		Secret    string `json:"appsecret"`
	}{appID, c.appID, c.secret})
	// Each reset spends one of the month's ten: never repeat one that may
	// have arrived.
	k.sideEffect = true
	return c.doJSON(ctx, k, nil)
}

// Authorizer option names and their values (get/set_authorizer_option).
const (
	OptionLocationReport  = "location_report"  // 0 off, 1 on entering a session, 2 every 5 s
	OptionVoiceRecognize  = "voice_recognize"  // 0 off, 1 on
	OptionCustomerService = "customer_service" // 0 off, 1 on
)

// optionValues are the values WeChat accepts for each option.
var optionValues = map[string][]string{
	OptionLocationReport:  {"0", "1", "2"},
	OptionVoiceRecognize:  {"0", "1"},
	OptionCustomerService: {"0", "1"},
}

// CheckOption reports whether name and, when not empty, value are an
// authorizer option WeChat knows.
func CheckOption(name, value string) error {
	values, ok := optionValues[name]
	if !ok {
		return fmt.Errorf("wechat: unknown authorizer option %q (want %s, %s or %s)", name,
			OptionLocationReport, OptionVoiceRecognize, OptionCustomerService)
	}
	if value == "" {
		return nil
	}
	for _, v := range values {
		if v == value {
			return nil
		}
	}
	return fmt.Errorf("wechat: option %s takes %v, not %q", name, values, value)
}

// GetAuthorizerOption reads one option of an account (get_authorizer_option).
func (c *Client) GetAuthorizerOption(ctx context.Context, cat, authorizerAppID, name string) (string, error) {
	if err := CheckOption(name, ""); err != nil {
		return "", err
	}
	var out struct {
		OptionValue json.Number `json:"option_value"`
	}
	err := c.doJSON(ctx, componentCall("get_authorizer_option", cat, struct {
		AppID           string `json:"component_appid"`
		AuthorizerAppID string `json:"authorizer_appid"`
		Name            string `json:"option_name"`
	}{c.appID, authorizerAppID, name}), &out)
	return out.OptionValue.String(), err
}

// SetAuthorizerOption sets one option of an account (set_authorizer_option).
func (c *Client) SetAuthorizerOption(ctx context.Context, cat, authorizerAppID, name, value string) error {
	if value == "" {
		return errors.New("wechat set_authorizer_option: empty value")
	}
	if err := CheckOption(name, value); err != nil {
		return err
	}
	return c.doJSON(ctx, componentCall("set_authorizer_option", cat, struct {
		AppID           string `json:"component_appid"`
		AuthorizerAppID string `json:"authorizer_appid"`
		Name            string `json:"option_name"`
		Value           string `json:"option_value"`
	}{c.appID, authorizerAppID, name, value}), nil)
}

// ClearQuota resets the daily API call counts of the component (empty
// appID) or of an authorized account.
func (p *Component) ClearQuota(ctx context.Context, appID string) error {
	return p.client.ClearQuota(ctx, appID)
}

// GetAuthorizerOption reads one option of an account.
func (p *Component) GetAuthorizerOption(ctx context.Context, authorizerAppID, name string) (string, error) {
	return withCAT(ctx, p, func(cat string) (string, error) {
		return p.client.GetAuthorizerOption(ctx, cat, authorizerAppID, name)
	})
}

// SetAuthorizerOption sets one option of an account.
func (p *Component) SetAuthorizerOption(ctx context.Context, authorizerAppID, name, value string) error {
	_, err := withCAT(ctx, p, func(cat string) (struct{}, error) {
		return struct{}{}, p.client.SetAuthorizerOption(ctx, cat, authorizerAppID, name, value)
	})
	return err
}
