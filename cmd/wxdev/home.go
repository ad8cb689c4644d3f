package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/console"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

//go:embed templates/home.html
var templates embed.FS

var homeTemplate = template.Must(template.New("home.html").Funcs(template.FuncMap{
	"until": func(t time.Time) string { return console.Span(time.Until(t)) },
	"since": func(t time.Time) string { return console.Span(time.Since(t)) },
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
	"ms":    func(d time.Duration) int64 { return d.Milliseconds() },
	"past":  func(t time.Time) bool { return t.Before(time.Now()) },
}).ParseFS(templates, "templates/home.html"))

// routes is the platform's own routes plus the dev pages.
func (d *devServer) routes() (http.Handler, error) {
	mux, err := d.p.Mux()
	if err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /{$}", d.home)
	mux.HandleFunc("GET /dev/state", d.stateJSON)
	mux.HandleFunc("POST /dev/refresh", d.control(d.refreshNow))
	mux.HandleFunc("POST /dev/release-check", d.control(d.releaseCheck))
	mux.HandleFunc("POST /dev/authorize", d.control(d.authorizeDemo))
	mux.HandleFunc("GET "+IdentityPath, d.identity)
	return mux, nil
}

// state is what the home page and /dev/state show. It never holds a
// ticket, token or refresh token, only their expiries and last characters:
// the dev server may be reachable from other machines.
type state struct {
	Component      string              `json:"component_appid"`
	Simulated      bool                `json:"simulated"`
	Ticket         *ticketState        `json:"ticket,omitempty"`
	ComponentToken *tokenState         `json:"component_token,omitempty"`
	Accounts       []accountState      `json:"accounts"`
	Pushes         []wechatsim.Event   `json:"pushes,omitempty"`
	ReleaseCheck   *wechatsim.Report   `json:"release_check,omitempty"`
	Candidates     []wechatsim.Account `json:"-"`
	// OAuthTry is where the "try OAuth" links send the identity.
	OAuthTry string    `json:"-"`
	Now      time.Time `json:"now"`
	// Counts are the accounts by status.
	Counts      map[string]int `json:"counts"`
	LastRefresh *refreshRun    `json:"last_refresh,omitempty"`
}

type ticketState struct {
	CreateTime time.Time `json:"create_time"`
	ReceivedAt time.Time `json:"received_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Last4      string    `json:"ticket_last4"`
}

type tokenState struct {
	ExpiresAt time.Time `json:"expires_at"`
	Valid     bool      `json:"valid"`
	Last4     string    `json:"token_last4"`
}

type accountState struct {
	AppID             string             `json:"authorizer_appid"`
	Status            store.Status       `json:"status"`
	Reason            store.StatusReason `json:"reason"`
	CustomerRef       string             `json:"customer_ref,omitempty"`
	FuncInfo          []int              `json:"func_info"`
	HasToken          bool               `json:"has_access_token"`
	ExpiresAt         time.Time          `json:"token_expires_at"`
	NextRefreshAt     time.Time          `json:"next_refresh_at"`
	AuthorizedAt      time.Time          `json:"authorized_at"`
	AccessTokenLast4  string             `json:"access_token_last4,omitempty"`
	RefreshTokenLast4 string             `json:"refresh_token_last4,omitempty"`
	Profile           store.Profile      `json:"profile"`
	// NeedsFix is set when only a new authorization by the account's admin
	// makes it work again; the page offers one, for the same customer.
	NeedsFix bool `json:"needs_fix"`
}

// newAccountState shows a without its tokens.
func newAccountState(a store.Authorizer, p store.Profile) accountState {
	return accountState{
		AppID: a.AppID, Status: a.Status, Reason: a.Reason, CustomerRef: a.CustomerRef, FuncInfo: a.FuncInfo,
		HasToken: a.AccessToken != "", ExpiresAt: a.ExpiresAt, NextRefreshAt: a.NextRefreshAt, AuthorizedAt: a.AuthorizedAt,
		AccessTokenLast4: last4(a.AccessToken), RefreshTokenLast4: last4(a.RefreshToken), Profile: p,
		NeedsFix: a.Status != store.StatusActive,
	}
}

func (d *devServer) state(ctx context.Context) (state, error) {
	s := state{Component: d.p.Config.ComponentAppID, Simulated: d.sim != nil, Now: time.Now(), Accounts: []accountState{},
		Counts: map[string]int{string(store.StatusActive): 0, string(store.StatusNeedsReauth): 0, string(store.StatusRevoked): 0}}
	switch t, err := d.st.GetTicket(ctx, s.Component); {
	case err == nil:
		s.Ticket = &ticketState{CreateTime: t.CreateTime, ReceivedAt: t.ReceivedAt, ExpiresAt: t.ExpiresAt(), Last4: last4(t.Ticket)}
	case !errors.Is(err, store.ErrNotFound):
		return s, err
	}
	switch tok, err := d.st.GetComponentToken(ctx, s.Component); {
	case err == nil:
		s.ComponentToken = &tokenState{ExpiresAt: tok.ExpiresAt, Valid: tok.ExpiresAt.After(time.Now()), Last4: last4(tok.AccessToken)}
	case !errors.Is(err, store.ErrNotFound):
		return s, err
	}
	err := store.EachAuthorizer(ctx, d.st, func(a store.Authorizer) error {
		p, err := d.st.GetProfile(ctx, a.AppID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.Accounts = append(s.Accounts, newAccountState(a, p))
		s.Counts[string(a.Status)]++
		return nil
	})
	if err != nil {
		return s, err
	}
	if d.sim != nil {
		events := d.sim.Events()
		s.Pushes = events[max(0, len(events)-12):]
	}
	d.mu.Lock()
	s.ReleaseCheck = d.report
	s.LastRefresh = d.lastRefresh
	d.mu.Unlock()
	return s, nil
}

func (d *devServer) home(w http.ResponseWriter, r *http.Request) {
	s, err := d.state(r.Context())
	if err != nil {
		http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.OAuthTry = "http://" + r.Host + IdentityPath
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := homeTemplate.Execute(w, s); err != nil {
		d.log.Error("render home page", "err", err)
	}
}

func (d *devServer) stateJSON(w http.ResponseWriter, r *http.Request) {
	s, err := d.state(r.Context())
	if err != nil {
		http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

// refreshNow runs the refresh job and shows its result on the home page.
func (d *devServer) refreshNow(w http.ResponseWriter, r *http.Request) {
	d.refreshOnce(r.Context())
	http.Redirect(w, r, "/#refresh", http.StatusSeeOther)
}

func (d *devServer) releaseCheck(w http.ResponseWriter, r *http.Request) {
	if d.sim == nil {
		http.Error(w, "the release check runs on the simulator; with real WeChat, start it in WeChat's console", http.StatusConflict)
		return
	}
	report := d.sim.ReleaseCheck(r.Context(), d.p.Config.ComponentAppID)
	d.mu.Lock()
	d.report = &report
	d.mu.Unlock()
	d.log.Info("release check", "passed", report.Passed, "cases", fmt.Sprint(report.Cases))
	http.Redirect(w, r, "/#release", http.StatusSeeOther)
}
