package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/internal/console"
	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

const component = "wxc0mp0nent0000001"

// seed stores what a running platform would have: a ticket, a component
// token and three accounts in each status.
func seed(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: component, Ticket: "ticket@@@x", CreateTime: now.Add(-3 * time.Minute), ReceivedAt: now.Add(-3 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: component, AccessToken: "cat", ExpiresAt: now.Add(90 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.Authorizer{
		{AppID: "wxaaaa", Status: store.StatusActive, RefreshToken: "r1", AccessToken: "a1", ExpiresAt: now.Add(time.Hour), NextRefreshAt: now.Add(50 * time.Minute), CustomerRef: "cust-1", FuncInfo: []int{1, 2}},
		{AppID: "wxbbbb", Status: store.StatusNeedsReauth, RefreshToken: "r2"},
		{AppID: "wxcccc", Status: store.StatusRevoked, RefreshToken: "r3"},
	} {
		a.ComponentAppID = component
		if _, err := st.PutAuthorizer(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutProfile(ctx, store.Profile{AppID: "wxaaaa", NickName: "山海书店", UserName: "gh_aaaa"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutPendingExchange(ctx, store.PendingExchange{Code: "queryauthcode@@@secret-code", AuthorizerAppID: "wxdddd",
		InfoType: "authorized", ExpiresAt: now.Add(40 * time.Minute), ReceivedAt: now.Add(-20 * time.Minute), Attempts: 3,
		LastError: "errcode 61004: access clientip is not registered"}); err != nil {
		t.Fatal(err)
	}
}

// seeded returns the path of a seeded embedded store.
func seeded(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "wxcomponent.db")
	lite, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, lite)
	lite.Close()
	return path
}

// storeFlags returns wxctl's flags for a seeded store of each kind.
func storeFlags(t *testing.T) map[string][]string {
	ctx := context.Background()
	path := seeded(t)
	motoserver.Start(t)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(awsCfg)
	if err := dynamo.CreateTable(ctx, client, "wxctl-test"); err != nil {
		t.Fatal(err)
	}
	seed(t, dynamo.New(client, "wxctl-test", dynamo.Options{}))

	return map[string][]string{
		"sqlite":   {"-db", path},
		"dynamodb": {"-table", "wxctl-test"},
	}
}

func wxctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	noEnv := func(string) string { return "" }
	err := run(context.Background(), args, noEnv, &stdout, &stderr)
	return stdout.String(), err
}

func TestStatusAndAccountsOnBothStores(t *testing.T) {
	for name, flags := range storeFlags(t) {
		t.Run(name, func(t *testing.T) {
			out, err := wxctl(t, append(flags, "-component", component, "status")...)
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			for _, want := range []string{`ticket\s+received 3m`, `component token\s+expires in 1h`, `accounts\s+1 active, 1 needs_reauth, 1 revoked`, `next refresh\s+wxaaaa in (4\dm(\d\ds)?|50m)\n`,
				`pending exchanges\s+1 pushed authorizations`, `wxdddd\s+authorized, 3 attempts, code expires in (3\dm(\d\ds)?|40m); last error: errcode 61004`} {
				if !regexp.MustCompile(want).MatchString(out) {
					t.Errorf("status output does not match %q:\n%s", want, out)
				}
			}

			if strings.Contains(out, "secret-code") {
				t.Errorf("status shows a pending authorization code:\n%s", out)
			}

			out, err = wxctl(t, append(flags, "accounts", "--json")...)
			if err != nil {
				t.Fatalf("accounts --json: %v", err)
			}
			var rows []accountRow
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("accounts --json is not JSON: %v\n%s", err, out)
			}
			if len(rows) != 3 {
				t.Fatalf("accounts = %d rows, want 3:\n%s", len(rows), out)
			}
			got := rows[0]
			if got.AppID != "wxaaaa" || got.Name != "山海书店" || got.Status != "active" || got.CustomerRef != "cust-1" || got.ExpiresAt == nil {
				t.Errorf("first account = %+v, want wxaaaa 山海书店 active cust-1 with expiry", got)
			}
			if rows[1].Status != "needs_reauth" || rows[2].Status != "revoked" {
				t.Errorf("statuses = %s, %s; want needs_reauth, revoked", rows[1].Status, rows[2].Status)
			}
		})
	}
}

func TestUnreachableStoresGiveClearErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no embedded store", []string{"-db", filepath.Join(t.TempDir(), "none.db"), "status"}, "no embedded store"},
		{"both stores", []string{"-db", "x.db", "-table", "t", "status"}, "choose one store"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"revoke without appid", []string{"revoke"}, "usage: wxctl revoke <appid>"},
		{"revoke of an unknown account", []string{"-db", seeded(t), "revoke", "wxnotstored"}, "no account wxnotstored"},
		{"--json where it means nothing", []string{"revoke", "wxaaaa", "--json"}, "revoke has no --json output"},
		{"a flag after the command that does not exist", []string{"status", "-frobnicate"}, "flag provided but not defined: -frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wxctl(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("missing DynamoDB table", func(t *testing.T) {
		motoserver.Start(t)
		_, err := wxctl(t, "-table", "no-such-table", "-component", component, "status")
		if err == nil || !strings.Contains(err.Error(), `DynamoDB table "no-such-table" is not reachable`) {
			t.Fatalf("err = %v, want a not-reachable error naming the table", err)
		}
		if errors.Is(err, errUsage) {
			t.Errorf("an unreachable table is not a usage error")
		}
	})
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"status", "-h"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
		if err != nil || !strings.Contains(stdout.String(), "usage: wxctl") || !strings.Contains(stdout.String(), "-ssm-prefix") {
			t.Errorf("wxctl %v: err %v, stdout:\n%s", args, err, stdout.String())
		}
	}
}

func TestFlagsAfterTheCommand(t *testing.T) {
	path := seeded(t)
	before, err := wxctl(t, "-db", path, "-component", component, "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	after, err := wxctl(t, "status", "-db", path, "--json", "-component", component)
	if err != nil {
		t.Fatal(err)
	}
	var a, b statusReport
	if err := json.Unmarshal([]byte(before), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(after), &b); err != nil {
		t.Fatalf("flags after the command: %v\n%s", err, after)
	}
	if a.Component != b.Component || a.Accounts["active"] != b.Accounts["active"] {
		t.Fatalf("flags before: %+v; after: %+v", a, b)
	}
}

func TestRevokeIsTheOperators(t *testing.T) {
	path := seeded(t)
	if _, err := wxctl(t, "revoke", "wxaaaa", "-db", path); err != nil {
		t.Fatal(err)
	}
	out, err := wxctl(t, "accounts", "-db", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []accountRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if r := rows[0]; r.AppID != "wxaaaa" || r.Status != "revoked" || r.Cause != "operator" || r.StatusAt == nil || r.ExpiresAt != nil {
		t.Fatalf("after revoke: %+v, want revoked by the operator, with the time and no token", r)
	}
}

func TestTableAlignsByDisplayWidth(t *testing.T) {
	tab := &table{}
	tab.row("APPID", "NAME", "STATUS")
	tab.row("wxaaaa", "山海书店", "active")
	tab.row("wxbbbb", "Café ＡＢ", "revoked")
	tab.row("wxcccc", "e\u0301👍", "needs_reauth")
	var b bytes.Buffer
	if err := tab.write(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := displayWidth("wxbbbb  Café ＡＢ  ") // the widest name
	for _, l := range lines {
		col := strings.Index(l, strings.Fields(l)[len(strings.Fields(l))-1])
		if w := displayWidth(l[:col]); w != want {
			t.Errorf("status column starts at display column %d, want %d:\n%s", w, want, b.String())
		}
	}
}

func TestDisplayWidth(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"abc", 3}, {"山海书店", 8}, {"ＡＢ", 4}, {"e\u0301", 1}, {"👍", 2}, {"한국", 4}, {"カタカナ", 8}, {"«»", 2},
	}
	for _, tt := range tests {
		if got := displayWidth(tt.s); got != tt.want {
			t.Errorf("displayWidth(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestDurationsReadAsDurations(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		got, want string
	}{
		{console.Span(42 * time.Second), "42s"},
		{console.Span(3*time.Minute + 12*time.Second), "3m12s"},
		{console.Span(3 * time.Minute), "3m"},
		{console.Span(time.Hour + 59*time.Minute + 20*time.Second), "1h59m"},
		{console.Span(2 * time.Hour), "2h"},
		{console.Span(75 * time.Hour), "3d3h"},
		{expiry(now.Add(119*time.Minute), now), "expires in 1h59m"},
		{expiry(now.Add(-3*time.Minute), now), "expired 3m ago"},
		{ago(now.Add(-90*time.Second), now), "1m30s ago"},
		{ago(now.Add(50*time.Minute), now), "in 50m"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		done, total int
		want        string
	}{
		{0, 10, "recover [..........]   0%  0/10"},
		{5, 10, "recover [#####.....]  50%  5/10  2 restored"},
		{10, 10, "recover [##########] 100%  10/10  2 restored"},
	}
	for _, tt := range tests {
		note := ""
		if tt.done > 0 {
			note = "2 restored"
		}
		if got := bar("recover", tt.done, tt.total, 10, note); got != tt.want {
			t.Errorf("bar(%d/%d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
	var quiet bytes.Buffer
	c := &command{stderr: &quiet}
	p := c.newProgress("recover", 10)
	p.set(5, "")
	p.finish()
	if quiet.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", quiet.String())
	}
}
