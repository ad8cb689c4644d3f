package deploytest

import (
	"path"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// grant is a DynamoDB action on the items of one partition key, as the
// store makes it (see the item layout in the README).
type grant struct {
	action, partition string
}

// TestFunctionsMayDoTheirWork is the other half of TestLeastPrivilege: each
// function's role allows every write and query its code makes, so that
// narrowing a policy cannot break a function in AWS, where moto's absent
// IAM would not notice. Partitions are example keys of each kind of item.
func TestFunctionsMayDoTheirWork(t *testing.T) {
	const (
		authorizer = "AUTHORIZER#wx0123456789abcdef"
		component  = "COMPONENT#wx00000000sample01"
	)
	tokenWork := []grant{
		{"dynamodb:GetItem", authorizer}, {"dynamodb:PutItem", authorizer}, {"dynamodb:UpdateItem", authorizer},
		{"dynamodb:PutItem", component}, {"dynamodb:PutItem", "LEASE#x"}, {"dynamodb:DeleteItem", "LEASE#x"},
	}
	want := map[string][]grant{
		"TicketFunction": append(slices.Clone(tokenWork),
			grant{"dynamodb:PutItem", "DEDUP#x"},
			grant{"dynamodb:PutItem", "PENDING"},
			grant{"dynamodb:PutItem", "WXA#wx0123456789abcdef"}),
		"AuthorizeFunction": append(slices.Clone(tokenWork),
			grant{"dynamodb:PutItem", "NONCE#x"},
			grant{"dynamodb:PutItem", "DEDUP#x"}),
		"MessageFunction": {
			{"dynamodb:GetItem", authorizer}, {"dynamodb:PutItem", "DEDUP#x"},
			{"dynamodb:GetItem", "WXA#wx0123456789abcdef"}, {"dynamodb:PutItem", "WXA#wx0123456789abcdef"},
			{"dynamodb:PutItem", "AUTHORIZER#wx570bc396a51b8ff8"},
		},
		"RefreshFunction": append(slices.Clone(tokenWork),
			grant{"dynamodb:Query", "PENDING"}, grant{"dynamodb:PutItem", "PENDING"}, grant{"dynamodb:DeleteItem", "PENDING"},
			grant{"dynamodb:GetItem", "WXA#wx0123456789abcdef"}, grant{"dynamodb:PutItem", "WXA#wx0123456789abcdef"}),
		"TokenFunction": tokenWork,
	}
	for _, v := range variants {
		tpl := renderVariant(t, v.params)
		for fn, grants := range want {
			sts := functionStatements(tpl, fn)
			for _, g := range grants {
				if !allowed(sts, g) {
					t.Errorf("%s: %s may not %s on %s", v.name, fn, g.action, g.partition)
				}
			}
		}
	}
}

// functionStatements returns the statements of a function's policies, its
// managed policies' included.
func functionStatements(tpl *yaml.Node, fn string) []*yaml.Node {
	var sts []*yaml.Node
	for _, p := range items(get(tpl, "Resources", fn, "Properties", "Policies")) {
		if name := refName(p); name != "" {
			p = get(tpl, "Resources", name, "Properties", "PolicyDocument")
		}
		sts = append(sts, statements(get(p, "Statement"))...)
	}
	return sts
}

// allowed reports whether a statement allows g: its action, on the table,
// with no partition-key condition or one that g's partition satisfies.
func allowed(sts []*yaml.Node, g grant) bool {
	for _, st := range sts {
		if scalar(get(st, "Effect")) != "Allow" || !slices.Contains(scalars(get(st, "Action")), g.action) {
			continue
		}
		op, keys := leadingKeys(st)
		if keys == nil {
			return true
		}
		for _, k := range keys {
			switch {
			case strings.HasSuffix(op, "StringEquals") && k == g.partition:
				return true
			case strings.HasSuffix(op, "StringLike"):
				if ok, _ := path.Match(k, g.partition); ok {
					return true
				}
			}
		}
	}
	return false
}
