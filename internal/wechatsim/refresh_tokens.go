package wechatsim

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// rotation is the optional mode in which api_authorizer_token rotates the
// refresh token.
type rotation struct {
	on    bool
	grace time.Duration
}

// RotateRefreshTokens turns on the mode in which every api_authorizer_token
// answer carries a new authorizer_refresh_token and the one presented keeps
// working only for grace (on the simulator's clock) after it was replaced.
// Presenting the replaced token within grace answers with the current one
// again, as a retry of a lost answer would get, without rotating further.
// A platform that loses an answer and outlives the grace then holds a refresh
// token WeChat rejects (61023): the way a lost answer can cost an account.
func (s *Sim) RotateRefreshTokens(grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotation = rotation{on: true, grace: grace}
}

// RefreshTokenUse is one refresh token presented to api_authorizer_token
// by a caller whose component token was valid, for an account that has
// authorized the component.
type RefreshTokenUse struct {
	At       time.Time
	Token    string
	Accepted bool // false: answered 61023
	// Previous is true when the token had been replaced by rotation and was
	// accepted within its grace.
	Previous bool
}

// maxUsesPerAccount bounds the refresh token uses kept per account.
const maxUsesPerAccount = 1000

type refreshUses struct {
	mu        sync.Mutex
	byAccount map[pair][]RefreshTokenUse
}

func (u *refreshUses) add(owner pair, use RefreshTokenUse) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byAccount == nil {
		u.byAccount = map[pair][]RefreshTokenUse{}
	}
	list := append(u.byAccount[owner], use)
	if len(list) > maxUsesPerAccount {
		list = slices.Delete(list, 0, len(list)-maxUsesPerAccount)
	}
	u.byAccount[owner] = list
}

// RefreshTokenUses returns the refresh tokens presented for an account
// under a component (the last 1000), oldest first.
func (s *Sim) RefreshTokenUses(componentAppID, authorizerAppID string) []RefreshTokenUse {
	s.uses.mu.Lock()
	defer s.uses.mu.Unlock()
	return slices.Clone(s.uses.byAccount[pair{componentAppID, authorizerAppID}])
}

// presentRefreshToken checks the refresh token of an api_authorizer_token
// call against the account's grant, records the use and returns the refresh
// token to answer with, rotating it in the rotation mode. s.mu is held.
func (s *Sim) presentRefreshToken(owner pair, g *grant, presented string, now time.Time) (string, *apiError) {
	current := presented != "" && presented == g.refreshToken
	previous := presented != "" && presented == g.previous && now.Before(g.previousUntil)
	s.uses.add(owner, RefreshTokenUse{At: now, Token: presented, Accepted: current || previous, Previous: previous})
	if !current && !previous {
		return "", wxErr(codeRefreshTokenReject)
	}
	if current && s.rotation.on {
		g.previous, g.previousUntil = g.refreshToken, now.Add(s.rotation.grace)
		g.refreshToken = newRefreshToken()
	}
	return g.refreshToken, nil
}

// newRefreshToken returns a refresh token shaped like WeChat's.
func newRefreshToken() string { return "refreshtoken@@@" + randomString(43) }

// Exchange records that the platform exchanged an authorization code with
// api_query_auth, for tests that set accounts up with Grant rather than
// through the platform's authorization flow: the code is used up and the
// account's refresh token appears in api_get_authorizer_list from then on.
// It returns the account's refresh token. No call is counted and no access
// token issued.
func (s *Sim) Exchange(componentAppID, code string) (string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ac, ok := s.authCodes[code]
	switch {
	case !ok || ac.component != componentAppID:
		return "", fmt.Errorf("exchange: unknown authorization code: %w", ErrNotAuthorized)
	case ac.used || !now.Before(ac.expiresAt):
		return "", fmt.Errorf("exchange: authorization code used or expired: %w", ErrNotAuthorized)
	}
	g, ok := s.grants[pair{componentAppID, ac.authorizer}]
	if !ok {
		return "", fmt.Errorf("exchange: %s: %w", ac.authorizer, ErrNotAuthorized)
	}
	ac.used = true
	s.components[componentAppID].exchanged[ac.authorizer] = true
	return g.refreshToken, nil
}
