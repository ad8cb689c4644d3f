package deploytest

import (
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"
)

// getAtt returns "Resource.Attribute" for !GetAtt Resource.Attribute, else "".
func getAtt(n *yaml.Node) string {
	if n != nil && n.Tag == "!GetAtt" && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// TestRefreshFanOut checks the wiring of the refresh job's fan-out: the
// scheduled function sends to a queue whose messages invoke it as a
// worker, reporting partial batch failures, with a dead-letter queue that an
// alarm watches, a visibility timeout that outlasts a worker, its
// concurrency and the due buckets as parameters.
func TestRefreshFanOut(t *testing.T) {
	_, tpl := readTemplate(t)
	fn := get(tpl, "Resources", "RefreshFunction", "Properties")
	queue := get(tpl, "Resources", "RefreshQueue")
	if fn == nil || queue == nil {
		t.Fatal("no RefreshFunction or RefreshQueue")
	}

	env := get(fn, "Environment", "Variables")
	if refName(get(env, "WX_REFRESH_QUEUE_URL")) != "RefreshQueue" {
		t.Error("RefreshFunction: WX_REFRESH_QUEUE_URL is not !Ref RefreshQueue (its URL)")
	}
	if refName(get(env, "WX_REFRESH_CONCURRENCY")) != "RefreshConcurrency" {
		t.Error("RefreshFunction: WX_REFRESH_CONCURRENCY is not the RefreshConcurrency parameter")
	}
	// Every function writes accounts into their due buckets.
	if refName(get(tpl, "Globals", "Function", "Environment", "Variables", "WX_DUE_BUCKETS")) != "DueBuckets" {
		t.Error("Globals: WX_DUE_BUCKETS is not the DueBuckets parameter")
	}

	var sqsEvent *yaml.Node
	for _, ev := range entries(get(fn, "Events")) {
		if scalar(get(ev, "Type")) == "SQS" {
			sqsEvent = get(ev, "Properties")
		}
	}
	switch {
	case sqsEvent == nil:
		t.Fatal("RefreshFunction has no SQS event")
	case getAtt(get(sqsEvent, "Queue")) != "RefreshQueue.Arn":
		t.Error("the SQS event does not read RefreshQueue")
	case len(items(get(sqsEvent, "FunctionResponseTypes"))) != 1 || scalar(items(get(sqsEvent, "FunctionResponseTypes"))[0]) != "ReportBatchItemFailures":
		t.Error("the SQS event does not report partial batch failures (ReportBatchItemFailures)")
	case refName(get(sqsEvent, "ScalingConfig", "MaximumConcurrency")) != "RefreshWorkers":
		t.Error("the SQS event's maximum concurrency is not the RefreshWorkers parameter")
	}
	if get(fn, "ReservedConcurrentExecutions") == nil {
		t.Error("RefreshFunction: no ReservedConcurrentExecutions (RefreshReservedConcurrency)")
	}

	sends := false
	for _, p := range items(get(fn, "Policies")) {
		for _, st := range statements(get(p, "Statement")) {
			for _, a := range scalars(get(st, "Action")) {
				if a == "sqs:SendMessage" && getAtt(get(st, "Resource")) == "RefreshQueue.Arn" {
					sends = true
				}
			}
		}
	}
	if !sends {
		t.Error("RefreshFunction may not sqs:SendMessage to RefreshQueue (and only there)")
	}

	qp := get(queue, "Properties")
	timeout, _ := strconv.Atoi(scalar(get(fn, "Timeout")))
	if v, _ := strconv.Atoi(scalar(get(qp, "VisibilityTimeout"))); timeout == 0 || v < 6*timeout {
		t.Errorf("RefreshQueue VisibilityTimeout %d, want at least six times the function's timeout %d", v, timeout)
	}
	if getAtt(get(qp, "RedrivePolicy", "deadLetterTargetArn")) != "RefreshDeadLetterQueue.Arn" {
		t.Error("RefreshQueue has no RedrivePolicy to RefreshDeadLetterQueue")
	}
	watched := false
	for _, alarm := range resources(tpl, "AWS::CloudWatch::Alarm") {
		for _, d := range items(get(alarm, "Properties", "Dimensions")) {
			if getAtt(get(d, "Value")) == "RefreshDeadLetterQueue.QueueName" {
				watched = true
			}
		}
	}
	if !watched {
		t.Error("no alarm watches RefreshDeadLetterQueue")
	}
}
