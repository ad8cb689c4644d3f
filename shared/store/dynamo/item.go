package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item layout: partition key prefixes and sort keys, one per kind of item.
const (
	componentPrefix  = "COMPONENT#"
	authorizerPrefix = "AUTHORIZER#"
	leasePrefix      = "LEASE#"
	seenPrefix       = "DEDUP#"

	skTicket  = "TICKET"
	skToken   = "TOKEN"
	skAuth    = "AUTH"
	skProfile = "PROFILE"
	skLease   = "LEASE"
	skSeen    = "DEDUP"
)

// How long after expiry DynamoDB may delete an ephemeral item (the ttl
// attribute); reads treat the item as absent from its expiry on anyway.
const (
	tokenTTLAfter = 24 * time.Hour
	leaseTTLAfter = time.Hour
)

type item = map[string]types.AttributeValue

func key(pk, sk string) item {
	return item{"pk": str(pk), "sk": str(sk)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// unix is t in epoch seconds, 0 for the zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// fromUnix is the inverse of unix, in UTC.
func fromUnix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// builder writes an item, leaving out empty strings, byte slices and lists:
// absent and empty read back the same.
type builder item

func (b builder) s(name, v string) {
	if v != "" {
		b[name] = str(v)
	}
}

func (b builder) n(name string, v int64) { b[name] = num(v) }

func (b builder) time(name string, t time.Time) { b.n(name, unix(t)) }

func (b builder) bytes(name string, v []byte) {
	if len(v) > 0 {
		b[name] = &types.AttributeValueMemberB{Value: v}
	}
}

func (b builder) bool(name string, v bool) { b[name] = &types.AttributeValueMemberBOOL{Value: v} }

// ints keeps order (a number set would not).
func (b builder) ints(name string, v []int) {
	if len(v) == 0 {
		return
	}
	l := make([]types.AttributeValue, len(v))
	for i, x := range v {
		l[i] = num(int64(x))
	}
	b[name] = &types.AttributeValueMemberL{Value: l}
}

// decoder reads an item, remembering the first attribute of the wrong type.
type decoder struct {
	item item
	err  error
}

func (d *decoder) fail(name string, v types.AttributeValue) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: unexpected %T", name, v)
	}
}

func (d *decoder) s(name string) string {
	switch v := d.item[name].(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	default:
		d.fail(name, v)
		return ""
	}
}

func (d *decoder) n(name string) int64 {
	switch v := d.item[name].(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		return d.parse(name, v.Value)
	default:
		d.fail(name, v)
		return 0
	}
}

func (d *decoder) parse(name, s string) int64 {
	x, err := strconv.ParseInt(s, 10, 64)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return x
}

func (d *decoder) time(name string) time.Time { return fromUnix(d.n(name)) }

func (d *decoder) bytes(name string) []byte {
	switch v := d.item[name].(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberB:
		if len(v.Value) == 0 {
			return nil
		}
		return v.Value
	default:
		d.fail(name, v)
		return nil
	}
}

func (d *decoder) bool(name string) bool {
	switch v := d.item[name].(type) {
	case nil:
		return false
	case *types.AttributeValueMemberBOOL:
		return v.Value
	default:
		d.fail(name, v)
		return false
	}
}

func (d *decoder) ints(name string) []int {
	switch v := d.item[name].(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberL:
		if len(v.Value) == 0 {
			return nil
		}
		out := make([]int, len(v.Value))
		for i, e := range v.Value {
			n, ok := e.(*types.AttributeValueMemberN)
			if !ok {
				d.fail(name, e)
				return nil
			}
			out[i] = int(d.parse(name, n.Value))
		}
		return out
	default:
		d.fail(name, v)
		return nil
	}
}
