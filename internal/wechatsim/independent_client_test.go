package wechatsim

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestIndependentClientDrivesPipeline runs the mini program pipeline through
// co-wxapp-open-api, a Node.js third-party platform SDK written against
// WeChat, not against this simulator: its request shapes, field names and
// error handling meet ours only where both follow WeChat. Three merchants
// commit the template and submit it; one audit fails with a reason, two
// pass; the client releases the two and WeChat refuses the third.
func TestIndependentClientDrivesPipeline(t *testing.T) {
	node := nodeClient(t)
	e := newEnv(t, Options{})
	mps, err := e.sim.AddAccounts(3, MiniProgram)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddTemplateDraft(testAppID, "1.0.0", "first"); err != nil {
		t.Fatal(err)
	}
	const reason = "小程序内容与所选类目不符"
	outcomes := []AuditOutcome{
		{Result: AuditPass, After: time.Hour},
		{Result: AuditFail, Reason: reason, ScreenShot: "media1|media2", After: 2 * time.Hour},
		{Result: AuditPass, After: 3 * time.Hour},
	}
	catv := e.componentToken(t)
	type merchant struct {
		AppID        string `json:"appid"`
		AuthCode     string `json:"auth_code,omitempty"`
		RefreshToken string `json:"refresh_token,omitempty"`
		AuditID      int64  `json:"auditid,omitempty"`
	}
	var merchants []merchant
	for i, mp := range mps {
		if err := e.sim.SetAuditOutcome(mp.AppID, outcomes[i]); err != nil {
			t.Fatal(err)
		}
		merchants = append(merchants, merchant{AppID: mp.AppID, AuthCode: e.authorize(t, catv, mp.AppID)})
	}
	input := map[string]any{
		"base": e.srv.URL, "component_appid": testAppID, "component_appsecret": testSecret,
		"user_version": "1.0.0",
	}

	var submitted struct {
		TemplateID int64 `json:"template_id"`
		Merchants  []struct {
			merchant
			Status      int `json:"status"`
			SubmitAgain int `json:"submit_again"`
		} `json:"merchants"`
	}
	input["phase"], input["ticket"], input["merchants"] = "submit", e.ticket(t), merchants
	node.run(t, input, &submitted)
	if len(submitted.Merchants) != len(mps) {
		t.Fatalf("submit phase answered %d merchants, want %d", len(submitted.Merchants), len(mps))
	}
	for i, m := range submitted.Merchants {
		if m.AppID != mps[i].AppID || m.RefreshToken == "" || m.AuditID == 0 {
			t.Fatalf("merchant %d after submit: %+v", i, m)
		}
		if m.Status != 2 || m.SubmitAgain != codeAuditInProgress {
			t.Errorf("%s: audit status %d and resubmission errcode %d, want 2 (in review) and %d", m.AppID, m.Status, m.SubmitAgain, codeAuditInProgress)
		}
		code := e.sim.MiniProgramCode(m.AppID)
		if code.TemplateID != submitted.TemplateID || code.UserVersion != "1.0.0" || len(code.Audits) != 1 {
			t.Errorf("%s: simulator holds %+v after the client's commit and submission", m.AppID, code)
		}
		merchants[i] = merchant{AppID: m.AppID, RefreshToken: m.RefreshToken, AuditID: m.AuditID}
	}

	// A day later every audit is decided, and the platform has been told.
	e.clock.Advance(24 * time.Hour)
	if got := e.platform.messagesOf("weapp_audit_fail"); len(got) != 1 || got[0].Get("Reason") != reason {
		t.Errorf("weapp_audit_fail pushes: %v", got)
	}
	if got := e.platform.messagesOf("weapp_audit_success"); len(got) != 2 {
		t.Errorf("%d weapp_audit_success pushes, want 2", len(got))
	}

	var released struct {
		Merchants []struct {
			AppID          string `json:"appid"`
			Status         int    `json:"status"`
			Reason         string `json:"reason"`
			LatestAuditID  int64  `json:"latest_auditid"`
			ReleaseErrcode int    `json:"release_errcode"`
		} `json:"merchants"`
	}
	input["phase"], input["ticket"], input["merchants"] = "release", e.ticket(t), merchants
	node.run(t, input, &released)
	if len(released.Merchants) != len(mps) {
		t.Fatalf("release phase answered %d merchants, want %d", len(released.Merchants), len(mps))
	}
	for i, m := range released.Merchants {
		failed := outcomes[i].Result == AuditFail
		wantStatus, wantReason, wantErrcode, wantReleases := 0, "", 0, 1
		if failed {
			wantStatus, wantReason, wantErrcode, wantReleases = 1, reason, codeAuditNotReleasable, 0
		}
		if m.Status != wantStatus || m.Reason != wantReason || m.ReleaseErrcode != wantErrcode || m.LatestAuditID != merchants[i].AuditID {
			t.Errorf("%s seen by the client: %+v; want status %d, reason %q, release errcode %d, latest audit %d",
				m.AppID, m, wantStatus, wantReason, wantErrcode, merchants[i].AuditID)
		}
		if code := e.sim.MiniProgramCode(m.AppID); len(code.Releases) != wantReleases {
			t.Errorf("%s: %d releases, want %d", m.AppID, len(code.Releases), wantReleases)
		}
	}
}

// nodeScript is the independent client: pipeline.cjs and its packages.
type nodeScript struct{ bin, script string }

func nodeClient(t *testing.T) nodeScript {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found on PATH: apt-get install -y nodejs npm (.ci/run does it)")
	}
	dir := filepath.Join("testdata", "wxapp-client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "co-wxapp-open-api")); err != nil {
		t.Fatalf("the client's packages are missing: run `npm ci --prefix internal/wechatsim/%s` (.ci/run does it)", filepath.ToSlash(dir))
	}
	return nodeScript{bin: bin, script: filepath.Join(dir, "pipeline.cjs")}
}

// run gives the script input on stdin and decodes its answer into out.
func (n nodeScript) run(t *testing.T, input, out any) {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), n.bin, n.script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", n.script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("%s answered %q: %v", n.script, stdout, err)
	}
}
