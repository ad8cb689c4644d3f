package deploytest

import (
	"strings"
	"testing"
)

// TestMessageForwarding checks the EventBusName parameter: without it the
// message function has no bus and no right to put events; with it, exactly
// that bus in both places, as package message/eventbus reads WX_EVENT_BUS.
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
		fn := get(tpl, "Resources", "MessageFunction", "Properties")
		env := get(fn, "Environment", "Variables", "WX_EVENT_BUS")
		if got := env != nil; got != tt.want {
			t.Errorf("EventBusName %q: WX_EVENT_BUS set = %v, want %v", tt.bus, got, tt.want)
		}
		if env != nil && refName(env) != "EventBusName" {
			t.Errorf("EventBusName %q: WX_EVENT_BUS = %v, want a Ref to EventBusName", tt.bus, scalar(env))
		}
		var puts []string
		for _, policy := range items(get(fn, "Policies")) {
			for _, st := range items(get(policy, "Statement")) {
				if strings.Contains(scalar(get(st, "Action")), "events:PutEvents") {
					puts = append(puts, scalar(get(st, "Resource")))
				}
			}
		}
		if got := len(puts) > 0; got != tt.want {
			t.Errorf("EventBusName %q: events:PutEvents granted = %v (%v), want %v", tt.bus, got, puts, tt.want)
		}
	}
}
