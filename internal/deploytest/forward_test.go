package deploytest

import (
	"slices"
	"strings"
	"testing"
)

// TestMessageForwarding checks the EventBusName parameter: without it no
// function has a bus or the right to put events; with it, every function
// gets exactly that bus in both places (WX_EVENT_BUS, which package
// message/eventbus reads for messages and lifecycle events alike).
func TestMessageForwarding(t *testing.T) {
	tests := []struct {
		bus  string
		want bool
	}{
		{"", false},
		{"platform-events", true},
	}
	for _, tt := range tests {
		tpl := renderVariant(t, map[string]string{"EventBusName": tt.bus})
		env := get(tpl, "Globals", "Function", "Environment", "Variables", "WX_EVENT_BUS")
		if got := env != nil; got != tt.want {
			t.Errorf("EventBusName %q: WX_EVENT_BUS set = %v, want %v", tt.bus, got, tt.want)
		}
		if env != nil && refName(env) != "EventBusName" {
			t.Errorf("EventBusName %q: WX_EVENT_BUS = %v, want a Ref to EventBusName", tt.bus, scalar(env))
		}
		for id, fn := range resources(tpl, "AWS::Serverless::Function") {
			if get(fn, "Properties", "Environment", "Variables", "WX_EVENT_BUS") != nil {
				t.Errorf("%s sets WX_EVENT_BUS itself", id)
			}
			var puts []string
			for _, policy := range items(get(fn, "Properties", "Policies")) {
				if name := refName(policy); name != "" {
					policy = get(tpl, "Resources", name, "Properties", "PolicyDocument")
				}
				for _, st := range statements(get(policy, "Statement")) {
					if strings.Contains(scalar(get(st, "Action")), "events:PutEvents") {
						puts = append(puts, nodeString(get(st, "Resource")))
					}
				}
			}
			var want []string
			if tt.want {
				want = []string{`!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}`}
			}
			if !slices.Equal(puts, want) {
				t.Errorf("EventBusName %q: %s may put events on %q, want %q", tt.bus, id, puts, want)
			}
		}
	}
}
