// Package platform assembles the platform's parts (store, WeChat client,
// message crypto, tokens, accounts) from a configuration, and builds the
// HTTP handler of each function. The Lambda functions, the local dev server
// and the end-to-end tests all build the platform this way.
package platform

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/jssdk"
	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/miniprogram"
	"github.com/wxcomponent/wxcomponent/shared/oauth"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/ticket"
	"github.com/wxcomponent/wxcomponent/shared/tokenfunc"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

// Platform is one component's running platform.
type Platform struct {
	Config  config.Config
	Store   store.Store
	WeChat  *wechat.Client
	Crypter *wxcrypto.Crypter
	Tokens  *tokens.Source
	// API calls WeChat's business APIs on behalf of an authorizer appid.
	API      *wechat.Authorizers
	Accounts *accounts.Service
	// MiniPrograms runs the mini programs' release pipeline; its handlers
	// of WeChat's audit pushes are registered on Messages.
	MiniPrograms *miniprogram.Service
	// JSSDK hands out wx.config fields and JS-SDK tickets of authorizers;
	// nil when the store keeps no JS-SDK tickets.
	JSSDK *jssdk.Tickets
	// Messages routes every account's messages and events to the platform's
	// handlers; register them before serving.
	Messages *message.Router
	// Forwarder, when set, receives every decrypted message (an EventBridge
	// bus in AWS).
	Forwarder message.Forwarder
	Logger    *slog.Logger
	// AWS is the AWS SDK configuration in Lambda; zero elsewhere.
	AWS aws.Config
	Now func() time.Time
	// Stage names the deployment (dev, prod) in metrics; empty locally.
	Stage string
	// Metrics receives the refresh job's Embedded Metric Format lines; nil
	// means standard output, where Lambda's log agent picks them up.
	Metrics io.Writer
	// Refresh tunes the refresh job.
	Refresh RefreshSettings
}

// Options are the parts a Platform is built from.
type Options struct {
	Config config.Config
	Store  store.Store
	// HTTPClient reaches WeChat; nil uses a client with WeChat's timeouts.
	HTTPClient *http.Client
	Logger     *slog.Logger     // nil: JSON to stderr
	Now        func() time.Time // nil: time.Now
	// Stage names the deployment (dev, prod) in metrics; empty locally.
	Stage string
	// Metrics receives the Embedded Metric Format lines (the refresh job's,
	// the accounts'); nil means standard output, where Lambda's log agent
	// picks them up.
	Metrics io.Writer
	// Events, if set, receives the accounts' lifecycle events.
	Events lifecycle.Emitter
}

// New builds a Platform. Without the message token and EncodingAESKey
// (a function that opens no pushes does not read them) Crypter is nil.
func New(opts Options) (*Platform, error) {
	cfg := opts.Config
	var crypter *wxcrypto.Crypter
	if cfg.Omitted&(config.SecretComponentToken|config.SecretComponentAESKey) == 0 {
		var err error
		if crypter, err = wxcrypto.New(cfg.ComponentToken, cfg.ComponentAESKey, cfg.ComponentAppID); err != nil {
			return nil, fmt.Errorf("message crypto: %w", err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(os.Stderr)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		// The refresh job keeps dozens of calls to WeChat in flight; the
		// default transport would keep only 2 connections for reuse and open
		// (and leave in TIME_WAIT) a new one for every other call.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		httpClient = &http.Client{Transport: tr}
	}
	wx := wechat.New(wechat.Options{
		BaseURL:            cfg.APIBase,
		HTTPClient:         httpClient,
		ComponentAppID:     cfg.ComponentAppID,
		ComponentAppSecret: cfg.ComponentAppSecret,
		Logger:             log,
	})
	src := tokens.New(tokens.Options{
		Store:          opts.Store,
		WeChat:         wx,
		ComponentAppID: cfg.ComponentAppID,
		Now:            now,
		Logger:         log,
		Events:         opts.Events,
	})
	api := wechat.NewAuthorizers(wx, src)
	mp := miniprogram.New(miniprogram.Options{Store: opts.Store, API: api, Library: wx, Tokens: src, Now: now, Logger: log})
	messages := message.NewRouter()
	mp.Register(messages)
	var tickets *jssdk.Tickets
	if st, ok := opts.Store.(jssdk.Store); ok {
		tickets = jssdk.New(jssdk.Options{Store: st, API: api, Now: now, Logger: log})
	}
	return &Platform{
		Config:       cfg,
		Store:        opts.Store,
		WeChat:       wx,
		Crypter:      crypter,
		Tokens:       src,
		API:          api,
		JSSDK:        tickets,
		Accounts:     accounts.New(accounts.Options{Store: opts.Store, WeChat: wx, Tokens: src, Now: now, Logger: log, Metrics: opts.Metrics, Stage: opts.Stage, Events: opts.Events}),
		MiniPrograms: mp,
		Messages:     messages,
		Logger:       log,
		Now:          now,
		Stage:        opts.Stage,
		Metrics:      opts.Metrics,
	}, nil
}

// NewLogger returns the JSON logger every function uses.
func NewLogger(w *os.File) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TicketHandler is the ticket function's handler: WeChat's
// authorization-event pushes.
func (p *Platform) TicketHandler() (http.Handler, error) {
	if p.Crypter == nil {
		return nil, errNoCrypter
	}
	return ticket.NewHandler(ticket.Options{
		Crypter:  p.Crypter,
		Store:    p.Store,
		Accounts: p.Accounts,
		Now:      p.Now,
		Window:   p.Config.PushWindow,
		Logger:   p.Logger,
	}), nil
}

var errNoCrypter = errors.New("platform: no message token and EncodingAESKey loaded to open pushes with")

// AuthorizeHandler is the authorize function's handler: the start page and
// WeChat's redirect back, and web authorization on behalf of accounts.
func (p *Platform) AuthorizeHandler() (http.Handler, error) {
	pages, err := p.authorizePages()
	if err != nil {
		return nil, err
	}
	web, err := p.OAuthHandler()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(authorize.StartPattern, pages)
	mux.Handle(authorize.CallbackPattern, pages)
	mux.Handle(oauth.StartPattern, web)
	mux.Handle(oauth.CallbackPattern, web)
	return mux, nil
}

// OAuthHandler serves web authorization on behalf of an account (package
// oauth).
func (p *Platform) OAuthHandler() (http.Handler, error) {
	openBase := wechat.DefaultMobileBase
	if p.Config.MPBase != "" && p.Config.MPBase != wechat.DefaultMPBase {
		// A simulator serves WeChat's pages on one origin.
		openBase = p.Config.MPBase
	}
	return oauth.NewHandler(oauth.Options{
		WeChat:           wechat.NewComponent(p.WeChat, p.Tokens),
		Store:            p.Store,
		ComponentAppID:   p.Config.ComponentAppID,
		OpenBase:         openBase,
		PublicURL:        p.Config.PublicURL,
		StateSecret:      p.Config.StateSecret,
		AllowedRedirects: p.Config.OAuthRedirectList(),
		Now:              p.Now,
		Logger:           p.Logger,
	})
}

func (p *Platform) authorizePages() (http.Handler, error) {
	return authorize.NewHandler(authorize.Options{
		Tokens:         p.Tokens,
		WeChat:         p.WeChat,
		Accounts:       p.Accounts,
		ComponentAppID: p.Config.ComponentAppID,
		MPBase:         p.Config.MPBase,
		PublicURL:      p.Config.PublicURL,
		StateSecret:    p.Config.StateSecret,
		SuccessURL:     p.Config.AuthSuccessURL,
		Store:          p.Store,
		Now:            p.Now,
		Logger:         p.Logger,
	})
}

// MessageHandler is the message function's handler: every account's
// messages and events, routed through p.Messages.
func (p *Platform) MessageHandler() (http.Handler, error) {
	if p.Crypter == nil {
		return nil, errNoCrypter
	}
	return message.NewHandler(message.Options{
		Crypter:   p.Crypter,
		Store:     p.Store,
		Router:    p.Messages,
		Accounts:  p.Accounts,
		WeChat:    p.WeChat,
		Forwarder: p.Forwarder,
		Window:    p.Config.PushWindow,
		Now:       p.Now,
		Logger:    p.Logger,
	}), nil
}

// TokenHandler is the token function's handler: tokens for other Lambdas,
// refreshed on demand.
func (p *Platform) TokenHandler() *tokenfunc.Handler {
	return tokenfunc.New(tokenfunc.Options{
		Tokens:   p.Tokens,
		Expiries: p.Store,
		Logger:   p.Logger,
		Now:      p.Now,
	})
}

// Handler returns the handler of one HTTP function, which routes its own
// patterns. A Lambda function's main names its own constructor instead (see
// StartHTTPFunction), so that its binary links only its own handler.
func (p *Platform) Handler(function string) (http.Handler, error) {
	q := *p
	q.Logger = p.Logger.With("function", function)
	switch function {
	case routes.Ticket:
		return q.TicketHandler()
	case routes.Authorize:
		return q.AuthorizeHandler()
	case routes.Message:
		return q.MessageHandler()
	}
	return nil, fmt.Errorf("platform: no HTTP function %q", function)
}

// Mux returns one handler serving every function's routes, as the local dev
// server does.
func (p *Platform) Mux() (*http.ServeMux, error) {
	mux := http.NewServeMux()
	handlers := map[string]http.Handler{}
	for _, r := range routes.All {
		h, ok := handlers[r.Function]
		if !ok {
			var err error
			if h, err = p.Handler(r.Function); err != nil {
				return nil, fmt.Errorf("%s function: %w", r.Function, err)
			}
			handlers[r.Function] = h
		}
		mux.Handle(r.Pattern(), h)
	}
	return mux, nil
}

// Close releases the store when it holds resources (the embedded store).
func (p *Platform) Close() error {
	if c, ok := p.Store.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
