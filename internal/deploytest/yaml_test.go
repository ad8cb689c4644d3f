package deploytest

import (
	"fmt"
	"iter"
	"strings"

	"gopkg.in/yaml.v3"
)

// CloudFormation's short forms (!Ref, !Sub, !GetAtt, …) are YAML tags that no
// Go type knows, so templates are read as yaml.Node trees and the tags are
// read, not resolved.

// parseYAML returns the top-level mapping of a YAML document.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("parse YAML: the document is not a mapping")
	}
	return doc.Content[0], nil
}

// get follows keys through nested mappings; it returns nil when one is missing.
func get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		var next *yaml.Node
		for k, v := range entries(n) {
			if k == key {
				next = v
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// entries yields the key/value pairs of a mapping node (nothing for other nodes).
func entries(n *yaml.Node) iter.Seq2[string, *yaml.Node] {
	return func(yield func(string, *yaml.Node) bool) {
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i].Value, n.Content[i+1]) {
				return
			}
		}
	}
}

// scalar returns a plain scalar's value, "" for anything else (including
// intrinsic functions such as !Ref).
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || isIntrinsic(n) {
		return ""
	}
	return n.Value
}

// refName returns the logical ID named by !Ref or {Ref: …}, else "".
func refName(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Tag == "!Ref" && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	if ref := get(n, "Ref"); n.Kind == yaml.MappingNode && len(n.Content) == 2 && ref != nil {
		return ref.Value
	}
	return ""
}

// isIntrinsic reports whether n is a CloudFormation intrinsic function, in
// short form (!Sub …) or long form ({"Fn::Sub": …}, {"Ref": …}).
func isIntrinsic(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// walk calls fn for n and every node below it.
func walk(n *yaml.Node, fn func(*yaml.Node)) {
	if n == nil {
		return
	}
	fn(n)
	for _, c := range n.Content {
		walk(c, fn)
	}
}

// items returns a sequence node's elements (nothing for other nodes).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}
