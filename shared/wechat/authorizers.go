package wechat

import (
	"context"
	"errors"
	"io"
)

// TokenSource hands out authorizer access tokens and takes back the ones
// WeChat rejected. *tokens.Source satisfies it.
type TokenSource interface {
	AccessToken(ctx context.Context, authorizerAppID string) (string, error)
	Invalidate(ctx context.Context, authorizerAppID, token string)
}

// Authorizers calls the business APIs on behalf of authorized accounts,
// named by appid: it gets each account's token from a TokenSource and, when
// WeChat rejects the token (40001, 40014, 42001), invalidates it and retries
// once with a fresh one.
type Authorizers struct {
	client *Client
	tokens TokenSource
}

// NewAuthorizers returns business APIs that take an authorizer appid.
func NewAuthorizers(c *Client, tokens TokenSource) *Authorizers {
	return &Authorizers{client: c, tokens: tokens}
}

// SendCustomMessage sends msg as the account authorizerAppID
// (message/custom/send).
func (a *Authorizers) SendCustomMessage(ctx context.Context, authorizerAppID string, msg CustomMessage) error {
	_, err := withToken(ctx, a, authorizerAppID, func(token string) (struct{}, error) {
		return struct{}{}, a.client.SendCustomMessage(ctx, token, msg)
	})
	return err
}

// Media is a downloaded media file; the caller closes Body.
type Media struct {
	Body        io.ReadCloser
	ContentType string
}

// GetMedia streams a media file of the account authorizerAppID (media/get).
func (a *Authorizers) GetMedia(ctx context.Context, authorizerAppID, mediaID string) (Media, error) {
	return withToken(ctx, a, authorizerAppID, func(token string) (Media, error) {
		body, contentType, err := a.client.GetMedia(ctx, token, mediaID)
		return Media{Body: body, ContentType: contentType}, err
	})
}

// UserInfo returns a follower of the account authorizerAppID (user/info).
func (a *Authorizers) UserInfo(ctx context.Context, authorizerAppID, openID, lang string) (UserInfo, error) {
	return withToken(ctx, a, authorizerAppID, func(token string) (UserInfo, error) {
		return a.client.UserInfo(ctx, token, openID, lang)
	})
}

// BatchGetUserInfo returns up to MaxBatchGetUsers followers of the account
// authorizerAppID (user/info/batchget).
func (a *Authorizers) BatchGetUserInfo(ctx context.Context, authorizerAppID string, users []UserListItem) ([]UserInfo, error) {
	return withToken(ctx, a, authorizerAppID, func(token string) ([]UserInfo, error) {
		return a.client.BatchGetUserInfo(ctx, token, users)
	})
}

// errNoAuthorizer is returned for an empty authorizer appid, before any
// token is looked up.
var errNoAuthorizer = errors.New("wechat: empty authorizer appid")

// withToken runs call with the account's token, and once more with a new
// token if WeChat rejects the first.
func withToken[T any](ctx context.Context, a *Authorizers, appID string, call func(token string) (T, error)) (T, error) {
	var zero T
	if appID == "" {
		return zero, errNoAuthorizer
	}
	token, err := a.tokens.AccessToken(ctx, appID)
	if err != nil {
		return zero, err
	}
	v, err := call(token)
	if !IsInvalidToken(err) {
		return v, err
	}
	a.tokens.Invalidate(ctx, appID, token)
	fresh, terr := a.tokens.AccessToken(ctx, appID)
	if terr != nil {
		return v, terr
	}
	return call(fresh)
}
