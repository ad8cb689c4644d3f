package deploytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/lambdatest"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// exampleAnswer is what the token examples answer: the token function's
// answer and where the token came from.
type exampleAnswer struct {
	tokens.Answer
	Source string `json:"source"`
}

// TestExamplesGetTokens runs the Python and Node.js token examples of
// examples/ as Lambda functions (under a Lambda runtime, with the real AWS
// SDKs) against the table in moto_server and the token function's bootstrap
// behind a local Invoke API: a valid token comes from the table, an expired
// or missing one from the function, and the function's typed errors reach
// the caller.
func TestExamplesGetTokens(t *testing.T) {
	bins := bootstraps(t)
	s := setUp(t)
	s.prepare(t)
	root := repoRoot(t)
	examples := []struct {
		name string
		argv []string
		dir  string
	}{
		{"python", []string{python(t), filepath.Join(root, "internal", "deploytest", "testdata", "runtime.py")}, filepath.Join(root, "examples", "python")},
		{"node", []string{node(t, root), filepath.Join(root, "internal", "deploytest", "testdata", "runtime.mjs")}, filepath.Join(root, "examples", "node")},
	}
	st := dynamo.New(s.dynamo, s.table, dynamo.Options{})
	setStatus := func(status store.Status) {
		t.Helper()
		_, err := store.UpdateAuthorizer(t.Context(), st, samples.AuthorizerAppID, func(a *store.Authorizer) error {
			a.Status = status
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			// A fresh token function: it caches what it hands out.
			fn := start(t, routes.Token, bins[routes.Token], s.env)
			const fnName = "wxcomponent-test-TokenFunction"
			api, err := lambdatest.ServeInvoke(map[string]*lambdatest.Runtime{fnName: fn.rt})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { api.Close() })
			env := append(s.env[:len(s.env):len(s.env)],
				"_HANDLER=get_token.handler", "AWS_ENDPOINT_URL_LAMBDA="+api.URL(),
				"WX_TOKEN_FUNCTION="+fnName, "WX_COMPONENT_APPID="+samples.ComponentAppID)
			f := startCmd(t, "example", ex.argv, ex.dir, env)
			ask := func(req string) exampleAnswer {
				t.Helper()
				var a exampleAnswer
				res := f.invoke(t, []byte(req))
				if err := json.Unmarshal(res.Payload, &a); err != nil {
					t.Fatalf("%s: answer %s: %v", req, res.Payload, err)
				}
				return a
			}
			appReq := `{"appid":"` + samples.AuthorizerAppID + `"}`

			expired := s.expireToken(t)
			fromFn := ask(appReq)
			stored := s.storedAuthorizer(t)
			if fromFn.Source != "function" || fromFn.AccessToken == expired.AccessToken ||
				fromFn.AccessToken != stored.AccessToken || fromFn.ExpiresAt != stored.ExpiresAt.Unix() {
				t.Errorf("expired token: answer %+v; want the function's refresh, now stored as %q", fromFn, stored.AccessToken)
			}
			if fromTable := ask(appReq); fromTable.Source != "table" || fromTable.AccessToken != stored.AccessToken {
				t.Errorf("valid token: answer %+v, want %q from the table", fromTable, stored.AccessToken)
			}
			cat, err := st.GetComponentToken(t.Context(), samples.ComponentAppID)
			if err != nil {
				t.Fatal(err)
			}
			if c := ask(`{"component":true}`); c.Source != "table" || c.AccessToken != cat.AccessToken {
				t.Errorf("component: answer %+v, want %q from the table", c, cat.AccessToken)
			}
			if u := ask(`{"appid":"wx00000000unknown1"}`); u.Source != "function" || u.Error != tokens.CodeNotAuthorized {
				t.Errorf("unknown account: answer %+v, want the function's %s", u, tokens.CodeNotAuthorized)
			}
			setStatus(store.StatusRevoked)
			if r := ask(appReq); r.Source != "table" || r.Error != tokens.CodeRevoked || r.AccessToken != "" {
				t.Errorf("revoked account: answer %+v, want %s from the table", r, tokens.CodeRevoked)
			}
			setStatus(store.StatusActive)
		})
	}
}

// node returns the node binary, with the examples' npm packages installed.
func node(t *testing.T, root string) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found on PATH: apt-get install -y nodejs npm (.ci/run does it)")
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "node", "node_modules", "@aws-sdk", "client-lambda")); err != nil {
		t.Fatal("the Node.js example's packages are missing: run `npm ci --prefix examples/node` (.ci/run does it)")
	}
	return bin
}
