package wxxml

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// f is shorthand for a parsed leaf field.
func f(name, value string) Field { return Field{Name: name, Value: value} }

// readSample reads a document under testdata/samples.
func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file string
		want []Field
	}{
		{"text.xml", []Field{
			f("ToUserName", "toUser"), f("FromUserName", "fromUser"), f("CreateTime", "1348831860"),
			f("MsgType", "text"), f("Content", "this is a test"), f("MsgId", "1234567890123456"),
		}},
		{"image.xml", []Field{
			f("ToUserName", "toUser"), f("FromUserName", "fromUser"), f("CreateTime", "1348831860"),
			f("MsgType", "image"), f("PicUrl", "this is a url"), f("MediaId", "media_id"), f("MsgId", "1234567890123456"),
		}},
		{"event_location.xml", []Field{
			f("ToUserName", "toUser"), f("FromUserName", "fromUser"), f("CreateTime", "123456789"),
			f("MsgType", "event"), f("Event", "LOCATION"), f("Latitude", "23.137466"),
			f("Longitude", "113.352425"), f("Precision", "119.385040"),
		}},
		{"component_verify_ticket.xml", []Field{
			f("AppId", "some_appid"), f("CreateTime", "1413192605"),
			f("InfoType", "component_verify_ticket"), f("ComponentVerifyTicket", "some_verify_ticket"),
		}},
		{"authorized.xml", []Field{
			f("AppId", "wx851e238de6d96eaa"), f("CreateTime", "1573485628"), f("InfoType", "authorized"),
			f("AuthorizerAppid", "wx570bc396a51b8ff8"),
			f("AuthorizationCode", "queryauthcode@@@Xl2LZcrxQBKwGbVHEk7ubeVmorUbu7pNqayxTeem5dCVlIZGfZFL0rnUlK3fi4VWSa_Cs6NRJaOBmQm0UVOS5g"),
			f("AuthorizationCodeExpiredTime", "1573489228"),
			f("PreAuthCode", "preauthcode@@@sHSgAQxcW9ZmU72jbg1ZFhxXdKARfjpjAxvrPn_DL5H0iPpEgWkIEJf71zaTDPKX"),
		}},
		{"unauthorized.xml", []Field{
			f("AppId", "wx851e238de6d96eaa"), f("CreateTime", "1413192760"), f("InfoType", "unauthorized"),
			f("AuthorizerAppid", "wx570bc396a51b8ff8"),
		}},
		{"envelope.xml", []Field{
			f("AppId", "wx9a5ccef4cd5e2702"),
			f("Encrypt", "6nbDjOrgx5XX5IBkF4CR2J3xF2kR/ZxiRdHIveTPUsIlO3szc17dFwxlh8+3YGLuraFfdllbGQ529AV9melFrFNImxiKiggbw0B2ySeXDYltRc3zmWn88HL+6kNYCA1RHUZdywgjgWpQYZ4Yo3isTDepoGQ7rywXGza2FWV8Wv3VgKHxsIzV9e70ep4IaIgQ53zFSdGUMOjwmNFSxM9BsGZtJq5tjjq5RAd5CmBqpIhx94nw9/RmZdbPKSYhu9OuzVTslSyl94P9EuaXpixQtPcsbvuE9N15+AVEiotNKG0Nom0LJJUAmksWYGzEky1/n8IVMJy6UaVFBwXRlQLh7xLfeNf4XskjGKrtjB3QdyyY0taRs6VH+IIJDBNR/C2gx92Al6CJJiF0v8UvxGW2/D2VXb2KNavWgmKrK1rZr41OSB4uKpPljTVuOHKZUVfaOKrJvjMNepsz3JZLQLdDig=="),
		}},
		{"scancode_waitmsg.xml", []Field{
			f("ToUserName", "gh_e136c6e50636"), f("FromUserName", "oMgHVjngRipVsoxg6TuX3vz6glDg"),
			f("CreateTime", "1408090606"), f("MsgType", "event"), f("Event", "scancode_waitmsg"), f("EventKey", "6"),
			{Name: "ScanCodeInfo", Value: "<ScanType><![CDATA[qrcode]]></ScanType>\n<ScanResult><![CDATA[2]]></ScanResult>\n",
				Children: []Field{f("ScanType", "qrcode"), f("ScanResult", "2")}},
		}},
		{"pic_sysphoto.xml", []Field{
			f("ToUserName", "gh_e136c6e50636"), f("FromUserName", "oMgHVjngRipVsoxg6TuX3vz6glDg"),
			f("CreateTime", "1408090651"), f("MsgType", "event"), f("Event", "pic_sysphoto"), f("EventKey", "6"),
			{Name: "SendPicsInfo", Value: "<Count>1</Count>\n<PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum>\n</item>\n</PicList>\n",
				Children: []Field{
					f("Count", "1"),
					{Name: "PicList", Value: "<item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum>\n</item>\n",
						Children: []Field{{Name: "item", Value: "<PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum>\n",
							Children: []Field{f("PicMd5Sum", "1b5f7c23b5bf75682a53e7b6d163e185")}}}},
				}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Parse(readSample(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.All(), tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", got.All(), tt.want)
			}
		})
	}
}

func TestNested(t *testing.T) {
	fields, err := Parse(readSample(t, "pic_sysphoto.xml"))
	if err != nil {
		t.Fatal(err)
	}
	info := fields.Sub("SendPicsInfo")
	if info.Get("Count") != "1" {
		t.Errorf("Count = %q", info.Get("Count"))
	}
	items := info.Sub("PicList").All()
	if len(items) != 1 || items[0].Name != "item" {
		t.Fatalf("PicList = %#v", items)
	}
	if got := items[0].Fields().Get("PicMd5Sum"); got != "1b5f7c23b5bf75682a53e7b6d163e185" {
		t.Errorf("PicMd5Sum = %q", got)
	}
	if sub := fields.Sub("Missing"); len(sub.All()) != 0 {
		t.Errorf("Sub of a missing element = %#v", sub.All())
	}
	if sub := fields.Sub("Event"); len(sub.All()) != 0 {
		t.Errorf("Sub of a text element = %#v", sub.All())
	}
}

func TestParseSyntax(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []Field
	}{
		{"empty root", "<xml></xml>", nil},
		{"self-closing root", "<xml/>", nil},
		{"whitespace root", "<xml>\n\t </xml>", nil},
		{"prolog", `<?xml version="1.0" encoding="UTF-8"?>` + "\n<xml><A>1</A></xml>", []Field{f("A", "1")}},
		{"BOM", "\xef\xbb\xbf<xml><A>1</A></xml>", []Field{f("A", "1")}},
		{"surrounding whitespace and comments", " <!-- a --> <xml> <!-- b --> <A>1</A> </xml> <!-- c -->\n", []Field{f("A", "1")}},
		{"space before >", "<xml ><A >1</A ></xml >", []Field{f("A", "1")}},
		{"self-closing field", "<xml><A/><B /></xml>", []Field{f("A", ""), f("B", "")}},
		{"empty field", "<xml><A></A></xml>", []Field{f("A", "")}},
		{"empty CDATA", "<xml><A><![CDATA[]]></A></xml>", []Field{f("A", "")}},
		{"whitespace value", "<xml><A>  </A></xml>", []Field{f("A", "  ")}},
		{"CDATA keeps markup", "<xml><A><![CDATA[<b>&amp;</b>]]></A></xml>", []Field{f("A", "<b>&amp;</b>")}},
		{"split CDATA", "<xml><A><![CDATA[a]]]]><![CDATA[>b]]></A></xml>", []Field{f("A", "a]]>b")}},
		{"text around CDATA", "<xml><A>  <![CDATA[video]]>!</A></xml>", []Field{f("A", "  video!")}},
		{"comment inside a value", "<xml><A>x<!-- c -->y</A></xml>", []Field{f("A", "xy")}},
		{"named entities", "<xml><A>&lt;&gt;&amp;&quot;&apos;</A></xml>", []Field{f("A", `<>&"'`)}},
		{"numeric references", "<xml><A>&#65;&#x42;&#x4e2d;&#128512;</A></xml>", []Field{f("A", "AB中😀")}},
		{"entity amid text", "<xml><A>fish &amp; chips</A></xml>", []Field{f("A", "fish & chips")}},
		{"gt in text", "<xml><A>a > b</A></xml>", []Field{f("A", "a > b")}},
		{"UTF-8 text", "<xml><Content>你好</Content></xml>", []Field{f("Content", "你好")}},
		{"repeated names", "<xml><A>1</A><A>2</A></xml>", []Field{f("A", "1"), f("A", "2")}},
		{"names with digits, dots, dashes", "<xml><a_1.b-c>x</a_1.b-c></xml>", []Field{f("a_1.b-c", "x")}},
		{"nested with whitespace", "<xml><A>\n <B>1</B>\n <C/>\n</A></xml>", []Field{
			{Name: "A", Value: "\n <B>1</B>\n <C/>\n", Children: []Field{f("B", "1"), f("C", "")}},
		}},
		{"nested deeply", "<xml><a><b><c>x</c></b></a></xml>", []Field{
			{Name: "a", Value: "<b><c>x</c></b>", Children: []Field{
				{Name: "b", Value: "<c>x</c>", Children: []Field{f("c", "x")}},
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if all := got.All(); !(len(all) == 0 && len(tt.want) == 0) && !reflect.DeepEqual(all, tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", all, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"empty", ""},
		{"whitespace", "  \n"},
		{"not XML", "success"},
		{"prolog only", `<?xml version="1.0"?>`},
		{"unterminated prolog", `<?xml version="1.0"`},
		{"other root", "<root><A>1</A></root>"},
		{"root named xmlx", "<xmlx></xmlx>"},
		{"unclosed root", "<xml><A>1</A>"},
		{"unclosed root as in the docs' typo", "<xml><A>1</A><xml>"},
		{"unclosed field", "<xml><A>1</xml>"},
		{"mismatched tags", "<xml><A>1</B></xml>"},
		{"crossed tags", "<xml><A><B>1</A></B></xml>"},
		{"stray end tag", "<xml></A></xml>"},
		{"unterminated end tag", "<xml><A>1</A</xml>"},
		{"end tag at EOF", "<xml><A>1</A"},
		{"unterminated start tag", "<xml><A"},
		{"attribute", `<xml><A id="1">1</A></xml>`},
		{"root attribute", `<xml a="b"></xml>`},
		{"bad name start", "<xml><1A>1</1A></xml>"},
		{"empty name", "<xml><>1</></xml>"},
		{"namespace colon", "<xml><a:b>1</a:b></xml>"},
		{"name too long", "<xml><" + strings.Repeat("a", 257) + "/></xml>"},
		{"trailing garbage", "<xml></xml>x"},
		{"trailing element", "<xml></xml><xml></xml>"},
		{"trailing NUL", "<xml></xml>\x00"},
		{"text in root", "<xml>hello</xml>"},
		{"CDATA in root", "<xml><![CDATA[x]]></xml>"},
		{"mixed content", "<xml><A>text<B>1</B></A></xml>"},
		{"mixed content after", "<xml><A><B>1</B>text</A></xml>"},
		{"CDATA beside elements", "<xml><A><B>1</B><![CDATA[ ]]></A></xml>"},
		{"unterminated CDATA", "<xml><A><![CDATA[abc</A></xml>"},
		{"unterminated comment", "<xml><A>1</A><!-- </xml>"},
		{"unterminated comment before root", "<!-- <xml></xml>"},
		{"DOCTYPE", `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><A>&x;</A></xml>`},
		{"ENTITY inside", `<xml><!ENTITY x "y"><A>1</A></xml>`},
		{"processing instruction inside", `<xml><?php echo 1; ?></xml>`},
		{"prolog after root", `<xml></xml><?xml version="1.0"?>`},
		{"undeclared entity", "<xml><A>&x;</A></xml>"},
		{"bare ampersand", "<xml><A>fish & chips</A></xml>"},
		{"unterminated entity", "<xml><A>&amp</A></xml>"},
		{"empty numeric reference", "<xml><A>&#;</A></xml>"},
		{"signed numeric reference", "<xml><A>&#+65;</A></xml>"},
		{"NUL reference", "<xml><A>&#0;</A></xml>"},
		{"surrogate reference", "<xml><A>&#xD800;</A></xml>"},
		{"reference past Unicode", "<xml><A>&#x110000;</A></xml>"},
		{"FFFE reference", "<xml><A>&#xFFFE;</A></xml>"},
		{"CDATA end in text", "<xml><A>a]]>b</A></xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse = %#v, want an error", got.All())
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Offset < 0 || se.Offset > len(tt.doc) {
				t.Errorf("offset %d outside the document", se.Offset)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	nest := func(depth int) []byte {
		return []byte("<xml>" + strings.Repeat("<a>", depth) + "x" + strings.Repeat("</a>", depth) + "</xml>")
	}
	fields, err := Parse(nest(MaxDepth))
	if err != nil {
		t.Fatalf("Parse at MaxDepth: %v", err)
	}
	for range MaxDepth - 1 {
		fields = fields.Sub("a")
	}
	if got := fields.Get("a"); got != "x" {
		t.Errorf("innermost value = %q, want x", got)
	}
	var se *SyntaxError
	if _, err := Parse(nest(MaxDepth + 1)); !errors.As(err, &se) {
		t.Errorf("Parse past MaxDepth: %v, want a *SyntaxError", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	doc := "<xml><A><![CDATA[" + strings.Repeat("x", MaxSize) + "]]></A></xml>"
	if _, err := Parse([]byte(doc)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse of %d bytes: %v, want ErrTooLarge", len(doc), err)
	}
	doc = "<xml><A><![CDATA[" + strings.Repeat("x", MaxSize-len("<xml><A><![CDATA[]]></A></xml>")) + "]]></A></xml>"
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("Parse of exactly MaxSize bytes: %v", err)
	}
}

func TestFieldsAccessors(t *testing.T) {
	fields, err := Parse([]byte("<xml><A>1</A><B/><A>2</A></xml>"))
	if err != nil {
		t.Fatal(err)
	}
	if fields.Get("A") != "1" || fields.Get("B") != "" || fields.Get("C") != "" {
		t.Errorf("Get: A=%q B=%q C=%q", fields.Get("A"), fields.Get("B"), fields.Get("C"))
	}
	if !fields.Has("A") || !fields.Has("B") || fields.Has("C") {
		t.Errorf("Has: A=%v B=%v C=%v", fields.Has("A"), fields.Has("B"), fields.Has("C"))
	}
	all := fields.All()
	all[0].Value = "changed"
	if fields.Get("A") != "1" {
		t.Error("modifying All's result changed the Fields")
	}
	var zero Fields
	if zero.Get("A") != "" || zero.Has("A") || len(zero.All()) != 0 {
		t.Error("zero Fields is not empty")
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name, doc string
		want      Envelope
		ok        bool
	}{
		{"authorization event", "<xml><AppId><![CDATA[wx9a5ccef4cd5e2702]]></AppId><Encrypt><![CDATA[abc=]]></Encrypt></xml>",
			Envelope{AppID: "wx9a5ccef4cd5e2702", Encrypt: "abc="}, true},
		{"message", "<xml>\n<ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<Encrypt><![CDATA[abc=]]></Encrypt>\n</xml>",
			Envelope{ToUserName: "gh_10f6c3c3ac5a", Encrypt: "abc="}, true},
		{"missing Encrypt", "<xml><AppId>wx1</AppId></xml>", Envelope{}, false},
		{"empty Encrypt", "<xml><AppId>wx1</AppId><Encrypt></Encrypt></xml>", Envelope{}, false},
		{"broken XML", "<xml><Encrypt>abc</Encrypt>", Envelope{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.doc))
			if tt.ok != (err == nil) {
				t.Fatalf("ParseEnvelope: %v, want ok=%v", err, tt.ok)
			}
			if got != tt.want {
				t.Errorf("ParseEnvelope = %+v, want %+v", got, tt.want)
			}
		})
	}
	got, err := ParseEnvelope(readSample(t, "envelope.xml"))
	if err != nil || got.AppID != "wx9a5ccef4cd5e2702" || got.Encrypt == "" {
		t.Errorf("ParseEnvelope(envelope.xml) = %+v, %v", got, err)
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
		want   string
	}{
		{"empty", nil, "<xml></xml>"},
		{"text reply", []Field{
			Text("ToUserName", "oia2Tj"), Text("FromUserName", "gh_7f08"), Int("CreateTime", 1407743423),
			Text("MsgType", "text"), Text("Content", "LOCATIONfrom_callback"),
		}, "<xml><ToUserName><![CDATA[oia2Tj]]></ToUserName><FromUserName><![CDATA[gh_7f08]]></FromUserName>" +
			"<CreateTime>1407743423</CreateTime><MsgType><![CDATA[text]]></MsgType>" +
			"<Content><![CDATA[LOCATIONfrom_callback]]></Content></xml>"},
		{"negative number", []Field{Int("N", -5)}, "<xml><N>-5</N></xml>"},
		{"CDATA end split", []Field{Text("A", "a]]>b]]>")}, "<xml><A><![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]></A></xml>"},
		{"markup in CDATA", []Field{Text("A", "<b>&amp;</b>")}, "<xml><A><![CDATA[<b>&amp;</b>]]></A></xml>"},
		{"Number escapes", []Field{{Name: "A", Value: "1<2&3>0", Number: true}}, "<xml><A>1&lt;2&amp;3&gt;0</A></xml>"},
		{"image reply", []Field{Text("MsgType", "image"), Elem("Image", Text("MediaId", "m1"))},
			"<xml><MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[m1]]></MediaId></Image></xml>"},
		{"news reply", []Field{
			Text("MsgType", "news"), Int("ArticleCount", 2),
			Elem("Articles",
				Elem("item", Text("Title", "t1"), Text("Url", "https://example.com/?a=1&b=2")),
				Elem("item", Text("Title", "t2")),
			),
		}, "<xml><MsgType><![CDATA[news]]></MsgType><ArticleCount>2</ArticleCount><Articles>" +
			"<item><Title><![CDATA[t1]]></Title><Url><![CDATA[https://example.com/?a=1&b=2]]></Url></item>" +
			"<item><Title><![CDATA[t2]]></Title></item></Articles></xml>"},
		{"empty element", []Field{Elem("Image")}, "<xml><Image></Image></xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build(tt.fields...)
			if string(got) != tt.want {
				t.Errorf("Build =\n%s\nwant\n%s", got, tt.want)
			}
			if len(got) != cap(got) {
				t.Errorf("Build sized its buffer %d for %d bytes", cap(got), len(got))
			}
			parsed, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(Build(…)): %v", err)
			}
			if !sameFields(parsed.All(), tt.fields) {
				t.Errorf("Parse(Build(…)) = %#v, want %#v", parsed.All(), tt.fields)
			}
		})
	}
}

// sameFields compares names and leaf values, and children recursively: a
// nested element's Value is its raw inner XML, which Build does not write.
func sameFields(got, want []Field) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || len(g.Children) != len(w.Children) {
			return false
		}
		if len(w.Children) == 0 && g.Value != w.Value {
			return false
		}
		if !sameFields(g.Children, w.Children) {
			return false
		}
	}
	return true
}

func TestBuildPanicsOnInvalidName(t *testing.T) {
	for _, name := range []string{"", "1A", "a b", "a>", "a:b", "-a", strings.Repeat("a", 257)} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Build accepted the name %q", name)
				}
			}()
			Build(Elem("Ok", Text(name, "v")))
		})
	}
}

func TestParseAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	doc := readSample(t, "text.xml")
	if got := testing.AllocsPerRun(100, func() { _, _ = Parse(doc) }); got > 3 {
		t.Errorf("Parse of a text message: %v allocations, want at most 3", got)
	}
}

func BenchmarkParseText(b *testing.B) {
	doc := readSample(b, "text.xml")
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEnvelope(b *testing.B) {
	doc := readSample(b, "envelope.xml")
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := ParseEnvelope(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildText(b *testing.B) {
	fields := []Field{
		Text("ToUserName", "oia2TjjewbmiOUlr6X-1crbLOvLw"), Text("FromUserName", "gh_7f083739789a"),
		Int("CreateTime", 1407743423), Text("MsgType", "text"), Text("Content", "TESTCOMPONENT_MSG_TYPE_TEXT_callback"),
	}
	b.ReportAllocs()
	for b.Loop() {
		Build(fields...)
	}
}
