package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// pendingRow is one pushed authorization whose code is still to be
// exchanged; the code itself is not shown.
type pendingRow struct {
	AppID      string    `json:"authorizer_appid"`
	InfoType   string    `json:"info_type"`
	ReceivedAt time.Time `json:"received_at"`
	ExpiresAt  time.Time `json:"code_expires_at"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
}

// pendingExchanges reads every pending exchange.
func pendingExchanges(ctx context.Context, st store.Store) ([]pendingRow, error) {
	rows := []pendingRow{}
	for after := ""; ; {
		page, err := st.PendingExchanges(ctx, after, 100)
		if err != nil {
			return nil, fmt.Errorf("read pending exchanges: %w", err)
		}
		for _, p := range page {
			rows = append(rows, pendingRow{AppID: p.AuthorizerAppID, InfoType: p.InfoType, ReceivedAt: p.ReceivedAt,
				ExpiresAt: p.ExpiresAt, Attempts: p.Attempts, LastError: p.LastError})
		}
		if len(page) < 100 {
			return rows, nil
		}
		after = page[len(page)-1].Code
	}
}

// pendingRows adds the pending exchanges to the status table.
func pendingRows(t *table, rows []pendingRow, now time.Time) {
	if len(rows) == 0 {
		t.row("pending exchanges", "none")
		return
	}
	t.row("pending exchanges", fmt.Sprintf("%d pushed authorizations not exchanged yet (the refresh job retries them)", len(rows)))
	for _, r := range rows {
		state := "code " + expiry(r.ExpiresAt, now)
		if !now.Before(r.ExpiresAt) {
			state = "code expired: the next refresh run reports it lost"
		}
		t.row("  "+r.AppID, fmt.Sprintf("%s, %d attempts, %s; last error: %s", r.InfoType, r.Attempts, state, r.LastError))
	}
}
