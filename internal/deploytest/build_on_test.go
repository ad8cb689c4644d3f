package deploytest

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// TestReaderPolicyIsReadOnly checks the policy other Lambdas attach
// (TokenReaderPolicyArn): GetItem of the token attributes of token items
// and invoking the token function, nothing else. No SSM, no KMS, no write,
// and a refresh token or a ticket never readable.
func TestReaderPolicyIsReadOnly(t *testing.T) {
	tpl := renderVariant(t, nil)
	if got := refName(get(tpl, "Outputs", "TokenReaderPolicyArn", "Value")); got != "TokenReaderPolicy" {
		t.Fatalf("TokenReaderPolicyArn exports %q, want TokenReaderPolicy", got)
	}
	sts := statements(get(tpl, "Resources", "TokenReaderPolicy", "Properties", "PolicyDocument", "Statement"))
	if len(sts) == 0 {
		t.Fatal("TokenReaderPolicy has no statements")
	}
	granted := map[string]*yaml.Node{}
	for _, st := range sts {
		if scalar(get(st, "Effect")) != "Allow" {
			continue
		}
		for _, action := range scalars(get(st, "Action")) {
			granted[strings.ToLower(action)] = st
			switch strings.ToLower(action) {
			case "dynamodb:getitem", "lambda:invokefunction":
			default:
				t.Errorf("TokenReaderPolicy grants %s; want only dynamodb:GetItem and lambda:InvokeFunction", action)
			}
		}
	}

	get1 := granted["dynamodb:getitem"]
	if get1 == nil {
		t.Fatal("TokenReaderPolicy does not grant dynamodb:GetItem")
	}
	if got := intrinsicArg(get(get1, "Resource")); got != "Table.Arn" {
		t.Errorf("GetItem on %q, want the table (Table.Arn) and not its indexes", got)
	}
	cond := get(get1, "Condition")
	attrs := scalars(get(cond, "ForAllValues:StringEquals", "dynamodb:Attributes"))
	if !slices.Equal(attrs, dynamo.TokenAttributes) {
		t.Errorf("GetItem is limited to attributes %q, want exactly what dynamo.TokenItems reads, %q", attrs, dynamo.TokenAttributes)
	}
	for _, secret := range []string{"refresh_token", "ticket", "customer_ref"} {
		if slices.Contains(attrs, secret) {
			t.Errorf("readers may read %s", secret)
		}
	}
	if got := scalar(get(cond, "StringEqualsIfExists", "dynamodb:Select")); got != "SPECIFIC_ATTRIBUTES" {
		t.Errorf("dynamodb:Select is %q, want SPECIFIC_ATTRIBUTES: without it a GetItem without projection reads the whole item", got)
	}
	keys := scalars(get(cond, "ForAllValues:StringLike", "dynamodb:LeadingKeys"))
	if !slices.Equal(keys, []string{"COMPONENT#*", "AUTHORIZER#*"}) {
		t.Errorf("GetItem is limited to partition keys %q, want the component's and the authorizers'", keys)
	}

	invoke := granted["lambda:invokefunction"]
	if invoke == nil {
		t.Fatal("TokenReaderPolicy does not grant lambda:InvokeFunction")
	}
	if got := intrinsicArg(get(invoke, "Resource")); got != "TokenFunction.Arn" {
		t.Errorf("InvokeFunction on %q, want the token function (TokenFunction.Arn)", got)
	}
}

// TestTokenFunctionHasNoRoute: the token function is invoked through IAM
// only, never through the HTTP API or a resource policy of its own.
func TestTokenFunctionHasNoRoute(t *testing.T) {
	tpl := renderVariant(t, nil)
	fn := get(tpl, "Resources", "TokenFunction")
	if fn == nil {
		t.Fatal("no TokenFunction")
	}
	if ev := get(fn, "Properties", "Events"); ev != nil {
		t.Errorf("TokenFunction has events: %s", nodeString(ev))
	}
	if get(fn, "Properties", "FunctionUrlConfig") != nil {
		t.Error("TokenFunction has a function URL")
	}
	for id := range resources(tpl, "AWS::Lambda::Permission") {
		t.Errorf("%s: a resource policy would let callers around IAM", id)
	}
}

// TestReplyHook checks the ReplyHookFunction parameter: unset, the message
// function has no hook and may invoke nothing; set to a name or an ARN, it
// gets WX_REPLY_HOOK and may invoke exactly that function.
func TestReplyHook(t *testing.T) {
	tests := []struct {
		hook     string
		resource string // the invoke statement's Resource, as written
	}{
		{"", ""},
		{"saas-reply-hook", `!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${ReplyHookFunction}`},
		{"arn:aws:lambda:eu-west-1:123456789012:function:saas-reply-hook:live", `!Ref ReplyHookFunction`},
	}
	for _, tt := range tests {
		tpl := renderVariant(t, map[string]string{"ReplyHookFunction": tt.hook})
		fn := get(tpl, "Resources", "MessageFunction", "Properties")
		env := get(fn, "Environment", "Variables", "WX_REPLY_HOOK")
		if got := env != nil; got != (tt.hook != "") {
			t.Errorf("ReplyHookFunction %q: WX_REPLY_HOOK set = %v", tt.hook, got)
		}
		if env != nil && refName(env) != "ReplyHookFunction" {
			t.Errorf("ReplyHookFunction %q: WX_REPLY_HOOK = %s, want a Ref to the parameter", tt.hook, nodeString(env))
		}
		var invokes []string
		for id, res := range resources(tpl, "AWS::Serverless::Function") {
			for _, policy := range items(get(res, "Properties", "Policies")) {
				for _, st := range statements(get(policy, "Statement")) {
					if slices.Contains(scalars(get(st, "Action")), "lambda:InvokeFunction") {
						invokes = append(invokes, id+" "+nodeString(get(st, "Resource")))
					}
				}
			}
		}
		var want []string
		if tt.resource != "" {
			want = []string{"MessageFunction " + tt.resource}
		}
		if !slices.Equal(invokes, want) {
			t.Errorf("ReplyHookFunction %q: functions may invoke %q, want %q", tt.hook, invokes, want)
		}
	}
}
