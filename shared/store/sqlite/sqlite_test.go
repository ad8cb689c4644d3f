package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/storetest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

// inspected is a store with a second, independent handle on its file, to
// see the rows beneath the Store interface.
type inspected struct {
	*sqlite.Store
	raw *sql.DB
}

// rawQueries give, per kind, whether a row is held and when PurgeExpired
// deletes it (epoch milliseconds; 0: never).
var rawQueries = map[storetest.Kind]string{
	storetest.KindTicket:     `SELECT (create_time + 43200) * 1000 FROM tickets WHERE component_appid = ?`,
	storetest.KindToken:      `SELECT (expires_at + 86400) * 1000 FROM component_tokens WHERE component_appid = ?`,
	storetest.KindAuthorizer: `SELECT 0 FROM authorizers WHERE appid = ?`,
	storetest.KindProfile:    `SELECT 0 FROM profiles WHERE appid = ?`,
	storetest.KindLease:      `SELECT until_ms + 3600000 FROM leases WHERE name = ?`,
	storetest.KindSeen:       `SELECT expires_at * 1000 FROM seen WHERE key = ?`,
}

func (s inspected) Raw(ctx context.Context, kind storetest.Kind, key string) (bool, time.Time, error) {
	var ms int64
	err := s.raw.QueryRowContext(ctx, rawQueries[kind], key).Scan(&ms)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, time.Time{}, nil
	case err != nil:
		return false, time.Time{}, err
	case ms == 0:
		return true, time.Time{}, nil
	}
	return true, time.UnixMilli(ms), nil
}

func open(t testing.TB, path string, now func() time.Time) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		path := filepath.Join(t.TempDir(), "store.db")
		s := open(t, path, now)
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return inspected{Store: s, raw: raw}
	})
}

func TestJSTicketConformance(t *testing.T) {
	storetest.RunJSTickets(t, func(t *testing.T, now func() time.Time) storetest.JSTicketStore {
		return open(t, filepath.Join(t.TempDir(), "store.db"), now)
	})
}

// childDBVar names the database a child test process counts in.
const childDBVar = "WXCOMPONENT_SQLITE_CHILD_DB"

// increments is how many times each process adds one to the counter.
const increments = 200

// TestTwoProcesses counts to 2×increments from two processes at once, each
// adding one to a counter with read, then versioned write. A lost update
// would leave the count short.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	ctx := t.Context()
	s := open(t, path, nil)
	if _, err := s.PutAuthorizer(ctx, store.Authorizer{AppID: "wxcounter", RefreshToken: "r", CustomerRef: "0"}); err != nil {
		t.Fatal(err)
	}
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildProcess$")
	child.Env = append(os.Environ(), childDBVar+"="+path)
	var stderr strings.Builder
	child.Stderr = &stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Start counting when the child does, so that the two overlap.
	ready, err := bufio.NewReader(stdout).ReadString('\n')
	if ready != "ready\n" {
		child.Wait()
		t.Fatalf("child process: %q, %v\n%s", ready, err, stderr.String())
	}
	lost, ours := count(ctx, s)
	if err := child.Wait(); err != nil {
		t.Fatalf("child process: %v\n%s", err, stderr.String())
	}
	if ours != nil {
		t.Fatal(ours)
	}
	t.Logf("this process lost %d races", lost)
	a, err := s.GetAuthorizer(ctx, "wxcounter")
	if err != nil {
		t.Fatal(err)
	}
	if a.CustomerRef != strconv.Itoa(2*increments) || a.Version != 2*increments+1 {
		t.Fatalf("counter %s at version %d, want %d at %d", a.CustomerRef, a.Version, 2*increments, 2*increments+1)
	}
}

// TestChildProcess is TestTwoProcesses's other process.
func TestChildProcess(t *testing.T) {
	path := os.Getenv(childDBVar)
	if path == "" {
		t.Skip("runs only as TestTwoProcesses's child")
	}
	s := open(t, path, nil)
	fmt.Println("ready")
	if _, err := count(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// count adds one to the counter increments times, retrying lost races,
// and returns how many it lost.
func count(ctx context.Context, s *sqlite.Store) (lost int, err error) {
	for range increments {
		for {
			a, err := s.GetAuthorizer(ctx, "wxcounter")
			if err != nil {
				return lost, err
			}
			n, err := strconv.Atoi(a.CustomerRef)
			if err != nil {
				return lost, err
			}
			a.CustomerRef = strconv.Itoa(n + 1)
			_, err = s.PutAuthorizer(ctx, a)
			if errors.Is(err, store.ErrConflict) {
				lost++
				continue
			}
			if err != nil {
				return lost, err
			}
			break
		}
	}
	return lost, nil
}

// TestConcurrentOpen opens one new file from several handles at once: the
// schema is created once and every handle works.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	stores := make([]*sqlite.Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path, sqlite.Options{}) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer s.Close()
		if err := s.AcquireLease(t.Context(), fmt.Sprint("lease-", i), "me", time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
}

// TestDueUsesIndex: the due queries search their partial index in order,
// without sorting.
func TestDueUsesIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	open(t, path, nil)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tests := []struct{ query, want string }{
		{`SELECT * FROM authorizers WHERE next_refresh_at > 0 AND next_refresh_at <= ?1
			ORDER BY next_refresh_at, appid LIMIT ?2`, "SEARCH authorizers USING INDEX authorizers_due"},
		{`SELECT state, version FROM mini_programs WHERE poll_at > 0 AND poll_at <= ?1
			ORDER BY poll_at LIMIT ?2`, "SEARCH mini_programs USING INDEX mini_programs_poll"},
	}
	for _, tt := range tests {
		got := queryPlan(t, raw, "EXPLAIN QUERY PLAN "+tt.query, 100, 10)
		if !strings.Contains(got, tt.want) || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("query plan %q, want %q without a sort", got, tt.want)
		}
	}
}

func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// TestUpgradeKeepsPipelines: a version 5 file, whose mini_programs table
// was created without poll_at, keeps its pipelines and gains audit polls.
func TestUpgradeKeepsPipelines(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutMiniProgram(ctx, store.MiniProgram{AppID: "wxold", UserVersion: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"DROP INDEX mini_programs_poll", "ALTER TABLE mini_programs DROP COLUMN poll_at", "PRAGMA user_version = 5"} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()

	s = open(t, path, nil)
	m, err := s.GetMiniProgram(ctx, "wxold")
	if err != nil || m.UserVersion != "1.0.0" {
		t.Fatalf("pipeline after the upgrade: %+v, %v", m, err)
	}
	m.PollAt = time.Unix(1767225600, 0)
	if _, err := s.PutMiniProgram(ctx, m); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueAudits(ctx, m.PollAt, 10)
	if err != nil || len(due) != 1 || due[0].AppID != "wxold" {
		t.Fatalf("due audits after the upgrade: %+v, %v", due, err)
	}
}

// TestReopen checks that opening an existing file keeps its data, that a
// file from a newer program is refused, and that odd characters in the path
// name the file they say.
func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev data?100%")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "store.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAuthorizer(ctx, store.Authorizer{AppID: "wxacct", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names, err := filepath.Glob(filepath.Join(dir, "*")); err != nil || len(names) != 1 {
		t.Fatalf("files in %s: %q, %v; want store.db only", dir, names, err)
	}
	s = open(t, path, nil)
	if _, err := s.GetAuthorizer(ctx, "wxacct"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}

	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(ctx, path, sqlite.Options{}); err == nil {
		s.Close()
		t.Fatal("opened a file of schema version 99")
	}
}

func TestPurgeExpired(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := open(t, filepath.Join(t.TempDir(), "store.db"), clock)
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutTicket(ctx, store.Ticket{ComponentAppID: "c", Ticket: "t", CreateTime: now}))
	_, err := s.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: "c", AccessToken: "t", ExpiresAt: now.Add(2 * time.Hour)})
	must(err)
	must(s.AcquireLease(ctx, "l", "o", now.Add(time.Minute)))
	must(s.PutSeen(ctx, "k", []byte("v"), now.Add(time.Minute)))
	_, err = s.PutAuthorizer(ctx, store.Authorizer{AppID: "a", RefreshToken: "r"})
	must(err)

	for _, step := range []struct {
		at   time.Duration
		want int64
	}{
		{0, 0},
		{time.Minute, 1},               // seen
		{time.Hour + time.Minute, 1},   // lease
		{12 * time.Hour, 1},            // ticket
		{26 * time.Hour, 1},            // token
		{10 * 365 * 24 * time.Hour, 0}, // never the authorizer
	} {
		now = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC).Add(step.at)
		n, err := s.PurgeExpired(ctx)
		must(err)
		if n != step.want {
			t.Fatalf("purge at +%v deleted %d rows, want %d", step.at, n, step.want)
		}
	}
}

// BenchmarkPutAuthorizer updates 100 accounts per goroutine in turn, each
// write conditional on the version the goroutine last stored.
func BenchmarkPutAuthorizer(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "store.db"), nil)
	ctx := context.Background()
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		prefix := fmt.Sprintf("%p-", pb)
		versions := make([]int64, 100)
		for i := 0; pb.Next(); i++ {
			k := i % len(versions)
			a := store.Authorizer{AppID: prefix + strconv.Itoa(k), RefreshToken: "r", AccessToken: "a",
				ExpiresAt: now.Add(2 * time.Hour), NextRefreshAt: now.Add(100 * time.Minute),
				Status: store.StatusActive, FuncInfo: []int{1, 15}, Version: versions[k]}
			stored, err := s.PutAuthorizer(ctx, a)
			if err != nil {
				b.Fatal(err)
			}
			versions[k] = stored.Version
		}
	})
}

func BenchmarkDueAuthorizers(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "store.db"), nil)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	// 10,000 accounts, due spread over two hours; a tenth have none.
	for i := range 10_000 {
		a := store.Authorizer{AppID: fmt.Sprintf("wx%05d", i), RefreshToken: "r", Status: store.StatusActive,
			NextRefreshAt: now.Add(time.Duration(i) * 720 * time.Millisecond)}
		if i%10 == 0 {
			a.NextRefreshAt = time.Time{}
		}
		if _, err := s.PutAuthorizer(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	// One refresh run's page: what came due in the last 5 minutes.
	before := now.Add(5 * time.Minute)
	b.ResetTimer()
	for b.Loop() {
		list, err := s.DueAuthorizers(ctx, before, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(list) == 0 {
			b.Fatal("none due")
		}
	}
}

// BenchmarkRefreshCycle is the store traffic of the refresh job, per
// account: take the lease, read the account, write the new token, release
// the lease, from 16 goroutines.
func BenchmarkRefreshCycle(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "store.db"), nil)
	ctx := context.Background()
	const accounts = 10_000
	now := time.Now()
	for i := range accounts {
		if _, err := s.PutAuthorizer(ctx, store.Authorizer{AppID: fmt.Sprintf("wx%05d", i), RefreshToken: "r",
			NextRefreshAt: now, Status: store.StatusActive}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(16 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		owner := fmt.Sprintf("%p", pb)
		for pb.Next() {
			id := fmt.Sprintf("wx%05d", next.Add(1)%accounts)
			if err := s.AcquireLease(ctx, "authorizer#"+id, owner, now.Add(30*time.Second)); err != nil {
				b.Fatal(err)
			}
			a, err := s.GetAuthorizer(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			a.AccessToken, a.ExpiresAt, a.NextRefreshAt = "token", now.Add(2*time.Hour), now.Add(105*time.Minute)
			if _, err := s.PutAuthorizer(ctx, a); err != nil {
				b.Fatal(err)
			}
			if err := s.ReleaseLease(ctx, "authorizer#"+id, owner); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestUpgradeFromVersion1 opens a file written by schema version 1: its
// authorizers keep every field and read with no status reason.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "store.db")
	ddl, err := os.ReadFile(filepath.Join("testdata", "schema-v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, string(ddl)); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	s := open(t, path, nil)
	got, err := s.GetAuthorizer(ctx, "wxold")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Authorizer{AppID: "wxold", ComponentAppID: "wxcomp", RefreshToken: "refresh@@@old",
		AccessToken: "access", ExpiresAt: time.Unix(1767225600, 0).UTC(), NextRefreshAt: time.Unix(1767231000, 0).UTC(),
		Status: store.StatusActive, FuncInfo: []int{1, 15}, CustomerRef: "merchant-1",
		AuthorizedAt: time.Unix(1767218400, 0).UTC(), UpdatedAt: time.Unix(1767218400, 0).UTC(), Version: 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("upgraded authorizer\n got %+v\nwant %+v", got, want)
	}
	got.Reason = store.StatusReason{Cause: "operator", At: time.Unix(1767220000, 0).UTC()}
	stored, err := s.PutAuthorizer(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if reread, err := s.GetAuthorizer(ctx, "wxold"); err != nil || reread.Reason != stored.Reason {
		t.Fatalf("reason after upgrade: %+v, %v; want %+v", reread.Reason, err, stored.Reason)
	}
}

// TestFilesOwnerOnly: the store holds refresh tokens, so its files are
// created readable by their owner only, whatever the umask allows.
func TestFilesOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "store.db"), nil)
	if _, err := s.PutAuthorizer(t.Context(), store.Authorizer{AppID: "wxacct", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "store.db*"))
	if err != nil || len(names) < 2 {
		t.Fatalf("store files: %q, %v; want the database and its WAL", names, err)
	}
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", filepath.Base(name), perm)
		}
	}
}
