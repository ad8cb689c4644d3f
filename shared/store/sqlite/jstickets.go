package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

var _ store.JSTickets = (*Store)(nil)

const jsTicketColumns = `appid, type, ticket, expires_at, next_refresh_at, used_at, updated_at, version`

// PutJSTicket implements store.JSTickets. The version keeps counting across
// an item past its KeepUntil, so a writer that read it before cannot
// overwrite its successor.
func (s *Store) PutJSTicket(ctx context.Context, t store.JSTicket) (store.JSTicket, error) {
	if t.Ticket == "" {
		return store.JSTicket{}, fmt.Errorf("put JS-SDK ticket %s/%s: %w", t.AppID, t.Type, store.ErrEmptyJSTicket)
	}
	stored := t
	stored.ExpiresAt, stored.NextRefreshAt = fromUnix(unix(t.ExpiresAt)), fromUnix(unix(t.NextRefreshAt))
	stored.UsedAt, stored.UpdatedAt = fromUnix(unix(t.UsedAt)), fromUnix(unix(t.UpdatedAt))
	err := s.writer.QueryRowContext(ctx, `INSERT INTO js_tickets (`+jsTicketColumns+`, keep_until)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8)
		ON CONFLICT (appid, type) DO UPDATE
		SET ticket = excluded.ticket, expires_at = excluded.expires_at, next_refresh_at = excluded.next_refresh_at,
			used_at = excluded.used_at, updated_at = excluded.updated_at, keep_until = excluded.keep_until,
			version = js_tickets.version + 1
		WHERE js_tickets.version = ?9 OR js_tickets.keep_until <= ?10
		RETURNING version`,
		t.AppID, t.Type, t.Ticket, unix(t.ExpiresAt), unix(t.NextRefreshAt), unix(t.UsedAt), unix(t.UpdatedAt),
		t.KeepUntil().Unix(), t.Version, s.now().Unix()).Scan(&stored.Version)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrConflict
	}
	if err != nil {
		return store.JSTicket{}, fmt.Errorf("put JS-SDK ticket %s/%s: %w", t.AppID, t.Type, err)
	}
	return stored, nil
}

// GetJSTicket implements store.JSTickets.
func (s *Store) GetJSTicket(ctx context.Context, appID, typ string) (store.JSTicket, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+jsTicketColumns+` FROM js_tickets
		WHERE appid = ?1 AND type = ?2 AND keep_until > ?3`, appID, typ, s.now().Unix())
	if err != nil {
		return store.JSTicket{}, fmt.Errorf("get JS-SDK ticket %s/%s: %w", appID, typ, err)
	}
	list, err := scanJSTickets(rows)
	if err == nil && len(list) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.JSTicket{}, fmt.Errorf("get JS-SDK ticket %s/%s: %w", appID, typ, err)
	}
	return list[0], nil
}

// DueJSTickets implements store.JSTickets with the partial index
// js_tickets_due.
func (s *Store) DueJSTickets(ctx context.Context, before time.Time, limit int) ([]store.JSTicket, error) {
	if limit <= 0 {
		return nil, nil
	}
	// "next_refresh_at > 0" repeats the index's condition, which SQLite
	// needs to use a partial index.
	rows, err := s.reader.QueryContext(ctx, `SELECT `+jsTicketColumns+` FROM js_tickets
		WHERE next_refresh_at > 0 AND next_refresh_at <= ?1
		ORDER BY next_refresh_at, appid, type LIMIT ?2`, before.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("due JS-SDK tickets: %w", err)
	}
	list, err := scanJSTickets(rows)
	if err != nil {
		return nil, fmt.Errorf("due JS-SDK tickets: %w", err)
	}
	return list, nil
}

func scanJSTickets(rows *sql.Rows) ([]store.JSTicket, error) {
	defer rows.Close()
	var out []store.JSTicket
	for rows.Next() {
		var t store.JSTicket
		var expires, next, used, updated int64
		if err := rows.Scan(&t.AppID, &t.Type, &t.Ticket, &expires, &next, &used, &updated, &t.Version); err != nil {
			return nil, err
		}
		t.ExpiresAt, t.NextRefreshAt, t.UsedAt, t.UpdatedAt = fromUnix(expires), fromUnix(next), fromUnix(used), fromUnix(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}
