package storetest

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Counting is a store.Store that passes every call on to another Store and
// counts them, with the authorizers the list methods return: what a test or
// benchmark needs to show how much store traffic an operation costs (for
// example that a refresh run reads only the due accounts). It is safe for
// concurrent use.
type Counting struct {
	next store.Store

	mu     sync.Mutex
	calls  map[string]int
	listed int
}

var _ store.Store = (*Counting)(nil)

// NewCounting returns a Counting store in front of s.
func NewCounting(s store.Store) *Counting {
	return &Counting{next: s, calls: make(map[string]int)}
}

// Counts is what a Counting store has passed on.
type Counts struct {
	// Calls counts calls by Store method name, such as "GetAuthorizer".
	Calls map[string]int
	// Listed counts the authorizers ListAuthorizers and DueAuthorizers returned.
	Listed int
}

// Reads is the number of calls that only read: Get*, ListAuthorizers and
// DueAuthorizers.
func (c Counts) Reads() int {
	n := 0
	for name, k := range c.Calls {
		if strings.HasPrefix(name, "Get") || strings.HasSuffix(name, "Authorizers") {
			n += k
		}
	}
	return n
}

// Writes is the number of calls that write.
func (c Counts) Writes() int {
	n := 0
	for _, k := range c.Calls {
		n += k
	}
	return n - c.Reads()
}

// Counts returns the counts so far.
func (c *Counting) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Counts{Calls: maps.Clone(c.calls), Listed: c.listed}
}

// Reset sets the counts to zero.
func (c *Counting) Reset() {
	c.mu.Lock()
	clear(c.calls)
	c.listed = 0
	c.mu.Unlock()
}

func (c *Counting) count(method string, listed int) {
	c.mu.Lock()
	c.calls[method]++
	c.listed += listed
	c.mu.Unlock()
}

// PutTicket implements store.Store.
func (c *Counting) PutTicket(ctx context.Context, t store.Ticket) error {
	c.count("PutTicket", 0)
	return c.next.PutTicket(ctx, t)
}

// GetTicket implements store.Store.
func (c *Counting) GetTicket(ctx context.Context, componentAppID string) (store.Ticket, error) {
	c.count("GetTicket", 0)
	return c.next.GetTicket(ctx, componentAppID)
}

// PutComponentToken implements store.Store.
func (c *Counting) PutComponentToken(ctx context.Context, tok store.ComponentToken) (store.ComponentToken, error) {
	c.count("PutComponentToken", 0)
	return c.next.PutComponentToken(ctx, tok)
}

// GetComponentToken implements store.Store.
func (c *Counting) GetComponentToken(ctx context.Context, componentAppID string) (store.ComponentToken, error) {
	c.count("GetComponentToken", 0)
	return c.next.GetComponentToken(ctx, componentAppID)
}

// PutAuthorizer implements store.Store.
func (c *Counting) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	c.count("PutAuthorizer", 0)
	return c.next.PutAuthorizer(ctx, a)
}

// GetAuthorizer implements store.Store.
func (c *Counting) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	c.count("GetAuthorizer", 0)
	return c.next.GetAuthorizer(ctx, appID)
}

// ListAuthorizers implements store.Store.
func (c *Counting) ListAuthorizers(ctx context.Context, after string, limit int) ([]store.Authorizer, error) {
	list, err := c.next.ListAuthorizers(ctx, after, limit)
	c.count("ListAuthorizers", len(list))
	return list, err
}

// DueAuthorizers implements store.Store.
func (c *Counting) DueAuthorizers(ctx context.Context, before time.Time, limit int) ([]store.Authorizer, error) {
	list, err := c.next.DueAuthorizers(ctx, before, limit)
	c.count("DueAuthorizers", len(list))
	return list, err
}

// PutProfile implements store.Store.
func (c *Counting) PutProfile(ctx context.Context, p store.Profile) error {
	c.count("PutProfile", 0)
	return c.next.PutProfile(ctx, p)
}

// GetProfile implements store.Store.
func (c *Counting) GetProfile(ctx context.Context, appID string) (store.Profile, error) {
	c.count("GetProfile", 0)
	return c.next.GetProfile(ctx, appID)
}

// AcquireLease implements store.Store.
func (c *Counting) AcquireLease(ctx context.Context, name, owner string, until time.Time) error {
	c.count("AcquireLease", 0)
	return c.next.AcquireLease(ctx, name, owner, until)
}

// ReleaseLease implements store.Store.
func (c *Counting) ReleaseLease(ctx context.Context, name, owner string) error {
	c.count("ReleaseLease", 0)
	return c.next.ReleaseLease(ctx, name, owner)
}

// PutSeenIfAbsent implements store.Store.
func (c *Counting) PutSeenIfAbsent(ctx context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error) {
	c.count("PutSeenIfAbsent", 0)
	return c.next.PutSeenIfAbsent(ctx, key, value, expiresAt)
}

// PutSeen implements store.Store.
func (c *Counting) PutSeen(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	c.count("PutSeen", 0)
	return c.next.PutSeen(ctx, key, value, expiresAt)
}
