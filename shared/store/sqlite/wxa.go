package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// miniProgramsSchema holds the release pipelines, one JSON document per
// mini program (store.EncodeMiniProgram). It is created on every open, so
// a database from before the table existed gains it without a migration.
const miniProgramsSchema = `
CREATE TABLE IF NOT EXISTS mini_programs (
	appid   TEXT PRIMARY KEY,
	state   TEXT NOT NULL,
	version INTEGER NOT NULL
) STRICT;`

func createMiniPrograms(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, miniProgramsSchema); err != nil {
		return fmt.Errorf("create mini_programs: %w", err)
	}
	return nil
}

// PutMiniProgram implements store.Store.
func (s *Store) PutMiniProgram(ctx context.Context, m store.MiniProgram) (store.MiniProgram, error) {
	data, err := store.EncodeMiniProgram(m)
	if err != nil {
		return store.MiniProgram{}, err
	}
	var res sql.Result
	if m.Version == 0 {
		res, err = s.writer.ExecContext(ctx, `INSERT INTO mini_programs (appid, state, version) VALUES (?1, ?2, 1)
			ON CONFLICT (appid) DO NOTHING`, m.AppID, string(data))
	} else {
		res, err = s.writer.ExecContext(ctx, `UPDATE mini_programs SET state = ?2, version = version + 1
			WHERE appid = ?1 AND version = ?3`, m.AppID, string(data), m.Version)
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
