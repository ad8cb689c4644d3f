package deploytest

import (
	"cmp"
	"fmt"
	"io/fs"
	"iter"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wxcomponent/wxcomponent/shared/routes"
)

// samFunction is what the checks read of one AWS::Serverless::Function.
type samFunction struct {
	ID          string // logical ID
	BuildMethod string // Metadata.BuildMethod
	CodeURI     string
	Routes      []apiRoute // HttpApi events
	ScheduleV2  int        // number of ScheduleV2 events
}

// apiRoute is one HttpApi event of a function.
type apiRoute struct {
	Function string // logical ID of the function
	Method   string // upper case
	Path     string
	API      string // logical ID the event's ApiId refers to
	Payload  string // PayloadFormatVersion
}

func (r apiRoute) String() string { return r.Method + " " + r.Path + " -> " + r.Function }

// logicalID is the template's name for the function in functions/<name>:
// "ticket" is TicketFunction.
func logicalID(name string) string {
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:] + "Function"
}

// functionName is the inverse of logicalID ("" when id is not of that form).
func functionName(id string) string {
	base, ok := strings.CutSuffix(id, "Function")
	if !ok || base == "" {
		return ""
	}
	return strings.ToLower(base[:1]) + base[1:]
}

// resources yields the template's resources of the given type.
func resources(tpl *yaml.Node, typ string) iter.Seq2[string, *yaml.Node] {
	return func(yield func(string, *yaml.Node) bool) {
		for id, res := range entries(get(tpl, "Resources")) {
			if scalar(get(res, "Type")) == typ && !yield(id, res) {
				return
			}
		}
	}
}

// functions reads every AWS::Serverless::Function of the template.
func functions(tpl *yaml.Node) []samFunction {
	var fns []samFunction
	for id, res := range resources(tpl, "AWS::Serverless::Function") {
		fn := samFunction{
			ID:          id,
			BuildMethod: scalar(get(res, "Metadata", "BuildMethod")),
			CodeURI:     scalar(get(res, "Properties", "CodeUri")),
		}
		if fn.CodeURI == "" {
			fn.CodeURI = scalar(get(tpl, "Globals", "Function", "CodeUri"))
		}
		for _, ev := range entries(get(res, "Properties", "Events")) {
			props := get(ev, "Properties")
			switch scalar(get(ev, "Type")) {
			case "HttpApi":
				fn.Routes = append(fn.Routes, apiRoute{
					Function: id,
					Method:   strings.ToUpper(scalar(get(props, "Method"))),
					Path:     scalar(get(props, "Path")),
					API:      refName(get(props, "ApiId")),
					Payload:  scalar(get(props, "PayloadFormatVersion")),
				})
			case "ScheduleV2":
				fn.ScheduleV2++
			}
		}
		fns = append(fns, fn)
	}
	return fns
}

// checkRepo compares the repository in fsys (template.yaml, Makefile,
// functions/) with the routes the code serves and returns every mismatch.
// scheduled names the function EventBridge Scheduler must invoke.
func checkRepo(fsys fs.FS, want []routes.Route, scheduled string) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	data, err := fs.ReadFile(fsys, "template.yaml")
	if err != nil {
		return []string{err.Error()}
	}
	tpl, err := parseYAML(data)
	if err != nil {
		return []string{"template.yaml: " + err.Error()}
	}
	makefile, err := fs.ReadFile(fsys, "Makefile")
	if err != nil {
		return []string{err.Error()}
	}

	dirs := map[string]bool{}
	list, err := fs.ReadDir(fsys, "functions")
	if err != nil {
		report("read the function directories: %v", err)
	}
	for _, e := range list {
		if e.IsDir() {
			dirs[e.Name()] = true
		}
	}

	fns := functions(tpl)
	inTemplate := map[string]bool{}
	var got []apiRoute
	for _, fn := range fns {
		inTemplate[fn.ID] = true
		name := functionName(fn.ID)
		if !dirs[name] {
			report("template.yaml: %s has no directory functions/%s", fn.ID, name)
		}
		if fn.BuildMethod != "makefile" {
			report("template.yaml: %s: Metadata.BuildMethod is %q, want makefile", fn.ID, fn.BuildMethod)
		}
		// sam build runs make in CodeUri: the root holds the Makefile and go.mod.
		if fn.CodeURI != "." {
			report("template.yaml: %s: CodeUri is %q, want . (the Makefile's directory)", fn.ID, fn.CodeURI)
		}
		target := regexp.MustCompile(`(?m)^build-` + regexp.QuoteMeta(fn.ID) + `\s*:`)
		if !target.Match(makefile) {
			report("Makefile: no target build-%s (sam build runs it)", fn.ID)
		}
		got = append(got, fn.Routes...)
	}
	for dir := range dirs {
		if !inTemplate[logicalID(dir)] {
			report("functions/%s has no %s in template.yaml", dir, logicalID(dir))
		}
	}

	apis := map[string]bool{}
	for id := range resources(tpl, "AWS::Serverless::HttpApi") {
		apis[id] = true
	}
	gotSet := map[string]bool{}
	for _, r := range got {
		gotSet[r.String()] = true
		if !apis[r.API] {
			report("template.yaml: route %s: ApiId %q is not an AWS::Serverless::HttpApi of the template", r, r.API)
		}
		if r.Payload != "2.0" {
			report("template.yaml: route %s: PayloadFormatVersion is %q, want \"2.0\"", r, r.Payload)
		}
	}
	wantSet := map[string]bool{}
	for _, r := range want {
		wantSet[apiRoute{Function: logicalID(r.Function), Method: r.Method, Path: r.Path}.String()] = true
	}
	for _, r := range sortedKeys(wantSet) {
		if !gotSet[r] {
			report("template.yaml: missing route %s (package routes serves it)", r)
		}
	}
	for _, r := range sortedKeys(gotSet) {
		if !wantSet[r] {
			report("template.yaml: route %s is not in package routes", r)
		}
	}

	id := logicalID(scheduled)
	i := slices.IndexFunc(fns, func(fn samFunction) bool { return fn.ID == id })
	if i >= 0 && fns[i].ScheduleV2 == 0 {
		report("template.yaml: %s has no ScheduleV2 event", id)
	}
	if i < 0 {
		report("template.yaml: no %s for the scheduled function %q", id, scheduled)
	}
	return problems
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
