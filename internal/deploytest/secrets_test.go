package deploytest

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wxcomponent/wxcomponent/shared/message"
)

// Shapes of WeChat secrets and identifiers that belong in SSM, never in the
// template: an EncodingAESKey is 43 base64 characters, an AppSecret 32 hex
// digits, a component AppID "wx" and 16 hex digits, and tickets, refresh
// tokens and authorization codes carry "@@@".
var secretShapes = []struct {
	what string
	re   *regexp.Regexp
	// also, when set, must hold for a match to count: a run of 43 letters
	// and slashes is a path, not a key.
	also func(string) bool
}{
	{"an EncodingAESKey", regexp.MustCompile(`(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{43})(?:[^A-Za-z0-9+/=]|=?$)`), hasDigitAndLetter},
	{"a 32-hex-digit secret", regexp.MustCompile(`(?:^|[^0-9A-Fa-f])([0-9A-Fa-f]{32})(?:[^0-9A-Fa-f]|$)`), nil},
	// The release check's test accounts are published by WeChat; the
	// message function's policy names them.
	{"a WeChat AppID", regexp.MustCompile(`(?:^|[^0-9A-Za-z])(wx[0-9a-f]{16})(?:[^0-9a-f]|$)`), notReleaseAccount},
	{"a WeChat ticket, token or code", regexp.MustCompile(`(\S*@@@\S*)`), nil},
	{"a dynamic reference (it would put the value in plain sight)", regexp.MustCompile(`(\{\{resolve:[^}]*\}\})`), nil},
}

// secretName matches names of settings that hold secrets.
var secretName = regexp.MustCompile(`(?i)secret|token|password|passwd|aes|private|credential|(^|_)key($|_)`)

// plainEnvValue is what a literal (non-intrinsic) environment value may look
// like: a short name, number or URL, nothing that could be a secret.
var plainEnvValue = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{0,64}$`)

func notReleaseAccount(appID string) bool {
	for _, a := range message.ReleaseAccounts() {
		if a.AppID == appID {
			return false
		}
	}
	return true
}

func hasDigitAndLetter(s string) bool {
	return strings.ContainsAny(s, "0123456789") &&
		strings.ContainsAny(strings.ToLower(s), "abcdefghijklmnopqrstuvwxyz")
}

// checkSecrets returns every place where the template holds, or could hold, a
// secret: secret-shaped text anywhere (comments included), resources and
// parameters that would carry secret values, environment variables named
// like secrets or set to literals.
func checkSecrets(data []byte) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for i, line := range strings.Split(string(data), "\n") {
		for _, shape := range secretShapes {
			for _, m := range shape.re.FindAllStringSubmatch(line, -1) {
				if shape.also == nil || shape.also(m[1]) {
					report("line %d: %q looks like %s", i+1, m[1], shape.what)
				}
			}
		}
	}

	tpl, err := parseYAML(data)
	if err != nil {
		return append(problems, err.Error())
	}
	for id, res := range entries(get(tpl, "Resources")) {
		// CloudFormation cannot create SecureStrings: a parameter made here
		// would hold its value in the template.
		if typ := scalar(get(res, "Type")); typ == "AWS::SSM::Parameter" || typ == "AWS::SecretsManager::Secret" {
			report("resource %s: a %s would keep its value in the template; secrets are created outside it", id, typ)
		}
	}
	for name := range entries(get(tpl, "Parameters")) {
		if secretName.MatchString(name) {
			report("parameter %s: secrets are read from SSM at run time, never passed as parameters", name)
		}
	}

	envs := map[string]*yaml.Node{"Globals": get(tpl, "Globals", "Function", "Environment", "Variables")}
	for id, res := range resources(tpl, "AWS::Serverless::Function") {
		envs[id] = get(res, "Properties", "Environment", "Variables")
	}
	for _, owner := range sortedKeys(envs) {
		for name, value := range entries(envs[owner]) {
			if secretName.MatchString(name) {
				report("%s: environment variable %s is named like a secret; secrets come from SSM (WX_SSM_PREFIX)", owner, name)
			}
			if isIntrinsic(value) {
				continue
			}
			if v := scalar(value); value.Kind != yaml.ScalarNode || !plainEnvValue.MatchString(v) {
				report("%s: environment variable %s is a literal that is not a plain name, number or URL", owner, name)
			}
		}
	}
	return problems
}
