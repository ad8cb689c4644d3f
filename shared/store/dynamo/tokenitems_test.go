package dynamo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// TestTokenItems reads what the store wrote through TokenItems, which
// projects the token attributes only: the tokens, expiries and statuses
// come back, the refresh token and the customer never do.
func TestTokenItems(t *testing.T) {
	motoserver.Start(t)
	ctx := t.Context()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg)
	if err := dynamo.CreateTable(ctx, client, "tokens"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := dynamo.New(client, "tokens", dynamo.Options{Now: clock})
	items := dynamo.NewTokenItems(client, "tokens", dynamo.Options{Now: clock})
	exp := now.Add(2 * time.Hour)

	if _, err := st.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: "wxcomp", AccessToken: "cat", ExpiresAt: exp, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.Authorizer{
		{AppID: "wxactive", RefreshToken: "refresh-secret", AccessToken: "tok", ExpiresAt: exp, Status: store.StatusActive, CustomerRef: "cust", FuncInfo: []int{1}},
		{AppID: "wxrevoked", RefreshToken: "refresh-secret", Status: store.StatusRevoked, CustomerRef: "cust"},
	} {
		if _, err := st.PutAuthorizer(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	cat, err := items.GetComponentToken(ctx, "wxcomp")
	if err != nil || cat.AccessToken != "cat" || !cat.ExpiresAt.Equal(exp) {
		t.Errorf("component token %+v, %v", cat, err)
	}
	if _, err := items.GetComponentToken(ctx, "wxother"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing component token: %v, want ErrNotFound", err)
	}
	late := dynamo.NewTokenItems(client, "tokens", dynamo.Options{Now: func() time.Time { return exp }})
	if _, err := late.GetComponentToken(ctx, "wxcomp"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired component token: %v, want ErrNotFound", err)
	}

	tests := []struct {
		appID string
		want  store.Authorizer
	}{
		{"wxactive", store.Authorizer{AppID: "wxactive", AccessToken: "tok", ExpiresAt: exp, Status: store.StatusActive}},
		{"wxrevoked", store.Authorizer{AppID: "wxrevoked", Status: store.StatusRevoked}},
	}
	for _, tt := range tests {
		a, err := items.GetAuthorizer(ctx, tt.appID)
		if err != nil {
			t.Fatal(err)
		}
		if a.AppID != tt.want.AppID || a.AccessToken != tt.want.AccessToken || !a.ExpiresAt.Equal(tt.want.ExpiresAt) || a.Status != tt.want.Status {
			t.Errorf("%s: %+v, want %+v", tt.appID, a, tt.want)
		}
		if a.RefreshToken != "" || a.CustomerRef != "" || a.FuncInfo != nil || a.Version != 0 {
			t.Errorf("%s: read more than the token attributes: %+v", tt.appID, a)
		}
	}
	if _, err := items.GetAuthorizer(ctx, "wxnobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown authorizer: %v, want ErrNotFound", err)
	}
}
