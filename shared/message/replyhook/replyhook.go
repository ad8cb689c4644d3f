// Package replyhook lets a SaaS answer its accounts' messages from a Lambda
// function of its own, in any language, without changing the message
// function: the hook is the message Router's default handler, so it gets
// every message no Go handler takes (the release check's cases never reach
// it). Each message is sent to the hook function as JSON and the hook's
// JSON answer becomes the passive reply, encrypted by the message handler
// as any other.
//
// The request is the message as the event bus gets it (see
// message.Message.MarshalJSON) plus the account's customer reference and
// the time by which the hook must answer:
//
//	{"customer_ref":"cust-42","deadline_ms":1764547203000,
//	 "authorizer_appid":"wx570bc396a51b8ff8",
//	 "message":{"ToUserName":"gh_3c884a361561","FromUserName":"ozy4qt5QUADNXORxCVipKMV9dss0",
//	            "CreateTime":"1764547200","MsgType":"text","Content":"hello","MsgId":"24363391937383372"}}
//
// The answer is one object whose "type" says the reply's kind:
//
//	{"type":"text","content":"hi"}
//	{"type":"image","media_id":"…"}            {"type":"voice","media_id":"…"}
//	{"type":"video","media_id":"…","title":"…","description":"…"}
//	{"type":"music","title":"…","description":"…","music_url":"…","hq_music_url":"…","thumb_media_id":"…"}
//	{"type":"news","articles":[{"title":"…","description":"…","pic_url":"…","url":"…"}]}
//	{"type":"transfer_customer_service","kf_account":"agent@account"}
//	{"type":"none"}    (or null: no reply)
//
// A hook that fails, answers late (after Options.Timeout) or answers
// anything else gets the message answered "success": the failure is
// logged and counted (the ReplyHookFailed metric, in Embedded Metric
// Format) and never becomes an error, so WeChat does not retry and the
// message handler's de-duplication runs the hook once per message.
package replyhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wxcomponent/wxcomponent/shared/lambdainvoke"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Environment variables FromEnv reads.
const (
	// EnvFunction names the hook function (a name or an ARN); empty: no hook.
	EnvFunction = "WX_REPLY_HOOK"
	// EnvTimeout is the hook's deadline as a Go duration ("2500ms");
	// empty: DefaultTimeout.
	EnvTimeout = "WX_REPLY_HOOK_TIMEOUT"
)

// DefaultTimeout is how long the hook may take. WeChat waits five seconds
// for the answer; the rest is the message handler's own reads and writes
// and API Gateway's share.
const DefaultTimeout = 3 * time.Second

// customerTTL is how long an account's customer reference is believed
// without reading the store again: it changes only when the account is
// authorized again.
const customerTTL = time.Minute

// Invoker calls the hook function with a request document and returns its
// answer; *lambdainvoke.Function satisfies it.
type Invoker interface {
	Call(ctx context.Context, payload []byte) ([]byte, error)
}

// Authorizers reads an account's record for its customer reference;
// store.Store satisfies it.
type Authorizers interface {
	GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error)
}

// Options are a Hook's parts. Invoker and Authorizers are required.
type Options struct {
	Invoker     Invoker
	Authorizers Authorizers
	// Timeout bounds each call; 0 means DefaultTimeout.
	Timeout time.Duration
	// Stage is the metric's Stage dimension; empty: none.
	Stage string
	// Metrics receives the failure metric's lines; nil means standard
	// output, where Lambda's log agent picks them up.
	Metrics io.Writer
	Logger  *slog.Logger     // nil: slog.Default()
	Now     func() time.Time // nil: time.Now
}

// Hook calls the hook function for each message. It is safe for concurrent
// use.
type Hook struct {
	invoke  Invoker
	auth    Authorizers
	timeout time.Duration
	stage   string
	metrics io.Writer
	log     *slog.Logger
	now     func() time.Time

	mu        sync.Mutex
	customers map[string]cachedCustomer
}

type cachedCustomer struct {
	ref   string
	until time.Time
}

// New returns a Hook.
func New(opts Options) *Hook {
	h := &Hook{
		invoke:    opts.Invoker,
		auth:      opts.Authorizers,
		timeout:   opts.Timeout,
		stage:     opts.Stage,
		metrics:   opts.Metrics,
		log:       opts.Logger,
		now:       opts.Now,
		customers: make(map[string]cachedCustomer),
	}
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	if h.metrics == nil {
		h.metrics = os.Stdout
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// FromEnv returns a Hook calling the function getenv(EnvFunction) names,
// invoked with cfg's region and credentials, or nil when the variable is empty.
// A malformed EnvTimeout is an error naming it.
func FromEnv(cfg aws.Config, getenv func(string) string, opts Options) (*Hook, error) {
	fn := getenv(EnvFunction)
	if fn == "" {
		return nil, nil
	}
	if s := getenv(EnvTimeout); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 2500ms", EnvTimeout, s)
		}
		opts.Timeout = d
	}
	opts.Invoker = lambdainvoke.New(cfg, getenv, fn)
	return New(opts), nil
}

// Failure reasons, as logged and in the metric line.
const (
	reasonTimeout   = "timeout"
	reasonError     = "error"
	reasonMalformed = "malformed"
)

// Handle is a message.HandlerFunc: it asks the hook for m's reply. It never
// returns an error; a failed hook is answered with no reply.
func (h *Hook) Handle(ctx context.Context, m *message.Message) (message.Reply, error) {
	deadline := h.now().Add(h.timeout)
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	reply, reason, err := h.call(ctx, m, deadline)
	if err != nil {
		h.log.WarnContext(ctx, "reply hook failed; answering success", "authorizer_appid", m.AppID, "reason", reason, "err", err)
		h.count(reason)
		return message.Reply{}, nil
	}
	return reply, nil
}

func (h *Hook) call(ctx context.Context, m *message.Message, deadline time.Time) (message.Reply, string, error) {
	customer, err := h.customer(ctx, m.AppID)
	if err != nil {
		return message.Reply{}, reasonError, err
	}
	req, err := Request(m, customer, deadline)
	if err != nil {
		return message.Reply{}, reasonError, err
	}
	answer, err := h.invoke.Call(ctx, req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return message.Reply{}, reasonTimeout, err
		}
		return message.Reply{}, reasonError, err
	}
	reply, err := ParseAnswer(answer)
	if err != nil {
		return message.Reply{}, reasonMalformed, err
	}
	return reply, "", nil
}

// customer returns the account's customer reference.
func (h *Hook) customer(ctx context.Context, appID string) (string, error) {
	now := h.now()
	h.mu.Lock()
	c, ok := h.customers[appID]
	h.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.ref, nil
	}
	a, err := h.auth.GetAuthorizer(ctx, appID)
	if err != nil {
		return "", fmt.Errorf("read customer of %s: %w", appID, err)
	}
	h.mu.Lock()
	h.customers[appID] = cachedCustomer{ref: a.CustomerRef, until: now.Add(customerTTL)}
	h.mu.Unlock()
	return a.CustomerRef, nil
}

// Request returns the hook's request for m: the message's JSON with the
// customer reference and the deadline (Unix milliseconds) in front.
func Request(m *message.Message, customerRef string, deadline time.Time) ([]byte, error) {
	msg, err := m.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	ref, err := json.Marshal(customerRef)
	if err != nil {
		return nil, fmt.Errorf("encode customer reference: %w", err)
	}
	b := make([]byte, 0, len(msg)+len(ref)+48)
	b = append(b, `{"customer_ref":`...)
	b = append(b, ref...)
	b = append(b, `,"deadline_ms":`...)
	b = strconv.AppendInt(b, deadline.UnixMilli(), 10)
	b = append(b, ',')
	return append(b, msg[1:]...), nil // msg without its opening brace
}

// Answer is the hook's answer document; see the package documentation.
type Answer struct {
	Type         string    `json:"type"`
	Content      string    `json:"content,omitempty"`
	MediaID      string    `json:"media_id,omitempty"`
	Title        string    `json:"title,omitempty"`
	Description  string    `json:"description,omitempty"`
	MusicURL     string    `json:"music_url,omitempty"`
	HQMusicURL   string    `json:"hq_music_url,omitempty"`
	ThumbMediaID string    `json:"thumb_media_id,omitempty"`
	Articles     []Article `json:"articles,omitempty"`
	KfAccount    string    `json:"kf_account,omitempty"`
}

// Article is one card of a news answer.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	PicURL      string `json:"pic_url,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Answer types besides the message types a reply shares with messages.
const TypeNone = "none"

// ParseAnswer reads the hook's answer into a reply; "none" and null are
// no reply. An unknown type or field, or a reply WeChat would refuse (a
// text without content, media without its id, no articles or more than
// message.MaxArticles) is an error.
func ParseAnswer(data []byte) (message.Reply, error) {
	var a *Answer
	if err := strictUnmarshal(data, &a); err != nil {
		return message.Reply{}, fmt.Errorf("hook answer %.256q: %w", data, err)
	}
	if a == nil {
		return message.Reply{}, nil
	}
	r, err := a.Reply()
	if err != nil {
		return message.Reply{}, fmt.Errorf("hook answer %.256q: %w", data, err)
	}
	return r, nil
}

// Reply converts the answer into a message reply.
func (a *Answer) Reply() (message.Reply, error) {
	if err := a.check(); err != nil {
		return message.Reply{}, err
	}
	switch a.Type {
	case message.TypeText:
		return message.TextReply(a.Content), nil
	case message.TypeImage:
		return message.ImageReply(a.MediaID), nil
	case message.TypeVoice:
		return message.VoiceReply(a.MediaID), nil
	case message.TypeVideo:
		return message.VideoReply(a.MediaID, a.Title, a.Description), nil
	case message.TypeMusic:
		return message.MusicReply(message.Music{
			Title: a.Title, Description: a.Description,
			MusicURL: a.MusicURL, HQMusicURL: a.HQMusicURL, ThumbMediaID: a.ThumbMediaID,
		}), nil
	case message.TypeNews:
		articles := make([]message.Article, len(a.Articles))
		for i, x := range a.Articles {
			articles[i] = message.Article{Title: x.Title, Description: x.Description, PicURL: x.PicURL, URL: x.URL}
		}
		return message.NewsReply(articles...), nil
	case message.TypeTransferCustomerService:
		return message.TransferCustomerService(a.KfAccount), nil
	}
	return message.Reply{}, nil // TypeNone
}

// check reports what makes the answer one WeChat would refuse, or nil.
func (a *Answer) check() error {
	need := func(field, v string) error {
		if v == "" {
			return fmt.Errorf("%s answer without %s", a.Type, field)
		}
		return nil
	}
	switch a.Type {
	case TypeNone, message.TypeTransferCustomerService:
		return nil
	case message.TypeText:
		return need("content", a.Content)
	case message.TypeImage, message.TypeVoice, message.TypeVideo:
		return need("media_id", a.MediaID)
	case message.TypeMusic:
		return need("thumb_media_id", a.ThumbMediaID)
	case message.TypeNews:
		if n := len(a.Articles); n < 1 || n > message.MaxArticles {
			return fmt.Errorf("news answer with %d articles, want 1 to %d", n, message.MaxArticles)
		}
		for i, x := range a.Articles {
			if x.Title == "" {
				return fmt.Errorf("news answer: article %d without title", i)
			}
		}
		return nil
	case "":
		return errors.New("answer without type")
	}
	return fmt.Errorf("unknown answer type %q", a.Type)
}

// strictUnmarshal is json.Unmarshal that refuses unknown fields and
// anything after the document, so a misspelt field is reported rather than
// silently dropped from the reply.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the answer")
	}
	return nil
}
