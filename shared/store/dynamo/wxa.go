package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// skWXA is the sort key of a mini program's release pipeline, stored under
// its authorizer's partition key. Its document is store.EncodeMiniProgram's
// JSON in the "state" attribute, readable by a Lambda in any language.
const skWXA = "WXA"

// PutMiniProgram implements store.Store.
func (s *Store) PutMiniProgram(ctx context.Context, m store.MiniProgram) (store.MiniProgram, error) {
	data, err := store.EncodeMiniProgram(m)
	if err != nil {
		return store.MiniProgram{}, err
	}
	b := builder(key(authorizerPrefix+m.AppID, skWXA))
	b.s("appid", m.AppID)
	b.s("state", string(data))
	b.time("updated_at", m.UpdatedAt)
	b.n("version", m.Version+1)
	in := &dynamodb.PutItemInput{TableName: s.table, Item: b}
	if m.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = item{":v": num(m.Version)}
	}
	_, err = s.db.PutItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		return store.MiniProgram{}, fmt.Errorf("put mini program %s version %d: %w", m.AppID, m.Version, store.ErrConflict)
	}
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("put mini program %s: %w", m.AppID, err)
	}
	return store.DecodeMiniProgram(data, m.Version+1)
}

// GetMiniProgram implements store.Store.
func (s *Store) GetMiniProgram(ctx context.Context, appID string) (store.MiniProgram, error) {
	it, err := s.get(ctx, authorizerPrefix+appID, skWXA)
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("get mini program %s: %w", appID, err)
	}
	d := decoder{item: it}
	data, version := d.s("state"), d.n("version")
	if d.err != nil {
		return store.MiniProgram{}, fmt.Errorf("get mini program %s: %w", appID, d.err)
	}
	m, err := store.DecodeMiniProgram([]byte(data), version)
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("get mini program %s: %w", appID, err)
	}
	return m, nil
}
