package tokens_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// writeLog is a store that records every refresh token it stored, with the
// version that stored it.
type writeLog struct {
	store.Store
	mu      sync.Mutex
	written map[string][]store.Authorizer
}

func (w *writeLog) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	stored, err := w.Store.PutAuthorizer(ctx, a)
	if err == nil {
		w.mu.Lock()
		w.written[a.AppID] = append(w.written[a.AppID], stored)
		w.mu.Unlock()
	}
	return stored, err
}

// refreshTokens returns the refresh tokens stored for appID in the order
// they were stored, a repeat of the one before left out.
func (w *writeLog) refreshTokens(appID string) []string {
	w.mu.Lock()
	list := slices.Clone(w.written[appID])
	w.mu.Unlock()
	slices.SortFunc(list, func(a, b store.Authorizer) int { return cmp.Compare(a.Version, b.Version) })
	var out []string
	for _, a := range list {
		if len(out) == 0 || out[len(out)-1] != a.RefreshToken {
			out = append(out, a.RefreshToken)
		}
	}
	return out
}

// faultPlan is what goes wrong at WeChat and on the way back during the
// test: errcodes and timeouts before WeChat acts (the simulator's faults),
// and, after WeChat issued a token, the caller giving up or the answer
// lost.
type faultPlan struct {
	victim string // the one account WeChat answers 61023 for

	mu        sync.Mutex
	cancelled map[string]int // answers after which the caller's context was cancelled, by API
	lost      int            // api_authorizer_token answers lost
}

const (
	cancelAuthorizerAnswers = 3
	cancelComponentAnswers  = 1
	loseAnswers             = 2
)

func (p *faultPlan) inject(e *env) {
	for _, f := range []wechatsim.Fault{
		{ErrCode: -1, Times: 3},
		{Hang: true, Times: 3},
		{ErrCode: 45009, Times: 2},
		{ErrCode: 61023, Times: 1, Authorizers: []string{p.victim}},
	} {
		e.sim.Fault(wechatsim.APIAuthorizerToken, f)
	}
	e.sim.Fault(wechatsim.APIComponentToken, wechatsim.Fault{ErrCode: -1, Times: 1})
	e.sim.Fault(wechatsim.APIComponentToken, wechatsim.Fault{Hang: true, Times: 1})
	e.answers.onAnswer(p.onAnswer)
}

// errLostAnswer is an answer that never arrived.
var errLostAnswer = errors.New("connection reset after WeChat answered")

func (p *faultPlan) onAnswer(r *http.Request, api string, body []byte) error {
	issued := map[string]string{
		wechatsim.APIAuthorizerToken: `"authorizer_access_token"`,
		wechatsim.APIComponentToken:  `"component_access_token"`,
	}[api]
	if issued == "" || !bytes.Contains(body, []byte(issued)) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	limit := map[string]int{wechatsim.APIAuthorizerToken: cancelAuthorizerAnswers, wechatsim.APIComponentToken: cancelComponentAnswers}[api]
	if p.cancelled[api] < limit && cancelCaller(r) {
		p.cancelled[api]++
		return nil
	}
	// The victim's answers arrive, so that its refresh token is never
	// stale when the 61023 comes: the outcome there is needs_reauth.
	if api == wechatsim.APIAuthorizerToken && p.lost < loseAnswers && requestAuthorizer(r) != p.victim {
		p.lost++
		return errLostAnswer
	}
	return nil
}

// requestAuthorizer is the authorizer_appid of an API request.
func requestAuthorizer(r *http.Request) string {
	if r.GetBody == nil {
		return ""
	}
	rd, err := r.GetBody()
	if err != nil {
		return ""
	}
	b, _ := io.ReadAll(rd)
	var req struct {
		AuthorizerAppID string `json:"authorizer_appid"`
	}
	_ = json.Unmarshal(b, &req)
	return req.AuthorizerAppID
}

// TestNoRefreshTokenLostUnderFaults runs refresh jobs on two processes, a
// third process renewing the component token and readers on all three, in
// parallel, round after round, while WeChat rotates refresh tokens (the
// previous one working 5 minutes more), fails calls with -1, timeouts,
// 45009 and a 61023, and callers give up or lose the answer right after
// WeChat issued a token. No refresh token may be lost, emptied or replaced
// by an older one, and WeChat must never see a refresh token it rejects.
func TestNoRefreshTokenLostUnderFaults(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T, now func() time.Time) store.Store
	}{
		{"sqlite", func(t *testing.T, now func() time.Time) store.Store { return simtest.OpenStore(t, now) }},
		{"dynamodb", openDynamo},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			log := &writeLog{Store: st.open(t, e.clock.Now), written: map[string][]store.Authorizer{}}
			e.store = log
			e.pushTicket()
			ids := e.addAccounts(5)
			e.sim.RotateRefreshTokens(5 * time.Minute)
			sources := []*tokens.Source{e.newSource(), e.newSource(), e.newSource()}

			plan := &faultPlan{victim: ids[0], cancelled: map[string]int{}}
			plan.inject(e)
			const rounds = 6
			for range rounds {
				if reads := runRound(t, e, sources, ids); len(reads) == 0 {
					t.Error("no reader got a token in a round")
				}
				// Less than the rotation's grace, so that a refresh token
				// an answer lost is still taken at the next round.
				e.clock.Advance(time.Minute)
			}
			if plan.cancelled[wechatsim.APIAuthorizerToken] != cancelAuthorizerAnswers ||
				plan.cancelled[wechatsim.APIComponentToken] != cancelComponentAnswers || plan.lost != loseAnswers {
				t.Fatalf("faults after answers: %v cancelled, %d lost; want all used", plan.cancelled, plan.lost)
			}

			// A round without faults, on processes started afresh, settles
			// what the faults left due; every token a reader gets then works.
			// (In the rounds before, a reader may get a token WeChat dropped
			// early because an answer was lost and the call repeated, which
			// in production a 40001 and Invalidate deal with.)
			e.sim.ClearFaults()
			e.answers.onAnswer(nil)
			reads := runRound(t, e, []*tokens.Source{e.newSource(), e.newSource(), e.newSource()}, ids)
			for _, r := range reads {
				e.checkValid(r.id, r.token)
			}
			if want := (len(ids) - 1) * 2 * len(sources); len(reads) < want {
				t.Errorf("%d successful reads in the last round, want %d", len(reads), want)
			}

			previous := 0
			for _, id := range ids {
				a := e.authorizer(id)
				current := listed(e, id)
				if a.RefreshToken != current || current == "" {
					t.Errorf("%s: stored refresh token is not the one WeChat holds (lost or older)", id)
				}
				switch {
				case id == plan.victim && a.Status != store.StatusNeedsReauth:
					t.Errorf("%s: status %s after WeChat rejected its current refresh token, want needs_reauth", id, a.Status)
				case id != plan.victim && a.Status != store.StatusActive:
					t.Errorf("%s: status %s, want active", id, a.Status)
				}
				for _, use := range e.sim.RefreshTokenUses(componentAppID, id) {
					if !use.Accepted {
						t.Errorf("%s: WeChat was shown a refresh token it rejects, at %v", id, use.At)
					}
					if use.Previous {
						previous++
					}
				}
				written := log.refreshTokens(id)
				for i, rt := range written {
					if rt == "" {
						t.Errorf("%s: an empty refresh token was stored", id)
					}
					if slices.Contains(written[:i], rt) {
						t.Errorf("%s: a replaced refresh token was stored again", id)
					}
				}
				if id != plan.victim && len(written) < 2 {
					t.Errorf("%s: refresh token stored %d times, want rotations stored", id, len(written))
				}
			}
			// Each lost answer left the presented token stored, and presenting
			// it again within the grace got the current one back. Any other
			// presentation of a replaced token is an answer that arrived and
			// was dropped.
			if previous != loseAnswers {
				t.Errorf("replaced refresh tokens presented within the grace %d times, want %d (once per lost answer)", previous, loseAnswers)
			}
		})
	}
}

// read is an access token a reader got.
type read struct{ id, token string }

// runRound renews every account's access token on two processes at once
// (as two refresh jobs, for a token WeChat is taken to have rejected), and
// the component token on a third, while readers on all three ask for every
// account's token. It returns what the readers got.
func runRound(t *testing.T, e *env, sources []*tokens.Source, ids []string) []read {
	t.Helper()
	stale := map[string]string{}
	for _, id := range ids {
		stale[id] = e.authorizer(id).AccessToken
	}
	staleComponent := ""
	if tok, err := e.store.GetComponentToken(e.ctx, componentAppID); err == nil {
		staleComponent = tok.AccessToken
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		reads []read
	)
	call := func(fn func(ctx context.Context)) {
		wg.Go(func() {
			ctx, cancel := cancellable(e.ctx)
			defer cancel()
			fn(ctx)
		})
	}
	for _, src := range sources[:2] {
		for _, id := range ids {
			call(func(ctx context.Context) { _, _, _ = src.RefreshAuthorizer(ctx, id, stale[id], false) })
		}
	}
	call(func(ctx context.Context) { _, _ = sources[2].RefreshComponent(ctx, staleComponent) })
	for i := range 2 * len(sources) {
		for _, id := range ids {
			call(func(ctx context.Context) {
				tok, err := sources[i%len(sources)].AccessToken(ctx, id)
				if err == nil {
					mu.Lock()
					reads = append(reads, read{id, tok})
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return reads
}

// openDynamo is a DynamoDB store in moto_server, judging expiry by now.
func openDynamo(t *testing.T, now func() time.Time) store.Store {
	t.Helper()
	motoserver.Start(t)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg)
	if err := dynamo.CreateTable(t.Context(), client, "tokens"); err != nil {
		t.Fatal(err)
	}
	return dynamo.New(client, "tokens", dynamo.Options{Now: now})
}
