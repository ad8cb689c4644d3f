package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/internal/platformtest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/message/eventbus"
	"github.com/wxcomponent/wxcomponent/shared/miniprogram"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

const rejection = "小程序页面空白，无法体验"

// TestMiniProgramFleet is the release pipeline end to end: three mini
// program merchants on the simulator, `wxctl mp commit` and `submit` for
// all, one audit rejected with a reason and two passed (WeChat's pushes
// reach the platform as the simulated clock passes the decisions), `wxctl mp
// release`; then the stored pipelines, `wxctl mp status --json` and the
// event bus must show exactly that.
func TestMiniProgramFleet(t *testing.T) {
	ctx := context.Background()
	motoserver.Start(t)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(awsCfg)
	motoserver.BusArchive(t, eb, "wechat", "rejections", `{"source":["wxcomponent"],"detail-type":["WeChat Message"],`+
		`"detail":{"message":{"Event":["weapp_audit_fail"],"Reason":["`+rejection+`"]}}}`)

	e := platformtest.Start(t, eventbus.New(eb, "wechat"))
	accts := e.MiniPrograms(t, 3)
	rejected := accts[1].AppID
	draft, err := e.Sim.AddTemplateDraft(platformtest.ComponentAppID, "2.3.0", "秋季菜单")
	if err != nil {
		t.Fatal(err)
	}
	err = e.Platform.Tokens.WithComponentToken(ctx, func(cat string) error {
		return e.Platform.WeChat.AddToTemplate(ctx, cat, draft, 0)
	})
	if err != nil {
		t.Fatal(err)
	}

	wx := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		all := append([]string{"-db", e.DBPath, "-env-file", filepath.Join(t.TempDir(), "none.env")}, args...)
		if err := run(ctx, all, e.Getenv, &stdout, &stderr); err != nil {
			t.Fatalf("wxctl %s: %v\n%s", strings.Join(args, " "), err, stdout.String())
		}
		return stdout.String()
	}

	var templates []struct {
		TemplateID  int64  `json:"template_id"`
		UserVersion string `json:"user_version"`
	}
	decode(t, wx("mp", "templates", "--json"), &templates)
	if len(templates) != 1 || templates[0].UserVersion != "2.3.0" {
		t.Fatalf("templates: %+v", templates)
	}
	var rows []fleetRow
	decode(t, wx("mp", "commit", strconv.FormatInt(templates[0].TemplateID, 10), "--all", "--json"), &rows)
	wantResults(t, "commit", rows, map[string]string{})
	decode(t, wx("mp", "submit", "--all", "--json"), &rows)
	wantResults(t, "submit", rows, map[string]string{})

	for _, a := range accts {
		o := wechatsim.AuditOutcome{Result: wechatsim.AuditPass, After: 30 * time.Minute}
		if a.AppID == rejected {
			o = wechatsim.AuditOutcome{Result: wechatsim.AuditFail, Reason: rejection, ScreenShot: "shot1|shot2", After: 20 * time.Minute}
		}
		if err := e.Sim.SetAuditOutcome(a.AppID, o); err != nil {
			t.Fatal(err)
		}
	}
	e.Clock.Advance(30 * time.Minute)

	decode(t, wx("mp", "release", "--all", "--json"), &rows)
	wantResults(t, "release", rows, map[string]string{rejected: "skipped"})

	var status []miniprogram.Status
	decode(t, wx("mp", "status", "--json"), &status)
	if len(status) != 3 {
		t.Fatalf("status has %d rows, want 3", len(status))
	}
	for i, s := range status {
		a := accts[i]
		stored, err := e.Store.GetMiniProgram(ctx, a.AppID)
		if err != nil {
			t.Fatal(err)
		}
		want := store.MiniProgram{AppID: a.AppID, TemplateID: templates[0].TemplateID, UserVersion: "2.3.0",
			UserDesc: "秋季菜单", AuditVersion: "2.3.0", Audit: store.AuditPassed, ReleasedVersion: "2.3.0"}
		if a.AppID == rejected {
			want.Audit, want.Reason, want.ScreenShot, want.ReleasedVersion = store.AuditRejected, rejection, "shot1|shot2", ""
		}
		for what, got := range map[string]store.MiniProgram{"stored": stored, "status --json": s.MiniProgram} {
			if got.AppID != want.AppID || got.TemplateID != want.TemplateID || got.UserVersion != want.UserVersion ||
				got.UserDesc != want.UserDesc || got.AuditVersion != want.AuditVersion || got.Audit != want.Audit ||
				got.Reason != want.Reason || got.ScreenShot != want.ScreenShot || got.ReleasedVersion != want.ReleasedVersion ||
				got.AuditID == 0 || got.LastError != "" {
				t.Errorf("%s pipeline of %s:\n got %+v\nwant %+v", what, a.AppID, got, want)
			}
		}
		if s.Name != a.NickName {
			t.Errorf("status name of %s = %q, want %q", a.AppID, s.Name, a.NickName)
		}
		releases := len(e.Sim.MiniProgramCode(a.AppID).Releases)
		if wantReleases := map[bool]int{true: 0, false: 1}[a.AppID == rejected]; releases != wantReleases {
			t.Errorf("%s has %d releases at WeChat, want %d", a.AppID, releases, wantReleases)
		}
	}

	archive, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("rejections")})
	if err != nil {
		t.Fatal(err)
	}
	if archive.EventCount != 1 {
		t.Errorf("the bus got %d weapp_audit_fail events with the reason, want 1", archive.EventCount)
	}
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
}

// wantResults checks a fleet command's rows: the result given per appid,
// "ok" for the others.
func wantResults(t *testing.T, what string, rows []fleetRow, want map[string]string) {
	t.Helper()
	if len(rows) != 3 {
		t.Fatalf("%s: %d rows, want 3", what, len(rows))
	}
	for _, r := range rows {
		w := want[r.AppID]
		if w == "" {
			w = "ok"
		}
		if r.Result != w {
			t.Errorf("%s %s: %s (%s), want %s", what, r.AppID, r.Result, r.Error, w)
		}
	}
}

func TestParseMP(t *testing.T) {
	tests := []struct {
		args    string
		wantErr bool
		check   func(c *command) bool
	}{
		{"mp templates --json", false, func(c *command) bool { return c.mp.sub == "templates" && c.opts.json }},
		{"mp commit 12 --all --version 1.2.0 --desc=秋季 --concurrency 4", false, func(c *command) bool {
			return c.mp.templateID == 12 && c.mp.all && c.mp.version == "1.2.0" && c.mp.desc == "秋季" && c.mp.concurrency == 4
		}},
		{"mp commit 12 wxa wxb", false, func(c *command) bool { return len(c.mp.appIDs) == 2 && !c.mp.all }},
		{"mp status", false, func(c *command) bool { return c.mp.all }},
		{"mp status wxa --json", false, func(c *command) bool { return !c.mp.all && c.mp.appIDs[0] == "wxa" && c.opts.json }},
		{"mp release --all", false, func(c *command) bool { return c.mp.sub == "release" }},
		{"mp", true, nil},
		{"mp commit", true, nil},
		{"mp commit x --all", true, nil},
		{"mp commit 12", true, nil},
		{"mp submit wxa --all", true, nil},
		{"mp submit", true, nil},
		{"mp release --all --concurrency 0", true, nil},
		{"mp release --all --bogus", true, nil},
		{"mp templates wxa", true, nil},
		{"mp deploy --all", true, nil},
	}
	for _, tt := range tests {
		c, err := parse(strings.Fields(tt.args), func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			err = parseMP(c, c.args)
		}
		if tt.wantErr {
			if !errors.Is(err, errUsage) {
				t.Errorf("%q: error %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || !tt.check(c) {
			t.Errorf("%q: %+v, %v", tt.args, c, err)
		}
	}
}
