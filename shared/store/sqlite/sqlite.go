// Package sqlite implements store.Store in an embedded SQLite database file
// (modernc.org/sqlite, pure Go), for local runs and tests.
//
// The database runs in WAL mode with synchronous=NORMAL: readers never wait
// for the writer, and a commit does not wait for the disk (a power cut may
// lose the last commits, never corrupt the file). Several processes may use
// the same file at once: every write that could race is one guarded
// statement (INSERT … ON CONFLICT … WHERE, UPDATE … WHERE version = ?) or an
// IMMEDIATE transaction, and SQLite's file lock with a busy timeout orders
// writers across processes. Within a process all writes share one
// connection, SQLite's own limit anyway, which spares competing connections
// the busy timeout's sleeps; reads use a pool.
//
// Times are stored at second precision, truncated (leases: milliseconds). An
// item whose expiry is at or before the clock reads as absent;
// [Store.PurgeExpired] deletes such rows.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeout is how long a write waits for another process's write lock.
const busyTimeout = 10 * time.Second

// Options configure a Store.
type Options struct {
	// Now is the clock expiry is judged by; nil means time.Now.
	Now func() time.Time
}

// Store is a store.Store in a SQLite file. It is safe for concurrent use by
// many goroutines and by several processes on the same file.
type Store struct {
	now    func() time.Time
	writer *sql.DB // one connection: every write
	reader *sql.DB // read-only pool

	putTicket, putToken, insertAuthorizer, updateAuthorizer, putProfile *sql.Stmt
	acquireLease, releaseLease, claimSeen, readSeen, putSeen            *sql.Stmt
	getTicket, getToken, getAuthorizer, getProfile, listAuthorizers     *sql.Stmt
	dueAuthorizers, claimDue                                            *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it and its schema if
// needed. The directory must exist.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s := &Store{now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.open(ctx, abs); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) error {
	// The file holds refresh tokens: readable by its owner only. SQLite
	// gives its -wal and -shm files the database file's permissions.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if s.writer, err = sql.Open("sqlite", dsn(path, url.Values{"_txlock": {"immediate"}})); err != nil {
		return err
	}
	s.writer.SetMaxOpenConns(1)
	if err := migrate(ctx, s.writer); err != nil {
		return err
	}
	if s.reader, err = sql.Open("sqlite", dsn(path, url.Values{"_query_only": {"1"}})); err != nil {
		return err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.reader.SetMaxOpenConns(n)
	s.reader.SetMaxIdleConns(n)
	return s.prepare(ctx)
}

// dsn is the driver's name for the file at the absolute path, with the
// pragmas every connection needs and extra parameters.
func dsn(path string, extra url.Values) string {
	q := url.Values{
		"_busy_timeout": {strconv.FormatInt(busyTimeout.Milliseconds(), 10)},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"NORMAL"},
	}
	for k, v := range extra {
		q[k] = v
	}
	// A file: URI, so that a '?' or '%' in the path is escaped rather than
	// taken for the start of the parameters.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// authorizerColumns is the column list every authorizer query reads, in
// scanAuthorizer's order.
const authorizerColumns = `appid, component_appid, refresh_token, access_token, expires_at,
	next_refresh_at, status, func_info, customer_ref, authorized_at, updated_at, version,
	status_cause, status_code, status_at, refreshing_until`

func (s *Store) prepare(ctx context.Context) error {
	stmts := []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&s.putTicket, s.writer, `INSERT INTO tickets (component_appid, ticket, create_time, received_at)
			VALUES (?1, ?2, ?3, ?4)
			ON CONFLICT (component_appid) DO UPDATE
			SET ticket = excluded.ticket, create_time = excluded.create_time, received_at = excluded.received_at
			WHERE excluded.create_time > tickets.create_time`},
		// The version keeps counting across an expired token, so a writer
		// that read it before it expired cannot overwrite its successor.
		{&s.putToken, s.writer, `INSERT INTO component_tokens (component_appid, access_token, expires_at, version, updated_at)
			VALUES (?1, ?2, ?3, 1, ?4)
			ON CONFLICT (component_appid) DO UPDATE
			SET access_token = excluded.access_token, expires_at = excluded.expires_at,
				updated_at = excluded.updated_at, version = component_tokens.version + 1
			WHERE component_tokens.version = ?5 OR component_tokens.expires_at <= ?6
			RETURNING version`},
		{&s.insertAuthorizer, s.writer, `INSERT INTO authorizers (` + authorizerColumns + `)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12, ?13, ?14, ?15)
			ON CONFLICT (appid) DO NOTHING`},
		{&s.updateAuthorizer, s.writer, `UPDATE authorizers
			SET component_appid = ?2, refresh_token = ?3, access_token = ?4, expires_at = ?5,
				next_refresh_at = ?6, status = ?7, func_info = ?8, customer_ref = ?9,
				authorized_at = ?10, updated_at = ?11, version = version + 1,
				status_cause = ?12, status_code = ?13, status_at = ?14, refreshing_until = ?15
			WHERE appid = ?1 AND version = ?16`},
		{&s.claimDue, s.writer, `UPDATE authorizers SET refreshing_until = ?2, version = version + 1
			WHERE appid = ?1 AND status = 'active' AND next_refresh_at > 0 AND next_refresh_at <= ?3
				AND refreshing_until <= ?4
			RETURNING ` + authorizerColumns},
		{&s.putProfile, s.writer, `INSERT INTO profiles (appid, nick_name, head_img, user_name, principal_name,
				alias, qrcode_url, service_type_info, verify_type_info, mini_program, updated_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
			ON CONFLICT (appid) DO UPDATE
			SET nick_name = excluded.nick_name, head_img = excluded.head_img, user_name = excluded.user_name,
				principal_name = excluded.principal_name, alias = excluded.alias, qrcode_url = excluded.qrcode_url,
				service_type_info = excluded.service_type_info, verify_type_info = excluded.verify_type_info,
				mini_program = excluded.mini_program, updated_at = excluded.updated_at`},
		{&s.acquireLease, s.writer, `INSERT INTO leases (name, owner, until_ms) VALUES (?1, ?2, ?3)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
			WHERE leases.owner = excluded.owner OR leases.until_ms <= ?4`},
		{&s.releaseLease, s.writer, `DELETE FROM leases WHERE name = ?1 AND owner = ?2`},
		{&s.claimSeen, s.writer, `INSERT INTO seen (key, value, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
			WHERE seen.expires_at <= ?4`},
		{&s.readSeen, s.writer, `SELECT value FROM seen WHERE key = ?1`},
		{&s.putSeen, s.writer, `INSERT INTO seen (key, value, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`},

		{&s.getTicket, s.reader, `SELECT ticket, create_time, received_at FROM tickets
			WHERE component_appid = ?1 AND create_time + ?2 > ?3`},
		{&s.getToken, s.reader, `SELECT access_token, expires_at, version, updated_at FROM component_tokens
			WHERE component_appid = ?1 AND expires_at > ?2`},
		{&s.getAuthorizer, s.reader, `SELECT ` + authorizerColumns + ` FROM authorizers WHERE appid = ?1`},
		{&s.getProfile, s.reader, `SELECT nick_name, head_img, user_name, principal_name, alias, qrcode_url,
				service_type_info, verify_type_info, mini_program, updated_at
			FROM profiles WHERE appid = ?1`},
		{&s.listAuthorizers, s.reader, `SELECT ` + authorizerColumns + ` FROM authorizers
			WHERE appid > ?1 ORDER BY appid LIMIT ?2`},
		// "next_refresh_at > 0" repeats the index's condition: SQLite uses a
		// partial index only for queries that imply it.
		{&s.dueAuthorizers, s.reader, `SELECT ` + authorizerColumns + ` FROM authorizers
			WHERE next_refresh_at > 0 AND next_refresh_at <= ?1
			ORDER BY next_refresh_at, appid LIMIT ?2`},
	}
	for _, st := range stmts {
		var err error
		if *st.dst, err = st.db.PrepareContext(ctx, st.query); err != nil {
			return fmt.Errorf("prepare %q: %w", st.query, err)
		}
	}
	return nil
}

// Close closes the database. Calls made after Close fail.
func (s *Store) Close() error {
	var errs []error
	for _, db := range []*sql.DB{s.reader, s.writer} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	// Closing a DB closes its prepared statements.
	return errors.Join(errs...)
}

// How long expired items stay before PurgeExpired deletes them: the margins
// the DynamoDB layout's TTLs keep, so an expired item stays inspectable for
// a while.
const (
	tokenPurgeAfter = 24 * time.Hour
	leasePurgeAfter = time.Hour
)

// PurgeExpired deletes expired ephemeral items (tickets, component tokens,
// leases, seen messages, nonces, pending exchanges) past their purge time and returns how many it
// deleted. Nothing needs it for correctness, as expired rows read as absent;
// a long-running process calls it now and then to keep the file small.
// Authorizers and profiles never expire.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	now := s.now()
	purges := []struct {
		query  string
		cutoff int64
	}{
		{`DELETE FROM tickets WHERE create_time <= ?`, now.Add(-store.TicketLifetime).Unix()},
		{`DELETE FROM component_tokens WHERE expires_at <= ?`, now.Add(-tokenPurgeAfter).Unix()},
		{`DELETE FROM leases WHERE until_ms <= ?`, now.Add(-leasePurgeAfter).UnixMilli()},
		{`DELETE FROM seen WHERE expires_at <= ?`, now.Unix()},
		{`DELETE FROM nonces WHERE expires_at <= ?`, now.Unix()},
		{`DELETE FROM pending_exchanges WHERE expires_at <= ?`, now.Add(-store.PendingRetention).Unix()},
		{`DELETE FROM js_tickets WHERE keep_until <= ?`, now.Unix()},
	}
	var total int64
	for _, p := range purges {
		res, err := s.writer.ExecContext(ctx, p.query, p.cutoff)
		if err != nil {
			return total, fmt.Errorf("purge expired: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("purge expired: %w", err)
		}
		total += n
	}
	return total, nil
}

// unix is t in epoch seconds, 0 for the zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// fromUnix is the inverse of unix, in UTC.
func fromUnix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// changed reports whether a guarded write changed a row.
func changed(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// PutTicket implements store.Store.
func (s *Store) PutTicket(ctx context.Context, t store.Ticket) error {
	res, err := s.putTicket.ExecContext(ctx, t.ComponentAppID, t.Ticket, unix(t.CreateTime), unix(t.ReceivedAt))
	if err != nil {
		return fmt.Errorf("put ticket %s: %w", t.ComponentAppID, err)
	}
	ok, err := changed(res)
	switch {
	case err != nil:
		return fmt.Errorf("put ticket %s: %w", t.ComponentAppID, err)
	case !ok:
		return fmt.Errorf("put ticket %s: %w", t.ComponentAppID, store.ErrStale)
	}
	return nil
}

// GetTicket implements store.Store.
func (s *Store) GetTicket(ctx context.Context, componentAppID string) (store.Ticket, error) {
	t := store.Ticket{ComponentAppID: componentAppID}
	var created, received int64
	err := s.getTicket.QueryRowContext(ctx, componentAppID, int64(store.TicketLifetime/time.Second), s.now().Unix()).
		Scan(&t.Ticket, &created, &received)
	if err != nil {
		return store.Ticket{}, fmt.Errorf("get ticket %s: %w", componentAppID, notFound(err))
	}
	t.CreateTime, t.ReceivedAt = fromUnix(created), fromUnix(received)
	return t, nil
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// PutComponentToken implements store.Store. Writing over an expired token
// stores the expired token's version plus one.
func (s *Store) PutComponentToken(ctx context.Context, tok store.ComponentToken) (store.ComponentToken, error) {
	stored := tok
	stored.ExpiresAt, stored.UpdatedAt = fromUnix(unix(tok.ExpiresAt)), fromUnix(unix(tok.UpdatedAt))
	err := s.putToken.QueryRowContext(ctx, tok.ComponentAppID, tok.AccessToken, unix(tok.ExpiresAt),
		unix(tok.UpdatedAt), tok.Version, s.now().Unix()).Scan(&stored.Version)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrConflict
	}
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("put component token %s: %w", tok.ComponentAppID, err)
	}
	return stored, nil
}

// GetComponentToken implements store.Store.
func (s *Store) GetComponentToken(ctx context.Context, componentAppID string) (store.ComponentToken, error) {
	tok := store.ComponentToken{ComponentAppID: componentAppID}
	var expires, updated int64
	err := s.getToken.QueryRowContext(ctx, componentAppID, s.now().Unix()).
		Scan(&tok.AccessToken, &expires, &tok.Version, &updated)
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, notFound(err))
	}
	tok.ExpiresAt, tok.UpdatedAt = fromUnix(expires), fromUnix(updated)
	return tok, nil
}

// PutAuthorizer implements store.Store.
func (s *Store) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	if err := store.CheckRefreshToken(a.RefreshToken); err != nil {
		return store.Authorizer{}, fmt.Errorf("put authorizer %s: %w", a.AppID, err)
	}
	args := []any{a.AppID, a.ComponentAppID, a.RefreshToken, a.AccessToken, unix(a.ExpiresAt),
		unix(a.NextRefreshAt), string(a.Status), formatFuncInfo(a.FuncInfo), a.CustomerRef,
		unix(a.AuthorizedAt), unix(a.UpdatedAt), a.Reason.Cause, a.Reason.Code, unix(a.Reason.At), unix(a.RefreshingUntil)}
	stmt := s.insertAuthorizer
	if a.Version != 0 {
		stmt = s.updateAuthorizer
		args = append(args, a.Version)
	}
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("put authorizer %s: %w", a.AppID, err)
	}
	ok, err := changed(res)
	switch {
	case err != nil:
		return store.Authorizer{}, fmt.Errorf("put authorizer %s: %w", a.AppID, err)
	case !ok:
		return store.Authorizer{}, fmt.Errorf("put authorizer %s version %d: %w", a.AppID, a.Version, store.ErrConflict)
	}
	stored := a
	stored.ExpiresAt = fromUnix(unix(a.ExpiresAt))
	stored.NextRefreshAt = fromUnix(unix(a.NextRefreshAt))
	stored.AuthorizedAt = fromUnix(unix(a.AuthorizedAt))
	stored.UpdatedAt = fromUnix(unix(a.UpdatedAt))
	stored.Reason.At = fromUnix(unix(a.Reason.At))
	stored.RefreshingUntil = fromUnix(unix(a.RefreshingUntil))
	stored.FuncInfo = nil
	if len(a.FuncInfo) > 0 {
		stored.FuncInfo = slices.Clone(a.FuncInfo)
	}
	stored.Version = a.Version + 1
	return stored, nil
}

// GetAuthorizer implements store.Store.
func (s *Store) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	a, err := scanAuthorizer(s.getAuthorizer.QueryRowContext(ctx, appID))
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("get authorizer %s: %w", appID, notFound(err))
	}
	return a, nil
}

// ListAuthorizers implements store.Store.
func (s *Store) ListAuthorizers(ctx context.Context, after string, limit int) ([]store.Authorizer, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := s.queryAuthorizers(ctx, s.listAuthorizers, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list authorizers after %q: %w", after, err)
	}
	return list, nil
}

// DueAuthorizers implements store.Store. It reads the partial index
// authorizers_due, which holds only accounts with a NextRefreshAt.
func (s *Store) DueAuthorizers(ctx context.Context, before time.Time, limit int) ([]store.Authorizer, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := s.queryAuthorizers(ctx, s.dueAuthorizers, before.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("due authorizers: %w", err)
	}
	return list, nil
}

// ClaimDue implements store.Store.
func (s *Store) ClaimDue(ctx context.Context, appID string, before, until time.Time) (store.Authorizer, error) {
	a, err := scanAuthorizer(s.claimDue.QueryRowContext(ctx, appID, unix(until), before.Unix(), s.now().Unix()))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.GetAuthorizer(ctx, appID); gerr != nil {
			return store.Authorizer{}, fmt.Errorf("claim authorizer %s: %w", appID, gerr)
		}
		err = store.ErrConflict
	}
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("claim authorizer %s: %w", appID, err)
	}
	return a, nil
}

func (s *Store) queryAuthorizers(ctx context.Context, stmt *sql.Stmt, args ...any) ([]store.Authorizer, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []store.Authorizer
	for rows.Next() {
		a, err := scanAuthorizer(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	return list, rows.Err()
}

// scanAuthorizer reads a row of authorizerColumns.
func scanAuthorizer(row interface{ Scan(...any) error }) (store.Authorizer, error) {
	var (
		a                                  store.Authorizer
		expires, next, authorized, updated int64
		statusAt, claim                    int64
		status, funcInfo                   string
	)
	err := row.Scan(&a.AppID, &a.ComponentAppID, &a.RefreshToken, &a.AccessToken, &expires, &next,
		&status, &funcInfo, &a.CustomerRef, &authorized, &updated, &a.Version,
		&a.Reason.Cause, &a.Reason.Code, &statusAt, &claim)
	if err != nil {
		return store.Authorizer{}, err
	}
	a.RefreshingUntil = fromUnix(claim)
	a.ExpiresAt, a.NextRefreshAt = fromUnix(expires), fromUnix(next)
	a.AuthorizedAt, a.UpdatedAt = fromUnix(authorized), fromUnix(updated)
	a.Reason.At = fromUnix(statusAt)
	a.Status = store.Status(status)
	if a.FuncInfo, err = parseFuncInfo(funcInfo); err != nil {
		return store.Authorizer{}, fmt.Errorf("authorizer %s: %w", a.AppID, err)
	}
	return a, nil
}

// formatFuncInfo keeps the ids in order as "1,15,4".
func formatFuncInfo(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

func parseFuncInfo(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	ids := make([]int, len(parts))
	for i, p := range parts {
		id, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("func_info %q: %w", s, err)
		}
		ids[i] = id
	}
	return ids, nil
}

// PutProfile implements store.Store.
func (s *Store) PutProfile(ctx context.Context, p store.Profile) error {
	_, err := s.putProfile.ExecContext(ctx, p.AppID, p.NickName, p.HeadImg, p.UserName, p.PrincipalName,
		p.Alias, p.QRCodeURL, p.ServiceTypeInfo, p.VerifyTypeInfo, p.MiniProgram, unix(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put profile %s: %w", p.AppID, err)
	}
	return nil
}

// GetProfile implements store.Store.
func (s *Store) GetProfile(ctx context.Context, appID string) (store.Profile, error) {
	p := store.Profile{AppID: appID}
	var updated int64
	err := s.getProfile.QueryRowContext(ctx, appID).Scan(&p.NickName, &p.HeadImg, &p.UserName,
		&p.PrincipalName, &p.Alias, &p.QRCodeURL, &p.ServiceTypeInfo, &p.VerifyTypeInfo, &p.MiniProgram, &updated)
	if err != nil {
		return store.Profile{}, fmt.Errorf("get profile %s: %w", appID, notFound(err))
	}
	p.UpdatedAt = fromUnix(updated)
	return p, nil
}

// AcquireLease implements store.Store. A lease is free from its Until on,
// judged in milliseconds.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, until time.Time) error {
	res, err := s.acquireLease.ExecContext(ctx, name, owner, until.UnixMilli(), s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("acquire lease %s: %w", name, err)
	}
	ok, err := changed(res)
	switch {
	case err != nil:
		return fmt.Errorf("acquire lease %s: %w", name, err)
	case !ok:
		return fmt.Errorf("acquire lease %s: %w", name, store.ErrLeaseHeld)
	}
	return nil
}

// ReleaseLease implements store.Store.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if _, err := s.releaseLease.ExecContext(ctx, name, owner); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// PutSeenIfAbsent implements store.Store. An empty value reads back as nil.
func (s *Store) PutSeenIfAbsent(ctx context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error) {
	prior, err := s.claimSeenTx(ctx, key, value, expiresAt)
	if err != nil {
		return prior, fmt.Errorf("put seen %s: %w", key, err)
	}
	return nil, nil
}

// claimSeenTx stores the record unless a live one exists, and then reads
// that one's value in the same IMMEDIATE transaction, so that what it
// returns is the record that won.
func (s *Store) claimSeenTx(ctx context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := tx.StmtContext(ctx, s.claimSeen).ExecContext(ctx, key, value, unix(expiresAt), s.now().Unix())
	if err != nil {
		return nil, err
	}
	ok, err := changed(res)
	if err != nil {
		return nil, err
	}
	if !ok {
		var prior []byte
		if err := tx.StmtContext(ctx, s.readSeen).QueryRowContext(ctx, key).Scan(&prior); err != nil {
			return nil, err
		}
		if len(prior) == 0 {
			prior = nil
		}
		return prior, store.ErrExists
	}
	return nil, tx.Commit()
}

// PutSeen implements store.Store.
func (s *Store) PutSeen(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	if _, err := s.putSeen.ExecContext(ctx, key, value, unix(expiresAt)); err != nil {
		return fmt.Errorf("put seen %s: %w", key, err)
	}
	return nil
}
