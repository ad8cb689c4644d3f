package eventbus_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/message/eventbus"
)

const textMessage = `<xml><ToUserName><![CDATA[gh_00000000a11e]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>` +
	`<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi <there>]]></Content><MsgId>1234567890123456</MsgId></xml>`

func parse(t *testing.T) *message.Message {
	t.Helper()
	m, err := message.Parse("wx0000000000000a11", []byte(textMessage))
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestForwardToMoto puts a message on a bus in moto_server and checks, with
// an archive whose pattern matches the event's source, detail type and
// detail, that it arrived as rules will see it.
func TestForwardToMoto(t *testing.T) {
	motoserver.Start(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := eventbridge.NewFromConfig(cfg)
	motoserver.BusArchive(t, client, "wechat", "texts", `{"source":["wxcomponent"],"detail-type":["WeChat Message"],`+
		`"detail":{"authorizer_appid":["wx0000000000000a11"],"message":{"MsgType":["text"],"Content":["hi <there>"]}}}`)

	fwd := eventbus.FromEnv(cfg, func(name string) string {
		if name == eventbus.EnvBus {
			return "wechat"
		}
		return ""
	})
	if fwd == nil {
		t.Fatal("FromEnv returned nil with the bus set")
	}
	if err := fwd.Forward(ctx, parse(t)); err != nil {
		t.Fatal(err)
	}
	archive, err := client.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("texts")})
	if err != nil {
		t.Fatal(err)
	}
	if archive.EventCount != 1 {
		t.Errorf("archive holds %d events, want 1", archive.EventCount)
	}

	if err := eventbus.New(client, "no-such-bus").Forward(ctx, parse(t)); err == nil {
		t.Error("Forward to a bus that does not exist succeeded")
	}
}

func TestFromEnvOff(t *testing.T) {
	if fwd := eventbus.FromEnv(aws.Config{}, func(string) string { return "" }); fwd != nil {
		t.Errorf("FromEnv without %s = %v, want nil", eventbus.EnvBus, fwd)
	}
}

// rejecting answers every PutEvents with a failed entry, as EventBridge
// does for an entry it will not take.
type rejecting struct{ in *eventbridge.PutEventsInput }

func (r *rejecting) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	r.in = in
	return &eventbridge.PutEventsOutput{FailedEntryCount: 1, Entries: []types.PutEventsResultEntry{{
		ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again"),
	}}}, nil
}

func TestRejectedEntry(t *testing.T) {
	api := &rejecting{}
	err := eventbus.New(api, "wechat").Forward(context.Background(), parse(t))
	if err == nil || !strings.Contains(err.Error(), "InternalFailure: try again") {
		t.Errorf("Forward error %v, want the rejected entry's reason", err)
	}
	e := api.in.Entries[0]
	if aws.ToString(e.Source) != eventbus.Source || aws.ToString(e.DetailType) != eventbus.DetailType ||
		aws.ToString(e.EventBusName) != "wechat" || e.Time.Unix() != 1348831860 ||
		!strings.HasPrefix(aws.ToString(e.Detail), `{"authorizer_appid":"wx0000000000000a11","message":{`) {
		t.Errorf("entry %+v", e)
	}
}

// TestEmitToMoto puts a lifecycle event on a bus in moto_server and checks,
// with an archive matching its detail type and detail, that rules see it.
func TestEmitToMoto(t *testing.T) {
	motoserver.Start(t)
	ctx := t.Context()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := eventbridge.NewFromConfig(cfg)
	motoserver.BusArchive(t, client, "platform", "revocations", `{"source":["wxcomponent"],"detail-type":["Account Revoked"],`+
		`"detail":{"authorizer_appid":["wx0000000000000a11"],"customer_ref":["cust-42"],"reason":["unauthorized_push"]}}`)
	em := eventbus.EmitterFromEnv(cfg, func(name string) string { return map[string]string{eventbus.EnvBus: "platform"}[name] })
	if em == nil {
		t.Fatal("EmitterFromEnv returned nil with the bus set")
	}
	err = em.Emit(ctx, lifecycle.Revoked{
		Account: lifecycle.Account{AuthorizerAppID: "wx0000000000000a11", CustomerRef: "cust-42"},
		Reason:  lifecycle.ReasonUnauthorizedPush,
	})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := client.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("revocations")})
	if err != nil {
		t.Fatal(err)
	}
	if archive.EventCount != 1 {
		t.Errorf("archive holds %d events, want 1", archive.EventCount)
	}
	if em := eventbus.EmitterFromEnv(cfg, func(string) string { return "" }); em != nil {
		t.Errorf("no bus: emitter %v, want nil", em)
	}
}
