package config

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDotEnv(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "plain", in: "A=1\nB=two words\n", want: map[string]string{"A": "1", "B": "two words"}},
		{name: "comments and blank lines", in: "# head\n\n  # indented\nA=1\r\n", want: map[string]string{"A": "1"}},
		{name: "export prefix", in: "export A=1\nexport\tB=2\nexported=3\n", want: map[string]string{"A": "1", "B": "2", "exported": "3"}},
		{name: "space around =", in: "A = 1 \n", want: map[string]string{"A": "1"}},
		{name: "empty value", in: "A=\nB=   \n", want: map[string]string{"A": "", "B": ""}},
		{name: "inline comment", in: "A=1 # one\nB=x\t# tab\n", want: map[string]string{"A": "1", "B": "x"}},
		{name: "hash without space is value", in: "A=p#ss\nB=#start\n", want: map[string]string{"A": "p#ss", "B": "#start"}},
		{name: "only a comment after =", in: "A= # nothing\n", want: map[string]string{"A": ""}},
		{name: "equals in value", in: "A=b=c==\n", want: map[string]string{"A": "b=c=="}},
		{name: "double quotes", in: `A="a # b"` + "\n" + `B=" x "` + "\n", want: map[string]string{"A": "a # b", "B": " x "}},
		{name: "double-quote escapes", in: `A="l1\nl2\t\"q\" \\ \$"`, want: map[string]string{"A": "l1\nl2\t\"q\" \\ \\$"}},
		{name: "single quotes literal", in: `A='a\nb "c" # d'`, want: map[string]string{"A": `a\nb "c" # d`}},
		{name: "comment after quotes", in: `A="v" # c` + "\n" + `B='w'#c`, want: map[string]string{"A": "v", "B": "w"}},
		{name: "later line wins", in: "A=1\nA=2\n", want: map[string]string{"A": "2"}},
		{name: "byte order mark", in: "\uFEFFA=1\n", want: map[string]string{"A": "1"}},
		{name: "no equals", in: "A=1\nJUSTAKEY\n", wantErr: "line 2: expected KEY=VALUE"},
		{name: "bad name", in: "1A=x\n", wantErr: "line 1: invalid variable name"},
		{name: "name with dash", in: "A-B=x\n", wantErr: "line 1: invalid variable name"},
		{name: "unterminated double", in: `A="secret-value`, wantErr: "line 1: unterminated double quote"},
		{name: "unterminated escape", in: `A="x\`, wantErr: "line 1: unterminated double quote"},
		{name: "unterminated single", in: "A='secret-value", wantErr: "line 1: unterminated single quote"},
		{name: "text after quote", in: `A="v"secret-tail`, wantErr: "line 1: unexpected text after closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDotEnv(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseDotEnv error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the value", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDotEnv: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseDotEnv = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseDotEnvLongLine(t *testing.T) {
	_, err := ParseDotEnv(strings.NewReader("A=" + strings.Repeat("x", maxDotEnvLine)))
	if err == nil {
		t.Fatal("ParseDotEnv accepted a line longer than the limit")
	}
}

func TestWithDotEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{
			name: "file only",
			want: Config{ComponentAppID: testAppID, ComponentAppSecret: `dev-secret "quoted"`, ComponentToken: testToken,
				ComponentAESKey: testAESKey, StateSecret: "state-secret-of-at-least-32-bytes#not-a-comment",
				APIBase: "http://127.0.0.1:8081", MPBase: DefaultMPBase},
		},
		{
			name: "environment wins",
			env:  map[string]string{EnvComponentSecret: "from-environment", EnvAPIBase: "http://127.0.0.1:9999", EnvTable: "t"},
			want: Config{ComponentAppID: testAppID, ComponentAppSecret: "from-environment", ComponentToken: testToken,
				ComponentAESKey: testAESKey, StateSecret: "state-secret-of-at-least-32-bytes#not-a-comment",
				APIBase: "http://127.0.0.1:9999", MPBase: DefaultMPBase, Table: "t"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, err := WithDotEnv(filepath.Join("testdata", "dev.env"), getenvOf(tt.env))
			if err != nil {
				t.Fatalf("WithDotEnv: %v", err)
			}
			got, err := FromEnv(getenv)
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if got != tt.want {
				t.Errorf("config = %v\nwant     %v", got, tt.want)
			}
		})
	}
}

func TestWithDotEnvErrors(t *testing.T) {
	env := map[string]string{EnvTable: "t"}
	getenv, err := WithDotEnv(filepath.Join("testdata", "missing.env"), getenvOf(env))
	if err != nil || getenv(EnvTable) != "t" {
		t.Errorf("missing file: error %v, want the environment alone", err)
	}
	_, err = WithDotEnv("testdata", getenvOf(nil))
	if err == nil {
		t.Error("WithDotEnv read a directory")
	}
	_, err = WithDotEnv(filepath.Join("testdata", "broken.env"), getenvOf(nil))
	if err == nil || !strings.Contains(err.Error(), "broken.env: line 2: unterminated double quote") {
		t.Errorf("broken file: error %v, want one naming the file and line 2", err)
	}
	if err != nil && strings.Contains(err.Error(), "never-printed-secret") {
		t.Errorf("error %q shows the value", err)
	}
}
