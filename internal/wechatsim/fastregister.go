package wechatsim

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// FastRegistration is what a platform submits to have WeChat create a mini
// program for an enterprise (fast registration), or for a trial mini
// program only Name (Beta).
type FastRegistration struct {
	Beta               bool   `json:"beta"`
	Name               string `json:"name"` // the enterprise, or the trial mini program's name
	Code               string `json:"code"`
	CodeType           int    `json:"code_type"`
	LegalPersonaWeChat string `json:"legal_persona_wechat"`
	LegalPersonaName   string `json:"legal_persona_name"`
	ComponentPhone     string `json:"component_phone"`
	UniqueID           string `json:"unique_id"`
}

// FastRegister plays WeChat finishing a registration the component asked
// for: it creates a mini program, authorizes the component for it with the
// mini program's default permission sets, and pushes the result to the
// authorization-event URL: notify_third_fasteregister with an auth_code to
// exchange, or for a trial mini program notify_third_fastregisterbetaapp.
// The account is returned also when the push fails (the error says why).
func (s *Sim) FastRegister(ctx context.Context, componentAppID string, reg FastRegistration) (Account, error) {
	s.mu.RLock()
	comp, ok := s.components[componentAppID]
	var to target
	if ok {
		to = comp.target()
	}
	s.mu.RUnlock()
	if !ok {
		return Account{}, fmt.Errorf("fast register: %s: %w", componentAppID, ErrUnknownComponent)
	}
	accts, err := s.AddAccounts(1, MiniProgram)
	if err != nil {
		return Account{}, fmt.Errorf("fast register: %w", err)
	}
	acct := accts[0]
	now := s.now()
	if err := s.Restore(componentAppID, acct.AppID, "refreshtoken@@@"+randomString(43), acct.FuncInfo, now); err != nil {
		return acct, fmt.Errorf("fast register: %w", err)
	}
	infoType := "notify_third_fasteregister"
	fields := []wxxml.Field{wxxml.Text("appid", acct.AppID), wxxml.Int("status", 0)}
	if reg.Beta {
		infoType = "notify_third_fastregisterbetaapp"
		fields = append(fields, wxxml.Text("msg", "OK"), wxxml.Elem("info",
			wxxml.Text("unique_id", reg.UniqueID), wxxml.Text("name", reg.Name)))
	} else {
		code, err := s.NewAuthCode(componentAppID, acct.AppID)
		if err != nil {
			return acct, fmt.Errorf("fast register: %w", err)
		}
		fields = append(fields, wxxml.Text("auth_code", code), wxxml.Text("msg", "OK"), wxxml.Elem("info",
			wxxml.Text("name", reg.Name), wxxml.Text("code", reg.Code), wxxml.Int("code_type", int64(reg.CodeType)),
			wxxml.Text("legal_persona_wechat", reg.LegalPersonaWeChat), wxxml.Text("legal_persona_name", reg.LegalPersonaName),
			wxxml.Text("component_phone", reg.ComponentPhone)))
	}
	if to.platformURL == "" {
		return acct, nil
	}
	if err := s.pushEvent(ctx, to, infoType, acct.AppID, fields...); err != nil {
		return acct, err
	}
	return acct, nil
}

func (s *Sim) handleSimFastRegister(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Component string `json:"component"`
		FastRegistration
	}
	if !readControl(w, r, &req) {
		return
	}
	if req.Component == "" {
		if cs := s.Components(); len(cs) > 0 {
			req.Component = cs[0].AppID
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PushTimeout+time.Second)
	defer cancel()
	acct, err := s.FastRegister(ctx, req.Component, req.FastRegistration)
	if err != nil && acct.AppID == "" {
		controlError(w, errorStatus(err), err)
		return
	}
	out := map[string]string{"appid": acct.AppID}
	if err != nil {
		out["push_error"] = err.Error()
	}
	reply(w, r, "", out)
}
