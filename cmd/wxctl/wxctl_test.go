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

// storeFlags returns wxctl's flags for a seeded store of each kind.
func storeFlags(t *testing.T) map[string][]string {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wxcomponent.db")
	lite, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, lite)
	lite.Close()

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
			for _, want := range []string{`ticket\s+received 3m`, `component token\s+expires in 1h`, `accounts\s+1 active, 1 needs_reauth, 1 revoked`, `next refresh\s+wxaaaa in (49m5\ds|50m0s)`,
				`pending exchanges\s+1 pushed authorizations`, `wxdddd\s+authorized, 3 attempts, code expires in (39m5\ds|40m0s); last error: errcode 61004`} {
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
		{"revoke without appid", []string{"revoke"}, "revoke takes 1 to 1 arguments"},
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
