package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/console"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

func statusCommands() []spec {
	return []spec{{
		name: "status", summary: "ticket age, component token expiry, accounts by status, next refresh",
		json: true, run: (*command).status,
	}}
}

// statusReport is what `status` shows.
type statusReport struct {
	Component       string         `json:"component_appid"`
	TicketAge       string         `json:"ticket_age,omitempty"`
	TicketExpiresAt *time.Time     `json:"ticket_expires_at,omitempty"`
	TokenExpiresAt  *time.Time     `json:"component_token_expires_at,omitempty"`
	Accounts        map[string]int `json:"accounts"`
	NextRefresh     *time.Time     `json:"next_refresh_at,omitempty"`
	NextRefreshApp  string         `json:"next_refresh_appid,omitempty"`
	Pending         []pendingRow   `json:"pending_exchanges"`
}

func (c *command) status(ctx context.Context) error {
	return c.withStore(ctx, func(st store.Store) error {
		appID, err := c.componentAppID(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		r, ticketAt, err := report(ctx, st, appID, now)
		if err != nil {
			return err
		}
		if c.opts.json {
			return writeJSON(c.stdout, r)
		}
		t := &table{}
		t.row("component", appID)
		if r.TicketExpiresAt == nil {
			t.row("ticket", "none: WeChat has not pushed a component_verify_ticket (or it expired)")
		} else {
			t.row("ticket", fmt.Sprintf("received %s, valid for %s more", ago(ticketAt, now), console.Span(r.TicketExpiresAt.Sub(now))))
		}
		if r.TokenExpiresAt == nil {
			t.row("component token", "none")
		} else {
			t.row("component token", fmt.Sprintf("%s (%s)", expiry(*r.TokenExpiresAt, now), r.TokenExpiresAt.Local().Format(time.DateTime)))
		}
		t.row("accounts", fmt.Sprintf("%d active, %d needs_reauth, %d revoked",
			r.Accounts[string(store.StatusActive)], r.Accounts[string(store.StatusNeedsReauth)], r.Accounts[string(store.StatusRevoked)]))
		if r.NextRefresh != nil {
			t.row("next refresh", fmt.Sprintf("%s %s", r.NextRefreshApp, ago(*r.NextRefresh, now)))
		}
		pendingRows(t, r.Pending, now)
		return t.write(c.stdout)
	})
}

// report reads the state `status` shows; ticketAt is when the ticket
// arrived.
func report(ctx context.Context, st store.Store, appID string, now time.Time) (r statusReport, ticketAt time.Time, err error) {
	r = statusReport{Component: appID, Accounts: map[string]int{}}
	switch t, err := st.GetTicket(ctx, appID); {
	case err == nil:
		exp := t.ExpiresAt()
		ticketAt = t.ReceivedAt
		r.TicketAge, r.TicketExpiresAt = now.Sub(t.ReceivedAt).Round(time.Second).String(), &exp
	case !errors.Is(err, store.ErrNotFound):
		return r, ticketAt, fmt.Errorf("read ticket: %w", err)
	}
	switch tok, err := st.GetComponentToken(ctx, appID); {
	case err == nil:
		r.TokenExpiresAt = &tok.ExpiresAt
	case !errors.Is(err, store.ErrNotFound):
		return r, ticketAt, fmt.Errorf("read component token: %w", err)
	}
	if err := store.EachAuthorizer(ctx, st, func(a store.Authorizer) error {
		r.Accounts[string(a.Status)]++
		return nil
	}); err != nil {
		return r, ticketAt, err
	}
	due, err := st.DueAuthorizers(ctx, now.Add(365*24*time.Hour), 1)
	if err != nil {
		return r, ticketAt, fmt.Errorf("read next due account: %w", err)
	}
	if len(due) > 0 {
		r.NextRefresh, r.NextRefreshApp = &due[0].NextRefreshAt, due[0].AppID
	}
	if r.Pending, err = pendingExchanges(ctx, st); err != nil {
		return r, ticketAt, err
	}
	return r, ticketAt, nil
}
