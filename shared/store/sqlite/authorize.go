package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// schemaAuthorize adds the authorization flow's items: the nonces of start
// pages, claimed once each, and the authorization codes whose exchange
// failed, which the refresh job retries.
const schemaAuthorize = `
CREATE TABLE IF NOT EXISTS nonces (
	nonce      TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS pending_exchanges (
	code             TEXT PRIMARY KEY,
	authorizer_appid TEXT NOT NULL,
	info_type        TEXT NOT NULL,
	expires_at       INTEGER NOT NULL,
	received_at      INTEGER NOT NULL,
	attempts         INTEGER NOT NULL,
	last_error       TEXT NOT NULL
) STRICT;
`

// ClaimNonce implements store.Store.
func (s *Store) ClaimNonce(ctx context.Context, nonce string, expiresAt time.Time) error {
	res, err := s.writer.ExecContext(ctx, `INSERT INTO nonces (nonce, expires_at) VALUES (?1, ?2)
		ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at
		WHERE nonces.expires_at <= ?3`, nonce, unix(expiresAt), s.now().Unix())
	if err != nil {
		return fmt.Errorf("claim nonce: %w", err)
	}
	ok, err := changed(res)
	switch {
	case err != nil:
		return fmt.Errorf("claim nonce: %w", err)
	case !ok:
		return fmt.Errorf("claim nonce: %w", store.ErrExists)
	}
	return nil
}

// PutPendingExchange implements store.Store.
func (s *Store) PutPendingExchange(ctx context.Context, p store.PendingExchange) error {
	_, err := s.writer.ExecContext(ctx, `INSERT INTO pending_exchanges
			(code, authorizer_appid, info_type, expires_at, received_at, attempts, last_error)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
		ON CONFLICT (code) DO UPDATE SET authorizer_appid = excluded.authorizer_appid,
			info_type = excluded.info_type, expires_at = excluded.expires_at, received_at = excluded.received_at,
			attempts = excluded.attempts, last_error = excluded.last_error`,
		p.Code, p.AuthorizerAppID, p.InfoType, unix(p.ExpiresAt), unix(p.ReceivedAt), p.Attempts, p.LastError)
	if err != nil {
		return fmt.Errorf("put pending exchange of %s: %w", p.AuthorizerAppID, err)
	}
	return nil
}

// PendingExchanges implements store.Store.
func (s *Store) PendingExchanges(ctx context.Context, after string, limit int) ([]store.PendingExchange, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT code, authorizer_appid, info_type, expires_at, received_at,
			attempts, last_error
		FROM pending_exchanges WHERE code > ?1 AND expires_at > ?2 ORDER BY code LIMIT ?3`,
		after, s.now().Add(-store.PendingRetention).Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("list pending exchanges: %w", err)
	}
	defer rows.Close()
	var list []store.PendingExchange
	for rows.Next() {
		var p store.PendingExchange
		var expires, received int64
		if err := rows.Scan(&p.Code, &p.AuthorizerAppID, &p.InfoType, &expires, &received, &p.Attempts, &p.LastError); err != nil {
			return nil, fmt.Errorf("list pending exchanges: %w", err)
		}
		p.ExpiresAt, p.ReceivedAt = fromUnix(expires), fromUnix(received)
		list = append(list, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending exchanges: %w", err)
	}
	return list, nil
}

// DeletePendingExchange implements store.Store.
func (s *Store) DeletePendingExchange(ctx context.Context, code string) error {
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM pending_exchanges WHERE code = ?1`, code); err != nil {
		return fmt.Errorf("delete pending exchange: %w", err)
	}
	return nil
}
