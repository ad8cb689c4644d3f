package deploytest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// TestRefreshFansOutThroughSQS runs the refresh bootstrap as Lambda does,
// with DynamoDB and SQS in moto_server: a scheduled run with more accounts
// due than it can refresh before its deadline queues them, and the same
// bootstrap, invoked with the queue's messages as the event source mapping
// delivers them, refreshes every account once and reports only the
// malformed message as a failure.
func TestRefreshFansOutThroughSQS(t *testing.T) {
	const (
		accounts = 100
		buckets  = 4
	)
	bin := bootstraps(t)["refresh"]
	s := setUp(t)
	s.prepare(t)
	ctx := t.Context()

	accts, err := s.sim.AddAccounts(accounts, wechatsim.OfficialAccount)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(accts))
	for i, a := range accts {
		ids[i] = a.AppID
		if _, err := s.sim.Grant(ctx, samples.ComponentAppID, a.AppID); err != nil {
			t.Fatal(err)
		}
	}
	refreshTokens := map[string]string{}
	for _, g := range s.sim.Authorizations(samples.ComponentAppID) {
		refreshTokens[g.Authorizer] = g.RefreshToken
	}
	st := dynamo.New(s.dynamo, s.table, dynamo.Options{DueBuckets: buckets})
	now := time.Now()
	for _, id := range ids {
		_, err := st.PutAuthorizer(ctx, store.Authorizer{AppID: id, ComponentAppID: samples.ComponentAppID,
			RefreshToken: refreshTokens[id], Status: store.StatusActive, NextRefreshAt: now.Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}

	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queue := sqs.NewFromConfig(cfg)
	q, err := queue.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("refresh")})
	if err != nil {
		t.Fatal(err)
	}
	// One call in flight and Lambda's 30 s deadline here: the run can
	// finish about 80 accounts at DefaultAccountTime, fewer than are due.
	f := start(t, "refresh", bin, append(s.env,
		"WX_REFRESH_QUEUE_URL="+aws.ToString(q.QueueUrl),
		"WX_REFRESH_CONCURRENCY=1",
		fmt.Sprint("WX_DUE_BUCKETS=", buckets),
	))
	f.invoke(t, []byte("{}"))
	for _, id := range ids {
		if n := s.sim.CallsFor(wechatsim.APIAuthorizerToken, id); n != 0 {
			t.Fatalf("%s refreshed by the scheduled run that should have fanned out", id)
		}
	}

	var ev events.SQSEvent
	for {
		out, err := queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId),
				ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:" + region + ":123456789012:refresh", AWSRegion: region})
		}
	}
	if len(ev.Records) == 0 {
		t.Fatalf("nothing queued; output:\n%s", f.out.String())
	}
	ev.Records = append(ev.Records, events.SQSMessage{MessageId: "malformed", Body: `{"appids":"wx"}`, EventSource: "aws:sqs"})
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(f.invoke(t, payload).Payload, &resp); err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, item := range resp.BatchItemFailures {
		failed = append(failed, item.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"malformed"}) {
		t.Errorf("batch item failures %v, want only the malformed message", failed)
	}
	for _, id := range ids {
		if n := s.sim.CallsFor(wechatsim.APIAuthorizerToken, id); n != 1 {
			t.Errorf("%s refreshed %d times, want 1", id, n)
		}
		a, err := st.GetAuthorizer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.AccessToken == "" || !a.NextRefreshAt.After(now) || !a.RefreshingUntil.IsZero() {
			t.Errorf("%s after the workers: token %t, next refresh %v, claim %v", id, a.AccessToken != "", a.NextRefreshAt, a.RefreshingUntil)
		}
	}
	f.stop()
	checkLogs(t, "refresh", f.out.String())
}
