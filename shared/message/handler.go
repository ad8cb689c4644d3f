package message

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accesslog"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/push"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

// WeChat answers a push it got no answer to within five seconds by pushing
// it again, three times in all, about fifteen seconds from the first. The
// handler's timing follows from that.
//
// De-duplication, and exactly what it covers. Every push of one message
// (by MsgId, or sender, time and event) gets the same answer, and its
// handler runs once, for WeChat's retry pattern: a first attempt, then
// retries five and ten seconds later, each arriving after the previous one
// has answered, failed or is still running. It costs one store write for a
// new message whose handler finishes within the claim grace (a second: the
// usual path), two otherwise:
//
//   - A push created less than three seconds ago cannot be a retry. Its
//     handler runs at once; the reply is then recorded with one write that
//     fails if a record exists. A handler still running after the claim
//     grace gets an in-flight claim written, long before the first retry.
//   - Any other push (a retry, or a first attempt WeChat delivered late)
//     claims the message before running the handler. It finds a recorded
//     reply and answers with it, or an in-flight claim and waits for that
//     attempt's reply (RetryWait; then it answers "success"), or a claim a
//     failed attempt released, and runs the handler itself.
//
// Not covered: the same message delivered twice within the same few
// seconds, which WeChat's retries never do. Both attempts then run the
// handler; the second to finish answers with the first one's reply. And a
// record that could not be written (the store failing) lets a retry run the
// handler again.
const (
	// SeenTTL is the shortest time a message's de-duplication key, and the
	// reply given to it, are kept: twice push.DefaultWindow. A push is
	// accepted while its timestamp is within the window either side of the
	// clock, so a copy played back later finds its key as long as it could
	// be accepted at all; WeChat's own retries come well inside that. A
	// handler with a wider Window keeps them twice its window.
	SeenTTL = 2 * push.DefaultWindow
	// DefaultRetryWait is how long a retry that finds its first attempt still
	// running waits for that attempt's reply. WeChat gave up on the first
	// attempt and waits five seconds for this one, so the retry can wait
	// almost that long and still answer in time.
	DefaultRetryWait = 4 * time.Second
	// ForwardTimeout bounds forwarding a message (Options.Forwarder).
	ForwardTimeout = 2 * time.Second
	// DefaultClaimGrace is how long a new message's handler runs before an
	// in-flight claim is written for it: most handlers finish well within it
	// and their message then costs one store write. It must stay well below
	// WeChat's first retry, five seconds after the first attempt.
	DefaultClaimGrace = time.Second
	// freshWindow: a push whose message was created less than this before
	// the handler's clock cannot be one of WeChat's retries, which come five
	// and ten seconds after the first attempt; the margin covers two seconds
	// of skew between WeChat's clock and ours.
	freshWindow = 3 * time.Second
	// accountCacheTTL is how long an account found active is believed active
	// without reading the store again. WeChat stops pushing for an account
	// once it revokes the platform, so a stale entry costs next to nothing.
	accountCacheTTL = time.Minute
)

// What is stored under a message's key besides a reply document: a claim in
// progress is empty, a reply starts with '<'.
const (
	seenSuccess = "success" // no reply: answered "success"
	seenEmpty   = "-"       // answered with an empty body
)

// Options are a Handler's parts. Crypter and Store are required.
type Options struct {
	// Crypter holds the component's Token, EncodingAESKey and appid: WeChat
	// encrypts every account's messages with the component's key.
	Crypter *wxcrypto.Crypter
	// Store holds the authorizers and their profiles (a push for an account
	// that is unknown or revoked, or whose user_name is not the push's
	// ToUserName, is refused) and the de-duplication records.
	Store store.Store
	// Router finds a message's handler; nil answers every message "success"
	// (but the release check's).
	Router *Router
	// Accounts and WeChat serve the release check's QUERY_AUTH_CODE case:
	// *accounts.Service and *wechat.Client.
	Accounts Authorizer
	WeChat   CustomMessenger
	// Forwarder, if not nil, receives every message handled.
	Forwarder Forwarder
	// RetryWait is how long a retry waits for a first attempt still running;
	// 0 means DefaultRetryWait, a negative value not at all.
	RetryWait time.Duration
	// Window is how far a push's query timestamp may be from Now; 0 means
	// push.DefaultWindow.
	Window time.Duration
	// ClaimGrace is how long a new message's handler runs before its
	// in-flight claim is written; 0 means DefaultClaimGrace, a negative
	// value at once.
	ClaimGrace time.Duration
	Now        func() time.Time // nil: time.Now
	Logger     *slog.Logger     // nil: slog.Default()
}

// Pattern is the route of the message URL; the account's appid is its path
// value "appid".
const Pattern = "POST /wechat/{appid}/callback"

// handler serves the message URL. It is safe for concurrent use.
type handler struct {
	crypter   *wxcrypto.Crypter
	store     store.Store
	router    *Router
	accounts  Authorizer
	wechat    CustomMessenger
	forwarder Forwarder
	retryWait time.Duration
	window    time.Duration
	seenTTL   time.Duration
	grace     time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu     sync.Mutex
	active map[string]activeAccount // by authorizer appid
}

// activeAccount is an account found active, and its original id.
type activeAccount struct {
	userName string
	until    time.Time // believed active until
}

// NewHandler returns the handler of the message URL, routed on Pattern.
func NewHandler(opts Options) http.Handler {
	h := &handler{
		crypter:   opts.Crypter,
		store:     opts.Store,
		router:    opts.Router,
		accounts:  opts.Accounts,
		wechat:    opts.WeChat,
		forwarder: opts.Forwarder,
		retryWait: opts.RetryWait,
		window:    opts.Window,
		grace:     opts.ClaimGrace,
		now:       opts.Now,
		log:       opts.Logger,
		active:    make(map[string]activeAccount),
	}
	if h.window <= 0 {
		h.window = push.DefaultWindow
	}
	h.seenTTL = max(SeenTTL, 2*h.window)
	if h.router == nil {
		h.router = NewRouter()
	}
	switch {
	case h.retryWait == 0:
		h.retryWait = DefaultRetryWait
	case h.retryWait < 0:
		h.retryWait = 0
	}
	switch {
	case h.grace == 0:
		h.grace = DefaultClaimGrace
	case h.grace < 0:
		h.grace = 0
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle(Pattern, h)
	return accesslog.Handler(accesslog.Options{Logger: h.log, Message: "message"}, mux)
}

// Outcomes, as logged.
const (
	outcomeReply      = "reply"    // handled, answered with a reply
	outcomeNoReply    = "no_reply" // handled, answered "success" (or empty)
	outcomeRetry      = "retry"    // a retry, answered as the first attempt was
	outcomeInProgress = "in_progress"
	outcomeUnknown    = "unknown_account"
	outcomeRevoked    = "revoked_account"
	outcomeForeign    = "foreign_recipient" // ToUserName is not the path's account
	outcomeRejected   = "rejected"
	outcomeFailed     = "failed"
)

// result is what serve decided.
type result struct {
	outcome string
	msg     *Message
	value   []byte // what to answer: a reply document or a seen marker
	err     error
}

// ServeHTTP answers one push: a passive reply encrypted and signed with the
// push's nonce, "success", or an error status (401 bad signature, 403 a
// timestamp outside the window or an account that is not authorized or not
// the recipient, 400 malformed, 413 too large, 500 a failure of the
// platform) with nothing handled and nothing stored.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	appID := r.PathValue("appid")
	// One timestamp for the reply's CreateTime and its envelope.
	ts := strconv.FormatInt(h.now().Unix(), 10)
	res, q := h.serve(ctx, r, appID, ts)
	if res.err == nil {
		res.err = h.answer(w, res.value, q, ts)
	}
	if res.err != nil {
		push.Reject(w, res.err)
		// A *push.Error is a refusal decided here; anything else failed.
		if _, refused := errors.AsType[*push.Error](res.err); !refused {
			res.outcome = outcomeFailed
		}
	}
	// Four attributes or fewer fit the access log's line without an
	// allocation; an event's type is its Event, which no message type
	// shares.
	attrs := [4]slog.Attr{appIDAttr(appID), slog.String("outcome", res.outcome)}
	n := 2
	if m := res.msg; m != nil {
		typ := m.MsgType
		if m.IsEvent() {
			typ = m.Event
		}
		attrs[n] = slog.String("type", typ)
		n++
	}
	if res.err != nil {
		attrs[n] = slog.Any("err", res.err)
		n++
	}
	accesslog.Add(ctx, attrs[:n]...)
}

// serve authenticates, parses, de-duplicates and handles the push.
func (h *handler) serve(ctx context.Context, r *http.Request, appID, ts string) (result, push.Query) {
	if !validAppID(appID) {
		return result{outcome: outcomeRejected, err: &push.Error{Status: http.StatusBadRequest, Err: errors.New(`appid in the path is not "wx" and 16 lowercase letters or digits`)}}, push.Query{}
	}
	in, err := push.Open(r, h.crypter, push.Options{Now: h.now, Window: h.window})
	if err != nil {
		return result{outcome: outcomeRejected, err: err}, in.Query
	}
	m, err := Parse(appID, in.Plaintext)
	if err != nil {
		return result{outcome: outcomeRejected, err: &push.Error{Status: http.StatusBadRequest, Err: err}}, in.Query
	}
	res := result{msg: &m}
	if to := in.Envelope.ToUserName; to != "" && to != m.ToUserName {
		res.outcome = outcomeRejected
		res.err = &push.Error{Status: http.StatusBadRequest, Err: errors.New("envelope ToUserName differs from the message's")}
		return res, in.Query
	}

	// Every account's pushes are sealed with the component's key, so only
	// the recipient inside tells whether this push was meant for this URL.
	userName := releaseUserName(appID)
	release := userName != ""
	if !release {
		if res.outcome, userName, res.err = h.checkAccount(ctx, appID); res.err != nil {
			return res, in.Query
		}
	}
	if m.ToUserName != userName {
		res.outcome = outcomeForeign
		res.err = &push.Error{Status: http.StatusForbidden, Err: fmt.Errorf("ToUserName (%d bytes) is not the account's user_name", len(m.ToUserName))}
		return res, in.Query
	}

	key := seenKey(&m)
	if h.fresh(&m) {
		var dup bool
		res.value, dup, res.err = h.handleNew(ctx, &m, key, release, ts)
		res.outcome = outcomeFor(res.value)
		if dup {
			res.outcome = outcomeRetry
		}
		return res, in.Query
	}
	prior, err := h.store.PutSeenIfAbsent(ctx, key, nil, h.now().Add(h.seenTTL))
	switch {
	case err == nil:
		res.value, res.err = h.handle(ctx, &m, key, release, ts)
		res.outcome = outcomeFor(res.value)
	case errors.Is(err, store.ErrExists):
		res.outcome = outcomeRetry
		if len(prior) == 0 {
			var owner bool
			prior, owner, err = h.awaitFirst(ctx, key)
			switch {
			case err != nil:
				res.err = err
			case owner:
				// The first attempt failed and gave the message up.
				prior, res.err = h.handle(ctx, &m, key, release, ts)
				res.outcome = outcomeFor(prior)
			case prior == nil:
				// Its reply can no longer reach the user; answering keeps
				// WeChat from telling the user the account is out of order.
				res.outcome = outcomeInProgress
				prior = []byte(seenSuccess)
			}
		}
		res.value = prior
	default:
		res.err = fmt.Errorf("claim message: %w", err)
	}
	return res, in.Query
}

func outcomeFor(value []byte) string {
	if len(value) > 0 && value[0] == '<' {
		return outcomeReply
	}
	return outcomeNoReply
}

// validAppID reports whether appID looks like an appid: "wx" and 16
// lowercase letters or digits (WeChat's are hex). Anything else is refused
// before it reaches the store or the log.
func validAppID(appID string) bool {
	if len(appID) != 18 || appID[:2] != "wx" {
		return false
	}
	for i := 2; i < len(appID); i++ {
		if c := appID[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// appIDAttr logs the path's appid, or only its length and a hash when it
// is not an appid: the path is the sender's text.
func appIDAttr(appID string) slog.Attr {
	if validAppID(appID) {
		return slog.String("authorizer_appid", appID)
	}
	sum := sha256.Sum256([]byte(appID))
	return slog.Group("path_appid", slog.Int("len", len(appID)), slog.String("sha256", hex.EncodeToString(sum[:8])))
}

// checkAccount returns the original id (user_name) of an authorized account
// whose messages are handled; for any other account, a 403 with
// outcomeUnknown or outcomeRevoked. The answer is cached for
// accountCacheTTL.
func (h *handler) checkAccount(ctx context.Context, appID string) (outcome, userName string, err error) {
	now := h.now()
	h.mu.Lock()
	acct, ok := h.active[appID]
	h.mu.Unlock()
	if ok && now.Before(acct.until) {
		return "", acct.userName, nil
	}
	a, err := h.store.GetAuthorizer(ctx, appID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outcomeUnknown, "", &push.Error{Status: http.StatusForbidden, Err: errors.New("account has not authorized the platform")}
	case err != nil:
		return "", "", fmt.Errorf("read authorizer %s: %w", appID, err)
	case a.Status == store.StatusRevoked:
		return outcomeRevoked, "", &push.Error{Status: http.StatusForbidden, Err: errors.New("account revoked the platform")}
	}
	p, err := h.store.GetProfile(ctx, appID)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && p.UserName == "":
		// Without its original id no push can be shown to be this
		// account's; its profile must be fetched again (api_get_authorizer_info).
		return outcomeUnknown, "", &push.Error{Status: http.StatusForbidden, Err: errors.New("account has no stored user_name")}
	case err != nil:
		return "", "", fmt.Errorf("read profile %s: %w", appID, err)
	}
	h.mu.Lock()
	h.active[appID] = activeAccount{userName: p.UserName, until: now.Add(accountCacheTTL)}
	h.mu.Unlock()
	return "", p.UserName, nil
}

// seenKey names a message for de-duplication: by MsgId for a user's
// message, by sender, time and event for an event (whose MsgID, where there
// is one, names the job it reports on rather than the push).
func seenKey(m *Message) string {
	if m.MsgType != TypeEvent && m.MsgID != "" {
		return "msg#" + m.AppID + "#" + m.MsgID
	}
	kind := m.Event
	if m.MsgType != TypeEvent {
		kind = m.MsgType
	}
	return "push#" + m.AppID + "#" + m.FromUserName + "#" + strconv.FormatInt(m.CreateTime, 10) + "#" + kind
}

// fresh reports whether m was created so recently that its push cannot be
// one of WeChat's retries, which come five seconds or more after the
// first attempt.
func (h *handler) fresh(m *Message) bool {
	return h.now().Unix()-m.CreateTime < int64(freshWindow/time.Second)
}

// handleNew handles a fresh push (see fresh), whose message no attempt
// before it can have claimed, with one store write on the usual path: it
// runs the handler and then records the reply under key with a write that
// fails if a record exists. Only a handler still running after the claim
// grace gets an in-flight claim meanwhile (a second write), so that WeChat's
// first retry, due five seconds after this attempt, finds the claim and
// waits for this reply instead of running the handler again.
//
// A record found at the end means the same message was delivered twice at
// once (not WeChat's retry pattern): the handler ran twice, and this
// attempt answers with the reply recorded first (dup), so that both
// answers are the same.
func (h *handler) handleNew(ctx context.Context, m *Message, key string, release bool, ts string) (value []byte, dup bool, err error) {
	claim := h.claimAfter(ctx, key, h.grace)
	value, err = h.run(ctx, m, release, ts)
	claimed, prior := claim.stop()
	switch {
	case claimed:
		// The claim is this attempt's: record or release it as a claimed
		// attempt does.
		value, err = h.record(ctx, m, key, value, err)
		return value, false, err
	case len(prior) > 0:
		return prior, true, nil
	case err != nil:
		return nil, false, err // nothing recorded: a retry runs the handler again
	}
	prior, perr := h.store.PutSeenIfAbsent(context.WithoutCancel(ctx), key, value, h.now().Add(h.seenTTL))
	switch {
	case perr == nil:
	case errors.Is(perr, store.ErrExists) && len(prior) > 0:
		return prior, true, nil
	default:
		// The reply still goes out; only a retry would miss it.
		h.log.WarnContext(ctx, "record message reply", "authorizer_appid", m.AppID, "err", perr)
	}
	return value, false, nil
}

// graceClaim is the in-flight claim handleNew writes when the handler
// outlasts the grace period.
type graceClaim struct {
	timer *time.Timer
	done  chan struct{}
	owned bool   // the claim was written
	prior []byte // the reply another attempt had recorded
}

// claimAfter writes the in-flight claim on key after grace, unless stopped
// first.
func (h *handler) claimAfter(ctx context.Context, key string, grace time.Duration) *graceClaim {
	c := &graceClaim{done: make(chan struct{})}
	c.timer = time.AfterFunc(grace, func() {
		defer close(c.done)
		prior, err := h.store.PutSeenIfAbsent(context.WithoutCancel(ctx), key, nil, h.now().Add(h.seenTTL))
		switch {
		case err == nil:
			c.owned = true
		case errors.Is(err, store.ErrExists):
			c.prior = prior
		default:
			// Without the claim a retry may run the handler again; the
			// reply is still recorded at the end.
			h.log.WarnContext(ctx, "claim slow message", "err", err)
		}
	})
	return c
}

// stop cancels the claim or waits for its write, and says whether it was
// written and what other attempt's reply it found.
func (c *graceClaim) stop() (owned bool, prior []byte) {
	if c.timer.Stop() {
		return false, nil
	}
	<-c.done
	return c.owned, c.prior
}

// handle runs the message's handler under the claim on key and records
// what to answer.
func (h *handler) handle(ctx context.Context, m *Message, key string, release bool, ts string) ([]byte, error) {
	value, err := h.run(ctx, m, release, ts)
	return h.record(ctx, m, key, value, err)
}

// run runs the message's handler (and the forwarder beside it) and renders
// what to answer.
func (h *handler) run(ctx context.Context, m *Message, release bool, ts string) ([]byte, error) {
	forwarded := h.forward(ctx, m)
	reply, err := h.dispatch(ctx, m, release)
	var value []byte
	if err == nil {
		value, err = h.value(reply, m, ts)
	}
	forwarded()
	return value, err
}

// record stores what a run under the claim on key answers. On failure the
// claim is released, so that a retry of the push runs the handler again.
func (h *handler) record(ctx context.Context, m *Message, key string, value []byte, err error) ([]byte, error) {
	keep := context.WithoutCancel(ctx)
	if err != nil {
		if ferr := h.store.PutSeen(keep, key, nil, h.now()); ferr != nil {
			err = errors.Join(err, fmt.Errorf("release message claim: %w", ferr))
		}
		return nil, err
	}
	if err := h.store.PutSeen(keep, key, value, h.now().Add(h.seenTTL)); err != nil {
		// The reply still goes out; only a retry would miss it.
		h.log.WarnContext(ctx, "record message reply", "authorizer_appid", m.AppID, "err", err)
	}
	return value, nil
}

// dispatch runs the release check's case or the routed handler.
func (h *handler) dispatch(ctx context.Context, m *Message, release bool) (reply Reply, err error) {
	if release {
		if r, ok, err := h.releaseCase(ctx, m); ok {
			return r, err
		}
	}
	fn := h.router.Route(m)
	if fn == nil {
		return Reply{}, nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("message handler panicked: %v", p)
		}
	}()
	reply, err = fn(ctx, m)
	if err != nil {
		return reply, fmt.Errorf("message handler: %w", err)
	}
	return reply, nil
}

// value renders the reply as stored and answered, created at ts.
func (h *handler) value(r Reply, m *Message, ts string) ([]byte, error) {
	switch {
	case r.empty:
		return []byte(seenEmpty), nil
	case r.IsZero():
		return []byte(seenSuccess), nil
	}
	doc, err := r.xml(m, ts)
	if err != nil {
		return nil, fmt.Errorf("%s reply: %w", r.msgType, err)
	}
	return doc, nil
}

// forward starts forwarding m, if a Forwarder is set, and returns a function
// that waits for it to finish: in Lambda nothing may run after the answer.
func (h *handler) forward(ctx context.Context, m *Message) (wait func()) {
	if h.forwarder == nil {
		return func() {}
	}
	c := *m // the handler may change m meanwhile
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ForwardTimeout)
		defer cancel()
		if err := h.forwarder.Forward(ctx, &c); err != nil {
			h.log.WarnContext(ctx, "forward message", "authorizer_appid", c.AppID, "msg_type", c.MsgType, "event", c.Event, "err", err)
		}
	}()
	return func() { <-done }
}

// awaitFirst waits up to the retry wait for the first attempt at the
// message under key to record its answer. It returns that answer; or
// owner true when the first attempt gave the message up and this call
// claimed it; or neither when the first attempt is still running.
func (h *handler) awaitFirst(ctx context.Context, key string) (value []byte, owner bool, err error) {
	deadline := time.Now().Add(h.retryWait)
	for backoff := 20 * time.Millisecond; ; backoff = min(2*backoff, 250*time.Millisecond) {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, false, nil
		}
		t := time.NewTimer(min(backoff, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, fmt.Errorf("wait for the first attempt: %w", ctx.Err())
		case <-t.C:
		}
		prior, err := h.store.PutSeenIfAbsent(ctx, key, nil, h.now().Add(h.seenTTL))
		switch {
		case err == nil:
			return nil, true, nil
		case !errors.Is(err, store.ErrExists):
			return nil, false, fmt.Errorf("read message claim: %w", err)
		case len(prior) > 0:
			return prior, false, nil
		}
	}
}

// answer writes value: a reply document encrypted and signed at timestamp
// ts, or "success", or nothing.
func (h *handler) answer(w http.ResponseWriter, value []byte, q push.Query, ts string) error {
	switch string(value) {
	case seenSuccess:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(value)
		return nil
	case seenEmpty:
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if !bytes.HasPrefix(value, []byte("<")) {
		return fmt.Errorf("stored answer %.16q is neither a reply nor a marker", value)
	}
	sealed, err := h.crypter.SealReply(value, ts, q.Nonce)
	if err != nil {
		// WeChat's nonces are digits; anything SealReply cannot carry back
		// is replaced, which WeChat accepts since the reply names its own.
		sealed, err = h.crypter.SealReply(value, ts, freshNonce())
		if err != nil {
			return fmt.Errorf("seal reply: %w", err)
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(sealed)
	return nil
}

func freshNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
