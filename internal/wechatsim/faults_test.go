package wechatsim

import "testing"

func TestFaultTimesCountPerAccount(t *testing.T) {
	type call struct {
		authorizer string
		want       bool
	}
	tests := []struct {
		name  string
		fault Fault
		calls []call
	}{
		{
			name:  "each listed account has its own Times",
			fault: Fault{ErrCode: -1, Times: 1, Authorizers: []string{"a", "b"}},
			// a's retry must not use up b's one fault.
			calls: []call{{"a", true}, {"a", false}, {"b", true}, {"b", false}, {"c", false}},
		},
		{
			name:  "Times 2 per account",
			fault: Fault{ErrCode: -1, Times: 2, Authorizers: []string{"a", "b"}},
			calls: []call{{"a", true}, {"b", true}, {"a", true}, {"a", false}, {"b", true}, {"b", false}},
		},
		{
			name:  "without Authorizers, Times counts every call",
			fault: Fault{ErrCode: -1, Times: 2},
			calls: []call{{"a", true}, {"b", true}, {"a", false}, {"", false}},
		},
		{
			name:  "without Times, until cleared",
			fault: Fault{ErrCode: -1, Authorizers: []string{"a"}},
			calls: []call{{"a", true}, {"a", true}, {"b", false}, {"a", true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Sim{}
			s.Fault(APIAuthorizerToken, tt.fault)
			for i, c := range tt.calls {
				if _, got, _ := s.faults.take(APIAuthorizerToken, c.authorizer); got != c.want {
					t.Fatalf("call %d about %q: fault applied %v, want %v", i, c.authorizer, got, c.want)
				}
			}
		})
	}
}
