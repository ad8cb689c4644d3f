package deploytest

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkPolicies returns every IAM grant of the template that is broader than
// the functions need: wildcard actions, "*" resources, DynamoDB Scan (the
// refresh job reads the sparse due index instead), and function policies
// that are neither inline statements nor a managed policy of this template
// (SAM's policy templates such as DynamoDBCrudPolicy include Scan and batch
// writes).
func checkPolicies(tpl *yaml.Node) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for id, res := range entries(get(tpl, "Resources")) {
		walk(res, func(n *yaml.Node) {
			for _, st := range statements(get(n, "Statement")) {
				for _, action := range scalars(get(st, "Action")) {
					switch {
					case strings.Contains(action, "*"):
						report("%s: action %q is a wildcard", id, action)
					case strings.EqualFold(action, "dynamodb:Scan"):
						report("%s: dynamodb:Scan: no function reads the whole table", id)
					}
				}
				for _, resource := range scalars(get(st, "Resource")) {
					if resource == "*" {
						report("%s: resource \"*\"", id)
					}
				}
			}
		})
	}

	managed := map[string]bool{}
	for id := range resources(tpl, "AWS::IAM::ManagedPolicy") {
		managed[id] = true
	}
	for id, res := range resources(tpl, "AWS::Serverless::Function") {
		policies := get(res, "Properties", "Policies")
		if policies == nil {
			continue
		}
		if policies.Kind != yaml.SequenceNode {
			report("%s: Policies is not a list", id)
			continue
		}
		for _, p := range policies.Content {
			for _, p := range conditional(p) {
				switch {
				case managed[refName(p)]:
				case p.Kind == yaml.MappingNode && len(p.Content) == 2 && p.Content[0].Value == "Statement":
				default:
					report("%s: policy at line %d is neither inline statements nor a managed policy of this template", id, p.Line)
				}
			}
		}
	}
	return problems
}

// conditional returns the policies p stands for: p itself, or for
// !If [condition, a, b] the branches that are not AWS::NoValue.
func conditional(p *yaml.Node) []*yaml.Node {
	name, arg, ok := intrinsic(p)
	if !ok || name != "Fn::If" || arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
		return []*yaml.Node{p}
	}
	var out []*yaml.Node
	for _, branch := range arg.Content[1:] {
		if refName(branch) != "AWS::NoValue" {
			out = append(out, conditional(branch)...)
		}
	}
	return out
}

// statements returns the statements of a policy's Statement: one mapping or
// a list of them.
func statements(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.MappingNode:
		return []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		return n.Content
	}
	return nil
}

// scalars returns the plain scalars of a scalar or a list of scalars.
// Intrinsic functions (an ARN built with !Sub) are left out: they are never
// a bare wildcard.
func scalars(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if s := scalar(n); s != "" {
			return []string{s}
		}
		return nil
	}
	var out []string
	if n.Kind == yaml.SequenceNode && !isIntrinsic(n) {
		for _, c := range n.Content {
			out = append(out, scalars(c)...)
		}
	}
	return out
}
