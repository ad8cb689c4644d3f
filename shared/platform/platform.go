// Package platform assembles the platform's parts (store, WeChat client,
// message crypto, tokens, accounts) from a configuration, and builds the
// HTTP handler of each function. The Lambda functions, the local dev server
// and the end-to-end tests all build the platform this way.
package platform

import (
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/jssdk"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/oauth"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/ticket"
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
	// JSSDK hands out wx.config fields and JS-SDK tickets of authorizers;
	// nil when the store keeps no JS-SDK tickets.
	JSSDK *jssdk.Tickets
	// Messages routes every account's messages and events to the platform's
	// handlers; register them before serving.
	Messages *message.Router
	// Forwarder, when set, receives every decrypted message (an EventBridge
	// bus in AWS).
	Forwarder message.Forwarder
	Log       *slog.Logger
	// AWS is the AWS SDK configuration in Lambda; zero elsewhere.
	AWS aws.Config
	Now func() time.Time
	// Stage names the deployment (dev, prod) in metrics; empty locally.
	Stage string
	// Metrics receives the refresh job's Embedded Metric Format lines; nil
	// means standard output, where Lambda's log agent picks them up.
	Metrics io.Writer
}

// Options are the parts a Platform is built from.
type Options struct {
	Config config.Config
	Store  store.Store
	// HTTPClient reaches WeChat; nil uses a client with WeChat's timeouts.
	HTTPClient *http.Client
	Log        *slog.Logger     // nil: JSON to stderr
	Now        func() time.Time // nil: time.Now
}

// New builds a Platform.
func New(opts Options) (*Platform, error) {
	cfg := opts.Config
	crypter, err := wxcrypto.New(cfg.ComponentToken, cfg.ComponentAESKey, cfg.ComponentAppID)
	if err != nil {
		return nil, fmt.Errorf("message crypto: %w", err)
	}
	log := opts.Log
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
	})
	api := wechat.NewAuthorizers(wx, src)
	var tickets *jssdk.Tickets
	if st, ok := opts.Store.(jssdk.Store); ok {
		tickets = jssdk.New(jssdk.Options{Store: st, API: api, Now: now, Logger: log})
	}
	return &Platform{
		Config:   cfg,
		Store:    opts.Store,
		WeChat:   wx,
		Crypter:  crypter,
		Tokens:   src,
		API:      api,
		JSSDK:    tickets,
		Accounts: accounts.New(opts.Store, wx, src, now, log),
		Messages: message.NewRouter(),
		Log:      log,
		Now:      now,
	}, nil
}

// NewLogger returns the JSON logger every function uses.
func NewLogger(w *os.File) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TicketHandler is the ticket function's handler: WeChat's
// authorization-event pushes.
func (p *Platform) TicketHandler() http.Handler {
	return ticket.NewHandler(p.Crypter, p.Store, p.Accounts, p.Now, p.Log)
}

// AuthorizeHandler is the authorize function's handler: the start page and
// WeChat's redirect back, and web authorization on behalf of accounts.
func (p *Platform) AuthorizeHandler() http.Handler {
	mux := http.NewServeMux()
	web := p.OAuthHandler()
	mux.Handle(oauth.StartPattern, web)
	mux.Handle(oauth.CallbackPattern, web)
	mux.Handle("/", p.authorizePages())
	return mux
}

// OAuthHandler serves web authorization on behalf of an account (package
// oauth).
func (p *Platform) OAuthHandler() http.Handler {
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
		Logger:           p.Log,
	})
}

func (p *Platform) authorizePages() http.Handler {
	return authorize.NewHandler(authorize.Options{
		Tokens:         p.Tokens,
		WeChat:         p.WeChat,
		Accounts:       p.Accounts,
		ComponentAppID: p.Config.ComponentAppID,
		MPBase:         p.Config.MPBase,
		PublicURL:      p.Config.PublicURL,
		StateSecret:    p.Config.StateSecret,
		SuccessURL:     p.Config.AuthSuccessURL,
		Now:            p.Now,
		Logger:         p.Log,
	})
}

// MessageHandler is the message function's handler: every account's
// messages and events, routed through p.Messages.
func (p *Platform) MessageHandler() http.Handler {
	return message.NewHandler(message.Options{
		Crypter:   p.Crypter,
		Store:     p.Store,
		Router:    p.Messages,
		Accounts:  p.Accounts,
		WeChat:    p.WeChat,
		Forwarder: p.Forwarder,
		Now:       p.Now,
		Log:       p.Log,
	})
}

// Handler returns the handler of one HTTP function mounted on its routes.
// A Lambda function's main names its own constructor instead (see
// StartHTTPFunction), so that its binary links only its own handler.
func (p *Platform) Handler(function string) http.Handler {
	return Mount(function, p.handler(function))
}

func (p *Platform) handler(function string) http.Handler {
	q := *p
	q.Log = p.Log.With("function", function)
	switch function {
	case routes.Ticket:
		return q.TicketHandler()
	case routes.Authorize:
		return q.AuthorizeHandler()
	case routes.Message:
		return q.MessageHandler()
	}
	panic("platform: no HTTP function " + function)
}

// Mount serves h on the routes of function (see package routes).
func Mount(function string, h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes.For(function) {
		mux.Handle(r.Pattern(), h)
	}
	return mux
}

// Mux returns one handler serving every function's routes, as the local dev
// server does.
func (p *Platform) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	handlers := map[string]http.Handler{}
	for _, r := range routes.All {
		h, ok := handlers[r.Function]
		if !ok {
			h = p.handler(r.Function)
			handlers[r.Function] = h
		}
		mux.Handle(r.Pattern(), h)
	}
	return mux
}

// Close releases the store when it holds resources (the embedded store).
func (p *Platform) Close() error {
	if c, ok := p.Store.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
