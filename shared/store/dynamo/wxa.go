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

// A mini program's release pipeline is an item of its own partition,
// WXA#<appid>, not of the authorizer's: the internet-facing message
// function, which moves the pipeline on WeChat's audit pushes, may then
// write it without being able to write any authorizer's refresh token (an
// IAM condition sees partition keys only). Its document is
// store.EncodeMiniProgram's JSON in the "state" attribute, readable by a
// Lambda in any language.
//
// A pipeline whose audit the refresh job is to poll carries due = auditDue
// and next_refresh_at = PollAt, a partition of the due index of its own.
const (
	wxaPrefix = "WXA#"
	skWXA     = "WXA"
	auditDue  = "wxaudit"
)

// PutMiniProgram implements store.Store.
func (s *Store) PutMiniProgram(ctx context.Context, m store.MiniProgram) (store.MiniProgram, error) {
	data, err := store.EncodeMiniProgram(m)
	if err != nil {
		return store.MiniProgram{}, err
	}
	b := builder(key(wxaPrefix+m.AppID, skWXA))
	b.s("appid", m.AppID)
	b.s("state", string(data))
	b.time("updated_at", m.UpdatedAt)
	b.n("version", m.Version+1)
	if !m.PollAt.IsZero() {
		b.s("due", auditDue)
		b.n("next_refresh_at", unix(m.PollAt))
	}
	in := &dynamodb.PutItemInput{TableName: s.table, Item: b}
	if m.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = item{":v": num(m.Version)}
	}
	_, err = s.put(ctx, in)
	if errors.Is(err, errRefused) {
		return store.MiniProgram{}, fmt.Errorf("put mini program %s version %d: %w", m.AppID, m.Version, store.ErrConflict)
	}
	if err != nil {
		return store.MiniProgram{}, fmt.Errorf("put mini program %s: %w", m.AppID, err)
	}
	return store.DecodeMiniProgram(data, m.Version+1)
}

// GetMiniProgram implements store.Store.
func (s *Store) GetMiniProgram(ctx context.Context, appID string) (store.MiniProgram, error) {
	it, err := s.get(ctx, wxaPrefix+appID, skWXA)
	if err == nil {
		var m store.MiniProgram
		if m, err = decodeMiniProgram(it); err == nil {
			return m, nil
		}
	}
	return store.MiniProgram{}, fmt.Errorf("get mini program %s: %w", appID, err)
}

// DueAudits implements store.Store from the due index's audit partition.
func (s *Store) DueAudits(ctx context.Context, before time.Time, limit int) ([]store.MiniProgram, error) {
	list, err := queryDue(ctx, s, auditDue, before, limit, decodeMiniProgram)
	if err != nil {
		return nil, fmt.Errorf("due audits: %w", err)
	}
	return list, nil
}

func decodeMiniProgram(it item) (store.MiniProgram, error) {
	d := decoder{item: it}
	data, version := d.s("state"), d.n("version")
	if d.err != nil {
		return store.MiniProgram{}, d.err
	}
	return store.DecodeMiniProgram([]byte(data), version)
}
