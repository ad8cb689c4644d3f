package accounts_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// bothStores opens a fresh store of each implementation: SQLite, and
// DynamoDB on a moto_server started for t.
func bothStores(t *testing.T) []struct {
	name string
	open func(t *testing.T, now func() time.Time) store.Store
} {
	motoserver.Start(t)
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg)
	var tables atomic.Int64
	return []struct {
		name string
		open func(t *testing.T, now func() time.Time) store.Store
	}{
		{"sqlite", func(t *testing.T, now func() time.Time) store.Store { return simtest.OpenStore(t, now) }},
		{"dynamo", func(t *testing.T, now func() time.Time) store.Store {
			name := fmt.Sprint("accounts-", tables.Add(1))
			if err := dynamo.CreateTable(context.Background(), client, name); err != nil {
				t.Fatal(err)
			}
			return dynamo.New(client, name, dynamo.Options{Now: now})
		}},
	}
}

// TestBindingIsTheSameWhicheverArrivesFirst authorizes two accounts the same
// way, one with WeChat's push arriving before the browser's redirect and one
// after, and wants the same stored record: the redirect's verified customer,
// whatever came first; a push alone never changes the binding.
func TestBindingIsTheSameWhicheverArrivesFirst(t *testing.T) {
	scenarios := []struct {
		name   string
		before string // the customer the account is bound to before; "": a new account
		want   string // the customer after
		moved  bool
	}{
		{name: "first authorization", want: "cust-new"},
		{name: "re-authorization by the same customer", before: "cust-new", want: "cust-new"},
		{name: "re-authorization by another customer", before: "cust-old", want: "cust-new", moved: true},
	}
	for _, st := range bothStores(t) {
		for _, sc := range scenarios {
			t.Run(st.name+"/"+sc.name, func(t *testing.T) {
				f := newFixtureOn(t, st.open)
				ctx := context.Background()
				accts := []string{f.account.AppID, simtest.GrantAccounts(ctx, t, f.env.Sim, 1)[0].AppID}
				records := make([]store.Authorizer, len(accts))
				for i, appID := range accts {
					if sc.before != "" {
						first := f.newCode(t, appID)
						if _, err := f.service.Authorize(ctx, first, sc.before); err != nil {
							t.Fatal(err)
						}
					}
					code := f.newCode(t, appID)
					push := func() {
						if err := f.service.AuthorizePushed(ctx, accounts.Pushed{InfoType: "updateauthorized", AuthorizerAppID: appID, Code: code}); err != nil {
							t.Fatal(err)
						}
					}
					redirect := func() {
						if _, err := f.service.Authorize(ctx, code, "cust-new"); err != nil {
							t.Fatal(err)
						}
					}
					if i == 0 { // push first
						push()
						if a, _ := f.store.GetAuthorizer(ctx, appID); a.CustomerRef != sc.before {
							t.Fatalf("after the push alone: customer %q, want %q unchanged", a.CustomerRef, sc.before)
						}
						redirect()
					} else {
						redirect()
						push()
					}
					a, err := f.store.GetAuthorizer(ctx, appID)
					if err != nil {
						t.Fatal(err)
					}
					records[i] = a
				}
				norm := func(a store.Authorizer) string {
					a.AppID, a.AccessToken, a.RefreshToken, a.Version = "", "", "", 0
					return fmt.Sprintf("%+v", a)
				}
				if norm(records[0]) != norm(records[1]) {
					t.Errorf("push first stored\n%s\nredirect first stored\n%s", norm(records[0]), norm(records[1]))
				}
				for _, a := range records {
					if a.CustomerRef != sc.want || a.Status != store.StatusActive || a.RefreshToken == "" {
						t.Errorf("stored %+v, want active and bound to %s", a, sc.want)
					}
				}
				moves := strings.Count(f.metrics.String(), `"CustomerMoved":1`)
				if want := map[bool]int{true: 2}[sc.moved]; moves != want {
					t.Errorf("%d CustomerMoved metric lines, want %d:\n%s", moves, want, f.metrics.String())
				}
				if sc.moved && !strings.Contains(f.logs.String(), "from_customer_ref=cust-old") {
					t.Errorf("the move is not logged:\n%s", f.logs.String())
				}
			})
		}
	}
}

// TestNewestVerifiedCallbackWins binds one account through two
// authorizations in turn: the later one's customer stands.
func TestNewestVerifiedCallbackWins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, customer := range []string{"cust-a", "cust-b", "cust-a"} {
		if _, err := f.service.Authorize(ctx, f.newCode(t, f.account.AppID), customer); err != nil {
			t.Fatal(err)
		}
		if a, _ := f.store.GetAuthorizer(ctx, f.account.AppID); a.CustomerRef != customer {
			t.Fatalf("bound to %q, want the newest callback's %q", a.CustomerRef, customer)
		}
	}
}

// newCode is a fresh authorization code for appID, as WeChat issues on each
// confirmation.
func (f *fixture) newCode(t *testing.T, appID string) string {
	t.Helper()
	code, err := f.env.Sim.NewAuthCode(simtest.ComponentAppID, appID)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
