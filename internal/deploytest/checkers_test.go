package deploytest

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

// The checks above only mean something if they fail on a broken repository:
// these tests break a small valid one in each way and expect exactly the
// problems that way should cause.

const fixtureTemplate = `Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  TicketFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: .
      Events:
        Push: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: POST, Path: /ticket, PayloadFormatVersion: "2.0"}}
  AuthorizeFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: .
      Events:
        Page: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: get, Path: /authorize, PayloadFormatVersion: "2.0"}}
        Back: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: GET, Path: "/back/{appid}", PayloadFormatVersion: "2.0"}}
  RefreshFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: .
      Events:
        Tick: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(5 minutes)}}
`

const fixtureMakefile = `build-TicketFunction:
	go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/ticket
build-AuthorizeFunction:
	go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorize
build-RefreshFunction:
	go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/refresh
`

var fixtureRoutes = []routes.Route{
	{Function: "ticket", Method: "POST", Path: "/ticket"},
	{Function: "authorize", Method: "GET", Path: "/authorize"},
	{Function: "authorize", Method: "GET", Path: "/back/{appid}"},
}

func fixtureRepo() fstest.MapFS {
	main := &fstest.MapFile{Data: []byte("package main\n")}
	return fstest.MapFS{
		"template.yaml":               {Data: []byte(fixtureTemplate)},
		"Makefile":                    {Data: []byte(fixtureMakefile)},
		"functions/ticket/main.go":    main,
		"functions/authorize/main.go": main,
		"functions/refresh/main.go":   main,
	}
}

// replace changes old to new in one file of fsys; old must be there, so a
// case cannot pass by no longer matching the fixture.
func replace(t *testing.T, fsys fstest.MapFS, file, old, new string) {
	t.Helper()
	data := string(fsys[file].Data)
	if !strings.Contains(data, old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	fsys[file] = &fstest.MapFile{Data: []byte(strings.Replace(data, old, new, 1))}
}

// expectProblems checks that got holds exactly one problem per want
// substring, and nothing else.
func expectProblems(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		n := 0
		for _, g := range got {
			if strings.Contains(g, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d problems contain %q, want 1:\n%s", n, w, strings.Join(got, "\n"))
		}
	}
}

func TestCheckRepo(t *testing.T) {
	const tpl = "template.yaml"
	tests := []struct {
		name   string
		mutate func(t *testing.T, fsys fstest.MapFS)
		want   []string
	}{
		{"valid", func(*testing.T, fstest.MapFS) {}, nil},
		{"long-form Ref", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "ApiId: !Ref Api, Method: POST", "ApiId: {Ref: Api}, Method: POST")
		}, nil},
		{"route missing", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "        Back: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: GET, Path: \"/back/{appid}\", PayloadFormatVersion: \"2.0\"}}\n", "")
		}, []string{"missing route GET /back/{appid} -> AuthorizeFunction"}},
		{"wrong method", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "Method: POST, Path: /ticket", "Method: PUT, Path: /ticket")
		}, []string{"missing route POST /ticket -> TicketFunction", "route PUT /ticket -> TicketFunction is not in package routes"}},
		{"route on the wrong function", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "Push: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: POST, Path: /ticket", "Push: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: POST, Path: /ticket2")
			replace(t, fsys, tpl, "Path: /authorize,", "Path: /ticket,")
			replace(t, fsys, tpl, "Method: get,", "Method: POST,")
		}, []string{
			"missing route POST /ticket -> TicketFunction",
			"missing route GET /authorize -> AuthorizeFunction",
			"route POST /ticket -> AuthorizeFunction is not",
			"route POST /ticket2 -> TicketFunction is not",
		}},
		{"ApiId not an HttpApi", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "ApiId: !Ref Api, Method: POST", "ApiId: !Ref Other, Method: POST")
		}, []string{`ApiId "Other"`}},
		{"payload format 1.0", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, `/ticket, PayloadFormatVersion: "2.0"`, `/ticket, PayloadFormatVersion: "1.0"`)
		}, []string{`PayloadFormatVersion is "1.0"`}},
		{"no build method", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "Metadata: {BuildMethod: makefile}\n    Properties:\n      CodeUri: .\n      Events:\n        Push", "Properties:\n      CodeUri: .\n      Events:\n        Push")
		}, []string{`TicketFunction: Metadata.BuildMethod is ""`}},
		{"CodeUri in the function directory", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "CodeUri: .\n      Events:\n        Tick", "CodeUri: functions/refresh/\n      Events:\n        Tick")
		}, []string{`RefreshFunction: CodeUri is "functions/refresh/"`}},
		{"Makefile target missing", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, "Makefile", "build-RefreshFunction:", "build-refresh:")
		}, []string{"no target build-RefreshFunction"}},
		{"refresh not scheduled", func(t *testing.T, fsys fstest.MapFS) {
			replace(t, fsys, tpl, "Type: ScheduleV2", "Type: Schedule")
		}, []string{"RefreshFunction has no ScheduleV2 event"}},
		{"function directory without a function", func(t *testing.T, fsys fstest.MapFS) {
			fsys["functions/message/main.go"] = &fstest.MapFile{Data: []byte("package main\n")}
		}, []string{"functions/message has no MessageFunction"}},
		{"function without a directory", func(t *testing.T, fsys fstest.MapFS) {
			delete(fsys, "functions/authorize/main.go")
		}, []string{"AuthorizeFunction has no directory functions/authorize"}},
		{"no function directories", func(t *testing.T, fsys fstest.MapFS) {
			for name := range fsys {
				if strings.HasPrefix(name, "functions/") {
					delete(fsys, name)
				}
			}
		}, []string{
			"read the function directories",
			"TicketFunction has no directory",
			"AuthorizeFunction has no directory",
			"RefreshFunction has no directory",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fixtureRepo()
			tt.mutate(t, fsys)
			expectProblems(t, checkRepo(fsys, fixtureRoutes, "refresh"), tt.want)
		})
	}
}

func TestCheckSecrets(t *testing.T) {
	// Secret-shaped values are built here rather than written out, so that
	// no scanner of the repository mistakes this file for a leak.
	aesKey := strings.Repeat("Ab3", 14) + "x"
	hexSecret := strings.Repeat("0a1b", 8)
	appID := "wx" + strings.Repeat("0f", 8)

	clean := `Parameters:
  SSMPrefix: {Type: String, Default: ""}
Globals:
  Function:
    Environment:
      Variables:
        WX_TABLE: !Ref Table
        WX_SSM_PREFIX: !Sub "/wxcomponent/${Stage}/"
        WX_API_BASE: https://api.weixin.qq.com
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  F:
    Type: AWS::Serverless::Function
    Properties:
      Description: a path of 43 letters and slashes is not a key /abcdefghij/abcdefghij/abcdefghij/abcdefghi
`
	withEnv := func(name, value string) string {
		return strings.Replace(clean, "        WX_TABLE:", fmt.Sprintf("        %s: %s\n        WX_TABLE:", name, value), 1)
	}
	tests := []struct {
		name     string
		template string
		want     []string
	}{
		{"clean", clean, nil},
		{"AES key in the environment", withEnv("WX_COMPONENT_AES_KEY", aesKey), []string{
			"looks like an EncodingAESKey",
			"WX_COMPONENT_AES_KEY is named like a secret",
		}},
		{"AES key in a Sub", withEnv("CRYPTO", `!Sub "${Stage}-`+aesKey+`"`), []string{"looks like an EncodingAESKey"}},
		{"app secret in a comment", clean + "# " + hexSecret + "\n", []string{"looks like a 32-hex-digit secret"}},
		{"component appid", withEnv("WX_COMPONENT_APPID", appID), []string{"looks like a WeChat AppID"}},
		{"release check's test account", clean + "# AUTHORIZER#" + message.ReleaseAccounts()[0].AppID + "\n", nil},
		{"ticket", withEnv("LAST_TICKET", "ticket@@@abc"), []string{"looks like a WeChat ticket", "LAST_TICKET is a literal"}},
		{"dynamic reference", withEnv("WX_CONFIG", "'{{resolve:ssm:/wxcomponent/dev/component_appid}}'"), []string{
			"looks like a dynamic reference",
			"WX_CONFIG is a literal",
		}},
		{"secret-named variable from a parameter", withEnv("WX_COMPONENT_SECRET", "!Ref Secret"), []string{"WX_COMPONENT_SECRET is named like a secret"}},
		{"secret parameter", strings.Replace(clean, "  SSMPrefix:", "  AppSecret: {Type: String, NoEcho: true}\n  SSMPrefix:", 1), []string{"parameter AppSecret"}},
		{"SSM parameter resource", clean + "  P: {Type: AWS::SSM::Parameter}\n", []string{"resource P: a AWS::SSM::Parameter"}},
		{"literal mapping in the environment", withEnv("WX_OPTS", "{a: b}"), []string{"WX_OPTS is a literal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectProblems(t, checkSecrets([]byte(tt.template)), tt.want)
		})
	}
}

func TestCheckPolicies(t *testing.T) {
	const base = `Resources:
  Reader:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: [dynamodb:GetItem, dynamodb:Query]
            Resource: !GetAtt Table.Arn
          - Effect: Allow
            Action: ssm:GetParametersByPath
            Resource: !Sub "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/p/*"
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - !Ref Reader
        - Statement:
            Effect: Allow
            Action: dynamodb:DeleteItem
            Resource: !GetAtt Table.Arn
`
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"scoped", "", "", nil},
		{"wildcard action", "Action: dynamodb:DeleteItem", "Action: dynamodb:*", []string{`F: action "dynamodb:*" is a wildcard`}},
		{"scan", "[dynamodb:GetItem, dynamodb:Query]", "[dynamodb:GetItem, dynamodb:Scan]", []string{"Reader: dynamodb:Scan"}},
		{"any resource", "Resource: !GetAtt Table.Arn\n          - Effect", "Resource: \"*\"\n          - Effect", []string{`Reader: resource "*"`}},
		{"SAM policy template", "        - !Ref Reader\n", "        - DynamoDBCrudPolicy: {TableName: !Ref Table}\n", []string{"F: policy at line 17"}},
		{"AWS managed policy", "        - !Ref Reader\n", "        - AmazonDynamoDBFullAccess\n", []string{"F: policy at line 17"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("base does not contain %q", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			tpl, err := parseYAML([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			expectProblems(t, checkPolicies(tpl), tt.want)
		})
	}
}
