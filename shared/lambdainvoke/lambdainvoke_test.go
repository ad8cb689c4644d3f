package lambdainvoke_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/wxcomponent/wxcomponent/shared/lambdainvoke"
)

func TestCall(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    string
		wantErr any // a pointer to the error type wanted
	}{
		{"answer", 200, nil, `{"type":"none"}`, `{"type":"none"}`, nil},
		{"function error", 200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"errorMessage":"boom","errorType":"Exception"}`, "", new(*lambdainvoke.FunctionError)},
		{"no such function", 404, map[string]string{"X-Amzn-Errortype": "ResourceNotFoundException:http://internal.amazon.com/"}, `{"Type":"User","message":"Function not found"}`, "", new(*lambdainvoke.ServiceError)},
		{"throttled", 429, nil, `{"Type":"TooManyRequestsException","message":"Rate exceeded"}`, "", new(*lambdainvoke.ServiceError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var gotBody string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got, gotBody = r, string(b)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "SESSION")}
			env := map[string]string{lambdainvoke.EnvEndpoint: srv.URL + "/"}
			f := lambdainvoke.New(cfg, func(k string) string { return env[k] }, "arn:aws:lambda:us-east-1:123456789012:function:hook:live")
			answer, err := f.Call(t.Context(), []byte(`{"a":1}`))
			if got == nil {
				t.Fatal("no request reached the endpoint")
			}
			if got.Method != "POST" || got.URL.EscapedPath() != "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hook:live/invocations" {
				t.Errorf("request %s %s", got.Method, got.URL.EscapedPath())
			}
			if auth := got.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/us-east-1/lambda/aws4_request") {
				t.Errorf("Authorization %q is not a SigV4 signature for lambda", auth)
			}
			if got.Header.Get("X-Amz-Security-Token") != "SESSION" || got.Header.Get("X-Amz-Invocation-Type") != "RequestResponse" || gotBody != `{"a":1}` {
				t.Errorf("headers %v body %s", got.Header, gotBody)
			}
			if tt.wantErr == nil {
				if err != nil || string(answer) != tt.want {
					t.Errorf("answer %s, %v; want %s", answer, err, tt.want)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Errorf("err %v (%T), want a %T", err, err, tt.wantErr)
			}
			var se *lambdainvoke.ServiceError
			if errors.As(err, &se) && (se.Type == "" || strings.Contains(se.Type, ":") || se.Message == "") {
				t.Errorf("service error %+v: type or message missing", se)
			}
		})
	}
}

// TestCallGivesUpAtTheDeadline: a function that has not answered when the
// caller's context ends is an error wrapping the context's.
func TestCallGivesUpAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	f := lambdainvoke.New(cfg, func(k string) string { return map[string]string{lambdainvoke.EnvEndpoint: srv.URL}[k] }, "hook")
	ctx, cancel := context.WithCancelCause(t.Context())
	go cancel(context.DeadlineExceeded)
	_, err := f.Call(ctx, []byte(`{}`))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want the context's", err)
	}
}

func TestEndpoint(t *testing.T) {
	base := "http://base.test"
	tests := []struct {
		cfg  aws.Config
		env  string
		want string
	}{
		{aws.Config{Region: "eu-west-1"}, "", "lambda.eu-west-1.amazonaws.com"},
		{aws.Config{Region: "cn-north-1"}, "", "lambda.cn-north-1.amazonaws.com.cn"},
		{aws.Config{Region: "eu-west-1", BaseEndpoint: &base}, "", "base.test"},
		{aws.Config{Region: "eu-west-1", BaseEndpoint: &base}, "http://lambda.test", "lambda.test"},
	}
	for _, tt := range tests {
		var host string
		tt.cfg.Credentials = credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
		tt.cfg.HTTPClient = clientFunc(func(r *http.Request) (*http.Response, error) {
			host = r.URL.Host
			return nil, errors.New("offline")
		})
		f := lambdainvoke.New(tt.cfg, func(k string) string { return map[string]string{lambdainvoke.EnvEndpoint: tt.env}[k] }, "hook")
		f.Call(t.Context(), nil)
		if host != tt.want {
			t.Errorf("%s, %s=%q: host %q, want %q", tt.cfg.Region, lambdainvoke.EnvEndpoint, tt.env, host, tt.want)
		}
	}
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
