package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// schemaVersion is the layout this package writes, kept in PRAGMA user_version.
const schemaVersion = 6

// migrations[v] brings a database at version v to v+1; a new file runs
// them all.
var migrations = []string{schema, upgradeFrom1, schemaAuthorize, schemaJSSDK, addRefreshingUntil, addAuditPolls}

// schema creates the layout of version 1. Times are epoch seconds (0 for
// none) except lease ends, in milliseconds. Nothing in authorizers or
// profiles expires: PurgeExpired never touches them.
const schema = `
CREATE TABLE IF NOT EXISTS tickets (
	component_appid TEXT PRIMARY KEY,
	ticket          TEXT NOT NULL,
	create_time     INTEGER NOT NULL,
	received_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS component_tokens (
	component_appid TEXT PRIMARY KEY,
	access_token    TEXT NOT NULL,
	expires_at      INTEGER NOT NULL,
	version         INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS authorizers (
	appid           TEXT PRIMARY KEY,
	component_appid TEXT NOT NULL,
	refresh_token   TEXT NOT NULL CHECK (refresh_token <> ''),
	access_token    TEXT NOT NULL,
	expires_at      INTEGER NOT NULL,
	next_refresh_at INTEGER NOT NULL,
	status          TEXT NOT NULL,
	func_info       TEXT NOT NULL,
	customer_ref    TEXT NOT NULL,
	authorized_at   INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	version         INTEGER NOT NULL
) STRICT;

-- Only due accounts are in the index, so the refresh job reads nothing else.
CREATE INDEX IF NOT EXISTS authorizers_due
	ON authorizers (next_refresh_at, appid) WHERE next_refresh_at > 0;

CREATE TABLE IF NOT EXISTS profiles (
	appid             TEXT PRIMARY KEY,
	nick_name         TEXT NOT NULL,
	head_img          TEXT NOT NULL,
	user_name         TEXT NOT NULL,
	principal_name    TEXT NOT NULL,
	alias             TEXT NOT NULL,
	qrcode_url        TEXT NOT NULL,
	service_type_info INTEGER NOT NULL,
	verify_type_info  INTEGER NOT NULL,
	mini_program      INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS leases (
	name     TEXT PRIMARY KEY,
	owner    TEXT NOT NULL,
	until_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS seen (
	key        TEXT PRIMARY KEY,
	value      BLOB,
	expires_at INTEGER NOT NULL
) STRICT;

-- One row per message handled: PurgeExpired must not scan them all.
CREATE INDEX IF NOT EXISTS seen_expiry ON seen (expires_at);
`

// upgradeFrom1 is version 2: why an authorizer's status last changed. The
// defaults read as "not recorded".
const upgradeFrom1 = `
ALTER TABLE authorizers ADD COLUMN status_cause TEXT NOT NULL DEFAULT '';
ALTER TABLE authorizers ADD COLUMN status_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE authorizers ADD COLUMN status_at INTEGER NOT NULL DEFAULT 0;
`

// schemaJSSDK is version 4: authorizers' JS-SDK tickets.
const schemaJSSDK = `
CREATE TABLE IF NOT EXISTS js_tickets (
	appid           TEXT NOT NULL,
	type            TEXT NOT NULL,
	ticket          TEXT NOT NULL CHECK (ticket <> ''),
	expires_at      INTEGER NOT NULL,
	next_refresh_at INTEGER NOT NULL,
	used_at         INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	keep_until      INTEGER NOT NULL,
	version         INTEGER NOT NULL,
	PRIMARY KEY (appid, type)
) STRICT;

CREATE INDEX IF NOT EXISTS js_tickets_due
	ON js_tickets (next_refresh_at, appid, type) WHERE next_refresh_at > 0;
`

// addRefreshingUntil is version 5: the refresh job's claim on an account.
const addRefreshingUntil = `ALTER TABLE authorizers ADD COLUMN refreshing_until INTEGER NOT NULL DEFAULT 0;`

// addAuditPolls is version 6: the mini programs' release pipelines, one
// JSON document each (store.EncodeMiniProgram), with when the refresh job
// next polls an audit. Earlier builds created the table on every open
// without poll_at, so it may exist already.
const addAuditPolls = `
CREATE TABLE IF NOT EXISTS mini_programs (
	appid   TEXT PRIMARY KEY,
	state   TEXT NOT NULL,
	version INTEGER NOT NULL
) STRICT;
ALTER TABLE mini_programs ADD COLUMN poll_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS mini_programs_poll ON mini_programs (poll_at) WHERE poll_at > 0;`

// migrate brings the database to schemaVersion inside one IMMEDIATE
// transaction, so two processes opening a new file at once create it once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case version == schemaVersion:
		return nil
	case version > schemaVersion:
		return fmt.Errorf("database schema version %d is newer than this program's %d", version, schemaVersion)
	}
	for v := version; v < schemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema: %w", err)
	}
	return nil
}
