package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Items of the authorization flow:
//
//	item              pk              sk                  ttl
//	start page nonce  NONCE#<nonce>   NONCE               expires_at
//	pending exchange  PENDING         EXCHANGE#<code>     expires_at + store.PendingRetention
//
// Pending exchanges share one partition so that the refresh job reads them
// with one Query; there are only ever a few (pushes whose exchange failed).
const (
	noncePrefix   = "NONCE#"
	skNonce       = "NONCE"
	pendingPK     = "PENDING"
	pendingPrefix = "EXCHANGE#"
)

// ClaimNonce implements store.Store.
func (s *Store) ClaimNonce(ctx context.Context, nonce string, expiresAt time.Time) error {
	b := builder(key(noncePrefix+nonce, skNonce))
	b.time("expires_at", expiresAt)
	b.time("ttl", expiresAt)
	_, err := s.put(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      b,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#exp": "expires_at"},
		ExpressionAttributeValues: item{":now": num(s.nowSec())},
	})
	if errors.Is(err, errRefused) {
		err = store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("claim nonce: %w", err)
	}
	return nil
}

// PutPendingExchange implements store.Store.
func (s *Store) PutPendingExchange(ctx context.Context, p store.PendingExchange) error {
	b := builder(key(pendingPK, pendingPrefix+p.Code))
	b.s("code", p.Code)
	b.s("authorizer_appid", p.AuthorizerAppID)
	b.s("info_type", p.InfoType)
	b.time("expires_at", p.ExpiresAt)
	b.time("received_at", p.ReceivedAt)
	b.n("attempts", int64(p.Attempts))
	b.s("last_error", p.LastError)
	b.n("ttl", p.ExpiresAt.Add(store.PendingRetention).Unix())
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: b}); err != nil {
		return fmt.Errorf("put pending exchange of %s: %w", p.AuthorizerAppID, err)
	}
	return nil
}

// PendingExchanges implements store.Store.
func (s *Store) PendingExchanges(ctx context.Context, after string, limit int) ([]store.PendingExchange, error) {
	if limit <= 0 {
		return nil, nil
	}
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND sk > :after"),
		ExpressionAttributeValues: item{":pk": str(pendingPK), ":after": str(pendingPrefix + after)},
		ConsistentRead:            aws.Bool(true),
	})
	cutoff := s.now().Add(-store.PendingRetention).Unix()
	var list []store.PendingExchange
	for pages.HasMorePages() && len(list) < limit {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list pending exchanges: %w", err)
		}
		for _, it := range page.Items {
			d := decoder{item: it}
			p := store.PendingExchange{
				Code:            d.s("code"),
				AuthorizerAppID: d.s("authorizer_appid"),
				InfoType:        d.s("info_type"),
				ExpiresAt:       d.time("expires_at"),
				ReceivedAt:      d.time("received_at"),
				Attempts:        int(d.n("attempts")),
				LastError:       d.s("last_error"),
			}
			if d.err != nil {
				return nil, fmt.Errorf("list pending exchanges: %w", d.err)
			}
			if p.ExpiresAt.Unix() <= cutoff {
				continue
			}
			if list = append(list, p); len(list) == limit {
				break
			}
		}
	}
	return list, nil
}

// DeletePendingExchange implements store.Store.
func (s *Store) DeletePendingExchange(ctx context.Context, code string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(pendingPK, pendingPrefix+code)})
	if err != nil {
		return fmt.Errorf("delete pending exchange: %w", err)
	}
	return nil
}
