package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/internal/storetest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// inspected is a store that can read its raw items.
type inspected struct {
	*dynamo.Store
	client *dynamodb.Client
	table  string
}

// rawKey is the contract's key layout, written out again so that the
// tests check it rather than reuse the package's own.
func rawKey(kind storetest.Kind, key string) (pk, sk string) {
	switch kind {
	case storetest.KindTicket:
		return "COMPONENT#" + key, "TICKET"
	case storetest.KindToken:
		return "COMPONENT#" + key, "TOKEN"
	case storetest.KindAuthorizer:
		return "AUTHORIZER#" + key, "AUTH"
	case storetest.KindProfile:
		return "AUTHORIZER#" + key, "PROFILE"
	case storetest.KindLease:
		return "LEASE#" + key, "LEASE"
	case storetest.KindSeen:
		return "DEDUP#" + key, "DEDUP"
	}
	panic("unknown kind " + kind)
}

func (s inspected) item(ctx context.Context, kind storetest.Kind, key string) (map[string]types.AttributeValue, error) {
	pk, sk := rawKey(kind, key)
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// Raw reports the item's ttl attribute as the time DynamoDB may delete it.
func (s inspected) Raw(ctx context.Context, kind storetest.Kind, key string) (bool, time.Time, error) {
	it, err := s.item(ctx, kind, key)
	if err != nil || it == nil {
		return false, time.Time{}, err
	}
	ttl, ok := it["ttl"]
	if !ok {
		return true, time.Time{}, nil
	}
	n, ok := ttl.(*types.AttributeValueMemberN)
	if !ok {
		return true, time.Time{}, fmt.Errorf("ttl is a %T, want a number", ttl)
	}
	sec, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return true, time.Time{}, fmt.Errorf("ttl: %w", err)
	}
	return true, time.Unix(sec, 0), nil
}

// serialTransport sends one request at a time. moto_server serves requests
// on threads and checks a write's condition and applies the write without a
// lock, so two racing conditional writes can both succeed there; DynamoDB
// applies each conditional write atomically. Serialising the requests gives
// the emulator that atomicity, so that the suite's races test the
// conditions this package writes rather than the emulator.
type serialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (t *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next.RoundTrip(r)
}

// TestDynamo starts one moto_server for all the package's tests; each store
// gets a table of its own.
func TestDynamo(t *testing.T) {
	motoserver.Start(t)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// No transparent gzip, as in the SDK's own transport: a response Go
	// decompressed fails the SDK's CRC32 check, and the SDK then retries a
	// conditional write that had succeeded.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: &serialTransport{next: tr}}
	})
	var tables atomic.Int64
	newStore := func(t *testing.T, now func() time.Time, buckets int) inspected {
		name := fmt.Sprint("wxcomponent-", tables.Add(1))
		if err := dynamo.CreateTable(t.Context(), client, name); err != nil {
			t.Fatal(err)
		}
		opts := dynamo.Options{Now: now, DueBuckets: buckets}
		return inspected{Store: dynamo.New(client, name, opts), client: client, table: name}
	}

	// The suite runs on a sharded due index: its due tests then read
	// accounts spread over several buckets.
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store { return newStore(t, now, 4) })
	})
	t.Run("JSTicketConformance", func(t *testing.T) {
		storetest.RunJSTickets(t, func(t *testing.T, now func() time.Time) storetest.JSTicketStore {
			return newStore(t, now, 4).Store
		})
	})
	t.Run("Table", func(t *testing.T) { testTable(t, newStore(t, nil, 0)) })
	t.Run("Layout", func(t *testing.T) { testLayout(t, newStore(t, nil, 0)) })
	t.Run("DueBuckets", func(t *testing.T) { testDueBuckets(t, newStore(t, nil, 8)) })
	t.Run("CreateTableAgain", func(t *testing.T) {
		// What the SDK's repeat of a CreateTable whose answer was lost meets.
		if err := dynamo.CreateTable(t.Context(), client, "again"); err != nil {
			t.Fatal(err)
		}
		if err := dynamo.CreateTable(t.Context(), client, "again"); err != nil {
			t.Errorf("creating the same table again: %v", err)
		}
		_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
			TableName:            aws.String("other"),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := dynamo.CreateTable(t.Context(), client, "other"); err == nil {
			t.Error("a table of another layout was taken for ours")
		}
	})
	t.Run("RepeatedPut", func(t *testing.T) {
		// A client whose transport loses the answer to each first PutItem
		// after DynamoDB applied it, so that the SDK repeats the request.
		lossy := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: &loseFirstAnswer{next: &serialTransport{next: tr}, seen: map[string]bool{}}}
		})
		s := newStore(t, nil, 0)
		testRepeatedPut(t, dynamo.New(lossy, s.table, dynamo.Options{}), s.Store)
	})
}

// loseFirstAnswer lets the first PutItem or UpdateItem of each distinct
// body through to DynamoDB and then fails it as a reset connection would, as
// if the answer never arrived; the SDK retries such a failure.
type loseFirstAnswer struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
}

func (l *loseFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if op := r.Header.Get("X-Amz-Target"); !strings.HasSuffix(op, ".PutItem") && !strings.HasSuffix(op, ".UpdateItem") {
		return l.next.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	l.mu.Lock()
	first := !l.seen[string(b)]
	l.seen[string(b)] = true
	l.mu.Unlock()
	resp, err := l.next.RoundTrip(r)
	if err != nil || !first {
		return resp, err
	}
	resp.Body.Close()
	return nil, syscall.ECONNRESET
}

// testRepeatedPut checks that a write the SDK repeated because its answer
// was lost, and that DynamoDB had applied, is reported as done, while a
// write that lost a real race is still a conflict.
func testRepeatedPut(t *testing.T, lossy, plain *dynamo.Store) {
	ctx := t.Context()
	created, err := lossy.PutAuthorizer(ctx, store.Authorizer{AppID: "wx0000000000000001", RefreshToken: "r1", Status: store.StatusActive})
	if err != nil || created.Version != 1 {
		t.Fatalf("create with a lost answer: %+v, %v; want version 1", created, err)
	}
	updated := created
	updated.AccessToken = "a1"
	if updated, err = lossy.PutAuthorizer(ctx, updated); err != nil || updated.Version != 2 {
		t.Fatalf("update with a lost answer: %+v, %v; want version 2", updated, err)
	}
	stale := created
	stale.AccessToken = "a-other"
	if _, err := plain.PutAuthorizer(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a write under a version another writer replaced: %v, want ErrConflict", err)
	}
	if got, err := plain.GetAuthorizer(ctx, "wx0000000000000001"); err != nil || got.AccessToken != "a1" || got.Version != 2 {
		t.Fatalf("stored %+v, %v; want the update", got, err)
	}

	// The other values written under a condition.
	now := time.Now().Truncate(time.Second)
	if err := lossy.PutTicket(ctx, store.Ticket{ComponentAppID: "wxc", Ticket: "ticket@@@1", CreateTime: now, ReceivedAt: now}); err != nil {
		t.Errorf("ticket with a lost answer: %v", err)
	}
	if err := plain.PutTicket(ctx, store.Ticket{ComponentAppID: "wxc", Ticket: "ticket@@@0", CreateTime: now, ReceivedAt: now}); !errors.Is(err, store.ErrStale) {
		t.Errorf("another ticket of the same CreateTime: %v, want ErrStale", err)
	}
	tok, err := lossy.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: "wxc", AccessToken: "cat1", ExpiresAt: now.Add(time.Hour), UpdatedAt: now})
	if err != nil || tok.Version != 1 {
		t.Errorf("component token with a lost answer: %+v, %v; want version 1", tok, err)
	}
	if _, err := plain.PutComponentToken(ctx, store.ComponentToken{ComponentAppID: "wxc", AccessToken: "cat2", ExpiresAt: now.Add(time.Hour), UpdatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another token under version 0: %v, want ErrConflict", err)
	}
	m, err := lossy.PutMiniProgram(ctx, store.MiniProgram{AppID: "wx0000000000000001", UserVersion: "1.0.0"})
	if err != nil || m.Version != 1 {
		t.Errorf("mini program with a lost answer: %+v, %v; want version 1", m, err)
	}
	if _, err := plain.PutMiniProgram(ctx, store.MiniProgram{AppID: "wx0000000000000001", UserVersion: "2.0.0"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another pipeline under version 0: %v, want ErrConflict", err)
	}
	js := store.JSTicket{AppID: "wx0000000000000001", Type: "jsapi", Ticket: "js1", ExpiresAt: now.Add(2 * time.Hour), UsedAt: now, UpdatedAt: now}
	stored, err := lossy.PutJSTicket(ctx, js)
	if err != nil || stored.Version != 1 {
		t.Errorf("JS-SDK ticket with a lost answer: %+v, %v; want version 1", stored, err)
	}
	js.UsedAt = now.Add(time.Second)
	if _, err := plain.PutJSTicket(ctx, js); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another use of the ticket under version 0: %v, want ErrConflict", err)
	}

	// Claims: the repeat is the claim's own; another attempt's identical
	// claim is refused.
	due := store.Authorizer{AppID: "wx0000000000000002", RefreshToken: "r2", Status: store.StatusActive, NextRefreshAt: now.Add(-time.Minute)}
	if _, err := plain.PutAuthorizer(ctx, due); err != nil {
		t.Fatal(err)
	}
	if a, err := lossy.ClaimDue(ctx, due.AppID, now, now.Add(time.Minute)); err != nil || a.RefreshingUntil.IsZero() {
		t.Errorf("refresh claim with a lost answer: %+v, %v; want it claimed", a, err)
	}
	if _, err := plain.ClaimDue(ctx, due.AppID, now, now.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second refresh claim: %v, want ErrConflict", err)
	}
	if prior, err := lossy.PutSeenIfAbsent(ctx, "msg1", nil, now.Add(time.Minute)); err != nil || prior != nil {
		t.Errorf("message claim with a lost answer: %q, %v; want it claimed", prior, err)
	}
	if _, err := plain.PutSeenIfAbsent(ctx, "msg1", nil, now.Add(time.Minute)); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second claim of the message: %v, want ErrExists", err)
	}
	if err := lossy.ClaimNonce(ctx, "nonce1", now.Add(time.Minute)); err != nil {
		t.Errorf("nonce claim with a lost answer: %v", err)
	}
	if err := plain.ClaimNonce(ctx, "nonce1", now.Add(time.Minute)); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second claim of the nonce: %v, want ErrExists", err)
	}
}

// testDueBuckets checks that accounts spread over every bucket of the due
// index, named "1" to "N", and that a store with more buckets still reads
// the accounts one with fewer wrote.
func testDueBuckets(t *testing.T, s inspected) {
	ctx := t.Context()
	now := time.Unix(1_780_000_000, 0).UTC()
	const accounts = 200
	count := map[string]int{}
	for i := range accounts {
		id := fmt.Sprintf("wx%016x", i*7919)
		_, err := s.PutAuthorizer(ctx, store.Authorizer{AppID: id, RefreshToken: "r", Status: store.StatusActive,
			NextRefreshAt: now.Add(-time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		it, err := s.item(ctx, storetest.KindAuthorizer, id)
		if err != nil {
			t.Fatal(err)
		}
		due, _ := it["due"].(*types.AttributeValueMemberS)
		if due == nil {
			t.Fatalf("%s has no due bucket: %v", id, it)
		}
		count[due.Value]++
	}
	for b := 1; b <= 8; b++ {
		// A fair hash puts 25 in each; 10 leaves room for chance.
		if n := count[strconv.Itoa(b)]; n < 10 {
			t.Errorf("bucket %d holds %d of %d accounts: %v", b, n, accounts, count)
		}
	}
	if len(count) != 8 {
		t.Errorf("buckets used %v, want exactly 1 to 8", count)
	}
	grown := dynamo.New(s.client, s.table, dynamo.Options{DueBuckets: 16})
	due, err := grown.DueAuthorizers(ctx, now, 2*accounts)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != accounts {
		t.Errorf("16 buckets read %d of the %d accounts 8 buckets wrote", len(due), accounts)
	}
}

// testTable checks the table CreateTable made against the contract.
func testTable(t *testing.T, s inspected) {
	ctx := t.Context()
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		t.Fatal(err)
	}
	desc := out.Table
	if desc.TableStatus != types.TableStatusActive {
		t.Errorf("status %s, want ACTIVE", desc.TableStatus)
	}
	if desc.BillingModeSummary == nil || desc.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing %+v, want PAY_PER_REQUEST", desc.BillingModeSummary)
	}
	if got := keySchema(desc.KeySchema); got != "pk HASH, sk RANGE" {
		t.Errorf("key schema %q", got)
	}
	if len(desc.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("%d global secondary indexes, want 1", len(desc.GlobalSecondaryIndexes))
	}
	gsi := desc.GlobalSecondaryIndexes[0]
	if aws.ToString(gsi.IndexName) != "due" || keySchema(gsi.KeySchema) != "due HASH, next_refresh_at RANGE" ||
		gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("index %s (%s), projection %+v; want due (due HASH, next_refresh_at RANGE), ALL",
			aws.ToString(gsi.IndexName), keySchema(gsi.KeySchema), gsi.Projection)
	}
	defs := map[string]types.ScalarAttributeType{}
	for _, d := range desc.AttributeDefinitions {
		defs[aws.ToString(d.AttributeName)] = d.AttributeType
	}
	if fmt.Sprint(defs) != "map[due:S next_refresh_at:N pk:S sk:S]" {
		t.Errorf("attribute definitions %v", defs)
	}

	ttl, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "ttl" || d.TimeToLiveStatus != "ENABLED" {
		t.Errorf("time to live %+v, want ENABLED on ttl", d)
	}
}

func keySchema(ks []types.KeySchemaElement) string {
	var s string
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += aws.ToString(k.AttributeName) + " " + string(k.KeyType)
	}
	return s
}

// testLayout checks raw items against the contract's attribute names, and
// that the due marker follows NextRefreshAt.
func testLayout(t *testing.T, s inspected) {
	ctx := t.Context()
	now := time.Unix(1_780_000_000, 0)
	a, err := s.PutAuthorizer(ctx, store.Authorizer{AppID: "wxacct", ComponentAppID: "wxcomp", RefreshToken: "r",
		AccessToken: "a", ExpiresAt: now.Add(2 * time.Hour), NextRefreshAt: now.Add(time.Hour),
		Status: store.StatusActive, FuncInfo: []int{3, 1}, CustomerRef: "ref", AuthorizedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"pk": "S:AUTHORIZER#wxacct", "sk": "S:AUTH", "appid": "S:wxacct", "component_appid": "S:wxcomp",
		"refresh_token": "S:r", "access_token": "S:a", "expires_at": "N:1780007200",
		"next_refresh_at": "N:1780003600", "due": "S:1", "status": "S:active", "func_info": "L:[3 1]",
		"customer_ref": "S:ref", "authorized_at": "N:1780000000", "updated_at": "N:1780000000", "version": "N:1",
		"attempt": "S:<26 random characters>",
	}
	wantItem(t, s, storetest.KindAuthorizer, "wxacct", want)

	a.RefreshingUntil = now.Add(30 * time.Second)
	if a, err = s.PutAuthorizer(ctx, a); err != nil {
		t.Fatal(err)
	}
	want["refreshing_until"], want["version"] = "N:1780000030", "N:2"
	wantItem(t, s, storetest.KindAuthorizer, "wxacct", want)

	a.NextRefreshAt, a.RefreshingUntil = time.Time{}, time.Time{}
	if _, err := s.PutAuthorizer(ctx, a); err != nil {
		t.Fatal(err)
	}
	delete(want, "due")
	delete(want, "refreshing_until")
	want["next_refresh_at"], want["version"] = "N:0", "N:3"
	wantItem(t, s, storetest.KindAuthorizer, "wxacct", want)

	if err := s.PutTicket(ctx, store.Ticket{ComponentAppID: "wxcomp", Ticket: "t", CreateTime: now, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	wantItem(t, s, storetest.KindTicket, "wxcomp", map[string]string{
		"pk": "S:COMPONENT#wxcomp", "sk": "S:TICKET", "component_appid": "S:wxcomp", "ticket": "S:t",
		"create_time": "N:1780000000", "received_at": "N:1780000000", "ttl": "N:1780043200",
		"attempt": "S:<26 random characters>",
	})
	if err := s.AcquireLease(ctx, "job", "me", now.Add(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	wantItem(t, s, storetest.KindLease, "job", map[string]string{
		"pk": "S:LEASE#job", "sk": "S:LEASE", "name": "S:job", "owner": "S:me",
		"until_ms": "N:1780000001500", "ttl": "N:1780003601",
	})
}

// wantItem compares a raw item with want, attribute name to "type:value".
func wantItem(t *testing.T, s inspected, kind storetest.Kind, key string, want map[string]string) {
	t.Helper()
	it, err := s.item(t.Context(), kind, key)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, v := range it {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			got[name] = "S:" + v.Value
			if name == "attempt" && len(v.Value) == 26 {
				got[name] = "S:<26 random characters>" // rand.Text, one per write
			}
		case *types.AttributeValueMemberN:
			got[name] = "N:" + v.Value
		case *types.AttributeValueMemberL:
			var ns []string
			for _, e := range v.Value {
				ns = append(ns, e.(*types.AttributeValueMemberN).Value)
			}
			got[name] = fmt.Sprint("L:", ns)
		default:
			got[name] = fmt.Sprintf("%T", v)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s %s item:\n got %v\nwant %v", kind, key, got, want)
	}
}
