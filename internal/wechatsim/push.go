package wechatsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// maxAnswer bounds how much of the platform's answer the simulator reads.
const maxAnswer = 1 << 20

// Event is the outcome of one push (one attempt) to a platform.
type Event struct {
	Seq        int64
	At         time.Time // simulator time of the push
	Component  string
	Authorizer string // empty for ticket pushes
	// Kind is the InfoType of an authorization event
	// (component_verify_ticket, authorized, updateauthorized, unauthorized),
	// or "message:<MsgType>" / "event:<Event>" for a message push.
	Kind    string
	URL     string
	Attempt int    // 1 for the first try, 2… for WeChat's resends
	Status  int    // HTTP status; 0 if there was no answer
	Body    string // the answer, up to 1 KiB
	// Reply is the decrypted passive reply to a message, up to 1 KiB; empty
	// for "success", an empty answer, or one that could not be opened.
	Reply   string
	Latency time.Duration
	OK      bool   // WeChat would accept the answer
	Err     string // why not
}

type eventLog struct {
	mu   sync.Mutex
	max  int
	seq  int64
	list []Event // ring, oldest first once full
	head int
}

func (l *eventLog) add(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if len(l.list) < l.max {
		l.list = append(l.list, e)
	} else {
		l.list[l.head] = e
		l.head = (l.head + 1) % l.max
	}
	return e
}

// Events returns the most recent push outcomes, oldest first.
func (s *Sim) Events() []Event {
	l := &s.events
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, len(l.list))
	out = append(out, l.list[l.head:]...)
	return append(out, l.list[:l.head]...)
}

// target is what a push needs of a component, copied out under the lock.
type target struct {
	appID       string
	token       string
	crypter     *wxcrypto.Crypter
	platformURL string
}

func (c *component) target() target {
	return target{appID: c.AppID, token: c.Token, crypter: c.crypter, platformURL: strings.TrimRight(c.PlatformURL, "/")}
}

// push is one encrypted push.
type push struct {
	to         target
	kind       string
	authorizer string
	url        string
	outer      wxxml.Field // AppId or ToUserName
	plaintext  []byte
	openID     string // message URL only
}

// answer is what the platform answered.
type answer struct {
	status  int
	body    []byte
	latency time.Duration
}

// deliver sends p once and waits PushTimeout (real time) for the answer.
func (s *Sim) deliver(ctx context.Context, p push) (answer, error) {
	encrypt, err := p.to.crypter.Encrypt(p.plaintext)
	if err != nil {
		return answer{}, fmt.Errorf("encrypt push: %w", err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := strconv.FormatUint(uint64(rand.Uint32()), 10)
	q := url.Values{}
	q.Set("signature", wxcrypto.Signature(p.to.token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	if p.openID != "" {
		q.Set("openid", p.openID)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", wxcrypto.MsgSignature(p.to.token, ts, nonce, encrypt))
	body := wxxml.Build(p.outer, wxxml.Text("Encrypt", encrypt))

	ctx, cancel := context.WithTimeout(ctx, s.opts.PushTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("push request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		a := answer{latency: time.Since(start)}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return a, fmt.Errorf("no answer within %v: %w", s.opts.PushTimeout, ErrTimeout)
		}
		return a, fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	a := answer{status: resp.StatusCode, body: data, latency: time.Since(start)}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return a, fmt.Errorf("answer not complete within %v: %w", s.opts.PushTimeout, ErrTimeout)
		}
		return a, fmt.Errorf("read answer: %w", err)
	}
	return a, nil
}

// record adds the outcome of a push attempt to the event log, with the
// decrypted reply when there is one.
func (s *Sim) record(p push, attempt int, a answer, reply []byte, err error, at time.Time) {
	e := Event{
		At: at, Component: p.to.appID, Authorizer: p.authorizer, Kind: p.kind, URL: p.url,
		Attempt: attempt, Status: a.status, Body: truncate(a.body, 1024), Reply: truncate(reply, 1024),
		Latency: a.latency, OK: err == nil,
	}
	if err != nil {
		e.Err = err.Error()
	}
	e = s.events.add(e)
	level := s.log.Info
	if err != nil {
		level = s.log.Warn
	}
	level("push", "seq", e.Seq, "component", e.Component, "authorizer", e.Authorizer, "kind", e.Kind,
		"attempt", attempt, "status", e.Status, "latency_ms", a.latency.Milliseconds(), "ok", e.OK, "err", e.Err)
}

// pushEvent sends an authorization event (InfoType) to the component's
// authorization-event URL; the platform must answer exactly "success".
func (s *Sim) pushEvent(ctx context.Context, to target, infoType, authorizer string, fields ...wxxml.Field) error {
	if to.platformURL == "" {
		return ErrNoPlatform
	}
	now := s.now()
	all := append([]wxxml.Field{
		wxxml.Text("AppId", to.appID),
		wxxml.Int("CreateTime", now.Unix()),
		wxxml.Text("InfoType", infoType),
	}, fields...)
	p := push{
		to: to, kind: infoType, authorizer: authorizer,
		url:       to.platformURL + "/wechat/component/ticket",
		outer:     wxxml.Text("AppId", to.appID),
		plaintext: wxxml.Build(all...),
	}
	a, err := s.deliver(ctx, p)
	if err == nil {
		err = checkSuccess(a)
	}
	s.record(p, 1, a, nil, err, now)
	if err != nil {
		return fmt.Errorf("push %s to %s: %w", infoType, to.appID, err)
	}
	return nil
}

// checkSuccess accepts exactly what WeChat wants from the authorization-event
// URL: status 200 and the body "success".
func checkSuccess(a answer) error {
	if a.status != http.StatusOK {
		return fmt.Errorf("HTTP status %d: %w", a.status, ErrBadAnswer)
	}
	if string(a.body) != "success" {
		return fmt.Errorf("answer %q, want exactly \"success\": %w", truncate(a.body, 64), ErrBadAnswer)
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// PushTicket issues a new component_verify_ticket and pushes it to the
// component's platform, as WeChat does every ten minutes and on
// api_start_push_ticket. Without a PlatformURL the ticket is only issued
// (read it with Ticket). An error means the platform did not take it.
func (s *Sim) PushTicket(ctx context.Context, componentAppID string) error {
	now := s.now()
	s.mu.Lock()
	c, ok := s.components[componentAppID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("push ticket %s: %w", componentAppID, ErrUnknownComponent)
	}
	ticket := s.issueTicket(c, now)
	to := c.target()
	s.mu.Unlock()
	if to.platformURL == "" {
		return nil
	}
	return s.pushEvent(ctx, to, "component_verify_ticket", "", wxxml.Text("ComponentVerifyTicket", ticket))
}

// pushAllTickets pushes a ticket to every component, in the order added.
func (s *Sim) pushAllTickets(ctx context.Context) {
	s.mu.RLock()
	ids := append([]string(nil), s.compOrder...)
	s.mu.RUnlock()
	for _, id := range ids {
		// Each outcome is in Events; WeChat carries on with the others.
		_ = s.PushTicket(ctx, id)
	}
}

// Message is a user message or event pushed to an account's message URL.
type Message struct {
	// Component receives the push; empty means the component the account
	// authorized most recently.
	Component string
	// From is the user's openid; empty means the account's first user.
	From string
	// Type is MsgType: text, image, voice, video, shortvideo, location,
	// link or event.
	Type string
	// Content is a text message's text.
	Content string
	// MediaID is an image or voice message's media; empty means a new one
	// that media/get serves. PicURL is an image's URL (default: one of the
	// simulator's own).
	MediaID string
	PicURL  string
	// Event and EventKey are an event's Event (subscribe, CLICK, LOCATION,
	// …) and EventKey.
	Event    string
	EventKey string
	// Extra fields are appended as given (Location_X, Latitude, …).
	Extra []wxxml.Field
	// MsgID is the MsgId of a non-event message; 0 means a new one. Sending
	// the same MsgID again is how WeChat's resends look to the platform.
	MsgID int64
}

// Reply is the platform's answer to a message push.
type Reply struct {
	// Empty is true for an empty answer or "success": no reply to the user.
	Empty bool
	// MsgType and Content are the reply's; Content only for text.
	MsgType string
	Content string
	// Fields is the whole decrypted reply, XML its text.
	Fields wxxml.Fields
	XML    []byte
	// Attempts is how many pushes it took (more than 1 after resends);
	// Latency is the answered attempt's.
	Attempts int
	Latency  time.Duration
}

// SendMessage pushes a user's message or event for an account to the
// platform, as WeChat does, and returns the platform's passive reply. An
// answer WeChat would not accept (slower than PushTimeout, a non-200 status,
// an unencrypted or wrongly signed reply, a reply to the wrong user) is an
// error wrapping ErrTimeout or ErrBadAnswer. The user's message also opens
// the 48-hour window for custom messages to that user.
func (s *Sim) SendMessage(ctx context.Context, authorizerAppID string, msg Message) (Reply, error) {
	p, user, err := s.preparePush(authorizerAppID, msg)
	if err != nil {
		return Reply{}, fmt.Errorf("send message: %w", err)
	}
	var a answer
	attempt := 0
	for {
		attempt++
		at := s.now()
		a, err = s.deliver(ctx, p)
		if err == nil {
			var reply Reply
			reply, err = readReply(p, user, a)
			s.record(p, attempt, a, reply.XML, err, at)
			if err != nil {
				return Reply{}, fmt.Errorf("send message to %s: %w", authorizerAppID, err)
			}
			reply.Attempts, reply.Latency = attempt, a.latency
			return reply, nil
		}
		s.record(p, attempt, a, nil, err, at)
		// WeChat resends a push that got no answer; a wrong answer is final.
		if ctx.Err() != nil || attempt > s.opts.PushRetries {
			return Reply{}, fmt.Errorf("send message to %s: %w", authorizerAppID, err)
		}
	}
}

// preparePush resolves the component and user of a message, records the
// user's activity and builds the push. It returns the account's original id.
func (s *Sim) preparePush(authorizerAppID string, msg Message) (push, string, error) {
	if msg.Type == "" {
		return push{}, "", errors.New("message without Type")
	}
	if msg.Type == "event" && msg.Event == "" {
		return push{}, "", errors.New("event message without Event")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, ok := s.accounts[authorizerAppID]
	if !ok {
		return push{}, "", fmt.Errorf("%s: %w", authorizerAppID, ErrUnknownAccount)
	}
	comp, err := s.messageComponent(authorizerAppID, msg.Component)
	if err != nil {
		return push{}, "", err
	}
	if comp.PlatformURL == "" {
		return push{}, "", fmt.Errorf("component %s: %w", comp.AppID, ErrNoPlatform)
	}
	from := msg.From
	if from == "" {
		from = acct.Users[0]
	}
	f, ok := acct.followers[from]
	if !ok {
		f = &follower{subscribed: now}
		acct.followers[from] = f
		acct.Users = append(acct.Users, from)
	}
	f.lastMessage = now

	fields := []wxxml.Field{
		wxxml.Text("ToUserName", acct.UserName),
		wxxml.Text("FromUserName", from),
		wxxml.Int("CreateTime", now.Unix()),
		wxxml.Text("MsgType", msg.Type),
	}
	kind := "message:" + msg.Type
	switch msg.Type {
	case "event":
		kind = "event:" + msg.Event
		fields = append(fields, wxxml.Text("Event", msg.Event))
		if msg.EventKey != "" {
			fields = append(fields, wxxml.Text("EventKey", msg.EventKey))
		}
	case "text":
		fields = append(fields, wxxml.Text("Content", msg.Content))
	case "image":
		mediaID := s.ensureMedia(msg.MediaID, authorizerAppID, "image", now)
		pic := msg.PicURL
		if pic == "" {
			pic = "http://mmbiz.qpic.cn/sim/" + mediaID + "/0"
		}
		fields = append(fields, wxxml.Text("PicUrl", pic), wxxml.Text("MediaId", mediaID))
	case "voice":
		fields = append(fields, wxxml.Text("MediaId", s.ensureMedia(msg.MediaID, authorizerAppID, "voice", now)), wxxml.Text("Format", "amr"))
	}
	fields = append(fields, msg.Extra...)
	if msg.Type != "event" {
		id := msg.MsgID
		if id == 0 {
			id = int64(rand.Uint64() >> 2)
		}
		fields = append(fields, wxxml.Int("MsgId", id))
	}
	to := comp.target()
	return push{
		to: to, kind: kind, authorizer: authorizerAppID,
		url:       to.platformURL + "/wechat/" + authorizerAppID + "/callback",
		outer:     wxxml.Text("ToUserName", acct.UserName),
		plaintext: wxxml.Build(fields...),
		openID:    from,
	}, acct.UserName, nil
}

// messageComponent is the component that receives an account's messages:
// the one named, or the one the account authorized most recently. s.mu is
// held.
func (s *Sim) messageComponent(authorizerAppID, named string) (*component, error) {
	if named != "" {
		c, ok := s.components[named]
		if !ok {
			return nil, fmt.Errorf("%s: %w", named, ErrUnknownComponent)
		}
		if _, ok := s.grants[pair{named, authorizerAppID}]; !ok {
			return nil, fmt.Errorf("%s and %s: %w", authorizerAppID, named, ErrNotAuthorized)
		}
		return c, nil
	}
	var best *component
	var bestAt time.Time
	for _, id := range s.compOrder {
		if g, ok := s.grants[pair{id, authorizerAppID}]; ok && (best == nil || g.authTime.After(bestAt)) {
			best, bestAt = s.components[id], g.authTime
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%s: %w", authorizerAppID, ErrNotAuthorized)
	}
	return best, nil
}

// ensureMedia registers a temporary media item of an account and returns its
// id (a new one if id is empty). s.mu is held.
func (s *Sim) ensureMedia(id, authorizerAppID, kind string, now time.Time) string {
	s.mediaQueue = prune(s.media, s.mediaQueue, now)
	if id == "" {
		id = randomString(64)
	}
	s.media[id] = &media{authorizer: authorizerAppID, kind: kind, expiresAt: now.Add(MediaLifetime)}
	s.mediaQueue = append(s.mediaQueue, expiring{id, now.Add(MediaLifetime)})
	return id
}

// readReply checks the platform's answer to a message push as WeChat would
// and decodes the passive reply.
func readReply(p push, userName string, a answer) (Reply, error) {
	if a.status != http.StatusOK {
		return Reply{}, fmt.Errorf("HTTP status %d: %w", a.status, ErrBadAnswer)
	}
	body := bytes.TrimSpace(a.body)
	if len(body) == 0 || string(body) == "success" {
		return Reply{Empty: true}, nil
	}
	env, err := wxxml.Parse(body)
	if err != nil {
		return Reply{}, fmt.Errorf("answer %q is neither \"success\" nor XML: %w", truncate(body, 64), ErrBadAnswer)
	}
	if !env.Has("Encrypt") {
		return Reply{}, fmt.Errorf("reply is not encrypted (a component's replies must be): %w", ErrBadAnswer)
	}
	plain, err := p.to.crypter.OpenReply(body)
	if err != nil {
		return Reply{}, fmt.Errorf("open reply: %v: %w", err, ErrBadAnswer)
	}
	f, err := wxxml.Parse(plain)
	if err != nil {
		return Reply{}, fmt.Errorf("parse decrypted reply: %v: %w", err, ErrBadAnswer)
	}
	r := Reply{MsgType: f.Get("MsgType"), Content: f.Get("Content"), Fields: f, XML: plain}
	switch {
	case f.Get("ToUserName") != p.openID:
		return r, fmt.Errorf("reply ToUserName %q, want the user %q: %w", f.Get("ToUserName"), p.openID, ErrBadAnswer)
	case f.Get("FromUserName") != userName:
		return r, fmt.Errorf("reply FromUserName %q, want the account %q: %w", f.Get("FromUserName"), userName, ErrBadAnswer)
	case !isDigits(f.Get("CreateTime")):
		return r, fmt.Errorf("reply CreateTime %q is not a number: %w", f.Get("CreateTime"), ErrBadAnswer)
	}
	switch r.MsgType {
	case "text":
		if r.Content == "" {
			return r, fmt.Errorf("text reply without Content: %w", ErrBadAnswer)
		}
	case "image", "voice", "video", "music", "news", "transfer_customer_service":
	default:
		return r, fmt.Errorf("reply MsgType %q: %w", r.MsgType, ErrBadAnswer)
	}
	return r, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
