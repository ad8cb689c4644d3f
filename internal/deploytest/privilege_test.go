package deploytest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

// What a role may do to the table's items, by partition key prefix: delete
// only ephemeral items (leases, seen records, and the pending exchanges'
// partition); and, for the internet-facing
// message function, write authorizer items only of the release check's
// test accounts.
const (
	deletablePrefixes = "LEASE# DEDUP#"
	pendingPartition  = "PENDING"
	authorizerPrefix  = "AUTHORIZER#"
	// functionTokensPolicy is what the stack's functions use shared/tokens
	// with; the policy other Lambdas get (TokenReaderPolicy) reads no secret
	// at all (TestReaderPolicyIsReadOnly).
	functionTokensPolicy = "FunctionTokensPolicy"
)

// dynamoWrites are the DynamoDB actions that change items.
var dynamoWrites = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:BatchWriteItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}

// ssmParameter matches an SSM parameter ARN built for one name below the
// prefix: "…:parameter${Prefix}component_appid".
var ssmParameter = regexp.MustCompile(`:parameter\$\{Prefix\}([a-z_]+)$`)

// checkLeastPrivilege returns every grant of the rendered template tpl
// beyond what each function uses: deletes of anything but leases and seen
// records, item writes without a partition-key condition, SSM reads other
// than GetParameters of exact parameter names, a function's parameters other
// than platform.Secrets gives it, FunctionTokensPolicy's other than the
// component's appid and AppSecret, and writes of authorizer items by the
// message function other than the release check's test accounts.
func checkLeastPrivilege(tpl *yaml.Node) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	managed := map[string][]*yaml.Node{}
	for id, res := range resources(tpl, "AWS::IAM::ManagedPolicy") {
		managed[id] = statements(get(res, "Properties", "PolicyDocument", "Statement"))
	}
	if sts, ok := managed[functionTokensPolicy]; !ok {
		report("no %s for the functions", functionTokensPolicy)
	} else if got := ssmSecrets(functionTokensPolicy, sts, report); got != platform.TokenReaderSecrets {
		report("%s: reads SSM parameters %q, want %q", functionTokensPolicy, got.Params(), platform.TokenReaderSecrets.Params())
	}

	for id, res := range resources(tpl, "AWS::Serverless::Function") {
		var sts []*yaml.Node
		for _, p := range items(get(res, "Properties", "Policies")) {
			if name := refName(p); name != "" {
				sts = append(sts, managed[name]...)
			} else {
				sts = append(sts, statements(get(p, "Statement"))...)
			}
		}
		fn := functionName(id)
		if got, want := ssmSecrets(id, sts, report), platform.Secrets(fn); got != want {
			report("%s: reads SSM parameters %q, want %q (platform.Secrets)", id, got.Params(), want.Params())
		}
		for _, st := range sts {
			if scalar(get(st, "Effect")) != "Allow" {
				continue
			}
			actions := scalars(get(st, "Action"))
			op, keys := leadingKeys(st)
			writes := slices.ContainsFunc(actions, func(a string) bool { return slices.Contains(dynamoWrites, a) })
			if writes && keys == nil {
				report("%s: %q without a dynamodb:LeadingKeys condition", id, actions)
				continue
			}
			if slices.Contains(actions, "dynamodb:DeleteItem") {
				for _, k := range keys {
					if k == pendingPartition && strings.HasSuffix(op, "StringEquals") {
						continue
					}
					if prefix, _, _ := strings.Cut(k, "#"); !slices.Contains(strings.Fields(deletablePrefixes), prefix+"#") || !strings.HasSuffix(k, "#*") {
						report("%s: may delete items under %q; only %s are ephemeral", id, k, deletablePrefixes)
					}
				}
			}
			if fn == routes.Message && writes {
				for _, k := range keys {
					if !strings.HasPrefix(k, authorizerPrefix) {
						continue
					}
					appID := strings.TrimPrefix(k, authorizerPrefix)
					if !strings.HasSuffix(op, "StringEquals") || !isReleaseAccount(appID) {
						report("%s: may write authorizer items under %q (%s); only the release check's test accounts", id, k, op)
					}
				}
			}
		}
	}
	return problems
}

func isReleaseAccount(appID string) bool {
	for _, a := range message.ReleaseAccounts() {
		if a.AppID == appID {
			return true
		}
	}
	return false
}

// leadingKeys returns a statement's dynamodb:LeadingKeys condition: its
// operator ("ForAllValues:StringLike") and values; nil when it has none.
func leadingKeys(st *yaml.Node) (string, []string) {
	for op, cond := range entries(get(st, "Condition")) {
		if v := get(cond, "dynamodb:LeadingKeys"); v != nil && strings.HasPrefix(op, "ForAllValues:") {
			keys := scalars(v)
			if keys == nil {
				keys = []string{}
			}
			return op, keys
		}
	}
	return "", nil
}

// ssmSecrets returns the secrets the statements let their holder read,
// reporting every SSM grant that is not GetParameters of parameters named
// exactly.
func ssmSecrets(owner string, sts []*yaml.Node, report func(string, ...any)) config.Secrets {
	var got config.Secrets
	for _, st := range sts {
		var ssm bool
		for _, a := range scalars(get(st, "Action")) {
			if strings.HasPrefix(a, "ssm:") {
				ssm = true
				if a != "ssm:GetParameters" {
					report("%s: %s; functions read their parameters by name with ssm:GetParameters", owner, a)
				}
			}
		}
		if !ssm {
			continue
		}
		res := get(st, "Resource")
		if res.Kind != yaml.SequenceNode || isIntrinsic(res) {
			res = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{res}}
		}
		for _, r := range res.Content {
			m := ssmParameter.FindStringSubmatch(subTemplate(r))
			if m == nil {
				report("%s: SSM resource at line %d is not one parameter below the prefix", owner, r.Line)
				continue
			}
			bit := secretOf(m[1])
			if bit == 0 {
				report("%s: SSM parameter %q is none of the platform's secrets", owner, m[1])
			}
			got |= bit
		}
	}
	return got
}

// subTemplate returns the template string of a !Sub (short or long form,
// with or without a variable map), else "".
func subTemplate(n *yaml.Node) string {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Fn::Sub" {
		return ""
	}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) > 0 {
		return arg.Content[0].Value
	}
	return arg.Value
}

func secretOf(param string) config.Secrets {
	for i, p := range config.AllSecrets.Params() {
		if p == param {
			return config.Secrets(1) << i
		}
	}
	return 0
}

// TestLeastPrivilege checks every variant of the template as
// CloudFormation deploys it.
func TestLeastPrivilege(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			reportAll(t, checkLeastPrivilege(renderVariant(t, v.params)))
		})
	}
}

func TestCheckLeastPrivilege(t *testing.T) {
	param := func(name string) string {
		return `!Sub ["arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Prefix}` + name + `", {Prefix: /p/}]`
	}
	base := `Resources:
  FunctionTokensPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: [dynamodb:GetItem, dynamodb:PutItem]
            Resource: !GetAtt Table.Arn
            Condition:
              ForAllValues:StringLike:
                dynamodb:LeadingKeys: ["COMPONENT#*", "AUTHORIZER#*", "LEASE#*"]
          - Effect: Allow
            Action: dynamodb:DeleteItem
            Resource: !GetAtt Table.Arn
            Condition:
              ForAllValues:StringLike:
                dynamodb:LeadingKeys: ["LEASE#*"]
          - Effect: Allow
            Action: ssm:GetParameters
            Resource: [` + param("component_appid") + `, ` + param("component_appsecret") + `]
  PushSecrets:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: ssm:GetParameters
            Resource: [` + param("component_token") + `, ` + param("component_encoding_aes_key") + `]
  RefreshFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - !Ref FunctionTokensPolicy
  AuthorizeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - !Ref FunctionTokensPolicy
        - Statement:
            - Effect: Allow
              Action: ssm:GetParameters
              Resource: ` + param("state_secret") + `
  MessageFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - !Ref PushSecrets
        - Statement:
            - Effect: Allow
              Action: ssm:GetParameters
              Resource: [` + param("component_appid") + `, ` + param("component_appsecret") + `]
            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringEquals:
                  dynamodb:LeadingKeys: ["AUTHORIZER#wx570bc396a51b8ff8"]
            - Effect: Allow
              Action: [dynamodb:PutItem, dynamodb:DeleteItem]
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: ["DEDUP#*"]
`
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"least", "", "", nil},
		{"delete anything", `dynamodb:LeadingKeys: ["LEASE#*"]`, `dynamodb:LeadingKeys: ["*"]`,
			[]string{`RefreshFunction: may delete items under "*"`, `AuthorizeFunction: may delete items under "*"`}},
		{"delete authorizers", `dynamodb:LeadingKeys: ["LEASE#*"]`, `dynamodb:LeadingKeys: ["LEASE#*", "AUTHORIZER#*"]`,
			[]string{`RefreshFunction: may delete items under "AUTHORIZER#*"`, `AuthorizeFunction: may delete items under "AUTHORIZER#*"`}},
		{"delete without a condition", "            Action: dynamodb:DeleteItem\n            Resource: !GetAtt Table.Arn\n            Condition:\n              ForAllValues:StringLike:\n                dynamodb:LeadingKeys: [\"LEASE#*\"]\n",
			"            Action: dynamodb:DeleteItem\n            Resource: !GetAtt Table.Arn\n",
			[]string{`RefreshFunction: ["dynamodb:DeleteItem"] without`, `AuthorizeFunction: ["dynamodb:DeleteItem"] without`}},
		{"every parameter by path", `Action: ssm:GetParameters
            Resource: [` + param("component_appid"), `Action: [ssm:GetParameters, ssm:GetParametersByPath]
            Resource: [` + param("component_appid"),
			[]string{"FunctionTokensPolicy: ssm:GetParametersByPath", "RefreshFunction: ssm:GetParametersByPath", "AuthorizeFunction: ssm:GetParametersByPath"}},
		{"every parameter under the prefix", param("component_appsecret") + `]
  PushSecrets`, `!Sub "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/p/*"]
  PushSecrets`,
			[]string{"FunctionTokensPolicy: SSM resource", "FunctionTokensPolicy: reads SSM parameters", "RefreshFunction: SSM resource", "RefreshFunction: reads", "AuthorizeFunction: SSM resource", "AuthorizeFunction: reads"}},
		{"state secret for token readers", param("component_appsecret") + `]
  PushSecrets`, param("component_appsecret") + `, ` + param("state_secret") + `]
  PushSecrets`,
			[]string{`FunctionTokensPolicy: reads SSM parameters ["component_appid" "component_appsecret" "state_secret"]`, "RefreshFunction: reads SSM parameters"}},
		{"no state secret for authorize", "              Resource: " + param("state_secret"), "              Resource: " + param("component_appid"),
			[]string{`AuthorizeFunction: reads SSM parameters ["component_appid" "component_appsecret"], want`}},
		{"an unknown parameter", "              Resource: " + param("state_secret"), "              Resource: [" + param("state_secret") + ", " + param("other") + "]",
			[]string{`AuthorizeFunction: SSM parameter "other"`}},
		{"message writes any authorizer", `ForAllValues:StringEquals:
                  dynamodb:LeadingKeys: ["AUTHORIZER#wx570bc396a51b8ff8"]`, `ForAllValues:StringLike:
                  dynamodb:LeadingKeys: ["AUTHORIZER#*"]`,
			[]string{`MessageFunction: may write authorizer items under "AUTHORIZER#*"`}},
		{"message writes a merchant's authorizer", `"AUTHORIZER#wx570bc396a51b8ff8"`, `"AUTHORIZER#wx570bc396a51b8ff8", "AUTHORIZER#wx0123456789abcdef"`,
			[]string{`MessageFunction: may write authorizer items under "AUTHORIZER#wx0123456789abcdef"`}},
		{"message writes without a condition", `            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringEquals:
                  dynamodb:LeadingKeys: ["AUTHORIZER#wx570bc396a51b8ff8"]
`, `            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt Table.Arn
`, []string{`MessageFunction: ["dynamodb:PutItem"] without`}},
		{"message with FunctionTokensPolicy", "        - !Ref PushSecrets\n", "        - !Ref PushSecrets\n        - !Ref FunctionTokensPolicy\n",
			[]string{`MessageFunction: may write authorizer items under "AUTHORIZER#*"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("base does not contain %q", tt.old)
				}
				src = strings.ReplaceAll(src, tt.old, tt.new)
			}
			tpl, err := parseYAML([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			expectProblems(t, checkLeastPrivilege(tpl), tt.want)
		})
	}
}
