package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AuditState is where a mini program's latest code audit stands.
type AuditState string

// Audit states. WeChat's get_auditstatus numbers them 0 passed, 1 rejected,
// 2 in review, 3 withdrawn, 4 delayed; "" means no audit was submitted.
const (
	AuditPending   AuditState = "pending"
	AuditPassed    AuditState = "passed"
	AuditRejected  AuditState = "rejected"
	AuditWithdrawn AuditState = "withdrawn"
	AuditDelayed   AuditState = "delayed"
)

// InReview reports whether WeChat has yet to decide the audit.
func (s AuditState) InReview() bool { return s == AuditPending || s == AuditDelayed }

// MiniProgram is a mini program's release pipeline: the code committed, the
// audit it is in and the version released, moved forward by the platform's
// calls and by WeChat's pushes. It is stored next to the authorizer
// (AUTHORIZER#<appid> / WXA) and never expires. The JSON form is what the
// stores keep and what `wxctl mp status --json` prints.
type MiniProgram struct {
	AppID string `json:"appid"`

	// The code last committed (wxa/commit).
	TemplateID  int64     `json:"template_id,omitempty"`
	UserVersion string    `json:"user_version,omitempty"`
	UserDesc    string    `json:"user_desc,omitempty"`
	CommittedAt time.Time `json:"committed_at,omitzero"`

	// The latest audit (wxa/submit_audit and the weapp_audit_* pushes).
	AuditID      int64      `json:"auditid,omitempty"`
	Audit        AuditState `json:"audit,omitempty"`
	AuditVersion string     `json:"audit_version,omitempty"` // the user_version under audit
	SubmittedAt  time.Time  `json:"submitted_at,omitzero"`
	AuditedAt    time.Time  `json:"audited_at,omitzero"` // WeChat's SuccTime, FailTime or DelayTime
	Reason       string     `json:"reason,omitempty"`    // why it was rejected or delayed
	ScreenShot   string     `json:"screenshot,omitempty"`

	// PollAt is when the refresh job next asks WeChat about the audit, in
	// case its push was lost; zero while no audit is in review.
	PollAt time.Time `json:"poll_at,omitzero"`

	// The version online (wxa/release).
	ReleasedVersion string    `json:"released_version,omitempty"`
	ReleasedAt      time.Time `json:"released_at,omitzero"`

	// The last call that failed, with WeChat's errcode in its text.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`

	// The latest name audit (wxa_nickname_audit).
	Nickname       string    `json:"nickname,omitempty"`
	NicknameStatus string    `json:"nickname_status,omitempty"` // passed or rejected
	NicknameReason string    `json:"nickname_reason,omitempty"`
	NicknameAt     time.Time `json:"nickname_at,omitzero"`

	// Registration is set for a mini program the platform registered
	// (fast registration or a trial mini program).
	Registration *Registration `json:"registration,omitempty"`

	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Version is the stored version; PutMiniProgram writes only when the
	// stored version equals this value (0: no item) and stores Version+1.
	Version int64 `json:"-"`
}

// Registration is what WeChat reported when it created a mini program for
// the platform (notify_third_fasteregister, notify_third_fastregisterbetaapp).
type Registration struct {
	Beta   bool   `json:"beta,omitempty"` // a trial mini program
	Status int    `json:"status"`         // 0 created; otherwise WeChat's reason code
	Msg    string `json:"msg,omitempty"`
	// The enterprise and its legal person (fast registration).
	Name               string `json:"name,omitempty"`
	Code               string `json:"code,omitempty"`
	CodeType           int    `json:"code_type,omitempty"`
	LegalPersonaWeChat string `json:"legal_persona_wechat,omitempty"`
	LegalPersonaName   string `json:"legal_persona_name,omitempty"`
	ComponentPhone     string `json:"component_phone,omitempty"`
	// UniqueID names a trial mini program's creation task.
	UniqueID string    `json:"unique_id,omitempty"`
	At       time.Time `json:"at,omitzero"` // WeChat's CreateTime
}

// MiniPrograms is the part of a store that keeps release pipelines. Both
// stores implement it next to Store.
type MiniPrograms interface {
	// PutMiniProgram stores m if the stored version is m.Version (0: no
	// item), else ErrConflict. It returns m as stored, with the new version.
	PutMiniProgram(ctx context.Context, m MiniProgram) (MiniProgram, error)
	// GetMiniProgram returns the pipeline of appID or ErrNotFound.
	GetMiniProgram(ctx context.Context, appID string) (MiniProgram, error)
	// DueAudits returns up to limit pipelines whose PollAt is set and not
	// after before, earliest first.
	DueAudits(ctx context.Context, before time.Time, limit int) ([]MiniProgram, error)
}

// UpdateMiniProgram reads the pipeline of appID (a zero one with only AppID
// set when there is none), lets fn change it and writes it back under the
// version it read, starting over when another writer got there first. An
// error from fn aborts the update and is returned as is.
func UpdateMiniProgram(ctx context.Context, s MiniPrograms, appID string, fn func(m *MiniProgram) error) (MiniProgram, error) {
	for range maxUpdateAttempts {
		m, err := s.GetMiniProgram(ctx, appID)
		if errors.Is(err, ErrNotFound) {
			m, err = MiniProgram{AppID: appID}, nil
		}
		if err != nil {
			return m, err
		}
		if err := fn(&m); err != nil {
			return m, err
		}
		stored, err := s.PutMiniProgram(ctx, m)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return stored, err
	}
	return MiniProgram{}, fmt.Errorf("update mini program %s: %w after %d attempts", appID, ErrConflict, maxUpdateAttempts)
}
