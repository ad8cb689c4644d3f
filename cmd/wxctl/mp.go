package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/miniprogram"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

func mpCommands() []spec {
	return []spec{{
		name: "mp", usage: "<subcommand> [args]", summary: "mini programs: templates, commit, submit, release, poll, status (wxctl mp for help)",
		json: true, raw: true, run: (*command).runMP,
	}}
}

const mpUsage = `usage: wxctl [flags] mp <subcommand> [args]

  templates [--json]                        the platform's code templates
  commit TEMPLATE_ID (APPID... | --all)     upload the template to the mini programs
        [--version V] [--desc D] [--ext FILE]  (default: the template's version and
                                             description; FILE holds the ext.json "ext" object)
  submit (APPID... | --all)                 submit the committed code for audit
  release (APPID... | --all)                release the mini programs whose audit passed
  poll (APPID... | --all)                   ask WeChat for the latest audit of each
  status [APPID...] [--json]                appid, name, version, audit, reason (default: all)

  --concurrency N   calls in flight at once (default 8); --json prints JSON, without progress
`

// mpArgs is a parsed `wxctl mp` command line.
type mpArgs struct {
	sub         string
	templateID  int64
	appIDs      []string
	all         bool
	version     string
	desc        string
	extFile     string
	concurrency int
}

// parseMP parses what follows `mp`.
func parseMP(c *command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: mp needs a subcommand\n%s", errUsage, mpUsage)
	}
	m := &c.mp
	m.sub = args[0]
	var positional []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			continue
		}
		switch name {
		case "all":
			m.all = true
			continue
		case "json":
			c.opts.json = true
			continue
		case "version", "desc", "ext", "concurrency":
		default:
			return fmt.Errorf("%w: unknown flag %s for mp %s", errUsage, a, m.sub)
		}
		if !hasValue {
			if i+1 >= len(args) {
				return fmt.Errorf("%w: %s needs a value", errUsage, a)
			}
			i++
			value = args[i]
		}
		switch name {
		case "version":
			m.version = value
		case "desc":
			m.desc = value
		case "ext":
			m.extFile = value
		case "concurrency":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return fmt.Errorf("%w: --concurrency %q: want a positive number", errUsage, value)
			}
			m.concurrency = n
		}
	}
	switch m.sub {
	case "templates":
		if len(positional) > 0 || m.all {
			return fmt.Errorf("%w: mp templates takes no mini programs", errUsage)
		}
		return nil
	case "commit":
		if len(positional) == 0 {
			return fmt.Errorf("%w: mp commit needs a TEMPLATE_ID", errUsage)
		}
		id, err := strconv.ParseInt(positional[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%w: template id %q is not a positive number", errUsage, positional[0])
		}
		m.templateID, positional = id, positional[1:]
	case "submit", "release", "poll":
	case "status":
		m.appIDs, m.all = positional, len(positional) == 0
		return nil
	default:
		return fmt.Errorf("%w: unknown mp subcommand %q\n%s", errUsage, m.sub, mpUsage)
	}
	if m.all == (len(positional) > 0) {
		return fmt.Errorf("%w: mp %s takes mini program appids or --all, not both or neither", errUsage, m.sub)
	}
	m.appIDs = positional
	return nil
}

// runMP runs a `wxctl mp` command; status needs only the store.
func (c *command) runMP(ctx context.Context) error {
	if err := parseMP(c, c.args); err != nil {
		return err
	}
	if c.mp.sub == "status" {
		return c.withStore(ctx, func(st store.Store) error {
			return c.mpRun(ctx, miniprogram.New(miniprogram.Options{Store: st}))
		})
	}
	return c.withPlatform(ctx, func(p *platform.Platform) error { return c.mpRun(ctx, p.MiniPrograms) })
}

func (c *command) mpRun(ctx context.Context, svc *miniprogram.Service) error {
	if c.mp.sub == "templates" {
		return c.mpTemplates(ctx, svc, c.stdout)
	}
	ids := c.mp.appIDs
	if c.mp.all {
		var err error
		if ids, err = svc.MiniPrograms(ctx); err != nil {
			return err
		}
	}
	if c.mp.sub == "status" {
		return c.mpStatus(ctx, svc, ids, c.stdout)
	}
	return c.mpFleet(ctx, svc, ids, c.stdout, c.stderr)
}

func (c *command) mpTemplates(ctx context.Context, svc *miniprogram.Service, stdout io.Writer) error {
	list, err := svc.Templates(ctx)
	if err != nil {
		return err
	}
	if c.opts.json {
		return writeJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tVERSION\tCREATED\tDESCRIPTION")
	for _, t := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.TemplateID, t.UserVersion, time.Unix(t.CreateTime, 0).UTC().Format(time.DateTime), t.UserDesc)
	}
	return tw.Flush()
}

func (c *command) mpStatus(ctx context.Context, svc *miniprogram.Service, ids []string, stdout io.Writer) error {
	rows, err := svc.Status(ctx, ids)
	if err != nil {
		return err
	}
	if c.opts.json {
		return writeJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPID\tNAME\tCOMMITTED\tONLINE\tAUDIT\tREASON\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.AppID, dash(r.Name), dash(r.UserVersion), dash(r.ReleasedVersion),
			dash(string(r.Audit)), dash(oneLine(r.Reason)), dash(oneLine(r.LastError)))
	}
	return tw.Flush()
}

// mpFleet runs commit, submit, release or poll for every mini program and
// prints one result each.
func (c *command) mpFleet(ctx context.Context, svc *miniprogram.Service, ids []string, stdout, stderr io.Writer) error {
	if len(ids) == 0 {
		return errors.New("no mini programs to work on")
	}
	opts := miniprogram.FleetOptions{Concurrency: c.mp.concurrency}
	if !c.opts.json && isTerminal(stderr) {
		bar := &progressBar{w: stderr}
		opts.Progress = bar.update
	}
	var outcomes []miniprogram.Outcome
	switch c.mp.sub {
	case "commit":
		commit, err := c.mpCommit(ctx, svc)
		if err != nil {
			return err
		}
		outcomes = svc.CommitAll(ctx, ids, commit, opts)
	case "submit":
		outcomes = svc.SubmitAll(ctx, ids, wechat.SubmitAudit{}, opts)
	case "release":
		outcomes = svc.ReleaseAll(ctx, ids, opts)
	default: // poll
		outcomes = svc.PollAll(ctx, ids, opts)
	}
	failed := 0
	rows := make([]fleetRow, 0, len(outcomes))
	for _, o := range outcomes {
		r := fleetRow{AppID: o.AppID, Result: "ok", Audit: string(o.State.Audit), Version: o.State.UserVersion}
		switch {
		case errors.Is(o.Err, miniprogram.ErrNotPassed):
			r.Result = "skipped"
			r.Error = o.Err.Error()
		case o.Err != nil:
			r.Result = "failed"
			r.Error = o.Err.Error()
			failed++
		}
		rows = append(rows, r)
	}
	if c.opts.json {
		if err := writeJSON(stdout, rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APPID\tRESULT\tVERSION\tAUDIT\tERROR")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.AppID, r.Result, dash(r.Version), dash(r.Audit), dash(oneLine(r.Error)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("mp %s: %d of %d mini programs failed", c.mp.sub, failed, len(ids))
	}
	return nil
}

// fleetRow is one mini program's line of a fleet command's output.
type fleetRow struct {
	AppID   string `json:"appid"`
	Result  string `json:"result"` // ok, skipped or failed
	Version string `json:"user_version,omitempty"`
	Audit   string `json:"audit,omitempty"`
	Error   string `json:"error,omitempty"`
}

// mpCommit builds each mini program's Commit: the template's version and
// description unless given, and an ext.json naming the mini program with
// the --ext file's object as its "ext".
func (c *command) mpCommit(ctx context.Context, svc *miniprogram.Service) (func(string) wechat.Commit, error) {
	version, desc := c.mp.version, c.mp.desc
	if version == "" {
		list, err := svc.Templates(ctx)
		if err != nil {
			return nil, err
		}
		i := -1
		for j, t := range list {
			if t.TemplateID == c.mp.templateID {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("template %d is not in the platform's library (see wxctl mp templates)", c.mp.templateID)
		}
		version = list[i].UserVersion
		if desc == "" {
			desc = list[i].UserDesc
		}
	}
	var ext json.RawMessage
	if c.mp.extFile != "" {
		data, err := os.ReadFile(c.mp.extFile)
		if err != nil {
			return nil, fmt.Errorf("read --ext: %w", err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("--ext %s: want a JSON object: %w", c.mp.extFile, err)
		}
		ext = data
	}
	return func(appID string) wechat.Commit {
		doc, _ := json.Marshal(struct {
			ExtEnable bool            `json:"extEnable"`
			ExtAppID  string          `json:"extAppid"`
			Ext       json.RawMessage `json:"ext,omitempty"`
		}{true, appID, ext})
		return wechat.Commit{TemplateID: c.mp.templateID, ExtJSON: string(doc), UserVersion: version, UserDesc: desc}
	}, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// isTerminal reports whether w is a character device, where a progress bar
// belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar redraws one line on a terminal.
type progressBar struct {
	w      io.Writer
	failed int
}

func (b *progressBar) update(done, total int, o miniprogram.Outcome) {
	if o.Err != nil && !errors.Is(o.Err, miniprogram.ErrNotPassed) {
		b.failed++
	}
	const width = 30
	filled := width * done / total
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d, %d failed", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total, b.failed)
	if done == total {
		fmt.Fprintln(b.w)
	}
}
