-- A store as schema version 1 (before status reasons) left it.
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
INSERT INTO authorizers VALUES ('wxold', 'wxcomp', 'refresh@@@old', 'access', 1767225600, 1767231000, 'active', '1,15', 'merchant-1', 1767218400, 1767218400, 3);
PRAGMA user_version = 1;
