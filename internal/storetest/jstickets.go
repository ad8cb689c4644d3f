package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// JSTicketStore is a store that also keeps JS-SDK tickets.
type JSTicketStore interface {
	store.Store
	store.JSTickets
}

// RunJSTickets runs the conformance checks of store.JSTickets against
// stores made by newStore (fresh and empty, judging expiry by now).
func RunJSTickets(t *testing.T, newStore func(t *testing.T, now func() time.Time) JSTicketStore) {
	for _, tt := range jsTicketTests() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			tt.fn(t, jsEnv{ctx: t.Context(), s: newStore(t, c.Now), clock: c})
		})
	}
}

type jsEnv struct {
	ctx   context.Context
	s     JSTicketStore
	clock *clock
}

// ticket is a live jsapi ticket of appID issued now.
func (e jsEnv) ticket(appID, value string) store.JSTicket {
	now := sec(e.clock.Now())
	return store.JSTicket{AppID: appID, Type: store.JSTicketJSAPI, Ticket: value, ExpiresAt: now.Add(2 * time.Hour),
		NextRefreshAt: now.Add(100 * time.Minute), UsedAt: now, UpdatedAt: now}
}

func jsTicketTests() []struct {
	name string
	fn   func(t *testing.T, e jsEnv)
} {
	return []struct {
		name string
		fn   func(t *testing.T, e jsEnv)
	}{
		{"NotFound", func(t *testing.T, e jsEnv) {
			_, err := e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketJSAPI)
			wantErr(t, "get missing", err, store.ErrNotFound)
		}},
		{"RoundTripPerType", func(t *testing.T, e jsEnv) {
			in := e.ticket("wxa", "T1")
			got, err := e.s.PutJSTicket(e.ctx, in)
			wantErr(t, "put", err, nil)
			in.Version = 1
			wantEqual(t, "stored", got, in)
			card := e.ticket("wxa", "C1")
			card.Type, card.NextRefreshAt = store.JSTicketCard, time.Time{}
			_, err = e.s.PutJSTicket(e.ctx, card)
			wantErr(t, "put card", err, nil)
			read, err := e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketJSAPI)
			wantErr(t, "get", err, nil)
			wantEqual(t, "read", read, in)
			read, err = e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketCard)
			wantErr(t, "get card", err, nil)
			if read.Ticket != "C1" || !read.NextRefreshAt.IsZero() {
				t.Errorf("card ticket = %+v", read)
			}
		}},
		{"EmptyTicketRefused", func(t *testing.T, e jsEnv) {
			_, err := e.s.PutJSTicket(e.ctx, e.ticket("wxa", "T1"))
			wantErr(t, "put", err, nil)
			empty := e.ticket("wxa", "")
			empty.Version = 1
			_, err = e.s.PutJSTicket(e.ctx, empty)
			wantErr(t, "put empty", err, store.ErrEmptyJSTicket)
			got, _ := e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketJSAPI)
			if got.Ticket != "T1" || got.Version != 1 {
				t.Errorf("after the refused put: %+v", got)
			}
		}},
		{"Versioned", func(t *testing.T, e jsEnv) {
			first, err := e.s.PutJSTicket(e.ctx, e.ticket("wxa", "T1"))
			wantErr(t, "put", err, nil)
			_, err = e.s.PutJSTicket(e.ctx, e.ticket("wxa", "stale"))
			wantErr(t, "put with version 0 over version 1", err, store.ErrConflict)
			next := e.ticket("wxa", "T2")
			next.Version = first.Version
			got, err := e.s.PutJSTicket(e.ctx, next)
			wantErr(t, "put with the read version", err, nil)
			if got.Version != 2 {
				t.Errorf("version = %d, want 2", got.Version)
			}
			_, err = e.s.PutJSTicket(e.ctx, next)
			wantErr(t, "put with an old version", err, store.ErrConflict)
		}},
		{"OneWinner", func(t *testing.T, e jsEnv) {
			_, err := e.s.PutJSTicket(e.ctx, e.ticket("wxa", "T0"))
			wantErr(t, "put", err, nil)
			errs := race(contenders, func(i int) error {
				in := e.ticket("wxa", fmt.Sprint("T", i+1))
				in.Version = 1
				_, err := e.s.PutJSTicket(e.ctx, in)
				return err
			})
			w := oneWinner(t, errs, store.ErrConflict)
			got, _ := e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketJSAPI)
			if got.Ticket != fmt.Sprint("T", w+1) || got.Version != 2 {
				t.Errorf("stored %+v, want the winner's with version 2", got)
			}
		}},
		{"KeptAfterExpiryUntilKeepUntil", func(t *testing.T, e jsEnv) {
			in := e.ticket("wxa", "T1")
			stored, err := e.s.PutJSTicket(e.ctx, in)
			wantErr(t, "put", err, nil)
			e.clock.Set(in.ExpiresAt.Add(time.Hour))
			got, err := e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketJSAPI)
			wantErr(t, "get an expired ticket within the keep", err, nil)
			wantEqual(t, "expired ticket", got, stored)
			e.clock.Set(in.KeepUntil())
			_, err = e.s.GetJSTicket(e.ctx, "wxa", store.JSTicketJSAPI)
			wantErr(t, "get past the keep", err, store.ErrNotFound)
			// A writer that read nothing may write again; the version keeps
			// counting, so one that read the old item still conflicts.
			again, err := e.s.PutJSTicket(e.ctx, e.ticket("wxa", "T2"))
			wantErr(t, "put over an item past its keep", err, nil)
			if again.Version != 2 {
				t.Errorf("version = %d, want 2", again.Version)
			}
			old := e.ticket("wxa", "T3")
			old.Version = 1
			_, err = e.s.PutJSTicket(e.ctx, old)
			wantErr(t, "put with the version read before", err, store.ErrConflict)
		}},
		{"Due", func(t *testing.T, e jsEnv) {
			now := sec(e.clock.Now())
			for i, off := range []time.Duration{30, 10, 20, 0, 40} {
				tk := e.ticket(fmt.Sprintf("wx%d", i), "T")
				tk.NextRefreshAt = now.Add(off * time.Minute)
				if off == 0 {
					tk.NextRefreshAt = time.Time{} // idle: never due
				}
				_, err := e.s.PutJSTicket(e.ctx, tk)
				wantErr(t, "put", err, nil)
			}
			due, err := e.s.DueJSTickets(e.ctx, now.Add(30*time.Minute), 10)
			wantErr(t, "due", err, nil)
			var ids []string
			for _, d := range due {
				ids = append(ids, d.AppID)
			}
			wantEqual(t, "due, earliest first", ids, []string{"wx1", "wx2", "wx0"})
			due, err = e.s.DueJSTickets(e.ctx, now.Add(time.Hour), 2)
			wantErr(t, "due with limit", err, nil)
			if len(due) != 2 || due[0].AppID != "wx1" {
				t.Errorf("limited due = %+v", due)
			}
			// Clearing NextRefreshAt takes a ticket off the due list.
			wx1 := due[0]
			wx1.NextRefreshAt = time.Time{}
			_, err = e.s.PutJSTicket(e.ctx, wx1)
			wantErr(t, "clear next refresh", err, nil)
			due, err = e.s.DueJSTickets(e.ctx, now.Add(time.Hour), 10)
			wantErr(t, "due after clearing", err, nil)
			if len(due) != 3 || due[0].AppID != "wx2" {
				t.Errorf("due after clearing = %+v", due)
			}
		}},
	}
}
