package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wxcomponent/wxcomponent/shared/routes"
)

// repoRoot returns the repository root: this package is internal/deploytest.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s: %v", root, err)
	}
	return root
}

// readTemplate returns template.yaml's bytes and its top-level mapping.
func readTemplate(t *testing.T) ([]byte, *yaml.Node) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := parseYAML(data)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return data, tpl
}

func reportAll(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCfnLint runs cfn-lint, which applies the SAM transform and checks the
// result against CloudFormation's schemas: any error or warning fails.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint not found on PATH: install it with `pip install cfn-lint` (.ci/run does this)")
	}
	cmd := exec.CommandContext(t.Context(), bin, "--", "template.yaml")
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

func TestTemplateMatchesCode(t *testing.T) {
	reportAll(t, checkRepo(os.DirFS(repoRoot(t)), routes.All, routes.Refresh))
}

// TestMakefileBuildsForLambda checks that each function's sam build target
// builds its own directory into a bootstrap for the runtime and architecture
// the template declares.
func TestMakefileBuildsForLambda(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make not found on PATH: install it with `apt-get install -y make`")
	}
	root := repoRoot(t)
	_, tpl := readTemplate(t)
	for id, res := range resources(tpl, "AWS::Serverless::Function") {
		t.Run(id, func(t *testing.T) {
			prop := func(name string) *yaml.Node {
				if n := get(res, "Properties", name); n != nil {
					return n
				}
				return get(tpl, "Globals", "Function", name)
			}
			if got := scalar(prop("Handler")); got != "bootstrap" {
				t.Errorf("Handler is %q, want bootstrap", got)
			}
			if got := scalar(prop("Runtime")); !strings.HasPrefix(got, "provided.") {
				t.Errorf("Runtime is %q, want an OS-only runtime (provided.al2023)", got)
			}
			arch := scalars(prop("Architectures"))
			if !slices.Equal(arch, []string{"arm64"}) && !slices.Equal(arch, []string{"x86_64"}) {
				t.Fatalf("Architectures is %q, want [arm64] or [x86_64]", arch)
			}
			goarch := map[string]string{"arm64": "arm64", "x86_64": "amd64"}[arch[0]]

			artifacts := t.TempDir()
			cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-n", "build-"+id, "ARTIFACTS_DIR="+artifacts)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", id, err, out)
			}
			for _, want := range []string{
				"GOOS=linux",
				"GOARCH=" + goarch,
				"CGO_ENABLED=0",
				"-tags lambda.norpc",
				`-o "` + artifacts + `/bootstrap"`,
				"./functions/" + functionName(id),
			} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("make -n build-%s does not contain %q:\n%s", id, want, out)
				}
			}
		})
	}
}

func TestTemplateHoldsNoSecrets(t *testing.T) {
	data, _ := readTemplate(t)
	reportAll(t, checkSecrets(data))
}

func TestPoliciesAreScoped(t *testing.T) {
	_, tpl := readTemplate(t)
	reportAll(t, checkPolicies(tpl))
}

// TestEnvironmentMatchesConfig checks the variables shared/config and the
// store read in AWS: the table and the SSM prefix must come from the stack.
func TestEnvironmentMatchesConfig(t *testing.T) {
	_, tpl := readTemplate(t)
	env := get(tpl, "Globals", "Function", "Environment", "Variables")
	for _, name := range []string{"WX_TABLE", "WX_SSM_PREFIX", "WX_API_BASE", "WX_MP_BASE", "STAGE"} {
		if get(env, name) == nil {
			t.Errorf("Globals: environment variable %s is not set", name)
		}
	}
	if got := refName(get(env, "WX_TABLE")); got != "Table" {
		t.Errorf("WX_TABLE refers to %q, want the table (Table)", got)
	}
	if v := get(env, "WX_SSM_PREFIX"); !isIntrinsic(v) {
		t.Errorf("WX_SSM_PREFIX is a literal, want it built from the SSMPrefix and Stage parameters")
	}
	// The functions that open pushes take their window from the stack.
	for _, id := range []string{"TicketFunction", "MessageFunction"} {
		v := get(tpl, "Resources", id, "Properties", "Environment", "Variables", "WX_PUSH_WINDOW")
		if got := subTemplate(v); got != "${PushWindowSeconds}s" {
			t.Errorf("%s: WX_PUSH_WINDOW is %q, want !Sub \"${PushWindowSeconds}s\"", id, got)
		}
	}
}

// TestTableMatchesStoreLayout checks the table against the item layout of
// shared/store/dynamo: keys, the sparse due index, TTL, and that nothing
// deletes it with the stack.
func TestTableMatchesStoreLayout(t *testing.T) {
	_, tpl := readTemplate(t)
	table := get(tpl, "Resources", "Table")
	if got := scalar(get(table, "Type")); got != "AWS::DynamoDB::Table" {
		t.Fatalf("Resources.Table is a %q, want AWS::DynamoDB::Table", got)
	}
	var got []string
	add := func(parts ...string) { got = append(got, strings.Join(parts, " ")) }
	for _, key := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		add(key, scalar(get(table, key)))
	}
	props := get(table, "Properties")
	add("billing", scalar(get(props, "BillingMode")))
	for _, a := range items(get(props, "AttributeDefinitions")) {
		add("attribute", scalar(get(a, "AttributeName")), scalar(get(a, "AttributeType")))
	}
	for _, k := range items(get(props, "KeySchema")) {
		add("key", scalar(get(k, "AttributeName")), scalar(get(k, "KeyType")))
	}
	for _, ix := range items(get(props, "GlobalSecondaryIndexes")) {
		name := scalar(get(ix, "IndexName"))
		for _, k := range items(get(ix, "KeySchema")) {
			add("index", name, scalar(get(k, "AttributeName")), scalar(get(k, "KeyType")))
		}
		add("index", name, "projection", scalar(get(ix, "Projection", "ProjectionType")))
	}
	add("ttl", scalar(get(props, "TimeToLiveSpecification", "AttributeName")), scalar(get(props, "TimeToLiveSpecification", "Enabled")))
	add("pitr", scalar(get(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")))
	add("sse", scalar(get(props, "SSESpecification", "SSEEnabled")))
	add("deletion protection", refName(get(props, "DeletionProtectionEnabled")))
	slices.Sort(got)

	want := []string{
		"DeletionPolicy Retain",
		"UpdateReplacePolicy Retain",
		"attribute due S",
		"attribute next_refresh_at N",
		"attribute pk S",
		"attribute sk S",
		"billing PAY_PER_REQUEST",
		"deletion protection TableDeletionProtection",
		"index due due HASH",
		"index due next_refresh_at RANGE",
		"index due projection ALL",
		"key pk HASH",
		"key sk RANGE",
		"pitr true",
		"sse true",
		"ttl ttl true",
	}
	if !slices.Equal(got, want) {
		t.Errorf("table layout:\n got %q\nwant %q", got, want)
	}
}
