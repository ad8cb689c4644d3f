package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// TokenAttributes are the only attributes TokenItems reads: the stack's
// reader policy (TokenReaderPolicy in template.yaml) allows GetItem on
// these alone, so a reader never sees a refresh token or a ticket.
var TokenAttributes = []string{"access_token", "expires_at", "status"}

// TokenItems reads access tokens from the table with the reader policy's
// rights: GetItem of the token attributes only. It satisfies
// tokens.TokenItems. It is safe for concurrent use.
type TokenItems struct {
	db    *dynamodb.Client
	table *string
	now   func() time.Time
}

// NewTokenItems returns a TokenItems on the named table; opts.Now is the
// clock expiry is judged by.
func NewTokenItems(client *dynamodb.Client, table string, opts Options) *TokenItems {
	t := &TokenItems{db: client, table: aws.String(table), now: opts.Now}
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

func (t *TokenItems) get(ctx context.Context, pk, sk string) (item, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: t.table,
		Key:       key(pk, sk),
		// status is a reserved word.
		ProjectionExpression:     aws.String("access_token, expires_at, #s"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, store.ErrNotFound
	}
	return out.Item, nil
}

// GetComponentToken returns the unexpired component token, with only
// AccessToken and ExpiresAt set, or store.ErrNotFound.
func (t *TokenItems) GetComponentToken(ctx context.Context, componentAppID string) (store.ComponentToken, error) {
	it, err := t.get(ctx, componentPrefix+componentAppID, skToken)
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, err)
	}
	d := decoder{item: it}
	tok := store.ComponentToken{ComponentAppID: componentAppID, AccessToken: d.s("access_token"), ExpiresAt: d.time("expires_at")}
	if d.err != nil {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, d.err)
	}
	if unix(tok.ExpiresAt) <= t.now().Unix() {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, store.ErrNotFound)
	}
	return tok, nil
}

// GetAuthorizer returns the authorizer's access token, expiry and status
// (its other fields are zero), or store.ErrNotFound.
func (t *TokenItems) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	it, err := t.get(ctx, authorizerPrefix+appID, skAuth)
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("get authorizer token %s: %w", appID, err)
	}
	d := decoder{item: it}
	a := store.Authorizer{
		AppID:       appID,
		AccessToken: d.s("access_token"),
		ExpiresAt:   d.time("expires_at"),
		Status:      store.Status(d.s("status")),
	}
	if d.err != nil {
		return store.Authorizer{}, fmt.Errorf("get authorizer token %s: %w", appID, d.err)
	}
	return a, nil
}
