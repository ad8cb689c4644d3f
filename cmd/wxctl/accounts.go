package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts/status"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

func accountCommands() []spec {
	return []spec{
		{name: "accounts", summary: "every authorized account: name, status and why, token expiry, customer",
			json: true, run: (*command).accounts},
		{name: "revoke", usage: "<appid>", minArgs: 1, maxArgs: 1,
			summary: "mark an account revoked by the operator and drop its tokens (recover keeps it revoked)",
			run:     (*command).revoke},
		{name: "recover", summary: "restore refresh tokens from WeChat's api_get_authorizer_list",
			json: true, run: (*command).recover},
	}
}

// accountRow is one line of `accounts`.
type accountRow struct {
	AppID       string     `json:"authorizer_appid"`
	Name        string     `json:"nick_name"`
	UserName    string     `json:"user_name,omitempty"`
	Status      string     `json:"status"`
	Cause       string     `json:"status_cause,omitempty"`
	Code        int        `json:"status_errcode,omitempty"`
	StatusAt    *time.Time `json:"status_at,omitempty"`
	ExpiresAt   *time.Time `json:"token_expires_at,omitempty"`
	NextRefresh *time.Time `json:"next_refresh_at,omitempty"`
	CustomerRef string     `json:"customer_ref,omitempty"`
	FuncInfo    []int      `json:"func_info"`
}

// reason says why the account has its status: "61023 refresh rejected 2h ago".
func (r accountRow) reason(now time.Time) string {
	s := r.Cause
	if r.Code != 0 {
		s = fmt.Sprintf("%d %s", r.Code, s)
	}
	if r.StatusAt != nil {
		s += " " + ago(*r.StatusAt, now)
	}
	return s
}

func (c *command) accounts(ctx context.Context) error {
	return c.withStore(ctx, func(st store.Store) error {
		rows := []accountRow{}
		err := store.EachAuthorizer(ctx, st, func(a store.Authorizer) error {
			row := accountRow{AppID: a.AppID, Status: string(a.Status), Cause: a.Reason.Cause, Code: a.Reason.Code,
				StatusAt: orNil(a.Reason.At), ExpiresAt: orNil(a.ExpiresAt), NextRefresh: orNil(a.NextRefreshAt),
				CustomerRef: a.CustomerRef, FuncInfo: a.FuncInfo}
			switch p, err := st.GetProfile(ctx, a.AppID); {
			case err == nil:
				row.Name, row.UserName = p.NickName, p.UserName
			case !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("read profile of %s: %w", a.AppID, err)
			}
			rows = append(rows, row)
			return nil
		})
		if err != nil {
			return err
		}
		if c.opts.json {
			return writeJSON(c.stdout, rows)
		}
		now := time.Now()
		t := &table{}
		t.row("APPID", "NAME", "STATUS", "WHY", "TOKEN", "CUSTOMER")
		for _, r := range rows {
			token := "-" // an account that is not active has no token to use
			if r.ExpiresAt != nil && r.Status == string(store.StatusActive) {
				token = expiry(*r.ExpiresAt, now)
			}
			t.row(r.AppID, r.Name, r.Status, r.reason(now), token, r.CustomerRef)
		}
		return t.write(c.stdout)
	})
}

// orNil is &t, or nil for the zero time, which JSON then leaves out.
func orNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (c *command) revoke(ctx context.Context) error {
	appID := c.args[0]
	return c.withStore(ctx, func(st store.Store) error {
		_, err := status.Revoke(ctx, st, appID, status.Reason{Cause: status.CauseOperator, At: time.Now()})
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no account %s in the store: nothing revoked (wxctl accounts lists them)", appID)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s revoked; only a new authorization by its admin makes it active again\n", appID)
		return nil
	})
}

// recovery is what `recover` did.
type recovery struct {
	Listed      int      `json:"listed"`
	Restored    []string `json:"restored"`
	NeedsReauth []string `json:"needs_reauth"` // listed without a refresh token, none of our own to keep
	KeptRevoked []string `json:"kept_revoked_by_operator"`
	Failed      []string `json:"failed"`
}

// recover compares every account WeChat lists with the store and restores
// the refresh tokens that differ or are missing, except for accounts an
// operator revoked.
func (c *command) recover(ctx context.Context) error {
	return c.withPlatform(ctx, func(p *platform.Platform) error {
		total, err := listedCount(ctx, p)
		if err != nil {
			return err
		}
		bar := c.newProgress("recover", total)
		r := recovery{Restored: []string{}, NeedsReauth: []string{}, KeptRevoked: []string{}, Failed: []string{}}
		var errs error
		err = p.Tokens.EachListed(ctx, func(item wechat.AuthorizerListItem) bool {
			r.Listed++
			defer func() { bar.set(r.Listed, fmt.Sprintf("%d restored", len(r.Restored))) }()
			cur, err := p.Store.GetAuthorizer(ctx, item.AuthorizerAppID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				r.Failed = append(r.Failed, item.AuthorizerAppID)
				errs = errors.Join(errs, err)
				return true
			}
			// WeChat lists a refresh token only for accounts exchanged here
			// with api_query_auth at least once. Without one, an active
			// account's stored token stands until WeChat rejects it; any
			// other account can only be authorized again by its admin.
			if item.RefreshToken == "" {
				if cur.RefreshToken == "" || cur.Status != store.StatusActive {
					r.NeedsReauth = append(r.NeedsReauth, item.AuthorizerAppID)
				}
				return true
			}
			if cur.RefreshToken == item.RefreshToken && cur.Status == store.StatusActive {
				return true
			}
			_, err = status.Restore(ctx, p.Store, item.AuthorizerAppID, cur.RefreshToken, item.RefreshToken,
				status.Reason{Cause: status.CauseAuthorizerList, At: time.Now()})
			switch {
			case errors.Is(err, status.ErrOperatorRevoked):
				r.KeptRevoked = append(r.KeptRevoked, item.AuthorizerAppID)
			case errors.Is(err, status.ErrSuperseded):
				// Re-authorized or revoked while we looked: the newer record stands.
			case err != nil:
				r.Failed = append(r.Failed, item.AuthorizerAppID)
				errs = errors.Join(errs, fmt.Errorf("restore %s: %w", item.AuthorizerAppID, err))
			default:
				r.Restored = append(r.Restored, item.AuthorizerAppID)
			}
			return true
		})
		bar.finish()
		if c.opts.json {
			if werr := writeJSON(c.stdout, r); werr != nil {
				return werr
			}
		} else {
			for _, id := range r.Restored {
				fmt.Fprintf(c.stdout, "%s restored\n", id)
			}
			for _, id := range r.NeedsReauth {
				fmt.Fprintf(c.stdout, "%s needs re-authorization: WeChat lists no refresh token for it\n", id)
			}
			for _, id := range r.KeptRevoked {
				fmt.Fprintf(c.stdout, "%s kept revoked: an operator revoked it\n", id)
			}
			fmt.Fprintf(c.stdout, "checked %d accounts listed by WeChat: %d restored, %d need re-authorization, %d kept revoked, %d failed\n",
				r.Listed, len(r.Restored), len(r.NeedsReauth), len(r.KeptRevoked), len(r.Failed))
		}
		return errors.Join(err, errs)
	})
}

// listedCount is how many accounts api_get_authorizer_list holds, for the
// progress bar: one call for a page of one.
func listedCount(ctx context.Context, p *platform.Platform) (int, error) {
	var page wechat.AuthorizerList
	err := p.Tokens.WithComponentToken(ctx, func(cat string) error {
		var err error
		page, err = p.WeChat.GetAuthorizerList(ctx, cat, 0, 1)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("list authorizers: %w", err)
	}
	return page.TotalCount, nil
}
