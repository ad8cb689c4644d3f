// Package wechatsim is a WeChat simulator for one or more third-party
// platforms ("components"): it serves WeChat's component and business APIs
// (api.weixin.qq.com paths), the authorization pages (mp.weixin.qq.com and
// open.weixin.qq.com paths) and a control API under /sim/, and it pushes
// encrypted, signed events and user messages to the platform the way WeChat
// does.
//
// It behaves like WeChat, not like whatever makes a client pass: the same
// paths and JSON field names, WeChat's error codes and messages, the
// lifetimes of tickets (12 h), tokens (7200 s, a superseded one 5 more
// minutes), pre-authorization codes (1800 s, single use) and authorization
// codes (1 h, single use), and WeChat's 5-second answer limit on pushes.
// api_get_authorizer_list carries an account's refresh_token only once the
// platform exchanged one of its codes with api_query_auth, an API outside
// the permission sets an account granted answers 61007, and a path WeChat
// does not serve answers 40066 "invalid url". RotateRefreshTokens turns on
// an optional mode in which every api_authorizer_token rotates the refresh
// token, so that tests meet a lost answer the way WeChat can produce it.
//
// Time comes from Options.Clock (a simulated clock that tests advance; due
// ticket pushes run inside Advance) or from Options.Now (nil: real time, with
// a ticker goroutine). State lives in maps behind one RWMutex held only for
// map work: injected latency and pushes run without it, so the simulator
// serves many concurrent clients.
package wechatsim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

// WeChat's lifetimes and limits, as the simulator applies them.
const (
	TokenLifetime         = 7200 * time.Second // component and authorizer access tokens
	SupersededGrace       = 5 * time.Minute    // how long a replaced token keeps working
	TicketLifetime        = 12 * time.Hour     // component_verify_ticket
	PreAuthCodeLifetime   = 1800 * time.Second // pre_auth_code, per the current doc text (its example still shows 600)
	AuthCodeLifetime      = time.Hour          // authorization code (auth_code)
	MediaLifetime         = 72 * time.Hour     // temporary media
	CustomMessageWindow   = 48 * time.Hour     // custom messages after the user's last message
	DefaultTicketInterval = 10 * time.Minute   // how often WeChat pushes the ticket
	DefaultPushTimeout    = 5 * time.Second    // WeChat's limit on the platform's answer
	WeChatPushRetries     = 3                  // WeChat resends an unanswered message push this often
	MaxAuthorizerListPage = 500                // api_get_authorizer_list count limit
)

// Errors returned by the simulator's Go API, matched with errors.Is.
var (
	ErrUnknownComponent = errors.New("wechatsim: unknown component")
	ErrUnknownAccount   = errors.New("wechatsim: unknown account")
	ErrPreAuthCode      = errors.New("wechatsim: pre_auth_code is invalid, expired or used")
	ErrAccountType      = errors.New("wechatsim: account type not allowed by auth_type")
	ErrNotAuthorized    = errors.New("wechatsim: account has not authorized the component")
	ErrNoPlatform       = errors.New("wechatsim: component has no PlatformURL")
	ErrTimeout          = errors.New("wechatsim: platform did not answer in time")
	ErrBadAnswer        = errors.New("wechatsim: platform's answer is not what WeChat accepts")
	ErrNoFakeClock      = errors.New("wechatsim: the simulator runs on real time")
)

// Options configure a Sim. The zero value is a simulator on real time with
// WeChat's intervals and the default accounts.
type Options struct {
	// Clock, if set, is the simulated clock: all lifetimes use it and
	// Advance runs the due ticket pushes. Now is then ignored.
	Clock *Clock
	// Now is the time source when Clock is nil; nil means time.Now. Ticket
	// pushes then run on a real-time ticker.
	Now func() time.Time
	// TicketInterval is how often each component gets a ticket push;
	// 0 means DefaultTicketInterval, a negative value disables scheduled
	// pushes (PushTicket still works).
	TicketInterval time.Duration
	// PushTimeout is how long a push waits for the platform's answer
	// (real time); 0 means DefaultPushTimeout.
	PushTimeout time.Duration
	// PushRetries is how often a message push that got no answer in
	// PushTimeout is resent; WeChat resends WeChatPushRetries times.
	PushRetries int
	// HTTPClient sends the pushes; nil means a client of its own.
	HTTPClient *http.Client
	// Logger receives JSON-friendly logs of pushes; nil discards them.
	Logger *slog.Logger
	// BaseURL is the simulator's public URL, used in the avatar and QR
	// code links it hands out; empty means the request's own scheme and Host.
	BaseURL string
	// NoDefaultAccounts leaves out the seeded accounts (WeChat's release
	// test accounts are always present).
	NoDefaultAccounts bool
	// ReleaseWait bounds (in real time) how long ReleaseCheck waits for the
	// platform's custom message; 0 means 10 s.
	ReleaseWait time.Duration
	// MaxEvents is how many push outcomes Events keeps; 0 means 500.
	MaxEvents int
}

// Component is a third-party platform registered with the simulator.
type Component struct {
	AppID          string
	AppSecret      string
	Token          string // message token
	EncodingAESKey string // 43 characters
	// PlatformURL is the base of the platform's service: authorization events
	// go to PlatformURL+"/wechat/component/ticket", an account's messages to
	// PlatformURL+"/wechat/"+appid+"/callback". Empty: tickets are issued but
	// nothing is pushed.
	PlatformURL string
	// Name is shown on the authorization page; empty means AppID.
	Name string
	// AuthDomain, if set, is the registered authorization start page domain
	// (host[:port]): as WeChat does, the authorization page then requires
	// the Referer and the redirect_uri to be on it.
	AuthDomain string
}

// Sim is a simulated WeChat. Create it with New; it is safe for concurrent
// use.
type Sim struct {
	opts   Options
	now    func() time.Time
	clock  *Clock
	log    *slog.Logger
	client *http.Client
	mux    *http.ServeMux
	pages  *template.Template

	done      chan struct{}
	hangs     hangRegistry
	closeOnce sync.Once
	stopClock func()
	bg        sync.WaitGroup

	mu           sync.RWMutex
	components   map[string]*component
	compOrder    []string
	accounts     map[string]*account
	accountOrder []string
	grants       map[pair]*grant
	tokens       map[string]*token
	chains       map[pair][]*token
	preAuth      map[string]*preAuthCode
	preAuthQueue []expiring
	authCodes    map[string]*authCode
	authQueue    []expiring
	media        map[string]*media
	mediaQueue   []expiring
	generated    int // accounts made by AddAccounts

	rotation rotation // guarded by mu
	uses     refreshUses
	wxa      wxaState // mini program code management (wxa.go)

	faults faultTable
	stats  callStats
	m      merchantState
	events eventLog
	sent   sentLog
}

// pair names an owner of tokens: a component (authorizer empty) or an
// authorizer under a component.
type pair struct{ component, authorizer string }

type component struct {
	Component
	crypter *wxcrypto.Crypter
	tickets map[string]time.Time // ticket -> issued
	// exchanged holds the accounts whose authorization code this component
	// exchanged with api_query_auth at least once: only those carry a
	// refresh_token in api_get_authorizer_list.
	exchanged   map[string]bool
	ticketQueue []string
	lastTicket  string
	authorizers []string // authorized accounts, in authorization order
}

type grant struct {
	refreshToken string
	funcInfo     []int
	authTime     time.Time
	// previous is the refresh token that rotation replaced; it keeps
	// working until previousUntil.
	previous      string
	previousUntil time.Time
}

type token struct {
	value        string
	owner        pair
	fromCode     string // the authorization code api_query_auth exchanged
	expiresAt    time.Time
	supersededAt time.Time // zero while the newest
}

type preAuthCode struct {
	component string
	expiresAt time.Time
	used      bool
}

type authCode struct {
	component  string
	authorizer string
	expiresAt  time.Time
	used       bool
}

type media struct {
	authorizer string
	kind       string // image, voice
	expiresAt  time.Time
}

// expiring is an entry of a pruning queue: key may be deleted after at.
type expiring struct {
	key string
	at  time.Time
}

// New returns a simulator; call Close when done with it.
func New(opts Options) *Sim {
	s := &Sim{
		opts:       opts,
		clock:      opts.Clock,
		log:        opts.Logger,
		client:     opts.HTTPClient,
		done:       make(chan struct{}),
		components: map[string]*component{},
		accounts:   map[string]*account{},
		grants:     map[pair]*grant{},
		tokens:     map[string]*token{},
		chains:     map[pair][]*token{},
		preAuth:    map[string]*preAuthCode{},
		authCodes:  map[string]*authCode{},
		media:      map[string]*media{},
	}
	switch {
	case s.clock != nil:
		s.now = s.clock.Now
	case opts.Now != nil:
		s.now = opts.Now
	default:
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if s.client == nil {
		s.client = &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second},
			// WeChat does not follow redirects on pushes.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if s.opts.PushTimeout <= 0 {
		s.opts.PushTimeout = DefaultPushTimeout
	}
	if s.opts.ReleaseWait <= 0 {
		s.opts.ReleaseWait = 10 * time.Second
	}
	if s.opts.MaxEvents <= 0 {
		s.opts.MaxEvents = 500
	}
	s.events.max = s.opts.MaxEvents
	s.sent.notify = make(chan struct{})
	s.pages = parseTemplates()
	s.seedAccounts()
	s.mux = s.routes()
	s.startSchedule()
	return s
}

// Handler returns the simulator's HTTP handler: WeChat's API and page paths
// and the /sim/ control API.
func (s *Sim) Handler() http.Handler { return s.mux }

// Now returns the simulator's current time.
func (s *Sim) Now() time.Time { return s.now() }

// Close stops scheduled pushes and releases requests held by a Hang fault.
// It does not close the server the Handler runs in.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.stopClock != nil {
			s.stopClock()
		}
		s.bg.Wait()
	})
}

// startSchedule starts the ticket pushes: on the simulated clock, or on a
// real-time ticker.
func (s *Sim) startSchedule() {
	interval := s.opts.TicketInterval
	if interval == 0 {
		interval = DefaultTicketInterval
	}
	if interval < 0 {
		return
	}
	if s.clock != nil {
		s.stopClock = s.clock.every(interval, func(time.Time) {
			s.pushAllTickets(context.Background())
		})
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		ctx, cancel := s.lifetimeContext()
		defer cancel()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.pushAllTickets(ctx)
			}
		}
	}()
}

// Advance moves the simulated clock forward by d, running the pushes that
// fall due. It fails with ErrNoFakeClock on real time.
func (s *Sim) Advance(d time.Duration) error {
	if s.clock == nil {
		return ErrNoFakeClock
	}
	s.clock.Advance(d)
	return nil
}

// AddComponent registers a third-party platform and issues its first
// ticket. With a PlatformURL the ticket is pushed before AddComponent
// returns, so the platform must be reachable; a failed push is only recorded
// in Events, as WeChat just tries again at the next interval. Adding an
// AppID again replaces its settings and keeps its state.
func (s *Sim) AddComponent(c Component) error {
	if c.AppID == "" || c.AppSecret == "" {
		return errors.New("wechatsim: component needs an AppID and an AppSecret")
	}
	crypter, err := wxcrypto.New(c.Token, c.EncodingAESKey, c.AppID)
	if err != nil {
		return fmt.Errorf("wechatsim: component %s: %w", c.AppID, err)
	}
	s.mu.Lock()
	if old, ok := s.components[c.AppID]; ok {
		old.Component, old.crypter = c, crypter
	} else {
		s.components[c.AppID] = &component{Component: c, crypter: crypter, tickets: map[string]time.Time{}, exchanged: map[string]bool{}}
		s.compOrder = append(s.compOrder, c.AppID)
	}
	s.mu.Unlock()
	ctx, cancel := s.lifetimeContext()
	defer cancel()
	// The outcome is in Events; like WeChat, the next interval tries again.
	_ = s.PushTicket(ctx, c.AppID)
	return nil
}

// Components returns the registered components, in the order added.
func (s *Sim) Components() []Component {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Component, 0, len(s.compOrder))
	for _, id := range s.compOrder {
		out = append(out, s.components[id].Component)
	}
	return out
}

// Ticket returns the component's newest component_verify_ticket: what the
// platform received with the last push (or would have, without a
// PlatformURL).
func (s *Sim) Ticket(componentAppID string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.components[componentAppID]
	if !ok || c.lastTicket == "" {
		return "", false
	}
	return c.lastTicket, true
}

// lifetimeContext is a context that ends when the simulator closes.
func (s *Sim) lifetimeContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// issueTicket records a new ticket for c. s.mu is held.
func (s *Sim) issueTicket(c *component, now time.Time) string {
	// Tickets are remembered a day, so that a stale one is "expired" for
	// another 12 h before it is merely unknown.
	for len(c.ticketQueue) > 0 {
		t := c.ticketQueue[0]
		if now.Sub(c.tickets[t]) <= 2*TicketLifetime {
			break
		}
		delete(c.tickets, t)
		c.ticketQueue = c.ticketQueue[1:]
	}
	t := "ticket@@@" + randomString(86)
	c.tickets[t] = now
	c.ticketQueue = append(c.ticketQueue, t)
	c.lastTicket = t
	return t
}

// issueToken makes a new access token for owner and supersedes the previous
// one, which keeps working for SupersededGrace. Older tokens, and those whose
// grace has run out, are forgotten (and so answer 40001, "not latest").
// s.mu is held.
func (s *Sim) issueToken(owner pair, fromCode string, now time.Time) *token {
	chain := s.chains[owner]
	kept := chain[:0]
	for i, t := range chain {
		if t.supersededAt.IsZero() {
			t.supersededAt = now
		}
		if i == len(chain)-1 && now.Before(t.supersededAt.Add(SupersededGrace)) {
			kept = append(kept, t)
		} else {
			delete(s.tokens, t.value)
		}
	}
	prefix := "91_"
	if owner.authorizer == "" {
		prefix = "90_"
	}
	t := &token{
		value:     prefix + randomString(120),
		owner:     owner,
		fromCode:  fromCode,
		expiresAt: now.Add(TokenLifetime),
	}
	s.tokens[t.value] = t
	s.chains[owner] = append(kept, t)
	return t
}

// dropTokens forgets every token of owner. s.mu is held.
func (s *Sim) dropTokens(owner pair) {
	for _, t := range s.chains[owner] {
		delete(s.tokens, t.value)
	}
	delete(s.chains, owner)
}

// checkToken validates an access token: 41001 missing, 40001 unknown or
// superseded past its grace, 42001 expired. s.mu is held (read).
func (s *Sim) checkToken(value string, now time.Time) (*token, *apiError) {
	if value == "" {
		return nil, wxErr(codeTokenMissing)
	}
	t, ok := s.tokens[value]
	if !ok {
		return nil, wxErr(codeInvalidCredential)
	}
	if !now.Before(t.expiresAt) {
		return nil, wxErr(codeTokenExpired)
	}
	if !t.supersededAt.IsZero() && !now.Before(t.supersededAt.Add(SupersededGrace)) {
		return nil, wxErr(codeInvalidCredential)
	}
	return t, nil
}

// prune deletes queue entries due before now from m and returns the rest of
// the queue.
func prune[V any](m map[string]V, queue []expiring, now time.Time) []expiring {
	i := 0
	for i < len(queue) && queue[i].at.Before(now) {
		delete(m, queue[i].key)
		i++
	}
	return queue[i:]
}

// newPreAuthCode issues a pre_auth_code for component. s.mu is held.
func (s *Sim) newPreAuthCode(componentAppID string, now time.Time) string {
	// Used and expired codes are remembered a day, then are merely unknown.
	s.preAuthQueue = prune(s.preAuth, s.preAuthQueue, now)
	code := "preauthcode@@@" + randomString(64)
	s.preAuth[code] = &preAuthCode{component: componentAppID, expiresAt: now.Add(PreAuthCodeLifetime)}
	s.preAuthQueue = append(s.preAuthQueue, expiring{code, now.Add(24 * time.Hour)})
	return code
}

// newAuthCode issues an authorization code for authorizer under component.
// s.mu is held.
func (s *Sim) newAuthCode(componentAppID, authorizerAppID string, now time.Time) (string, time.Time) {
	s.authQueue = prune(s.authCodes, s.authQueue, now)
	code := "queryauthcode@@@" + randomString(86)
	exp := now.Add(AuthCodeLifetime)
	s.authCodes[code] = &authCode{component: componentAppID, authorizer: authorizerAppID, expiresAt: exp}
	s.authQueue = append(s.authQueue, expiring{code, now.Add(24 * time.Hour)})
	return code, exp
}

// randomString returns n characters of URL-safe base64 from crypto/rand.
func randomString(n int) string {
	b := make([]byte, (n*6+7)/8)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
