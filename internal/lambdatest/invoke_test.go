package lambdatest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestInvokeAPI invokes a function through the Invoke API as an AWS SDK
// would, the function being this test on the Runtime API side.
func TestInvokeAPI(t *testing.T) {
	rt, err := Start("arn:aws:lambda:us-east-1:123456789012:function:echo", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	api, err := ServeInvoke(map[string]*Runtime{"echo": rt})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	base := "http://" + rt.Addr() + "/" + APIVersion + "/runtime/invocation/"
	// serve answers the next invocation with its payload, or fails it.
	serve := func(fail bool) {
		resp, err := http.Get(base + "next")
		if err != nil {
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get(HeaderRequestID)
		if fail {
			resp, err = http.Post(base+id+"/error", "application/json", strings.NewReader(`{"errorMessage":"boom","errorType":"Boom"}`))
		} else {
			resp, err = http.Post(base+id+"/response", "application/json", strings.NewReader(string(body)))
		}
		if err == nil {
			resp.Body.Close()
		}
	}

	tests := []struct {
		name, function string
		fail           bool
		status         int
		functionError  string
		body           string
	}{
		{"answer", "echo", false, 200, "", `{"a":1}`},
		{"by ARN", "arn:aws:lambda:us-east-1:123456789012:function:echo:live", false, 200, "", `{"a":1}`},
		{"function error", "echo", true, 200, "Unhandled", `"errorType":"Boom"`},
		{"no such function", "other", false, 404, "", "Function not found"},
	}
	for _, tt := range tests {
		if tt.status == 200 {
			go serve(tt.fail)
		}
		resp, err := http.Post(api.URL()+"/2015-03-31/functions/"+tt.function+"/invocations", "application/json", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("X-Amz-Function-Error") != tt.functionError || !strings.Contains(string(body), tt.body) {
			t.Errorf("%s: %d %q %s, want %d %q containing %s", tt.name, resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), body, tt.status, tt.functionError, tt.body)
		}
		if tt.status == 200 && !json.Valid(body) {
			t.Errorf("%s: answer %s is not JSON", tt.name, body)
		}
	}
	if n := api.Invocations("echo"); n != 3 {
		t.Errorf("Invocations(echo) = %d, want 3", n)
	}
}
