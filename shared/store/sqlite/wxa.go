package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// PutMiniProgram implements store.Store.
func (s *Store) PutMiniProgram(ctx context.Context, m store.MiniProgram) (store.MiniProgram, error) {
	data, err := store.EncodeMiniProgram(m)
	if err != nil {
		return store.MiniProgram{}, err
	}
	var res sql.Result
	if m.Version == 0 {
		res, err = s.writer.ExecContext(ctx, `INSERT INTO mini_programs (appid, state, version, poll_at) VALUES (?1, ?2, 1, ?3)
			ON CONFLICT (appid) DO NOTHING`, m.AppID, string(data), unix(m.PollAt))
	} else {
		res, err = s.writer.ExecContext(ctx, `UPDATE mini_programs SET state = ?2, version = version + 1, poll_at = ?4
			WHERE appid = ?1 AND version = ?3`, m.AppID, string(data), m.Version, unix(m.PollAt))
	}
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("put mini program %s: %w", m.AppID, err)
	}
	ok, err := changed(res)
	switch {
	case err != nil:
		return store.MiniProgram{}, fmt.Errorf("put mini program %s: %w", m.AppID, err)
	case !ok:
		return store.MiniProgram{}, fmt.Errorf("put mini program %s version %d: %w", m.AppID, m.Version, store.ErrConflict)
	}
	return store.DecodeMiniProgram(data, m.Version+1)
}

// GetMiniProgram implements store.Store.
func (s *Store) GetMiniProgram(ctx context.Context, appID string) (store.MiniProgram, error) {
	var data string
	var version int64
	err := s.reader.QueryRowContext(ctx, `SELECT state, version FROM mini_programs WHERE appid = ?1`, appID).Scan(&data, &version)
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("get mini program %s: %w", appID, notFound(err))
	}
	m, err := store.DecodeMiniProgram([]byte(data), version)
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("get mini program %s: %w", appID, err)
	}
	return m, nil
}

// DueAudits implements store.Store with the partial index on poll_at.
func (s *Store) DueAudits(ctx context.Context, before time.Time, limit int) ([]store.MiniProgram, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT state, version FROM mini_programs
		WHERE poll_at > 0 AND poll_at <= ?1 ORDER BY poll_at LIMIT ?2`, before.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("due audits: %w", err)
	}
	defer rows.Close()
	var list []store.MiniProgram
	for rows.Next() {
		var data string
		var version int64
		if err := rows.Scan(&data, &version); err != nil {
			return nil, fmt.Errorf("due audits: %w", err)
		}
		m, err := store.DecodeMiniProgram([]byte(data), version)
		if err != nil {
			return nil, fmt.Errorf("due audits: %w", err)
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due audits: %w", err)
	}
	return list, nil
}
