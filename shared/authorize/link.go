package authorize

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"
)

// Lifetimes of a start link.
const (
	DefaultLinkTTL = 24 * time.Hour
	MaxLinkTTL     = 7 * 24 * time.Hour
)

// linkVersion starts every start link; the key it is signed with differs
// from the state's, so neither verifies as the other.
const linkVersion = "l1"

// LinkParam is the start page's query parameter holding the signed link.
const LinkParam = "link"

// LinkOptions are a start link's optional settings.
type LinkOptions struct {
	// TTL is how long the link works; 0 means DefaultLinkTTL, at most
	// MaxLinkTTL.
	TTL time.Duration
	// AuthType limits the accounts WeChat offers: 1 official accounts, 2
	// mini programs, 3 (or 0) both.
	AuthType int
	// BizAppID pins the one account that may authorize; it and AuthType
	// are alternatives, as on WeChat's page.
	BizAppID string
	// SuccessURL is where the browser goes after a successful
	// authorization; the platform honours it only when it is on its
	// allow-list (Options.SuccessURLs).
	SuccessURL string
}

// link is a start link's signed content.
type link struct {
	Customer   string `json:"c"`
	AuthType   int    `json:"t,omitempty"`
	BizAppID   string `json:"b,omitempty"`
	SuccessURL string `json:"s,omitempty"`
	signedtoken.Times
}

// check validates the link's settings, as minted or as read back.
func (l link) check() error {
	if l.Customer == "" || !validCustomer(l.Customer) {
		return fmt.Errorf("customer: 1 to %d printable characters", maxCustomerLen)
	}
	if l.BizAppID != "" && !validAppID(l.BizAppID) {
		return errors.New("biz_appid: not an appid")
	}
	if l.AuthType < 0 || l.AuthType > 3 {
		return errors.New("auth_type: must be 1, 2 or 3")
	}
	if l.SuccessURL != "" {
		if _, err := absoluteURL(l.SuccessURL); err != nil {
			return fmt.Errorf("success URL: %w", err)
		}
	}
	return nil
}

// authType is the auth_type for WeChat's link: 3 unless the link narrows
// it; with a BizAppID WeChat takes no auth_type.
func (l link) authType() int {
	switch {
	case l.BizAppID != "":
		return 0
	case l.AuthType == 0:
		return 3
	}
	return l.AuthType
}

func newLinkSigner(secret string) signedtoken.Signer {
	return signedtoken.New(secret, "authorize start link", linkVersion, maxStateLen)
}

// MintLink returns the absolute URL of a start page for customer, the
// platform's own reference for the merchant, signed with the state secret
// (config WX_STATE_SECRET / SSM state_secret) and valid from now for
// opts.TTL. baseURL is the platform's public base URL (e.g.
// "https://wx.example.com"). The start page serves WeChat's authorization
// link only for a link minted here, so only the platform decides which
// customer an account is bound to: hand the URL to the customer's
// administrator, e.g. behind a button in the SaaS's own console.
func MintLink(secret, baseURL, customer string, opts LinkOptions, now time.Time) (string, error) {
	if len(secret) < minSecretLen {
		return "", fmt.Errorf("mint link: state secret is shorter than %d bytes", minSecretLen)
	}
	base, err := absoluteURL(baseURL)
	if err != nil {
		return "", fmt.Errorf("mint link: base URL: %w", err)
	}
	ttl := opts.TTL
	if ttl == 0 {
		ttl = DefaultLinkTTL
	}
	if ttl < 0 || ttl > MaxLinkTTL {
		return "", fmt.Errorf("mint link: TTL %s is not between 0 and %s", ttl, MaxLinkTTL)
	}
	l := link{
		Customer: customer, AuthType: opts.AuthType, BizAppID: opts.BizAppID, SuccessURL: opts.SuccessURL,
		Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix()},
	}
	if err := l.check(); err != nil {
		return "", fmt.Errorf("mint link: %w", err)
	}
	if l.BizAppID != "" && l.AuthType != 0 {
		return "", errors.New("mint link: auth_type and biz_appid are alternatives; give one")
	}
	token, err := newLinkSigner(secret).Sign(l)
	if err != nil {
		return "", fmt.Errorf("mint link: %w", err)
	}
	return strings.TrimRight(base.String(), "/") + StartPath + "?" + LinkParam + "=" + url.QueryEscape(token), nil
}

// openLink verifies a start link's token. An expired link is returned with
// errStateExpired, so the page can say which customer it was for.
func openLink(s signedtoken.Signer, raw string, now time.Time) (link, error) {
	var l link
	if err := s.Open(raw, &l); err != nil {
		return link{}, err
	}
	if l.check() != nil {
		return link{}, errStateForged
	}
	if err := l.Check(now); err != nil {
		if errors.Is(err, errStateExpired) {
			return l, err
		}
		return link{}, err
	}
	return l, nil
}
