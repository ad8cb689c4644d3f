package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// variants are the parameter settings the template must deploy with:
// each optional part on and off.
var variants = []struct {
	name   string
	params map[string]string
}{
	{"default", nil},
	{"static-egress", map[string]string{"EnableStaticEgressIP": "true"}},
	{"alarm-email", map[string]string{"AlarmEmail": "ops@example.com"}},
	{"reply-hook-name", map[string]string{"ReplyHookFunction": "saas-reply-hook"}},
	{"reply-hook-arn", map[string]string{"ReplyHookFunction": "arn:aws:lambda:us-east-1:123456789012:function:saas-reply-hook:live"}},
	{"everything", map[string]string{
		"EnableStaticEgressIP": "true", "AlarmEmail": "ops@example.com",
		"EventBusName": "platform-events", "ReplyHookFunction": "saas-reply-hook",
	}},
}

// withDefaults returns the template with the given parameters' defaults
// changed, so that cfn-lint, which resolves conditions from defaults where
// it can, checks that variant.
func withDefaults(tpl *yaml.Node, params map[string]string) ([]byte, error) {
	var copied yaml.Node
	data, err := yaml.Marshal(tpl)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &copied); err != nil {
		return nil, err
	}
	root := copied.Content[0]
	for name, v := range params {
		def := get(root, "Parameters", name, "Default")
		if def == nil {
			return nil, fmt.Errorf("parameter %s has no Default", name)
		}
		def.Value, def.Tag, def.Style = v, "!!str", yaml.DoubleQuotedStyle
	}
	return yaml.Marshal(root)
}

// TestCfnLintVariants runs cfn-lint on the template with each variant's
// parameter defaults.
func TestCfnLintVariants(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint not found on PATH: install it with `pip install cfn-lint` (.ci/run does this)")
	}
	_, tpl := readTemplate(t)
	dir := t.TempDir()
	args := []string{"--"}
	for _, v := range variants[1:] {
		data, err := withDefaults(tpl, v.params)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		path := filepath.Join(dir, v.name+".yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

func renderVariant(t *testing.T, params map[string]string) *yaml.Node {
	t.Helper()
	_, tpl := readTemplate(t)
	out, err := render(tpl, params)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// typesOf counts the rendered template's resources by type.
func typesOf(tpl *yaml.Node) map[string]int {
	n := map[string]int{}
	for _, res := range entries(get(tpl, "Resources")) {
		n[scalar(get(res, "Type"))]++
	}
	return n
}

// vpcConfig is a function's VpcConfig, its own or from Globals.
func vpcConfig(tpl, fn *yaml.Node) *yaml.Node {
	if v := get(fn, "Properties", "VpcConfig"); v != nil {
		return v
	}
	return get(tpl, "Globals", "Function", "VpcConfig")
}

func refs(n *yaml.Node) []string {
	var out []string
	for _, c := range items(n) {
		out = append(out, refName(c))
	}
	slices.Sort(out)
	return out
}

func TestStaticEgressOff(t *testing.T) {
	tpl := renderVariant(t, nil)
	for typ := range typesOf(tpl) {
		if strings.HasPrefix(typ, "AWS::EC2::") {
			t.Errorf("the default stack has a %s", typ)
		}
	}
	for id, fn := range resources(tpl, "AWS::Serverless::Function") {
		if v := vpcConfig(tpl, fn); v != nil {
			t.Errorf("%s has a VpcConfig in the default stack", id)
		}
	}
	if get(tpl, "Outputs", "EgressIP") != nil {
		t.Error("the default stack outputs an egress IP")
	}
}

func TestStaticEgressOn(t *testing.T) {
	tpl := renderVariant(t, map[string]string{"EnableStaticEgressIP": "true"})
	res := get(tpl, "Resources")
	ofType := func(typ string) (string, *yaml.Node) {
		t.Helper()
		var ids []string
		var node *yaml.Node
		for id, r := range resources(tpl, typ) {
			ids = append(ids, id)
			node = r
		}
		if len(ids) != 1 {
			t.Fatalf("%d resources of type %s (%v), want 1", len(ids), typ, ids)
		}
		return ids[0], node
	}
	vpcID, _ := ofType("AWS::EC2::VPC")
	igwID, _ := ofType("AWS::EC2::InternetGateway")
	eipID, _ := ofType("AWS::EC2::EIP")
	natID, nat := ofType("AWS::EC2::NatGateway")
	sgID, sg := ofType("AWS::EC2::SecurityGroup")
	_, endpoint := ofType("AWS::EC2::VPCEndpoint")

	// The NAT gateway sits in a public subnet and sends from the EIP.
	if got := intrinsicArg(get(nat, "Properties", "AllocationId")); got != eipID+".AllocationId" {
		t.Errorf("%s AllocationId is %q, want the EIP's", natID, got)
	}
	publicSubnet := refName(get(nat, "Properties", "SubnetId"))
	if routeTarget(tpl, publicSubnet, "GatewayId") != igwID {
		t.Errorf("the NAT gateway's subnet %s does not route 0.0.0.0/0 to %s", publicSubnet, igwID)
	}

	// Every function runs in two private subnets in two zones, whose only
	// way out is the NAT gateway, behind the one security group.
	for id, fn := range resources(tpl, "AWS::Serverless::Function") {
		v := vpcConfig(tpl, fn)
		if v == nil {
			t.Errorf("%s has no VpcConfig", id)
			continue
		}
		if got := refs(get(v, "SecurityGroupIds")); !slices.Equal(got, []string{sgID}) {
			t.Errorf("%s security groups %v, want [%s]", id, got, sgID)
		}
		subnets := refs(get(v, "SubnetIds"))
		if len(subnets) != 2 {
			t.Errorf("%s subnets %v, want two", id, subnets)
			continue
		}
		var zones []string
		for _, s := range subnets {
			if s == publicSubnet {
				t.Errorf("%s runs in the public subnet", id)
			}
			if got := routeTarget(tpl, s, "NatGatewayId"); got != natID {
				t.Errorf("%s: subnet %s routes 0.0.0.0/0 to %q, want %s", id, s, got, natID)
			}
			if got := refName(get(res, s, "Properties", "VpcId")); got != vpcID {
				t.Errorf("subnet %s is in %q, want %s", s, got, vpcID)
			}
			zones = append(zones, nodeString(get(res, s, "Properties", "AvailabilityZone")))
		}
		if zones[0] == zones[1] {
			t.Errorf("%s: both subnets are in zone %s", id, zones[0])
		}
	}

	// Out on HTTPS only, nothing in.
	props := get(sg, "Properties")
	if get(props, "SecurityGroupIngress") != nil {
		t.Error("the functions' security group admits inbound traffic")
	}
	var egress []string
	for _, rule := range items(get(props, "SecurityGroupEgress")) {
		egress = append(egress, fmt.Sprintf("%s %s-%s %s", scalar(get(rule, "IpProtocol")),
			scalar(get(rule, "FromPort")), scalar(get(rule, "ToPort")), scalar(get(rule, "CidrIp"))))
	}
	if !slices.Equal(egress, []string{"tcp 443-443 0.0.0.0/0"}) {
		t.Errorf("egress rules %q, want only tcp 443", egress)
	}

	// DynamoDB without the NAT gateway.
	ep := get(endpoint, "Properties")
	if scalar(get(ep, "VpcEndpointType")) != "Gateway" || !strings.Contains(nodeString(get(ep, "ServiceName")), ".dynamodb") {
		t.Errorf("the VPC endpoint is not DynamoDB's gateway endpoint")
	}
	if got := refName(get(ep, "VpcId")); got != vpcID {
		t.Errorf("the endpoint is in %q, want %s", got, vpcID)
	}

	out := get(tpl, "Outputs", "EgressIP")
	if refName(get(out, "Value")) != eipID {
		t.Errorf("the EgressIP output is not the Elastic IP %s", eipID)
	}
}

// routeTarget returns what the route table of subnet sends 0.0.0.0/0 to,
// by the route's property (GatewayId, NatGatewayId).
func routeTarget(tpl *yaml.Node, subnet, property string) string {
	var table string
	for _, assoc := range resources(tpl, "AWS::EC2::SubnetRouteTableAssociation") {
		if refName(get(assoc, "Properties", "SubnetId")) == subnet {
			table = refName(get(assoc, "Properties", "RouteTableId"))
		}
	}
	for _, route := range resources(tpl, "AWS::EC2::Route") {
		p := get(route, "Properties")
		if table != "" && refName(get(p, "RouteTableId")) == table && scalar(get(p, "DestinationCidrBlock")) == "0.0.0.0/0" {
			return refName(get(p, property))
		}
	}
	return ""
}

// intrinsicArg returns "Resource.Attribute" for a !GetAtt.
func intrinsicArg(n *yaml.Node) string {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Fn::GetAtt" {
		return ""
	}
	if arg.Kind == yaml.ScalarNode {
		return arg.Value
	}
	var parts []string
	for _, c := range arg.Content {
		parts = append(parts, c.Value)
	}
	return strings.Join(parts, ".")
}

// nodeString is n written as flow YAML, for comparing intrinsic values.
func nodeString(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	c := *n
	if c.Kind != yaml.ScalarNode {
		c.Style = yaml.FlowStyle
	}
	out, err := yaml.Marshal(&c)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestVariantsHoldNoSecrets applies the secret checks to the template as
// each variant deploys it.
func TestVariantsHoldNoSecrets(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			data, err := yaml.Marshal(renderVariant(t, v.params))
			if err != nil {
				t.Fatal(err)
			}
			reportAll(t, checkSecrets(data))
		})
	}
}
