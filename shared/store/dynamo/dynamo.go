// Package dynamo implements store.Store on one DynamoDB table, the
// platform's production store.
//
// # Table
//
// The table has a string partition key pk and a string sort key sk, on-demand
// billing, TTL on the attribute ttl, and one global secondary index, due,
// with partition key due (string) and sort key next_refresh_at (number),
// projecting all attributes. [CreateTable] creates exactly that; the SAM
// template declares the same.
//
//	item             pk                   sk        ttl
//	ticket           COMPONENT#<appid>    TICKET    create_time + 12 h
//	component token  COMPONENT#<appid>    TOKEN     expires_at + 24 h
//	authorizer       AUTHORIZER#<appid>   AUTH      never
//	profile          AUTHORIZER#<appid>   PROFILE   never
//	lease            LEASE#<name>         LEASE     until + 1 h
//	seen message     DEDUP#<key>          DEDUP     expires_at
//	start page nonce NONCE#<nonce hash>   NONCE     expires_at
//	pending exchange PENDING              EXCHANGE#<code>  expires_at + 24 h
//
// Other attributes are snake_case; times are epoch seconds, lease ends epoch
// milliseconds (until_ms). An authorizer carries due only while its
// NextRefreshAt is set, so the due index holds just the accounts the refresh
// job must visit. Authorizers and profiles never carry ttl.
//
// # Due buckets
//
// A global secondary index partition takes about 1,000 writes a second, and
// every refresh of an account writes its index entry twice (the claim and
// the new token). So that a burst of refreshes spreads over many partitions
// rather than one, due is one of [Options.DueBuckets] bucket names, "1" to
// "N", chosen by a hash of the appid; [Store.DueAuthorizers] queries the
// buckets in parallel and merges them. N may grow at any time (an account
// moves to its new bucket at its next write, and the old buckets are still
// read); it must not shrink below a bucket that still holds accounts.
//
// # Semantics
//
// DynamoDB deletes expired items up to days late, so every read judges
// expiry by the store's clock, and every write that could race is
// conditional. Reads of single items are strongly consistent; the due index,
// like every global secondary index, is eventually consistent, so
// DueAuthorizers may lag a write by a moment (the refresh job re-reads each
// account before it acts).
package dynamo

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Options configure a Store.
type Options struct {
	// Now is the clock expiry is judged by; nil means time.Now.
	Now func() time.Time
	// DueBuckets is how many partitions of the due index the accounts are
	// spread over (see the package documentation); 0 means 1.
	DueBuckets int
}

// Store is a store.Store in a DynamoDB table. It is safe for concurrent use.
type Store struct {
	db      *dynamodb.Client
	table   *string
	now     func() time.Time
	buckets int
}

var _ store.Store = (*Store)(nil)

// New returns a Store on the named table, which must have the layout of the
// package documentation.
func New(client *dynamodb.Client, table string, opts Options) *Store {
	s := &Store{db: client, table: aws.String(table), now: opts.Now, buckets: max(opts.DueBuckets, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// dueBucket is the due index partition of appID.
func (s *Store) dueBucket(appID string) string { return DueBucket(appID, s.buckets) }

// DueBucket is the due index partition of appID among buckets (at least
// 1): "1" to "N", by an FNV-1a hash. Bucket "1" is also where every account
// was before the index was sharded. Models of the table's load use it.
func DueBucket(appID string, buckets int) string {
	h := fnv.New32a()
	h.Write([]byte(appID))
	return strconv.Itoa(int(h.Sum32()%uint32(max(buckets, 1))) + 1)
}

// nowSec is the clock in epoch seconds, truncated: an expiry stored in whole
// seconds has passed exactly when it is at most nowSec.
func (s *Store) nowSec() int64 { return s.now().Unix() }

// conditionFailed returns the item a failed condition check reported (nil
// when none was asked for) and whether err is such a failure.
func conditionFailed(err error) (item, bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, true
	}
	return nil, false
}

// Conditional writes carry an attempt id of their own. The SDK repeats a
// request whose answer it could not read (a connection reset, a body that
// failed its checksum); when the first attempt was applied, the repeat
// fails its own condition, and only the id tells that case from a write
// that lost a race, whatever the values written.
const attemptAttr = "attempt"

// errRefused is a conditional write that its condition refused.
var errRefused = errors.New("refused by its condition")

// put writes in.Item under in's condition. When the condition refuses it,
// the error is errRefused and holder the stored item, if any.
func (s *Store) put(ctx context.Context, in *dynamodb.PutItemInput) (holder item, err error) {
	id := str(rand.Text())
	in.Item[attemptAttr] = id
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err = s.db.PutItem(ctx, in)
	old, refused := refusal(err, id)
	switch {
	case refused:
		return old, errRefused
	case old != nil:
		return nil, nil // this write's own, applied by an earlier try
	}
	return nil, err
}

// update applies in under its condition, whose UpdateExpression starts with
// SET, and returns the item as updated. When the condition refuses it, the
// error is errRefused and the item the stored one, if any.
func (s *Store) update(ctx context.Context, in *dynamodb.UpdateItemInput) (item, error) {
	id := str(rand.Text())
	in.UpdateExpression = aws.String(strings.Replace(aws.ToString(in.UpdateExpression), "SET ", "SET #attempt = :attempt, ", 1))
	in.ExpressionAttributeNames["#attempt"] = attemptAttr
	in.ExpressionAttributeValues[":attempt"] = id
	in.ReturnValues = types.ReturnValueAllNew
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	out, err := s.db.UpdateItem(ctx, in)
	old, refused := refusal(err, id)
	switch {
	case refused:
		return old, errRefused
	case old != nil:
		return old, nil // this write's own, applied by an earlier try
	case err != nil:
		return nil, err
	}
	return out.Attributes, nil
}

// refusal sorts a conditional write's error: refused when its condition
// refused the write with attempt id, old being the stored item; not
// refused, with old, when that item is this write's own, applied by an
// earlier try of the same request.
func refusal(err error, id types.AttributeValue) (old item, refused bool) {
	old, ok := conditionFailed(err)
	if !ok {
		return nil, false
	}
	return old, old == nil || !reflect.DeepEqual(old[attemptAttr], id)
}

// get reads one item strongly consistently; a missing one is store.ErrNotFound.
func (s *Store) get(ctx context.Context, pk, sk string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, store.ErrNotFound
	}
	return out.Item, nil
}

// PutTicket implements store.Store. The newer CreateTime wins, even over an
// expired ticket: one older than an expired ticket has expired too.
func (s *Store) PutTicket(ctx context.Context, t store.Ticket) error {
	b := builder(key(componentPrefix+t.ComponentAppID, skTicket))
	b.s("component_appid", t.ComponentAppID)
	b.s("ticket", t.Ticket)
	b.time("create_time", t.CreateTime)
	b.time("received_at", t.ReceivedAt)
	b.n("ttl", unix(t.CreateTime)+int64(store.TicketLifetime/time.Second))
	_, err := s.put(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      b,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #ct < :ct"),
		ExpressionAttributeNames:  map[string]string{"#ct": "create_time"},
		ExpressionAttributeValues: item{":ct": num(unix(t.CreateTime))},
	})
	if errors.Is(err, errRefused) {
		err = store.ErrStale
	}
	if err != nil {
		return fmt.Errorf("put ticket %s: %w", t.ComponentAppID, err)
	}
	return nil
}

// GetTicket implements store.Store.
func (s *Store) GetTicket(ctx context.Context, componentAppID string) (store.Ticket, error) {
	it, err := s.get(ctx, componentPrefix+componentAppID, skTicket)
	if err != nil {
		return store.Ticket{}, fmt.Errorf("get ticket %s: %w", componentAppID, err)
	}
	d := decoder{item: it}
	t := store.Ticket{
		ComponentAppID: d.s("component_appid"),
		Ticket:         d.s("ticket"),
		CreateTime:     d.time("create_time"),
		ReceivedAt:     d.time("received_at"),
	}
	if d.err != nil {
		return store.Ticket{}, fmt.Errorf("get ticket %s: %w", componentAppID, d.err)
	}
	if unix(t.ExpiresAt()) <= s.nowSec() {
		return store.Ticket{}, fmt.Errorf("get ticket %s: %w", componentAppID, store.ErrNotFound)
	}
	return t, nil
}

// PutComponentToken implements store.Store. Writing over an expired token
// stores the expired token's version plus one, so that a writer that read
// it before it expired cannot overwrite the new one.
func (s *Store) PutComponentToken(ctx context.Context, tok store.ComponentToken) (store.ComponentToken, error) {
	expires := unix(tok.ExpiresAt)
	updated, err := s.update(ctx, &dynamodb.UpdateItemInput{
		TableName:           s.table,
		Key:                 key(componentPrefix+tok.ComponentAppID, skToken),
		UpdateExpression:    aws.String("SET #app = :app, #at = :at, #exp = :exp, #up = :up, #ttl = :ttl, #v = if_not_exists(#v, :zero) + :one"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR #v = :v OR #exp <= :now"),
		ExpressionAttributeNames: map[string]string{
			"#app": "component_appid", "#at": "access_token", "#exp": "expires_at",
			"#up": "updated_at", "#ttl": "ttl", "#v": "version",
		},
		ExpressionAttributeValues: item{
			":app": str(tok.ComponentAppID), ":at": str(tok.AccessToken), ":exp": num(expires),
			":up": num(unix(tok.UpdatedAt)), ":ttl": num(expires + int64(tokenTTLAfter/time.Second)),
			":zero": num(0), ":one": num(1), ":v": num(tok.Version), ":now": num(s.nowSec()),
		},
	})
	if errors.Is(err, errRefused) {
		err = store.ErrConflict
	}
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("put component token %s: %w", tok.ComponentAppID, err)
	}
	stored, err := decodeToken(updated)
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("put component token %s: %w", tok.ComponentAppID, err)
	}
	return stored, nil
}

// GetComponentToken implements store.Store.
func (s *Store) GetComponentToken(ctx context.Context, componentAppID string) (store.ComponentToken, error) {
	it, err := s.get(ctx, componentPrefix+componentAppID, skToken)
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, err)
	}
	tok, err := decodeToken(it)
	if err != nil {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, err)
	}
	if unix(tok.ExpiresAt) <= s.nowSec() {
		return store.ComponentToken{}, fmt.Errorf("get component token %s: %w", componentAppID, store.ErrNotFound)
	}
	return tok, nil
}

func decodeToken(it item) (store.ComponentToken, error) {
	d := decoder{item: it}
	tok := store.ComponentToken{
		ComponentAppID: d.s("component_appid"),
		AccessToken:    d.s("access_token"),
		ExpiresAt:      d.time("expires_at"),
		Version:        d.n("version"),
		UpdatedAt:      d.time("updated_at"),
	}
	return tok, d.err
}

// PutAuthorizer implements store.Store. It replaces the whole item, so the
// due marker goes with a NextRefreshAt set to zero.
//
// The refresh token is validated before the request is sent, not by a
// condition: DynamoDB evaluates a PutItem condition against the item being
// replaced, never the new one, so no condition can refuse an empty value.
// The version condition keeps an older record from replacing a newer one.
func (s *Store) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	if err := store.CheckRefreshToken(a.RefreshToken); err != nil {
		return store.Authorizer{}, fmt.Errorf("put authorizer %s: %w", a.AppID, err)
	}
	b := builder(key(authorizerPrefix+a.AppID, skAuth))
	b.s("appid", a.AppID)
	b.s("component_appid", a.ComponentAppID)
	b.s("refresh_token", a.RefreshToken)
	b.s("access_token", a.AccessToken)
	b.time("expires_at", a.ExpiresAt)
	b.time("next_refresh_at", a.NextRefreshAt)
	if !a.NextRefreshAt.IsZero() {
		b.s("due", s.dueBucket(a.AppID))
	}
	if !a.RefreshingUntil.IsZero() {
		b.time("refreshing_until", a.RefreshingUntil)
	}
	b.s("status", string(a.Status))
	b.s("status_cause", a.Reason.Cause)
	if a.Reason.Code != 0 {
		b.n("status_code", int64(a.Reason.Code))
	}
	if !a.Reason.At.IsZero() {
		b.time("status_at", a.Reason.At)
	}
	b.ints("func_info", a.FuncInfo)
	b.s("customer_ref", a.CustomerRef)
	b.time("authorized_at", a.AuthorizedAt)
	b.time("updated_at", a.UpdatedAt)
	b.n("version", a.Version+1)

	in := &dynamodb.PutItemInput{TableName: s.table, Item: b}
	if a.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = item{":v": num(a.Version)}
	}
	_, err := s.put(ctx, in)
	if errors.Is(err, errRefused) {
		return store.Authorizer{}, fmt.Errorf("put authorizer %s version %d: %w", a.AppID, a.Version, store.ErrConflict)
	}
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("put authorizer %s: %w", a.AppID, err)
	}
	return decodeAuthorizer(b)
}

// GetAuthorizer implements store.Store.
func (s *Store) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	it, err := s.get(ctx, authorizerPrefix+appID, skAuth)
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("get authorizer %s: %w", appID, err)
	}
	a, err := decodeAuthorizer(it)
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("get authorizer %s: %w", appID, err)
	}
	return a, nil
}

func decodeAuthorizer(it item) (store.Authorizer, error) {
	d := decoder{item: it}
	a := store.Authorizer{
		AppID:          d.s("appid"),
		ComponentAppID: d.s("component_appid"),
		RefreshToken:   d.s("refresh_token"),
		AccessToken:    d.s("access_token"),
		ExpiresAt:      d.time("expires_at"),
		NextRefreshAt:  d.time("next_refresh_at"),
		Status:         store.Status(d.s("status")),
		Reason: store.StatusReason{
			Cause: d.s("status_cause"),
			Code:  int(d.n("status_code")),
			At:    d.time("status_at"),
		},
		FuncInfo:     d.ints("func_info"),
		CustomerRef:  d.s("customer_ref"),
		AuthorizedAt: d.time("authorized_at"),
		UpdatedAt:    d.time("updated_at"),
		Version:      d.n("version"),
	}
	a.RefreshingUntil = d.time("refreshing_until")
	if d.err != nil {
		return store.Authorizer{}, fmt.Errorf("authorizer %s: %w", a.AppID, d.err)
	}
	return a, nil
}

// ListAuthorizers implements store.Store. The table has no index by appid,
// so it scans the whole table, keeping the first limit authorizers after
// after: an operator's tool, not for request paths.
func (s *Store) ListAuthorizers(ctx context.Context, after string, limit int) ([]store.Authorizer, error) {
	if limit <= 0 {
		return nil, nil
	}
	pages := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                 s.table,
		FilterExpression:          aws.String("sk = :auth AND pk > :after"),
		ExpressionAttributeValues: item{":auth": str(skAuth), ":after": str(authorizerPrefix + after)},
	})
	byAppID := func(a, b store.Authorizer) int { return cmp.Compare(a.AppID, b.AppID) }
	var list []store.Authorizer
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list authorizers after %q: %w", after, err)
		}
		for _, it := range page.Items {
			a, err := decodeAuthorizer(it)
			if err != nil {
				return nil, fmt.Errorf("list authorizers: %w", err)
			}
			list = append(list, a)
		}
		// Keep memory bounded by limit, not by the table.
		if len(list) > 2*limit {
			slices.SortFunc(list, byAppID)
			list = list[:limit]
		}
	}
	slices.SortFunc(list, byAppID)
	return list[:min(limit, len(list))], nil
}

// DueAuthorizers implements store.Store. It queries every bucket of the
// sparse due index at once, each for up to limit accounts, and keeps the
// limit earliest of them.
func (s *Store) DueAuthorizers(ctx context.Context, before time.Time, limit int) ([]store.Authorizer, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		list    []store.Authorizer
		errOnce error
	)
	for b := 1; b <= s.buckets; b++ {
		wg.Go(func() {
			page, err := queryDue(ctx, s, strconv.Itoa(b), before, limit, decodeAuthorizer)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if errOnce == nil {
					errOnce = err
					cancel()
				}
				return
			}
			list = append(list, page...)
		})
	}
	wg.Wait()
	if errOnce != nil {
		return nil, fmt.Errorf("due authorizers: %w", errOnce)
	}
	slices.SortFunc(list, func(a, b store.Authorizer) int {
		return cmp.Or(a.NextRefreshAt.Compare(b.NextRefreshAt), cmp.Compare(a.AppID, b.AppID))
	})
	return list[:min(limit, len(list))], nil
}

// queryDue reads up to limit items of one partition of the due index (an
// authorizers' bucket, or the JS-SDK tickets' marker) whose next_refresh_at
// is not after before, earliest first.
func queryDue[T any](ctx context.Context, s *Store, marker string, before time.Time, limit int, decode func(item) (T, error)) ([]T, error) {
	var list []T
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		IndexName:                 aws.String("due"),
		KeyConditionExpression:    aws.String("#due = :due AND #next <= :before"),
		ExpressionAttributeNames:  map[string]string{"#due": "due", "#next": "next_refresh_at"},
		ExpressionAttributeValues: item{":due": str(marker), ":before": num(before.Unix())},
		ScanIndexForward:          aws.Bool(true),
	}
	for len(list) < limit {
		in.Limit = aws.Int32(int32(min(limit-len(list), math.MaxInt32)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("due index partition %s: %w", marker, err)
		}
		for _, it := range out.Items {
			v, err := decode(it)
			if err != nil {
				return nil, fmt.Errorf("due index partition %s: %w", marker, err)
			}
			list = append(list, v)
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return list, nil
}

// ClaimDue implements store.Store: one UpdateItem that returns the claimed
// item, and on refusal the item as it was, to tell a missing account from
// one that is not claimable.
func (s *Store) ClaimDue(ctx context.Context, appID string, before, until time.Time) (store.Authorizer, error) {
	claimed, err := s.update(ctx, &dynamodb.UpdateItemInput{
		TableName:        s.table,
		Key:              key(authorizerPrefix+appID, skAuth),
		UpdateExpression: aws.String("SET #claim = :until, #v = #v + :one"),
		ConditionExpression: aws.String("attribute_exists(pk) AND #status = :active AND #next > :zero AND #next <= :before" +
			" AND (attribute_not_exists(#claim) OR #claim <= :now)"),
		ExpressionAttributeNames: map[string]string{
			"#claim": "refreshing_until", "#v": "version", "#status": "status", "#next": "next_refresh_at",
		},
		ExpressionAttributeValues: item{
			":until": num(unix(until)), ":one": num(1), ":active": str(string(store.StatusActive)),
			":zero": num(0), ":before": num(before.Unix()), ":now": num(s.nowSec()),
		},
	})
	switch {
	case errors.Is(err, errRefused) && claimed == nil:
		return store.Authorizer{}, fmt.Errorf("claim authorizer %s: %w", appID, store.ErrNotFound)
	case errors.Is(err, errRefused):
		return store.Authorizer{}, fmt.Errorf("claim authorizer %s: %w", appID, store.ErrConflict)
	case err != nil:
		return store.Authorizer{}, fmt.Errorf("claim authorizer %s: %w", appID, err)
	}
	a, err := decodeAuthorizer(claimed)
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("claim authorizer %s: %w", appID, err)
	}
	return a, nil
}

// PutProfile implements store.Store.
func (s *Store) PutProfile(ctx context.Context, p store.Profile) error {
	b := builder(key(authorizerPrefix+p.AppID, skProfile))
	b.s("appid", p.AppID)
	b.s("nick_name", p.NickName)
	b.s("head_img", p.HeadImg)
	b.s("user_name", p.UserName)
	b.s("principal_name", p.PrincipalName)
	b.s("alias", p.Alias)
	b.s("qrcode_url", p.QRCodeURL)
	b.n("service_type_info", int64(p.ServiceTypeInfo))
	b.n("verify_type_info", int64(p.VerifyTypeInfo))
	b.bool("mini_program", p.MiniProgram)
	b.time("updated_at", p.UpdatedAt)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: b}); err != nil {
		return fmt.Errorf("put profile %s: %w", p.AppID, err)
	}
	return nil
}

// GetProfile implements store.Store.
func (s *Store) GetProfile(ctx context.Context, appID string) (store.Profile, error) {
	it, err := s.get(ctx, authorizerPrefix+appID, skProfile)
	if err != nil {
		return store.Profile{}, fmt.Errorf("get profile %s: %w", appID, err)
	}
	d := decoder{item: it}
	p := store.Profile{
		AppID:           d.s("appid"),
		NickName:        d.s("nick_name"),
		HeadImg:         d.s("head_img"),
		UserName:        d.s("user_name"),
		PrincipalName:   d.s("principal_name"),
		Alias:           d.s("alias"),
		QRCodeURL:       d.s("qrcode_url"),
		ServiceTypeInfo: int(d.n("service_type_info")),
		VerifyTypeInfo:  int(d.n("verify_type_info")),
		MiniProgram:     d.bool("mini_program"),
		UpdatedAt:       d.time("updated_at"),
	}
	if d.err != nil {
		return store.Profile{}, fmt.Errorf("get profile %s: %w", appID, d.err)
	}
	return p, nil
}

// AcquireLease implements store.Store. A lease is free from its Until on,
// judged in milliseconds.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, until time.Time) error {
	b := builder(key(leasePrefix+name, skLease))
	b.s("name", name)
	b.s("owner", owner)
	b.n("until_ms", until.UnixMilli())
	b.n("ttl", until.Add(leaseTTLAfter).Unix())
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      b,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #until <= :now OR #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#until": "until_ms", "#owner": "owner"},
		ExpressionAttributeValues: item{":now": num(s.now().UnixMilli()), ":owner": str(owner)},
	})
	if _, ok := conditionFailed(err); ok {
		err = store.ErrLeaseHeld
	}
	if err != nil {
		return fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return nil
}

// ReleaseLease implements store.Store.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       key(leasePrefix+name, skLease),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: item{":owner": str(owner)},
	})
	if _, ok := conditionFailed(err); ok {
		return nil // someone else's lease, or none
	}
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// seenItem is the record of a message key.
func seenItem(msgKey string, value []byte, expiresAt time.Time) item {
	b := builder(key(seenPrefix+msgKey, skSeen))
	b.bytes("value", value)
	b.time("expires_at", expiresAt)
	b.time("ttl", expiresAt)
	return b
}

// PutSeenIfAbsent implements store.Store. An empty value reads back as nil.
func (s *Store) PutSeenIfAbsent(ctx context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error) {
	// The live record comes back with a refusal: no second read.
	holder, err := s.put(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      seenItem(key, value, expiresAt),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#exp": "expires_at"},
		ExpressionAttributeValues: item{":now": num(s.nowSec())},
	})
	if errors.Is(err, errRefused) {
		d := decoder{item: holder}
		prior := d.bytes("value")
		if d.err != nil {
			return nil, fmt.Errorf("put seen %s: %w", key, d.err)
		}
		return prior, fmt.Errorf("put seen %s: %w", key, store.ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("put seen %s: %w", key, err)
	}
	return nil, nil
}

// PutSeen implements store.Store.
func (s *Store) PutSeen(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: seenItem(key, value, expiresAt)})
	if err != nil {
		return fmt.Errorf("put seen %s: %w", key, err)
	}
	return nil
}
