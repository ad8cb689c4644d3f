package deploytest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/emf"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// metric is one CloudWatch metric an alarm watches.
type metric struct {
	Namespace, Name string
	Dimensions      map[string]string // name -> the logical ID or parameter it refers to
}

func (m metric) String() string {
	var dims []string
	for k, v := range m.Dimensions {
		dims = append(dims, k+"="+v)
	}
	slices.Sort(dims)
	return m.Namespace + " " + m.Name + " " + strings.Join(dims, ",")
}

// alarmMetrics returns the metrics an alarm watches: its own, or those of
// its metric math.
func alarmMetrics(alarm *yaml.Node) []metric {
	p := get(alarm, "Properties")
	read := func(ns, name, dims *yaml.Node) metric {
		m := metric{Namespace: scalar(ns), Name: scalar(name), Dimensions: map[string]string{}}
		for _, d := range items(dims) {
			v := get(d, "Value")
			m.Dimensions[scalar(get(d, "Name"))] = refName(v) + scalar(v)
		}
		return m
	}
	if get(p, "MetricName") != nil {
		return []metric{read(get(p, "Namespace"), get(p, "MetricName"), get(p, "Dimensions"))}
	}
	var out []metric
	for _, q := range items(get(p, "Metrics")) {
		if m := get(q, "MetricStat", "Metric"); m != nil {
			out = append(out, read(get(m, "Namespace"), get(m, "MetricName"), get(m, "Dimensions")))
		}
	}
	return out
}

// TestAlarmsWatchFailures checks that some alarm watches each way the
// platform fails: the ticket, refresh failures, accounts needing
// reauthorization, authorizations lost, 5xx answers, and every function's throttles and errors.
func TestAlarmsWatchFailures(t *testing.T) {
	_, tpl := readTemplate(t)
	watched := map[string]bool{}
	for _, alarm := range resources(tpl, "AWS::CloudWatch::Alarm") {
		for _, m := range alarmMetrics(alarm) {
			watched[m.String()] = true
		}
	}
	stage := map[string]string{"Stage": "Stage"}
	want := []metric{
		{emf.Namespace, "TicketAge", stage},
		{emf.Namespace, "Failed", stage},
		{emf.Namespace, "NeedsReauth", stage},
		{emf.Namespace, "AuthorizationLost", stage},
		{"AWS/ApiGateway", "5xx", map[string]string{"ApiId": "HttpApi"}},
	}
	for id := range resources(tpl, "AWS::Serverless::Function") {
		fn := map[string]string{"FunctionName": id}
		want = append(want, metric{"AWS/Lambda", "Throttles", fn}, metric{"AWS/Lambda", "Errors", fn})
	}
	for _, m := range want {
		if !watched[m.String()] {
			t.Errorf("no alarm watches %s", m)
		}
	}

	// A missing ticket shows as missing data: the refresh job reports no
	// TicketAge without one.
	for id, alarm := range resources(tpl, "AWS::CloudWatch::Alarm") {
		p := get(alarm, "Properties")
		if ms := alarmMetrics(alarm); len(ms) == 1 && ms[0].Name == "TicketAge" {
			if scalar(get(p, "TreatMissingData")) != "breaching" || scalar(get(p, "Threshold")) != "1800" {
				t.Errorf("%s: TreatMissingData %q, Threshold %q; want breaching, 1800 (30 minutes)", id,
					scalar(get(p, "TreatMissingData")), scalar(get(p, "Threshold")))
			}
		}
	}
}

// TestAlarmNotifications renders the template with and without AlarmEmail:
// with it, every alarm notifies the one topic, which emails AlarmEmail;
// without it, there is no topic and no alarm action.
func TestAlarmNotifications(t *testing.T) {
	off := renderVariant(t, nil)
	if n := typesOf(off); n["AWS::SNS::Topic"]+n["AWS::SNS::Subscription"] != 0 {
		t.Errorf("without AlarmEmail: %d topics, %d subscriptions", n["AWS::SNS::Topic"], n["AWS::SNS::Subscription"])
	}
	for id, alarm := range resources(off, "AWS::CloudWatch::Alarm") {
		for _, actions := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			if get(alarm, "Properties", actions) != nil {
				t.Errorf("without AlarmEmail: %s has %s", id, actions)
			}
		}
	}

	on := renderVariant(t, map[string]string{"AlarmEmail": "ops@example.com"})
	var topics []string
	for id := range resources(on, "AWS::SNS::Topic") {
		topics = append(topics, id)
	}
	if len(topics) != 1 {
		t.Fatalf("with AlarmEmail: topics %v, want one", topics)
	}
	subscribed := false
	for _, sub := range resources(on, "AWS::SNS::Subscription") {
		p := get(sub, "Properties")
		subscribed = subscribed || refName(get(p, "TopicArn")) == topics[0] &&
			scalar(get(p, "Protocol")) == "email" && refName(get(p, "Endpoint")) == "AlarmEmail"
	}
	if !subscribed {
		t.Error("with AlarmEmail: no email subscription of AlarmEmail to the topic")
	}
	for id, alarm := range resources(on, "AWS::CloudWatch::Alarm") {
		if got := refs(get(alarm, "Properties", "AlarmActions")); !slices.Equal(got, topics) {
			t.Errorf("with AlarmEmail: %s notifies %v, want %v", id, got, topics)
		}
		if ok := get(alarm, "Properties", "OKActions"); ok != nil && !slices.Equal(refs(ok), topics) {
			t.Errorf("with AlarmEmail: %s's OKActions notify %v, want %v", id, refs(ok), topics)
		}
	}
}

// TestAlarmMetricsMatchRefreshEMF runs the refresh job, and has the
// accounts service lose an authorization, and checks that every alarm on
// their namespace names a metric their Embedded Metric Format lines
// declare, with the same dimensions, so a renamed metric cannot leave an
// alarm watching nothing.
func TestAlarmMetricsMatchRefreshEMF(t *testing.T) {
	declared := map[string]bool{}
	for _, line := range [][]byte{refreshEMF(t), lostEMF(t)} {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		for _, d := range doc.AWS.CloudWatchMetrics {
			for _, dims := range d.Dimensions {
				slices.Sort(dims)
				for _, m := range d.Metrics {
					declared[d.Namespace+" "+m.Name+" "+strings.Join(dims, ",")] = true
				}
			}
		}
	}

	_, tpl := readTemplate(t)
	for id, alarm := range resources(tpl, "AWS::CloudWatch::Alarm") {
		for _, m := range alarmMetrics(alarm) {
			if m.Namespace != emf.Namespace {
				continue
			}
			dims := slices.Sorted(maps.Keys(m.Dimensions))
			if key := m.Namespace + " " + m.Name + " " + strings.Join(dims, ","); !declared[key] {
				t.Errorf("%s watches %s with dimensions %v, which the platform does not report (it reports %v)", id, m.Name, dims, slices.Sorted(maps.Keys(declared)))
			}
		}
	}
	// The dimension's value comes from the functions' STAGE variable.
	if got := refName(get(tpl, "Globals", "Function", "Environment", "Variables", "STAGE")); got != "Stage" {
		t.Errorf("STAGE is %q, want the Stage parameter the alarms' dimension names", got)
	}
}

// lostEMF has the accounts service, as deployed with STAGE set, take a
// pushed authorization whose code WeChat refuses, and returns the metric
// line it writes.
func lostEMF(t *testing.T) []byte {
	t.Helper()
	ctx := t.Context()
	clock := wechatsim.NewClock(samples.Start())
	sim := wechatsim.New(wechatsim.Options{Clock: clock, TicketInterval: -1})
	t.Cleanup(sim.Close)
	if err := samples.SetUpSim(ctx, sim); err != nil {
		t.Fatal(err)
	}
	wx := httptest.NewServer(samples.StandIn(sim))
	t.Cleanup(wx.Close)
	st := simtest.OpenStore(t, clock.Now)
	err := st.PutTicket(ctx, store.Ticket{ComponentAppID: samples.ComponentAppID, Ticket: samples.Ticket, CreateTime: clock.Now(), ReceivedAt: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err := platform.New(platform.Options{Config: samples.Config(wx.URL, wx.URL), Store: st, Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: &out, Stage: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: 61010})
	err = p.Accounts.AuthorizePushed(ctx, accounts.Pushed{InfoType: "authorized", AuthorizerAppID: samples.AuthorizerAppID, Code: samples.AuthCode})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"AuthorizationLost":1`)) {
		t.Fatalf("no AuthorizationLost line: %q", out.String())
	}
	return out.Bytes()
}

// refreshEMF runs one refresh with a live ticket, as the deployed job runs
// with STAGE set, and returns its metric line.
func refreshEMF(t *testing.T) []byte {
	t.Helper()
	ctx := t.Context()
	clock := wechatsim.NewClock(samples.Start())
	sim := wechatsim.New(wechatsim.Options{Clock: clock, TicketInterval: -1})
	t.Cleanup(sim.Close)
	if err := samples.SetUpSim(ctx, sim); err != nil {
		t.Fatal(err)
	}
	wx := httptest.NewServer(samples.StandIn(sim))
	t.Cleanup(wx.Close)
	st := simtest.OpenStore(t, clock.Now)
	err := st.PutTicket(ctx, store.Ticket{
		ComponentAppID: samples.ComponentAppID, Ticket: samples.Ticket,
		CreateTime: clock.Now().Add(-3 * time.Minute), ReceivedAt: clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(platform.Options{
		Config: samples.Config(wx.URL, wx.URL), Store: st, Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = refresh.Run(ctx, refresh.Options{
		Store: p.Store, Tokens: p.Tokens, WeChat: p.WeChat, Now: p.Now,
		Logger: p.Logger, Metrics: &out, Stage: "prod",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"TicketAge"`) {
		t.Fatalf("the run reported no TicketAge: %s", out.String())
	}
	return bytes.TrimSpace(out.Bytes())
}

// TestLogsAreJSONAndRetained checks that every function logs JSON to a log
// group of the stack with the retention parameter, and so does the API.
func TestLogsAreJSONAndRetained(t *testing.T) {
	_, tpl := readTemplate(t)
	if got := scalar(get(tpl, "Globals", "Function", "LoggingConfig", "LogFormat")); got != "JSON" {
		t.Errorf("Globals LogFormat is %q, want JSON", got)
	}
	retained := func(owner, group string) {
		t.Helper()
		lg := get(tpl, "Resources", group)
		if scalar(get(lg, "Type")) != "AWS::Logs::LogGroup" {
			t.Errorf("%s logs to %q, not a log group of the stack", owner, group)
			return
		}
		if refName(get(lg, "Properties", "RetentionInDays")) != "LogRetentionDays" {
			t.Errorf("%s's log group %s does not keep logs for LogRetentionDays", owner, group)
		}
	}
	for id, fn := range resources(tpl, "AWS::Serverless::Function") {
		retained(id, refName(get(fn, "Properties", "LoggingConfig", "LogGroup")))
	}
	for id, api := range resources(tpl, "AWS::Serverless::HttpApi") {
		group, _ := strings.CutSuffix(intrinsicArg(get(api, "Properties", "AccessLogSettings", "DestinationArn")), ".Arn")
		retained(id, group)
	}
}

// TestScheduleSendsTheSample checks that the refresh schedule's Input is
// what events/refresh-schedule.json holds.
func TestScheduleSendsTheSample(t *testing.T) {
	_, tpl := readTemplate(t)
	fn := get(tpl, "Resources", "RefreshFunction")
	var inputs []string
	for _, ev := range entries(get(fn, "Properties", "Events")) {
		if scalar(get(ev, "Type")) == "ScheduleV2" {
			inputs = append(inputs, scalar(get(ev, "Properties", "Input")))
		}
	}
	evs, err := samples.Events(samples.Start())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(evs, func(e samples.Event) bool { return e.Function == routes.Refresh })
	if i < 0 {
		t.Fatal("no sample for the refresh function")
	}
	var want, got any
	if err := json.Unmarshal(evs[i].Payload, &want); err != nil {
		t.Fatal(err)
	}
	if len(inputs) != 1 || json.Unmarshal([]byte(inputs[0]), &got) != nil {
		t.Fatalf("schedule inputs %q, want one JSON document", inputs)
	}
	if !jsonEqual(got, want) {
		t.Errorf("the schedule sends %s, the sample %s is %s", inputs[0], evs[i].Name, evs[i].Payload)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
