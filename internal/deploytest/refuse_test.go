package deploytest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// TestBootstrapsRefusePushes feeds the ticket and message bootstraps, as
// Lambda runs them against DynamoDB and SSM in moto_server, pushes that
// must be refused: each gets a 4xx and leaves the table exactly as it was.
// A fresh push then still gets 200 and is recorded.
func TestBootstrapsRefusePushes(t *testing.T) {
	bins := bootstraps(t)
	s := setUp(t)
	s.prepare(t)
	fns := map[string]*function{}
	for _, name := range []string{routes.Ticket, routes.Message} {
		fns[name] = start(t, name, bins[name], s.env)
	}

	now := time.Now().UTC().Truncate(time.Second)
	component := wxxml.Text("AppId", samples.ComponentAppID)
	ticket := func(createTime time.Time, value string) []wxxml.Field {
		return []wxxml.Field{component, wxxml.Int("CreateTime", createTime.Unix()),
			wxxml.Text("InfoType", "component_verify_ticket"), wxxml.Text("ComponentVerifyTicket", value)}
	}
	text := func(to string, msgID int64) []wxxml.Field {
		return []wxxml.Field{wxxml.Text("ToUserName", to), wxxml.Text("FromUserName", samples.UserOpenID),
			wxxml.Int("CreateTime", now.Unix()), wxxml.Text("MsgType", "text"),
			wxxml.Text("Content", "hello"), wxxml.Int("MsgId", msgID)}
	}
	to := func(userName string) wxxml.Field { return wxxml.Text("ToUserName", userName) }
	const foreign = "gh_0123456789ab"

	tests := []struct {
		name   string
		appID  string // "" for the ticket URL
		at     time.Time
		outer  wxxml.Field
		inner  []wxxml.Field
		status int
	}{
		{"ticket with a stale timestamp", "", now.Add(-6 * time.Minute), component, ticket(now.Add(-6*time.Minute), samples.Ticket+"-stale"), 403},
		{"ticket with a future timestamp", "", now.Add(6 * time.Minute), component, ticket(now.Add(6*time.Minute), samples.Ticket+"-future"), 403},
		{"ticket created in 2036", "", now, component, ticket(time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC), samples.Ticket+"-2036"), 400},
		{"ticket that is not ASCII", "", now, component, ticket(now, samples.Ticket+"-票"), 400},
		{"message with a stale timestamp", samples.AuthorizerAppID, now.Add(-6 * time.Minute), to(samples.AuthorizerUserName), text(samples.AuthorizerUserName, 1), 403},
		{"message with a future timestamp", samples.AuthorizerAppID, now.Add(6 * time.Minute), to(samples.AuthorizerUserName), text(samples.AuthorizerUserName, 2), 403},
		{"message to another account", samples.AuthorizerAppID, now, to(foreign), text(foreign, 3), 403},
		{"message on an unknown account's URL", "wx0123456789abcdef", now, to(samples.AuthorizerUserName), text(samples.AuthorizerUserName, 4), 403},
		{"message on a malformed appid's URL", "wxNOTANAPPID", now, to(samples.AuthorizerUserName), text(samples.AuthorizerUserName, 5), 400},
	}
	before := s.items(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := samples.Push(tt.appID, tt.at, tt.outer, tt.inner...)
			if err != nil {
				t.Fatal(err)
			}
			fn := fns[routes.Message]
			if tt.appID == "" {
				fn = fns[routes.Ticket]
			}
			e := samples.Event{Name: tt.name, Want: samples.Want{Status: tt.status}}
			if err := samples.Check(e, fn.invoke(t, payload).Payload); err != nil {
				t.Error(err)
			}
			if after := s.items(t); !slices.Equal(after, before) {
				t.Errorf("the table changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}

	payload, err := samples.Push(samples.AuthorizerAppID, now, to(samples.AuthorizerUserName), text(samples.AuthorizerUserName, 6)...)
	if err != nil {
		t.Fatal(err)
	}
	fresh := samples.Event{Name: "fresh message", Want: samples.Want{Status: 200, Body: "success"}}
	if err := samples.Check(fresh, fns[routes.Message].invoke(t, payload).Payload); err != nil {
		t.Error(err)
	}
	dedup := func(items []string) int {
		n := 0
		for _, it := range items {
			if strings.HasPrefix(it, "DEDUP#") {
				n++
			}
		}
		return n
	}
	if after := s.items(t); len(after) != len(before)+1 || dedup(after) != dedup(before)+1 {
		t.Errorf("a fresh message did not leave one de-duplication record:\nbefore %q\nafter  %q", before, after)
	}
	for _, name := range []string{routes.Ticket, routes.Message} {
		fns[name].stop()
		checkLogs(t, name, fns[name].out.String())
		if strings.Contains(fns[name].out.String(), "NOTANAPPID") || strings.Contains(fns[name].out.String(), foreign) {
			t.Errorf("%s: the log echoes the pushes' text", name)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, fns[name].out.String())
		}
	}
}

// items returns every item of the table, each as one line of its
// attributes, sorted.
func (s *stack) items(tb testing.TB) []string {
	tb.Helper()
	var out []string
	pages := dynamodb.NewScanPaginator(s.dynamo, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(tb.Context())
		if err != nil {
			tb.Fatal(err)
		}
		for _, it := range page.Items {
			out = append(out, attributeString(&types.AttributeValueMemberM{Value: it}))
		}
	}
	slices.Sort(out)
	return out
}

// attributeString renders a DynamoDB value with its map keys sorted, so
// that equal items render equal. The partition key comes first.
func attributeString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberB:
		return fmt.Sprintf("%x", v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint(v.Value)
	case *types.AttributeValueMemberNULL:
		return "null"
	case *types.AttributeValueMemberSS:
		return fmt.Sprint(v.Value)
	case *types.AttributeValueMemberNS:
		return fmt.Sprint(v.Value)
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = attributeString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *types.AttributeValueMemberM:
		keys := slices.Sorted(maps.Keys(v.Value))
		parts := make([]string, 0, len(keys))
		if pk, ok := v.Value["pk"]; ok {
			parts = append(parts, attributeString(pk))
		}
		for _, k := range keys {
			if k != "pk" {
				parts = append(parts, k+"="+attributeString(v.Value[k]))
			}
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprintf("%T", v)
}
