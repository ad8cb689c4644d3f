package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/console"
	"github.com/wxcomponent/wxcomponent/internal/devinfo"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/oauth"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

// urls are where a running dev server can be reached.
type urls struct {
	Platform string // e.g. http://127.0.0.1:8080
	Sim      string // empty when talking to the real WeChat
}

// devServer is the running platform with its optional simulator.
type devServer struct {
	p   *platform.Platform
	st  *sqlite.Store
	sim *wechatsim.Sim
	log *slog.Logger
	// urls is where the dev server is reachable, for the links it mints.
	urls urls
	// adminToken, when set, opens the control endpoints (/dev/*) while real
	// WeChat credentials are configured; see control.
	adminToken string

	mu          sync.Mutex
	report      *wechatsim.Report // the last release check
	lastRefresh *refreshRun       // the last run of the refresh job
}

// refreshRun is one run of the refresh job, as the home page shows it.
type refreshRun struct {
	refresh.Summary
	Err string `json:"err,omitempty"`
}

// run starts everything, calls ready (if not nil) once both servers accept
// connections, and serves until ctx ends.
func run(ctx context.Context, o options, getenv func(string) string, stdout io.Writer, ready func(urls, *devServer)) error {
	human := o.logFormat == "text" || (o.logFormat == "auto" && console.Terminal(stdout))
	log := newLogger(stdout, human)
	getenv, err := config.WithDotEnv(o.envFile, getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	lock, err := lockDataDir(o.dataDir)
	if err != nil {
		return err
	}
	defer lock.Close()

	platformLn, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer platformLn.Close()
	u := urls{Platform: "http://" + platformLn.Addr().String()}

	simulated := getenv(config.EnvComponentAppID) == ""
	var cfg config.Config
	var simLn net.Listener
	secrets := filepath.Join(o.dataDir, "dev-secrets.env")
	if simulated {
		if simLn, err = net.Listen("tcp", o.simAddr); err != nil {
			return fmt.Errorf("listen on %s: %w", o.simAddr, err)
		}
		defer simLn.Close()
		u.Sim = "http://" + simLn.Addr().String()
		if cfg, err = devConfig(secrets, u.Sim); err != nil {
			return err
		}
	} else if cfg, err = config.FromEnv(getenv); err != nil {
		return err
	}

	// Any loopback page may receive identities locally: the home page's
	// "try OAuth" link, and a SaaS under development.
	cfg.OAuthRedirects = strings.Join(append(cfg.OAuthRedirectList(), oauth.Loopback), ",")

	dbPath := filepath.Join(o.dataDir, "wxcomponent.db")
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open the embedded store: %w", err)
	}
	defer st.Close()
	// The metrics are long JSON lines; a person gets refreshOnce's short
	// line instead.
	metrics := io.Writer(stdout)
	if human {
		metrics = io.Discard
	}
	p, err := platform.New(platform.Options{Config: cfg, Store: st, Logger: log, Metrics: metrics})
	if err != nil {
		return err
	}
	d := &devServer{p: p, st: st, log: log, urls: u, adminToken: cmp.Or(o.adminToken, getenv(envAdminToken))}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serve := func(ln net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("server stopped", "addr", ln.Addr().String(), "err", err)
				cancel()
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			shutdown, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer done()
			_ = srv.Shutdown(shutdown)
		})
	}
	routes, err := d.routes()
	if err != nil {
		return err
	}
	serve(platformLn, routes)

	if simulated {
		d.sim = wechatsim.New(wechatsim.Options{TicketInterval: o.ticketEvery, BaseURL: u.Sim, Logger: log.With("service", "wechatsim")})
		defer d.sim.Close()
		serve(simLn, d.sim.Handler())
		// Adding the component pushes its first ticket to the platform, which
		// is already serving, so the first refresh below finds it.
		if err := d.sim.AddComponent(wechatsim.Component{
			AppID: cfg.ComponentAppID, AppSecret: cfg.ComponentAppSecret, Token: cfg.ComponentToken,
			EncodingAESKey: cfg.ComponentAESKey, PlatformURL: u.Platform, Name: "wxcomponent (local)",
		}); err != nil {
			return fmt.Errorf("register with the simulator: %w", err)
		}
		if err := d.restoreAccounts(ctx); err != nil {
			return err
		}
	}
	// The first run is synchronous, so the component token exists by the
	// time the banner says the platform is up.
	d.refreshOnce(ctx)
	wg.Go(func() { d.refreshLoop(ctx, o.refreshEvery) })

	info := devinfo.Info{PlatformURL: u.Platform, SimulatorURL: u.Sim}
	if info.Store, err = filepath.Abs(dbPath); err != nil {
		return err
	}
	if simulated {
		if info.Secrets, err = filepath.Abs(secrets); err != nil {
			return err
		}
	}
	if err := devinfo.Write(o.dataDir, info); err != nil {
		return err
	}
	printBanner(stdout, u, cfg, o)
	if ready != nil {
		ready(u, d)
	}
	<-ctx.Done()
	return ctx.Err()
}

// restoreAccounts tells the simulator, which starts empty, about the ticket
// and the accounts the store kept from earlier runs, so that they keep
// working as they would at WeChat.
func (d *devServer) restoreAccounts(ctx context.Context) error {
	component := d.p.Config.ComponentAppID
	switch t, err := d.st.GetTicket(ctx, component); {
	case err == nil:
		if err := d.sim.RestoreTicket(component, t.Ticket, t.CreateTime); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read the stored ticket: %w", err)
	}
	err := store.EachAuthorizer(ctx, d.st, func(a store.Authorizer) error {
		if a.Status != store.StatusActive {
			return nil
		}
		if err := d.sim.Restore(component, a.AppID, a.RefreshToken, a.FuncInfo, a.AuthorizedAt); err != nil {
			d.log.Warn("stored account unknown to the simulator", "authorizer_appid", a.AppID, "err", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore stored accounts in the simulator: %w", err)
	}
	return nil
}

// refreshLoop runs the refresh job every interval, as the EventBridge
// schedule does in AWS.
func (d *devServer) refreshLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.refreshOnce(ctx)
		}
	}
}

// refreshOnce runs the refresh job, keeps its result for the home page and
// purges expired rows from the store.
func (d *devServer) refreshOnce(ctx context.Context) refreshRun {
	sum, err := d.p.RunRefresh(ctx)
	run := refreshRun{Summary: sum}
	switch {
	case err != nil && ctx.Err() == nil:
		run.Err = err.Error()
		d.log.Warn("refresh run", "err", err)
	case err == nil:
		d.log.Info("refresh run", "due", sum.Due, "refreshed", sum.Refreshed, "recovered", sum.Recovered,
			"needs_reauth", sum.NeedsReauth, "revoked", sum.Revoked, "failed", sum.Failed, "component_token", sum.Component)
	}
	d.mu.Lock()
	d.lastRefresh = &run
	d.mu.Unlock()
	if _, err := d.st.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
		d.log.Warn("purge expired rows", "err", err)
	}
	return run
}

// newLogger is the console log: a short line per event for a person at a
// terminal, JSON for anything else.
func newLogger(w io.Writer, human bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if human {
		return slog.New(console.NewHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// lockDataDir takes an exclusive lock on the data folder's wxdev.lock, held
// until the returned file is closed (or the process ends): two servers on
// one embedded store would each refresh tokens the other then finds
// invalid, and the second simulator would not know the first one's tokens.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "wxdev.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another wxdev is already running on the data folder %s (it holds %s): "+
				"stop it first, or give this one its own folder with -data", dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func printBanner(w io.Writer, u urls, cfg config.Config, o options) {
	fmt.Fprintf(w, "\nwxcomponent is running locally\n")
	fmt.Fprintf(w, "  home page             %s/\n", u.Platform)
	fmt.Fprintf(w, "  authorize a merchant  go run ./cmd/wxctl link CUSTOMER (a signed start link), or the home page's button\n")
	fmt.Fprintf(w, "  ticket URL            %s/wechat/component/ticket\n", u.Platform)
	fmt.Fprintf(w, "  message URL           %s/wechat/$APPID$/callback\n", u.Platform)
	if u.Sim != "" {
		fmt.Fprintf(w, "  WeChat simulator      %s/sim/ (component %s)\n", u.Sim, cfg.ComponentAppID)
	} else {
		fmt.Fprintf(w, "  WeChat                %s (real credentials from the environment or %s)\n", cfg.APIBase, o.envFile)
	}
	fmt.Fprintf(w, "  store                 %s\n", filepath.Join(o.dataDir, "wxcomponent.db"))
	fmt.Fprintf(w, "  refresh job           every %s\n", o.refreshEvery)
	fmt.Fprintf(w, "  operator's CLI        go run ./cmd/wxctl status   (no flags needed)\n\n")
}
