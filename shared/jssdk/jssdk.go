// Package jssdk gives a merchant's H5 pages what the JS-SDK needs: the
// wx.config fields for a page URL, signed with the account's jsapi_ticket.
//
// Tickets (jsapi and wx_card) are kept in the store like access tokens, so
// every Lambda of the platform shares one per account: WeChat limits how
// often they may be fetched. A missing or expiring ticket is fetched on
// demand under a per-account lease; the refresh job renews ahead of expiry
// (RefreshDue) only the tickets of accounts that used one in the last
// ActiveWindow, and an idle account's ticket is left to expire. Renewing
// RefreshBefore ahead, minus up to Jitter, fetches a 7200 s ticket at most
// every 105 minutes: at most 14 times a day.
package jssdk

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// Schedule and lease parameters.
const (
	// ActiveWindow is how recently an account must have used a ticket for the
	// refresh job to renew it ahead.
	ActiveWindow = 24 * time.Hour
	// RefreshBefore and Jitter place the renewal: between RefreshBefore and
	// RefreshBefore+Jitter ahead of expiry.
	RefreshBefore = 10 * time.Minute
	Jitter        = 5 * time.Minute
	// MinValidity is the least time left on a ticket handed out: a page
	// signed with it must reach the user's WeChat before it expires.
	MinValidity = 2 * time.Minute
	// UseGranularity is how often a use is written to the store: once an
	// hour per account is enough to tell active from idle.
	UseGranularity = time.Hour
	// LeaseTTL bounds a fetch; a holder that dies frees the ticket after it.
	LeaseTTL = 30 * time.Second
	// dueBatch is how many due tickets RefreshDue reads at a time.
	dueBatch = 200
)

// ErrBusy reports that another process was fetching the ticket and did not
// finish within LeaseTTL.
var ErrBusy = errors.New("jssdk: ticket fetch in progress elsewhere")

// Store is what the tickets need from the store. Both stores satisfy it.
type Store interface {
	store.JSTickets
	AcquireLease(ctx context.Context, name, owner string, until time.Time) error
	ReleaseLease(ctx context.Context, name, owner string) error
}

// API calls WeChat as an account. *wechat.Authorizers satisfies it.
type API interface {
	Call(ctx context.Context, authorizerAppID string, r wechat.Request, out any) error
}

// Options configure Tickets.
type Options struct {
	Store  Store
	API    API
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Owner names this process in leases; empty: a random id.
	Owner string
	// Jitter draws each renewal's jitter in [0, Jitter]; nil: uniformly.
	Jitter func() time.Duration
	// Wait is how a process waits for another's lease between tries; nil
	// waits in real time.
	Wait func(ctx context.Context, d time.Duration) error
}

// Tickets hands out JS-SDK tickets and wx.config fields. It is safe for
// concurrent use.
type Tickets struct {
	store  Store
	api    API
	now    func() time.Time
	log    *slog.Logger
	owner  string
	jitter func() time.Duration
	wait   func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	cache map[string]store.JSTicket // by appid + "/" + type
}

// New returns Tickets.
func New(opts Options) *Tickets {
	t := &Tickets{store: opts.Store, api: opts.API, now: opts.Now, log: opts.Logger, owner: opts.Owner,
		jitter: opts.Jitter, wait: opts.Wait, cache: map[string]store.JSTicket{}}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.owner == "" {
		t.owner = rand.Text()
	}
	if t.jitter == nil {
		t.jitter = func() time.Duration { return mathrand.N(Jitter + 1) }
	}
	if t.wait == nil {
		t.wait = sleep
	}
	return t
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Config is what wx.config takes, as JSON with WeChat's field names.
type Config struct {
	AppID     string `json:"appId"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonceStr"`
	Signature string `json:"signature"`
}

// Config returns the wx.config fields of the official account appID for the
// page at pageURL (its fragment is dropped, as WeChat's client does).
func (t *Tickets) Config(ctx context.Context, appID, pageURL string) (Config, error) {
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("jssdk: page URL %q is not an absolute http(s) URL", pageURL)
	}
	page, _, _ := strings.Cut(pageURL, "#")
	ticket, err := t.Ticket(ctx, appID, store.JSTicketJSAPI)
	if err != nil {
		return Config{}, err
	}
	c := Config{AppID: appID, Timestamp: t.now().Unix(), NonceStr: rand.Text()[:16]}
	c.Signature = Sign(ticket, c.NonceStr, c.Timestamp, page)
	return c, nil
}

// Sign is WeChat's JS-SDK signature: the SHA-1, in hex, of
// "jsapi_ticket=…&noncestr=…&timestamp=…&url=…".
func Sign(ticket, nonceStr string, timestamp int64, pageURL string) string {
	sum := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonceStr +
		"&timestamp=" + strconv.FormatInt(timestamp, 10) + "&url=" + pageURL))
	return hex.EncodeToString(sum[:])
}

// Ticket returns a JS-SDK ticket of typ (store.JSTicketJSAPI or
// store.JSTicketCard) for appID with at least MinValidity left, fetching one
// under the account's lease when there is none, and records the use.
func (t *Tickets) Ticket(ctx context.Context, appID, typ string) (string, error) {
	if appID == "" || (typ != store.JSTicketJSAPI && typ != store.JSTicketCard) {
		return "", fmt.Errorf("jssdk: ticket %q of %q: want an appid and type jsapi or wx_card", typ, appID)
	}
	now := t.now()
	key := appID + "/" + typ
	t.mu.Lock()
	cached, ok := t.cache[key]
	t.mu.Unlock()
	if ok && t.fresh(cached, now) && now.Sub(cached.UsedAt) < UseGranularity {
		return cached.Ticket, nil
	}
	cur, err := t.store.GetJSTicket(ctx, appID, typ)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("jssdk: %w", err)
	}
	if err == nil && t.usable(cur, now) {
		return t.recordUse(ctx, cur, now), nil
	}
	got, fetched, err := t.fetch(ctx, appID, typ, now, true)
	if err != nil {
		return "", err
	}
	if !fetched {
		return t.recordUse(ctx, got, now), nil
	}
	t.remember(got)
	return got.Ticket, nil
}

// usable reports whether a ticket may be handed out at now.
func (t *Tickets) usable(tk store.JSTicket, now time.Time) bool {
	return tk.Ticket != "" && now.Add(MinValidity).Before(tk.ExpiresAt)
}

// fresh reports whether a cached ticket may be handed out without reading
// the store: until the refresh job is due to replace it.
func (t *Tickets) fresh(tk store.JSTicket, now time.Time) bool {
	return t.usable(tk, now) && (tk.NextRefreshAt.IsZero() || now.Before(tk.NextRefreshAt))
}

func (t *Tickets) remember(tk store.JSTicket) {
	t.mu.Lock()
	t.cache[tk.AppID+"/"+tk.Type] = tk
	t.mu.Unlock()
}

// recordUse writes that the account used its ticket, at most once per
// UseGranularity, scheduling the renewal of an idle ticket. A lost race
// only means another process recorded a use first.
func (t *Tickets) recordUse(ctx context.Context, cur store.JSTicket, now time.Time) string {
	if now.Sub(cur.UsedAt) < UseGranularity && !cur.NextRefreshAt.IsZero() {
		t.remember(cur)
		return cur.Ticket
	}
	next := cur
	next.UsedAt, next.UpdatedAt = now, now
	if next.NextRefreshAt.IsZero() {
		next.NextRefreshAt = t.nextRefresh(cur.ExpiresAt)
	}
	stored, err := t.store.PutJSTicket(ctx, next)
	switch {
	case err == nil:
		cur = stored
	case !errors.Is(err, store.ErrConflict):
		t.log.WarnContext(ctx, "record JS-SDK ticket use", "authorizer_appid", cur.AppID, "type", cur.Type, "err", err)
	}
	t.remember(cur)
	return cur.Ticket
}

// nextRefresh is when the refresh job renews a ticket expiring at exp.
func (t *Tickets) nextRefresh(exp time.Time) time.Time {
	return exp.Add(-RefreshBefore - t.jitter())
}

// fetch gets a new ticket from WeChat under the account's lease and stores
// it, recording a use at use when that is not zero; fetched is false when
// the stored one turned out usable and not due (another process renewed
// it). With wait, it waits up to LeaseTTL for another holder; without, it
// returns ErrBusy at once.
func (t *Tickets) fetch(ctx context.Context, appID, typ string, use time.Time, wait bool) (tk store.JSTicket, fetched bool, err error) {
	name := "jsticket#" + appID + "#" + typ
	var waited time.Duration
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		err := t.store.AcquireLease(ctx, name, t.owner, t.now().Add(LeaseTTL))
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			return tk, false, fmt.Errorf("jssdk: acquire lease %s: %w", name, err)
		}
		if !wait || waited >= LeaseTTL {
			return tk, false, ErrBusy
		}
		if err := t.wait(ctx, backoff); err != nil {
			return tk, false, fmt.Errorf("jssdk: wait for lease %s: %w", name, err)
		}
		waited += backoff
		// The holder may have stored a fresh ticket meanwhile.
		if cur, err := t.store.GetJSTicket(ctx, appID, typ); err == nil && t.fresh(cur, t.now()) {
			return cur, false, nil
		}
	}
	defer func() {
		// Release even when ctx is done, or the ticket stays blocked until
		// the lease expires.
		if err := t.store.ReleaseLease(context.WithoutCancel(ctx), name, t.owner); err != nil {
			t.log.WarnContext(ctx, "release lease", "lease", name, "err", err)
		}
	}()
	cur, err := t.store.GetJSTicket(ctx, appID, typ)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur = store.JSTicket{AppID: appID, Type: typ}
	case err != nil:
		return tk, false, fmt.Errorf("jssdk: %w", err)
	case t.fresh(cur, t.now()):
		return cur, false, nil
	}
	var out struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	err = t.api.Call(ctx, appID, wechat.Request{Path: "/cgi-bin/ticket/getticket", Query: url.Values{"type": {typ}}}, &out)
	if err != nil {
		return tk, false, fmt.Errorf("jssdk: fetch %s ticket of %s: %w", typ, appID, err)
	}
	if out.Ticket == "" || out.ExpiresIn <= 0 {
		return tk, false, fmt.Errorf("jssdk: fetch %s ticket of %s: answer without a ticket or its lifetime", typ, appID)
	}
	now := t.now()
	next := cur
	next.Ticket, next.ExpiresAt, next.UpdatedAt = out.Ticket, now.Add(time.Duration(out.ExpiresIn)*time.Second), now
	if use.After(next.UsedAt) {
		next.UsedAt = use
	}
	next.NextRefreshAt = time.Time{}
	if now.Sub(next.UsedAt) < ActiveWindow {
		next.NextRefreshAt = t.nextRefresh(next.ExpiresAt)
	}
	stored, err := t.store.PutJSTicket(ctx, next)
	if err != nil {
		return tk, false, fmt.Errorf("jssdk: store %s ticket of %s: %w", typ, appID, err)
	}
	t.log.InfoContext(ctx, "JS-SDK ticket fetched", "authorizer_appid", appID, "type", typ, "expires_at", stored.ExpiresAt)
	return stored, true, nil
}

// Summary counts what RefreshDue did with the due tickets it read.
type Summary struct {
	Due       int // read from the due list
	Refreshed int // renewed from WeChat
	Idled     int // not used within ActiveWindow: left to expire
	Skipped   int // renewed elsewhere meanwhile, or being renewed
	Failed    int // still due: the next run tries again
}

// RefreshDue renews the tickets that are due and used within ActiveWindow,
// and takes the others off the due list. The refresh job calls it.
func (t *Tickets) RefreshDue(ctx context.Context) (Summary, error) {
	var sum Summary
	now := t.now()
	seen := map[string]bool{}
	for {
		due, err := t.store.DueJSTickets(ctx, now, dueBatch)
		if err != nil {
			return sum, fmt.Errorf("jssdk: %w", err)
		}
		progress := false
		for _, d := range due {
			key := d.AppID + "/" + d.Type
			if seen[key] {
				continue
			}
			seen[key], progress = true, true
			sum.Due++
			t.refreshOne(ctx, d, now, &sum)
		}
		// Tickets that failed stay due; stop once a batch brings nothing new.
		if len(due) < dueBatch || !progress {
			return sum, nil
		}
	}
}

func (t *Tickets) refreshOne(ctx context.Context, d store.JSTicket, now time.Time, sum *Summary) {
	if now.Sub(d.UsedAt) >= ActiveWindow {
		idle := d
		idle.NextRefreshAt, idle.UpdatedAt = time.Time{}, now
		if _, err := t.store.PutJSTicket(ctx, idle); err != nil && !errors.Is(err, store.ErrConflict) {
			t.log.WarnContext(ctx, "idle JS-SDK ticket", "authorizer_appid", d.AppID, "err", err)
			sum.Failed++
			return
		}
		sum.Idled++
		return
	}
	_, fetched, err := t.fetch(ctx, d.AppID, d.Type, time.Time{}, false)
	switch {
	case errors.Is(err, ErrBusy):
		sum.Skipped++
	case err != nil:
		t.log.WarnContext(ctx, "refresh JS-SDK ticket", "authorizer_appid", d.AppID, "type", d.Type, "err", err)
		sum.Failed++
	case fetched:
		sum.Refreshed++
	default:
		sum.Skipped++
	}
}
