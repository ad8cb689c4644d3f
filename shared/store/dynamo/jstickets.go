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

// JS-SDK tickets live next to their authorizer, one item per type:
//
//	item             pk                   sk                 ttl
//	JS-SDK ticket    AUTHORIZER#<appid>   JSTICKET#<type>    KeepUntil
//
// A ticket the refresh job renews ahead carries due = jsTicketDue and
// next_refresh_at, so the due index serves both kinds of item from separate
// partitions.

var _ store.JSTickets = (*Store)(nil)

const (
	skJSTicketPrefix = "JSTICKET#"
	jsTicketDue      = "jsticket"
)

// PutJSTicket implements store.JSTickets. The version keeps counting across
// an item past its KeepUntil, so a writer that read it before cannot
// overwrite its successor.
func (s *Store) PutJSTicket(ctx context.Context, t store.JSTicket) (store.JSTicket, error) {
	if t.Ticket == "" {
		return store.JSTicket{}, fmt.Errorf("put JS-SDK ticket %s/%s: %w", t.AppID, t.Type, store.ErrEmptyJSTicket)
	}
	names := map[string]string{
		"#app": "appid", "#type": "type", "#t": "ticket", "#exp": "expires_at", "#used": "used_at",
		"#up": "updated_at", "#ttl": "ttl", "#v": "version", "#due": "due", "#next": "next_refresh_at",
	}
	values := item{
		":app": str(t.AppID), ":type": str(t.Type), ":t": str(t.Ticket), ":exp": num(unix(t.ExpiresAt)),
		":used": num(unix(t.UsedAt)), ":up": num(unix(t.UpdatedAt)), ":ttl": num(t.KeepUntil().Unix()),
		":zero": num(0), ":one": num(1), ":v": num(t.Version), ":now": num(s.nowSec()),
	}
	update := "SET #app = :app, #type = :type, #t = :t, #exp = :exp, #used = :used, #up = :up, #ttl = :ttl, " +
		"#v = if_not_exists(#v, :zero) + :one"
	if t.NextRefreshAt.IsZero() {
		update += " REMOVE #due, #next"
	} else {
		update += ", #due = :due, #next = :next"
		values[":due"], values[":next"] = str(jsTicketDue), num(unix(t.NextRefreshAt))
	}
	updated, err := s.update(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(authorizerPrefix+t.AppID, skJSTicketPrefix+t.Type),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #v = :v OR #ttl <= :now"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if errors.Is(err, errRefused) {
		err = store.ErrConflict
	}
	if err != nil {
		return store.JSTicket{}, fmt.Errorf("put JS-SDK ticket %s/%s: %w", t.AppID, t.Type, err)
	}
	stored, err := decodeJSTicket(updated)
	if err != nil {
		return store.JSTicket{}, fmt.Errorf("put JS-SDK ticket %s/%s: %w", t.AppID, t.Type, err)
	}
	return stored, nil
}

// GetJSTicket implements store.JSTickets.
func (s *Store) GetJSTicket(ctx context.Context, appID, typ string) (store.JSTicket, error) {
	it, err := s.get(ctx, authorizerPrefix+appID, skJSTicketPrefix+typ)
	var t store.JSTicket
	if err == nil {
		t, err = decodeJSTicket(it)
	}
	if err == nil && t.KeepUntil().Unix() <= s.nowSec() {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.JSTicket{}, fmt.Errorf("get JS-SDK ticket %s/%s: %w", appID, typ, err)
	}
	return t, nil
}

// DueJSTickets implements store.JSTickets from the due index's ticket
// partition.
func (s *Store) DueJSTickets(ctx context.Context, before time.Time, limit int) ([]store.JSTicket, error) {
	list, err := queryDue(ctx, s, jsTicketDue, before, limit, decodeJSTicket)
	if err != nil {
		return nil, fmt.Errorf("due JS-SDK tickets: %w", err)
	}
	return list, nil
}

func decodeJSTicket(it item) (store.JSTicket, error) {
	d := decoder{item: it}
	t := store.JSTicket{
		AppID:         d.s("appid"),
		Type:          d.s("type"),
		Ticket:        d.s("ticket"),
		ExpiresAt:     d.time("expires_at"),
		NextRefreshAt: d.time("next_refresh_at"),
		UsedAt:        d.time("used_at"),
		UpdatedAt:     d.time("updated_at"),
		Version:       d.n("version"),
	}
	return t, d.err
}
