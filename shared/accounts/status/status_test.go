package status_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts/status"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

var (
	authorizedAt = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	later        = authorizedAt.Add(time.Hour)
)

// stored puts an authorizer with the given status and refresh token.
func stored(t *testing.T, st store.Store, s store.Status, cause string) store.Authorizer {
	t.Helper()
	a := store.Authorizer{AppID: "wxacct", ComponentAppID: "wxcomp", RefreshToken: "refresh@@@1",
		AccessToken: "access-1", ExpiresAt: authorizedAt.Add(2 * time.Hour), NextRefreshAt: authorizedAt.Add(time.Hour),
		Status: s, Reason: store.StatusReason{Cause: cause, At: authorizedAt}, AuthorizedAt: authorizedAt, UpdatedAt: authorizedAt}
	if s != store.StatusActive {
		a.AccessToken, a.ExpiresAt, a.NextRefreshAt = "", time.Time{}, time.Time{}
	}
	a, err := st.PutAuthorizer(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestChanges(t *testing.T) {
	operator := status.Reason{Cause: status.CauseOperator, At: later}
	tests := []struct {
		name   string
		status store.Status // of the stored account; "" for none
		cause  string
		change func(context.Context, store.Store) (store.Authorizer, error)
		err    error        // nil: the change is made
		want   store.Status // status afterwards
	}{
		{"operator revokes an active account", store.StatusActive, status.CauseAuthorized,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Revoke(ctx, st, "wxacct", operator)
			}, nil, store.StatusRevoked},
		{"revoking an unknown account", "", "",
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Revoke(ctx, st, "wxacct", operator)
			}, store.ErrNotFound, ""},
		{"a revocation older than the authorization", store.StatusActive, status.CauseAuthorized,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Revoke(ctx, st, "wxacct", status.Reason{Cause: status.CauseUnauthorizedPush, At: authorizedAt.Add(-time.Second)})
			}, status.ErrStale, store.StatusActive},
		{"61023 on the stored token", store.StatusActive, status.CauseAuthorized,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Rejected(ctx, st, "wxacct", "refresh@@@1", store.StatusNeedsReauth,
					status.Reason{Cause: status.CauseRefresh, Code: 61023, At: later})
			}, nil, store.StatusNeedsReauth},
		{"61023 on a token replaced meanwhile", store.StatusActive, status.CauseAuthorized,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Rejected(ctx, st, "wxacct", "refresh@@@0", store.StatusNeedsReauth,
					status.Reason{Cause: status.CauseRefresh, Code: 61023, At: later})
			}, status.ErrSuperseded, store.StatusActive},
		{"61003 on an account revoked meanwhile", store.StatusRevoked, status.CauseUnauthorizedPush,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Rejected(ctx, st, "wxacct", "refresh@@@1", store.StatusRevoked,
					status.Reason{Cause: status.CauseRefresh, Code: 61003, At: later})
			}, status.ErrSuperseded, store.StatusRevoked},
		{"rejected is not a way to activate", store.StatusNeedsReauth, status.CauseRefresh,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Rejected(ctx, st, "wxacct", "refresh@@@1", store.StatusActive, operator)
			}, errors.New("any"), store.StatusNeedsReauth},
		{"restore a needs_reauth account", store.StatusNeedsReauth, status.CauseRefresh,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Restore(ctx, st, "wxacct", "refresh@@@1", "refresh@@@2", status.Reason{Cause: status.CauseAuthorizerList, At: later})
			}, nil, store.StatusActive},
		{"restore an account the push revoked", store.StatusRevoked, status.CauseUnauthorizedPush,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Restore(ctx, st, "wxacct", "refresh@@@1", "refresh@@@2", status.Reason{Cause: status.CauseAuthorizerList, At: later})
			}, nil, store.StatusActive},
		{"never restore an account an operator revoked", store.StatusRevoked, status.CauseOperator,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Restore(ctx, st, "wxacct", "refresh@@@1", "refresh@@@2", status.Reason{Cause: status.CauseAuthorizerList, At: later})
			}, status.ErrOperatorRevoked, store.StatusRevoked},
		{"never restore an empty refresh token", store.StatusNeedsReauth, status.CauseRefresh,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Restore(ctx, st, "wxacct", "refresh@@@1", "", status.Reason{Cause: status.CauseAuthorizerList, At: later})
			}, store.ErrEmptyRefreshToken, store.StatusNeedsReauth},
		{"restore over a re-authorization", store.StatusActive, status.CauseAuthorized,
			func(ctx context.Context, st store.Store) (store.Authorizer, error) {
				return status.Restore(ctx, st, "wxacct", "refresh@@@0", "refresh@@@2", status.Reason{Cause: status.CauseAuthorizerList, At: later})
			}, status.ErrSuperseded, store.StatusActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var before store.Authorizer
			if tt.status != "" {
				before = stored(t, st, tt.status, tt.cause)
			}
			got, err := tt.change(ctx, st)
			after, rerr := st.GetAuthorizer(ctx, "wxacct")
			if tt.status == "" {
				if !errors.Is(err, tt.err) || !errors.Is(rerr, store.ErrNotFound) {
					t.Fatalf("change: %v, then read: %+v, %v; want %v and nothing stored", err, after, rerr, tt.err)
				}
				return
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			if after.RefreshToken == "" {
				t.Fatal("refresh token emptied")
			}
			if tt.err != nil {
				if err == nil || (tt.err.Error() != "any" && !errors.Is(err, tt.err)) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if after.Version != before.Version || after.Status != tt.want {
					t.Fatalf("a refused change wrote: %+v", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if after.Status != tt.want || got.Version != after.Version || after.Reason.At != later {
				t.Fatalf("after: %+v (returned version %d); want status %s with a reason at %v", after, got.Version, tt.want, later)
			}
			if tt.want != store.StatusActive && (after.AccessToken != "" || !after.NextRefreshAt.IsZero()) {
				t.Fatalf("%s account keeps an access token or a refresh time: %+v", tt.want, after)
			}
			if tt.want == store.StatusActive && after.NextRefreshAt.IsZero() {
				t.Fatalf("restored account is not due: %+v", after)
			}
		})
	}
}
