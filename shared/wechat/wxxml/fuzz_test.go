package wxxml

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it accepts survives
// Build: the rebuilt document parses to the same names, leaf values and
// children.
func FuzzParse(f *testing.F) {
	samples, err := filepath.Glob(filepath.Join("testdata", "samples", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range samples {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, doc := range []string{
		"<xml/>",
		"<?xml version=\"1.0\"?><xml><A>&lt;&#x4e2d;&amp;</A><!-- c --><B/></xml>",
		"<xml><A><![CDATA[a]]]]><![CDATA[>b]]></A></xml>",
		"<xml><A>  <![CDATA[v]]>x</A><N><M><item><K>1</K></item></M></N></xml>",
		"<xml><A>1</B></xml>",
		"<!DOCTYPE x><xml/>",
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseEnvelope(data)
		fields, err := Parse(data)
		if err != nil {
			return
		}
		rebuilt := Build(fields.All()...)
		again, err := Parse(rebuilt)
		if err != nil {
			t.Fatalf("Parse(Build(Parse(%q))) = %v\nrebuilt: %q", data, err, rebuilt)
		}
		if !sameFields(again.All(), fields.All()) {
			t.Fatalf("round trip changed the fields:\n%#v\n%#v", fields.All(), again.All())
		}
	})
}
