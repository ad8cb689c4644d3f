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

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

//go:embed templates/home.html
var templates embed.FS

var homeTemplate = template.Must(template.New("home.html").Funcs(template.FuncMap{
	"until": func(t time.Time) string { return time.Until(t).Round(time.Second).String() },
	"since": func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
	"ms":    func(d time.Duration) int64 { return d.Milliseconds() },
}).ParseFS(templates, "templates/home.html"))

// routes is the platform's own routes plus the dev pages.
func (d *devServer) routes() http.Handler {
	mux := d.p.Mux()
	mux.HandleFunc("GET /{$}", d.home)
	mux.HandleFunc("GET /dev/state", d.stateJSON)
	mux.HandleFunc("POST /dev/refresh", d.refreshNow)
	mux.HandleFunc("POST /dev/release-check", d.releaseCheck)
	mux.HandleFunc("GET "+IdentityPath, d.identity)
	return mux
}

// state is what the home page shows.
type state struct {
	Component      string              `json:"component_appid"`
	Simulated      bool                `json:"simulated"`
	Ticket         *store.Ticket       `json:"ticket,omitempty"`
	ComponentToken *tokenState         `json:"component_token,omitempty"`
	Accounts       []accountState      `json:"accounts"`
	Pushes         []wechatsim.Event   `json:"pushes,omitempty"`
	ReleaseCheck   *wechatsim.Report   `json:"release_check,omitempty"`
	Candidates     []wechatsim.Account `json:"-"`
	// OAuthTry is where the "try OAuth" links send the identity.
	OAuthTry string    `json:"-"`
	Now      time.Time `json:"now"`
}

type tokenState struct {
	ExpiresAt time.Time `json:"expires_at"`
	Valid     bool      `json:"valid"`
}

type accountState struct {
	store.Authorizer
	Profile store.Profile `json:"profile"`
}

func (d *devServer) state(ctx context.Context) (state, error) {
	s := state{Component: d.p.Config.ComponentAppID, Simulated: d.sim != nil, Now: time.Now(), Accounts: []accountState{}}
	switch t, err := d.st.GetTicket(ctx, s.Component); {
	case err == nil:
		s.Ticket = &t
	case !errors.Is(err, store.ErrNotFound):
		return s, err
	}
	switch tok, err := d.st.GetComponentToken(ctx, s.Component); {
	case err == nil:
		s.ComponentToken = &tokenState{ExpiresAt: tok.ExpiresAt, Valid: tok.ExpiresAt.After(time.Now())}
	case !errors.Is(err, store.ErrNotFound):
		return s, err
	}
	err := store.EachAuthorizer(ctx, d.st, func(a store.Authorizer) error {
		p, err := d.st.GetProfile(ctx, a.AppID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.Accounts = append(s.Accounts, accountState{Authorizer: a, Profile: p})
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

func (d *devServer) refreshNow(w http.ResponseWriter, r *http.Request) {
	d.refreshOnce(r.Context())
	http.Redirect(w, r, "/", http.StatusSeeOther)
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
