package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// errOlderRegistration marks a registration push older than the one stored.
var errOlderRegistration = errors.New("registration push older than the stored one")

// Registered records a mini program WeChat created for the platform (fast
// registration or a trial mini program): the authorization code its push
// carries, if any, is exchanged like an authorization's, and reg is stored
// with the mini program's release pipeline. A push older than the
// registration stored changes nothing.
func (s *Service) Registered(ctx context.Context, appID, authCode string, reg store.Registration) (Result, error) {
	var res Result
	if authCode != "" {
		var err error
		res, err = s.Authorize(ctx, authCode, "")
		if err != nil {
			return res, fmt.Errorf("registered mini program %s: %w", appID, err)
		}
		if appID != "" && res.Authorizer.AppID != appID {
			return res, fmt.Errorf("registered mini program %s: its auth_code is for %s", appID, res.Authorizer.AppID)
		}
		appID = res.Authorizer.AppID
	}
	if appID == "" {
		return res, errors.New("registered mini program: push without appid")
	}
	_, err := store.UpdateMiniProgram(ctx, s.store, appID, func(m *store.MiniProgram) error {
		if m.Registration != nil && reg.At.Before(m.Registration.At) {
			return errOlderRegistration
		}
		r := reg
		m.Registration = &r
		m.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, errOlderRegistration) {
		s.log.InfoContext(ctx, "older registration push ignored", "authorizer_appid", appID)
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("store registration of %s: %w", appID, err)
	}
	s.log.InfoContext(ctx, "mini program registered", "authorizer_appid", appID, "beta", reg.Beta, "status", reg.Status)
	return res, nil
}
