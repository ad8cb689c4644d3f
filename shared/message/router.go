package message

import (
	"context"
	"sync"
)

// HandlerFunc handles one message and returns its passive reply, or the
// zero Reply for none. It runs once per message however often WeChat
// retries the push, and must finish well inside WeChat's five seconds: work
// that takes longer belongs after the reply, through the customer-service
// API. An error answers WeChat with a server error and lets a retry of the
// push run the handler again.
//
// The Message belongs to the call; a handler that keeps it past its return
// must copy it.
type HandlerFunc func(ctx context.Context, m *Message) (Reply, error)

// Router finds the handler of a message. Handlers are registered for every
// account on the Router itself and for one account on For(appid).
//
// A message goes to the first handler registered, in this order:
//  1. for its account, by event (HandleEvent), then for events by the type
//     "event", otherwise by message type (Handle);
//  2. the same for all accounts;
//  3. the account's default handler, then the default for all accounts
//     (HandleDefault): this is where types without a handler arrive, with
//     every field intact.
//
// A message no handler takes is answered "success". A Router is safe for
// concurrent use, also while handlers are being registered.
type Router struct {
	mu       sync.RWMutex
	all      *Routes
	accounts map[string]*Routes
}

// NewRouter returns a Router without handlers.
func NewRouter() *Router {
	r := &Router{accounts: make(map[string]*Routes)}
	r.all = newRoutes(&r.mu)
	return r
}

// Routes are the handlers of one account, or of all accounts.
type Routes struct {
	mu       *sync.RWMutex // the Router's
	byType   map[string]HandlerFunc
	byEvent  map[string]HandlerFunc
	fallback HandlerFunc
}

func newRoutes(mu *sync.RWMutex) *Routes {
	return &Routes{mu: mu, byType: make(map[string]HandlerFunc), byEvent: make(map[string]HandlerFunc)}
}

// For returns the routes of the account appID, created on first use.
func (r *Router) For(appID string) *Routes {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, ok := r.accounts[appID]
	if !ok {
		rs = newRoutes(&r.mu)
		r.accounts[appID] = rs
	}
	return rs
}

// Handle registers h for every account's messages of msgType (TypeText,
// TypeImage, …; TypeEvent for events without a handler of their own).
func (r *Router) Handle(msgType string, h HandlerFunc) { r.all.Handle(msgType, h) }

// HandleEvent registers h for every account's events named event.
func (r *Router) HandleEvent(event string, h HandlerFunc) { r.all.HandleEvent(event, h) }

// HandleDefault registers h for every account's messages that no other
// handler takes.
func (r *Router) HandleDefault(h HandlerFunc) { r.all.HandleDefault(h) }

// Handle registers h for the account's messages of msgType, replacing an
// earlier registration; a nil h removes it.
func (rs *Routes) Handle(msgType string, h HandlerFunc) { rs.set(rs.byType, msgType, h) }

// HandleEvent registers h for the account's events named event, replacing
// an earlier registration; a nil h removes it.
func (rs *Routes) HandleEvent(event string, h HandlerFunc) { rs.set(rs.byEvent, event, h) }

// HandleDefault registers h for the account's messages no other handler
// takes; a nil h removes it.
func (rs *Routes) HandleDefault(h HandlerFunc) {
	rs.mu.Lock()
	rs.fallback = h
	rs.mu.Unlock()
}

func (rs *Routes) set(m map[string]HandlerFunc, key string, h HandlerFunc) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if h == nil {
		delete(m, key)
		return
	}
	m[key] = h
}

// lookup returns the handler of m under the caller's read lock.
func (rs *Routes) lookup(m *Message) HandlerFunc {
	if m.MsgType == TypeEvent {
		if h := rs.byEvent[m.Event]; h != nil {
			return h
		}
	}
	return rs.byType[m.MsgType]
}

// Route returns the handler of m, or nil when no handler takes it.
func (r *Router) Route(m *Message) HandlerFunc {
	r.mu.RLock()
	defer r.mu.RUnlock()
	account := r.accounts[m.AppID]
	if account != nil {
		if h := account.lookup(m); h != nil {
			return h
		}
	}
	if h := r.all.lookup(m); h != nil {
		return h
	}
	if account != nil && account.fallback != nil {
		return account.fallback
	}
	return r.all.fallback
}
