package deploytest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// render returns tpl as CloudFormation deploys it with the given parameter
// values (the others at their defaults): conditions evaluated, resources
// and outputs whose condition is false left out, every Fn::If replaced by
// its chosen branch, and whatever that makes AWS::NoValue removed. The
// other intrinsic functions stay as they are. tpl is not changed.
func render(tpl *yaml.Node, params map[string]string) (*yaml.Node, error) {
	r := renderer{tpl: tpl, params: map[string]string{}, conds: map[string]bool{}}
	for name, p := range entries(get(tpl, "Parameters")) {
		r.params[name] = scalar(get(p, "Default"))
	}
	for name, v := range params {
		if _, ok := r.params[name]; !ok {
			return nil, fmt.Errorf("no parameter %s", name)
		}
		r.params[name] = v
	}
	out, keep, err := r.node(tpl)
	if err != nil {
		return nil, err
	}
	if !keep {
		return nil, fmt.Errorf("the template renders to nothing")
	}
	for _, section := range []string{"Resources", "Outputs"} {
		sec := get(out, section)
		if sec == nil {
			continue
		}
		var kept []*yaml.Node
		for i := 0; i+1 < len(sec.Content); i += 2 {
			cond := scalar(get(sec.Content[i+1], "Condition"))
			if cond != "" {
				ok, err := r.condition(cond)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", section, sec.Content[i].Value, err)
				}
				if !ok {
					continue
				}
			}
			kept = append(kept, sec.Content[i], sec.Content[i+1])
		}
		sec.Content = kept
	}
	return out, nil
}

type renderer struct {
	tpl    *yaml.Node
	params map[string]string
	conds  map[string]bool
}

// intrinsic returns the name and argument of an intrinsic function in
// short ("!If") or long ("Fn::If") form, with the name in long form.
func intrinsic(n *yaml.Node) (string, *yaml.Node, bool) {
	if n == nil {
		return "", nil, false
	}
	if tag, ok := strings.CutPrefix(n.Tag, "!"); ok && !strings.HasPrefix(tag, "!") {
		arg := *n
		arg.Tag = ""
		if tag != "Ref" && tag != "Condition" {
			tag = "Fn::" + tag
		}
		return tag, &arg, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && isIntrinsic(n) {
		return n.Content[0].Value, n.Content[1], true
	}
	return "", nil, false
}

// node renders n; keep is false for a value that is AWS::NoValue.
func (r *renderer) node(n *yaml.Node) (*yaml.Node, bool, error) {
	name, arg, ok := intrinsic(n)
	switch {
	case ok && name == "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, false, fmt.Errorf("line %d: Fn::If needs [condition, then, else]", n.Line)
		}
		cond, err := r.condition(arg.Content[0].Value)
		if err != nil {
			return nil, false, fmt.Errorf("line %d: %w", n.Line, err)
		}
		if cond {
			return r.node(arg.Content[1])
		}
		return r.node(arg.Content[2])
	case ok && name == "Ref" && arg.Value == "AWS::NoValue":
		return nil, false, nil
	}
	out := *n
	out.Content = nil
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, keep, err := r.node(n.Content[i+1])
			if err != nil {
				return nil, false, err
			}
			if keep {
				out.Content = append(out.Content, n.Content[i], v)
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			v, keep, err := r.node(c)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out.Content = append(out.Content, v)
			}
		}
	}
	return &out, true, nil
}

// condition evaluates the template's condition name.
func (r *renderer) condition(name string) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	def := get(r.tpl, "Conditions", name)
	if def == nil {
		return false, fmt.Errorf("no condition %s", name)
	}
	v, err := r.boolean(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.conds[name] = v
	return v, nil
}

// boolean evaluates a condition function: Fn::Equals, Fn::Not, Fn::And,
// Fn::Or, or a reference to another condition.
func (r *renderer) boolean(n *yaml.Node) (bool, error) {
	name, arg, ok := intrinsic(n)
	if !ok {
		return false, fmt.Errorf("line %d: not a condition function", n.Line)
	}
	if name == "Condition" {
		return r.condition(arg.Value)
	}
	if arg.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("line %d: %s needs a list", n.Line, name)
	}
	switch name {
	case "Fn::Equals":
		if len(arg.Content) != 2 {
			return false, fmt.Errorf("line %d: Fn::Equals needs two values", n.Line)
		}
		a, err := r.value(arg.Content[0])
		if err != nil {
			return false, err
		}
		b, err := r.value(arg.Content[1])
		return a == b, err
	case "Fn::Not":
		if len(arg.Content) != 1 {
			return false, fmt.Errorf("line %d: Fn::Not needs one condition", n.Line)
		}
		v, err := r.boolean(arg.Content[0])
		return !v, err
	case "Fn::And", "Fn::Or":
		and := name == "Fn::And"
		for _, c := range arg.Content {
			v, err := r.boolean(c)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("line %d: %s is not a condition function", n.Line, name)
}

// value evaluates a literal, a reference to a parameter, or Fn::Select
// of Fn::Split of those.
func (r *renderer) value(n *yaml.Node) (string, error) {
	name, arg, ok := intrinsic(n)
	switch {
	case ok && name == "Fn::Select":
		return r.selectSplit(n, arg)
	case ok:
		v, isParam := r.params[arg.Value]
		if name != "Ref" || !isParam {
			return "", fmt.Errorf("line %d: only literals, parameters and Fn::Select of Fn::Split can be compared", n.Line)
		}
		return v, nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: not a scalar", n.Line)
	}
	return n.Value, nil
}

// selectSplit evaluates [index, Fn::Split [separator, value]].
func (r *renderer) selectSplit(n, arg *yaml.Node) (string, error) {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return "", fmt.Errorf("line %d: Fn::Select needs [index, list]", n.Line)
	}
	i, err := strconv.Atoi(arg.Content[0].Value)
	split, list, ok := intrinsic(arg.Content[1])
	if err != nil || !ok || split != "Fn::Split" || list.Kind != yaml.SequenceNode || len(list.Content) != 2 {
		return "", fmt.Errorf("line %d: only Fn::Select [index, Fn::Split [separator, value]] is evaluated", n.Line)
	}
	v, err := r.value(list.Content[1])
	if err != nil {
		return "", err
	}
	parts := strings.Split(v, list.Content[0].Value)
	if i < 0 || i >= len(parts) {
		return "", fmt.Errorf("line %d: Fn::Select index %d out of %d", n.Line, i, len(parts))
	}
	return parts[i], nil
}

func TestRender(t *testing.T) {
	const src = `Parameters:
  On: {Type: String, Default: "false"}
  Mail: {Type: String, Default: ""}
Conditions:
  IsOn: !Equals [!Ref On, "true"]
  HasMail: !Not [{"Fn::Equals": [!Ref Mail, ""]}]
  Both: !And [!Condition IsOn, !Condition HasMail]
  Either: !Or [!Condition IsOn, !Condition HasMail]
  MailOfA: !Equals [!Select [0, !Split ["@", !Ref Mail]], "a"]
Resources:
  Always:
    Type: T
    Properties:
      A: !If [IsOn, on, !Ref AWS::NoValue]
      B: {"Fn::If": [Either, [x, !If [Both, y, !Ref AWS::NoValue]], z]}
      C: !Sub "${AWS::StackName}-c"
      D: !If [MailOfA, of-a, !Ref AWS::NoValue]
  OnlyOn: {Type: T, Condition: IsOn}
Outputs:
  Mail: {Condition: HasMail, Value: !Ref Mail}
`
	tests := []struct {
		params map[string]string
		want   string
	}{
		{nil, `Always: {A: -, B: z} Mail: -`},
		{map[string]string{"On": "true"}, `Always: {A: on, B: [x]} OnlyOn Mail: -`},
		{map[string]string{"Mail": "a@b.c"}, `Always: {A: -, B: [x]} D: of-a Mail: !Ref Mail`},
		{map[string]string{"Mail": "c@b.a"}, `Always: {A: -, B: [x]} Mail: !Ref Mail`},
		{map[string]string{"On": "true", "Mail": "a@b.c"}, `Always: {A: on, B: [x, y]} D: of-a OnlyOn Mail: !Ref Mail`},
	}
	tpl, err := parseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		out, err := render(tpl, tt.params)
		if err != nil {
			t.Fatalf("%v: %v", tt.params, err)
		}
		props := get(out, "Resources", "Always", "Properties")
		got := "Always: {A: " + orDash(nodeString(get(props, "A"))) + ", B: " + nodeString(get(props, "B")) + "}"
		if d := get(props, "D"); d != nil {
			got += " D: " + nodeString(d)
		}
		if get(out, "Resources", "OnlyOn") != nil {
			got += " OnlyOn"
		}
		got += " Mail: " + orDash(nodeString(get(out, "Outputs", "Mail", "Value")))
		if got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.params, got, tt.want)
		}
		if nodeString(get(props, "C")) != `!Sub "${AWS::StackName}-c"` {
			t.Errorf("%v: other intrinsics changed: %s", tt.params, nodeString(get(props, "C")))
		}
	}
	if get(tpl, "Resources", "OnlyOn") == nil || get(tpl, "Resources", "Always", "Properties", "A").Tag != "!If" {
		t.Error("render changed its input")
	}
	if _, err := render(tpl, map[string]string{"Missing": "x"}); err == nil {
		t.Error("an unknown parameter: no error")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
