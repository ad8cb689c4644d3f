package ticket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/push"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Registrar records mini programs WeChat created for the platform;
// *accounts.Service satisfies it. The handler uses it when its Accounts
// has it too.
type Registrar interface {
	Registered(ctx context.Context, appID, authCode string, reg store.Registration) (accounts.Result, error)
}

// The fast-registration pushes.
const (
	infoFastRegister     = "notify_third_fasteregister"
	infoFastRegisterBeta = "notify_third_fastregisterbetaapp"
)

// registered handles a fast-registration push: a mini program created for
// an enterprise (with an auth_code to exchange), or a trial mini program.
// A failed registration (status not 0) is recorded when it names a mini
// program, and only logged otherwise.
func (h *handler) registered(ctx context.Context, infoType string, f wxxml.Fields, at time.Time) error {
	r, ok := h.accounts.(Registrar)
	if !ok {
		h.log.InfoContext(ctx, "authorization event acknowledged", "info_type", infoType)
		return nil
	}
	status, err := strconv.Atoi(strings.TrimSpace(f.Get("status")))
	if err != nil {
		return &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("%s: status: %w", infoType, err)}
	}
	info := f.Sub("info")
	reg := store.Registration{
		Beta: infoType == infoFastRegisterBeta, Status: status, Msg: f.Get("msg"),
		Name: info.Get("name"), Code: info.Get("code"),
		LegalPersonaWeChat: info.Get("legal_persona_wechat"), LegalPersonaName: info.Get("legal_persona_name"),
		ComponentPhone: info.Get("component_phone"), UniqueID: info.Get("unique_id"), At: at,
	}
	if ct := strings.TrimSpace(info.Get("code_type")); ct != "" {
		if reg.CodeType, err = strconv.Atoi(ct); err != nil {
			return &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("%s: code_type: %w", infoType, err)}
		}
	}
	appID, code := f.Get("appid"), f.Get("auth_code")
	if status != 0 {
		// Nothing was created: there is no code to exchange.
		code = ""
	}
	if appID == "" && code == "" {
		h.log.WarnContext(ctx, "mini program registration failed", "info_type", infoType, "status", status, "msg", reg.Msg)
		return nil
	}
	_, err = r.Registered(ctx, appID, code, reg)
	if errors.Is(err, accounts.ErrInProgress) {
		return nil
	}
	return err
}
