package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// EncodeMiniProgram is the document both stores keep for m (its JSON form,
// times in UTC); the version is kept beside it.
func EncodeMiniProgram(m MiniProgram) ([]byte, error) {
	for _, t := range []*time.Time{&m.CommittedAt, &m.SubmittedAt, &m.AuditedAt, &m.ReleasedAt, &m.LastErrorAt, &m.NicknameAt, &m.UpdatedAt} {
		*t = t.UTC()
	}
	if m.Registration != nil {
		r := *m.Registration
		r.At = r.At.UTC()
		m.Registration = &r
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode mini program %s: %w", m.AppID, err)
	}
	return data, nil
}

// DecodeMiniProgram reads a document EncodeMiniProgram wrote, stored under
// the given version.
func DecodeMiniProgram(data []byte, version int64) (MiniProgram, error) {
	var m MiniProgram
	if err := json.Unmarshal(data, &m); err != nil {
		return MiniProgram{}, fmt.Errorf("decode mini program: %w", err)
	}
	m.Version = version
	return m, nil
}
